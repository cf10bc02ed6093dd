"""Summaries of steering runs: metrics per method and strength, held-out MC2 gains tested per fold."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from probekit.errors import ProbekitError
from probekit.evaluation.paired import holm, paired_difference, paired_gain

__all__ = ["summarise_steering", "answer_counts", "uniform_answer_mc2", "steering_comparisons",
           "read_steering_run", "check_uniform_rows", "steering_markdown_table", "format_steering_folds",
           "mc2_levels"]

#: Names of the two reference "methods" in the comparisons (not steering directions).
UNSTEERED, UNIFORM = "baseline", "uniform_answers"


def summarise_steering(rows: list[dict], per_question: list[dict]) -> list[dict]:
    """One row per (method, α): metrics averaged over random draws within a fold, then over folds.

    ``rows`` hold ``fold, method, alpha, MC1, MC2, MC3, CE, KL`` (a ``baseline`` row with
    alpha 0 per fold, optionally ``uniform_answers``); ``per_question`` hold ``fold,
    method, alpha, question, MC2`` of every held-out question (several per question for
    repeated random draws).

    Per fold, the held-out gain in MC2 over the unsteered model is tested question by
    question (:func:`probekit.evaluation.paired.paired_gain`: mean gain, 95 % bootstrap
    interval, one-sided paired t-test); for ``random`` each question's MC2 is first averaged
    over the draws, so the control is the expected effect of a random direction.
    ``beats_baseline_MC2_all_folds``: the fold's MC2 is above the baseline's in every fold;
    ``significant_gain_all_folds``: in every fold also with p < 0.05. ``draws_above_baseline``
    counts, per fold, the single random draws whose MC2 is above the baseline.
    """
    keys = []
    for r in rows:
        k = (r["method"], r["alpha"])
        if k not in keys:
            keys.append(k)
    base = {r["fold"]: r for r in rows if r["method"] == "baseline"}

    def per_q(fold, method, alpha):  # {question: MC2 averaged over draws}
        vals: dict = {}
        for r in per_question:
            if (r["fold"], r["method"], r["alpha"]) == (fold, method, alpha):
                vals.setdefault(r["question"], []).append(r["MC2"])
        return {q: float(np.mean(v)) for q, v in vals.items()}

    out = []
    for method, alpha in keys:
        sel = [r for r in rows if (r["method"], r["alpha"]) == (method, alpha)]
        folds = sorted({r["fold"] for r in sel})
        by_fold = {f: [r for r in sel if r["fold"] == f] for f in folds}
        row = {"method": method, "alpha": alpha, "n_folds": len(folds), "n_draws": len(by_fold[folds[0]])}
        for k in ("MC1", "MC2", "MC3", "CE", "KL"):
            row[k] = float(np.mean([np.mean([r[k] for r in by_fold[f]]) for f in folds]))
        fold_mc2 = {f: float(np.mean([r["MC2"] for r in by_fold[f]])) for f in folds}
        row["MC2_per_fold"] = " ".join(f"{fold_mc2[f]:.4f}" for f in folds)
        comparable = method not in ("baseline", "uniform_answers")
        row["beats_baseline_MC2_all_folds"] = bool(all(fold_mc2[f] > base[f]["MC2"] for f in folds)) \
            if comparable else False
        row["draws_above_baseline"] = " ".join(
            f"{sum(r['MC2'] > base[f]['MC2'] for r in by_fold[f])}/{len(by_fold[f])}" for f in folds) \
            if comparable else ""
        gains = []
        if comparable:
            for f in folds:
                b, t = per_q(f, "baseline", 0.0), per_q(f, method, alpha)
                qs = sorted(b.keys() & t.keys())
                if len(qs) >= 2:
                    gains.append(paired_gain([b[q] for q in qs], [t[q] for q in qs], seed=f))
        if gains:
            row["MC2_gain_per_fold"] = " ".join(f"{g.gain:+.4f}" for g in gains)
            row["MC2_gain_ci_per_fold"] = " ".join(f"[{g.ci_low:+.4f},{g.ci_high:+.4f}]" for g in gains)
            row["p_value_per_fold"] = " ".join(f"{g.p_value:.2g}" for g in gains)
            row["significant_gain_all_folds"] = bool(len(gains) == len(folds)
                                                     and all(g.gain > 0 and g.p_value < 0.05 for g in gains))
        else:
            row["MC2_gain_per_fold"] = row["MC2_gain_ci_per_fold"] = row["p_value_per_fold"] = ""
            row["significant_gain_all_folds"] = False
        out.append(row)
    return out


def answer_counts(items) -> dict[int, tuple[int, int]]:
    """``{question index: (n_true, n_false)}`` of TruthfulQA items (their correct / incorrect answers)."""
    return {int(i.index): (len(i.correct_answers), len(i.incorrect_answers)) for i in items}


def uniform_answer_mc2(n_true, n_false) -> np.ndarray:
    """MC2 of a model that gives every answer the same probability: ``n_true / (n_true + n_false)``.

    TruthfulQA MC2 is the normalised probability mass on the true answers
    (:func:`probekit.evaluation.truthfulqa.mc_scores`); with equal scores it is the share of
    true answers. Shapes: ``(n_questions,)`` in, float64 ``(n_questions,)`` out.

    Raises
    ------
    ProbekitError
        If a count is negative or a question has no true or no false answer.
    """
    t, f = np.asarray(n_true, dtype=np.float64), np.asarray(n_false, dtype=np.float64)
    if t.shape != f.shape or (t < 1).any() or (f < 1).any():
        raise ProbekitError("n_true and n_false must have equal shapes and be >= 1 for every question")
    return t / (t + f)


def _per_question(per_question: list[dict]) -> dict[tuple, dict[tuple, float]]:
    """``{(method, alpha): {(fold, question): MC2 averaged over draws}}``."""
    acc: dict = {}
    for r in per_question:
        acc.setdefault((r["method"], float(r["alpha"])), {}).setdefault(
            (int(r["fold"]), int(r["question"])), []).append(float(r["MC2"]))
    return {k: {q: float(np.mean(v)) for q, v in d.items()} for k, d in acc.items()}


def _with_uniform(per_question: list[dict], counts: dict) -> dict[tuple, dict[tuple, float]]:
    """:func:`_per_question` plus ``(uniform_answers, 0.0)``: the uniform-answer MC2 of each baseline question."""
    table = _per_question(per_question)
    base = table.get((UNSTEERED, 0.0))
    if not base:
        raise ProbekitError("per-question rows have no 'baseline' (alpha 0) rows: nothing to compare with")
    missing = sorted({q for _, q in base} - set(counts))
    if missing:
        raise ProbekitError(f"questions {missing[:5]} have no answer counts; is --truthfulqa the run's CSV?")
    table[(UNIFORM, 0.0)] = {fq: float(uniform_answer_mc2(*counts[fq[1]])) for fq in base}
    return table


def mc2_levels(per_question: list[dict], counts: dict[int, tuple[int, int]], seed: int = 0,
               n_resamples: int = 9999) -> dict[tuple, dict]:
    """Held-out MC2 of every (method, alpha) pooled over folds, with a 95 % bootstrap interval.

    Parameters and the averaging of random draws as :func:`steering_comparisons`; the
    uniform-answer level is ``("uniform_answers", 0.0)``. Only (method, alpha) measured on
    every fold of the baseline are returned (a partial run's unfinished methods are left out).

    Returns
    -------
    dict
        ``{(method, alpha): {"mean", "ci_low", "ci_high", "n"}}``: mean over the questions and
        its percentile bootstrap interval (questions resampled; ``scipy.stats.bootstrap``).
    """
    from scipy import stats

    table = _with_uniform(per_question, counts)
    folds = {f for f, _ in table[(UNSTEERED, 0.0)]}
    out = {}
    for key, vals in table.items():
        if {f for f, _ in vals} != folds or len(vals) < 2:
            continue
        x = np.array([vals[k] for k in sorted(vals)])
        ci = stats.bootstrap((x,), np.mean, n_resamples=n_resamples, method="percentile",
                             random_state=np.random.default_rng(seed)).confidence_interval
        out[key] = {"mean": float(x.mean()), "ci_low": float(ci.low), "ci_high": float(ci.high), "n": int(x.size)}
    return out


def _comparison_pairs(methods: list[str], alphas: list[float]) -> list[tuple]:
    """(alpha, a, b) of the family: each method vs unsteered and vs uniform, then every pair of methods."""
    pairs = [(0.0, UNSTEERED, UNIFORM)]
    for alpha in alphas:
        pairs += [(alpha, m, ref) for m in methods for ref in (UNSTEERED, UNIFORM)]
        pairs += [(alpha, m1, m2) for i, m1 in enumerate(methods) for m2 in methods[i + 1:]]
    return pairs


def steering_comparisons(per_question: list[dict], counts: dict[int, tuple[int, int]],
                         seed: int = 0) -> list[dict]:
    """Paired tests on held-out per-question MC2, per fold and pooled over folds, Holm-corrected.

    Parameters
    ----------
    per_question : list of dict
        ``fold, method, alpha, question, MC2`` (``draw`` ignored): the held-out MC2 of every
        test question; ``method == "baseline"`` (alpha 0) is the unsteered model. Several
        rows of one (fold, method, alpha, question) -- random draws -- are averaged, so
        ``random`` is the expected effect of a random direction.
    counts : dict
        ``{question: (n_true, n_false)}`` (:func:`answer_counts`), for the uniform-answer
        reference :func:`uniform_answer_mc2`.
    seed : int
        Bootstrap seed.

    Returns
    -------
    list of dict
        One row per (scope, alpha, a, b): ``scope`` is ``fold <k>`` or ``pooled`` (all test
        questions of the folds where both a and b were measured: each question is in one
        test fold); the family per scope is: unsteered vs uniform, then per alpha every
        method vs ``baseline`` and vs ``uniform_answers``, and every pair of methods.
        Columns: ``n`` questions, ``folds``, ``mean_a``, ``mean_b``, ``diff`` (a − b) with its
        95 % paired bootstrap interval ``ci_low``/``ci_high``, ``p_t`` (two-sided paired
        t-test), ``p_wilcoxon`` (two-sided Wilcoxon signed-rank), ``p_holm`` / ``p_wilcoxon_holm``
        (Holm over the scope's family) and ``significant`` (``p_holm < 0.05``).
        A pooled row is left out when a method lacks a fold the baseline has (partial run).

    Raises
    ------
    ProbekitError
        A question of ``per_question`` missing from ``counts``, or no baseline rows.
    """
    table = _with_uniform(per_question, counts)
    base, uni = table[(UNSTEERED, 0.0)], table[(UNIFORM, 0.0)]
    methods = list(dict.fromkeys(m for m, _ in table if m not in (UNSTEERED, UNIFORM)))
    alphas = sorted({a for m, a in table if m not in (UNSTEERED, UNIFORM)})
    ref = {UNSTEERED: base, UNIFORM: uni}
    folds = sorted({f for f, _ in base})
    out = []
    for scope in [f"fold {f}" for f in folds] + ["pooled"]:
        rows = []
        for alpha, a, b in _comparison_pairs(methods, alphas):
            ta, tb = ref.get(a) or table.get((a, alpha)), ref.get(b) or table.get((b, alpha))
            if not ta or not tb:
                continue
            keys = sorted(ta.keys() & tb.keys())
            used = sorted({f for f, _ in keys})
            if scope == "pooled":
                if used != folds:
                    continue
            else:
                keys = [k for k in keys if k[0] == int(scope.split()[1])]
            if len(keys) < 2:
                continue
            d = paired_difference([ta[k] for k in keys], [tb[k] for k in keys], seed=seed)
            rows.append({"scope": scope, "alpha": alpha, "a": a, "b": b, "n": d.n,
                         "folds": " ".join(str(f) for f in sorted({k[0] for k in keys})), **d.to_dict()})
        for name in ("p_t", "p_wilcoxon"):
            adj = holm([r[name] for r in rows])
            for r, p in zip(rows, adj):
                r[name.replace("p_t", "p") + "_holm"] = float(p)
        for r in rows:
            r["significant"] = bool(r["p_holm"] < 0.05)
        out += rows
    return out


def check_uniform_rows(rows: list[dict], per_question: list[dict], counts: dict) -> None:
    """Loud check that the run's ``uniform_answers`` rows equal the MC2 recomputed from ``counts``.

    Raises
    ------
    ProbekitError
        A fold's recorded uniform-answer MC2 differs from the recomputed one by more than 1e-9
        (the answer counts are not those of the run: another TruthfulQA CSV or loader), or a
        fold's question has no counts.
    """
    for r in rows:
        if r["method"] != UNIFORM:
            continue
        qs = [int(q["question"]) for q in per_question
              if q["method"] == UNSTEERED and int(q["fold"]) == int(r["fold"])]
        missing = sorted(set(qs) - set(counts))
        if missing or not qs:
            raise ProbekitError(f"fold {r['fold']}: questions {missing[:5]} have no answer counts (or the fold has "
                                "no baseline rows); pass the TruthfulQA CSV the run used")
        mc2 = float(np.mean(uniform_answer_mc2(*np.array([counts[q] for q in qs]).T)))
        if abs(mc2 - float(r["MC2"])) > 1e-9:
            raise ProbekitError(f"fold {r['fold']}: the run recorded uniform-answer MC2 {float(r['MC2']):.6f} "
                                f"but the answer counts give {mc2:.6f}; pass the TruthfulQA CSV the run used")


def _typed(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if v == "":
            out[k] = None
        elif k in ("fold", "draw", "question", "n_test"):
            out[k] = int(float(v))
        elif k == "method":
            out[k] = v
        else:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def read_steering_run(folder) -> tuple[list[dict], list[dict]]:
    """``(rows, per_question)`` from ``steer_runs.csv`` and ``steer_per_question.csv`` of a run folder.

    Numbers come back as int (``fold``, ``draw``, ``question``, ``n_test``) or float.

    Raises
    ------
    ProbekitError
        A file missing or without the columns the summary needs.
    """
    folder = Path(folder)
    need = {"steer_runs.csv": {"fold", "method", "alpha", "MC1", "MC2", "MC3", "CE", "KL"},
            "steer_per_question.csv": {"fold", "method", "alpha", "question", "MC2"}}
    out = []
    for name, cols in need.items():
        path = folder / name
        if not path.is_file():
            raise ProbekitError(f"{str(path)!r} does not exist (give the --out folder of a steer run)")
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            lacking = cols - set(reader.fieldnames or [])
            if lacking:
                raise ProbekitError(f"{path} lacks the columns {sorted(lacking)}")
            out.append([_typed(r) for r in reader])
    return out[0], out[1]


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-3 else f"{p:.0e}"


def steering_markdown_table(summary: list[dict], tests: list[dict], budget: str,
                            levels: dict | None = None) -> str:
    """README table: one row per (method, alpha) with pooled MC2, gains vs unsteered and uniform.

    ``summary`` from :func:`summarise_steering`, ``tests`` from :func:`steering_comparisons`
    (pooled rows used; gains with their 95 % paired bootstrap interval and Holm p);
    ``budget`` is printed in every row (e.g. ``"817 q, 2 folds"``); ``levels`` from
    :func:`mc2_levels` adds the 95 % interval of each row's MC2.
    """
    pooled = {(r["alpha"], r["a"], r["b"]): r for r in tests if r["scope"] == "pooled"}
    levels = levels or {}

    def mc2_cell(key, mean):
        lv = levels.get(key)
        return f"{lv['mean']:.3f} [{lv['ci_low']:.3f}, {lv['ci_high']:.3f}]" if lv else f"{mean:.3f}"

    lines = ["| method | α | budget | n q | MC1 | MC2 [95 % CI] | gain vs unsteered [95 % CI] (Holm p) "
             "| gain vs uniform [95 % CI] (Holm p) | CE | KL |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary:
        m, a = r["method"], float(r["alpha"])
        if m in (UNSTEERED, UNIFORM):
            ref = pooled.get((0.0, UNSTEERED, UNIFORM))
            n = ref["n"] if ref else "-"
            if m == UNSTEERED and ref:
                vs_u = f"{ref['diff']:+.3f} [{ref['ci_low']:+.3f}, {ref['ci_high']:+.3f}] ({_fmt_p(ref['p_holm'])})"
            else:
                vs_u = "–"
            ce = f"{r['CE']:.3f}" if m == UNSTEERED else "–"
            mc2 = (ref["mean_a"] if m == UNSTEERED else ref["mean_b"]) if ref else r["MC2"]
            mc1 = f"{r['MC1']:.3f}" if m == UNSTEERED else "–"
            lines.append(f"| {m} | 0 | {budget} | {n} | {mc1} | {mc2_cell((m, 0.0), mc2)} | – | {vs_u} | {ce} | "
                         f"{'0' if m == UNSTEERED else '–'} |")
            continue
        cells = []
        for ref in (UNSTEERED, UNIFORM):
            t = pooled.get((a, m, ref))
            cells.append(f"{t['diff']:+.3f} [{t['ci_low']:+.3f}, {t['ci_high']:+.3f}] ({_fmt_p(t['p_holm'])})"
                         if t else "not pooled (partial run)")
        t = pooled.get((a, m, UNSTEERED))
        n, mc2 = (t["n"], t["mean_a"]) if t else ("-", r["MC2"])
        label = f"{m} (mean of {r['n_draws']} draws)" if r["n_draws"] > 1 else m
        lines.append(f"| {label} | {a:g} | {budget} | {n} | {r['MC1']:.3f} | {mc2_cell((m, a), mc2)} | {cells[0]} | "
                     f"{cells[1]} | {r['CE']:.3f} | {r['KL']:.3f} |")
    pairs = [t for t in tests if t["scope"] == "pooled" and UNSTEERED not in (t["a"], t["b"])
             and UNIFORM not in (t["a"], t["b"])]
    if pairs:
        lines += ["", "| α | a − b | budget | n q | diff [95 % CI] | p t-test (Holm) | p Wilcoxon (Holm) |",
                  "|---|---|---|---|---|---|---|"]
        for t in pairs:
            lines.append(f"| {t['alpha']:g} | {t['a']} − {t['b']} | {budget} | {t['n']} | {t['diff']:+.4f} "
                         f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}] | {_fmt_p(t['p_t'])} ({_fmt_p(t['p_holm'])}) | "
                         f"{_fmt_p(t['p_wilcoxon'])} ({_fmt_p(t['p_wilcoxon_holm'])}) |")
    return "\n".join(lines)


def format_steering_folds(summary: list[dict]) -> str:
    """Plain-text table of :func:`summarise_steering`: means over folds and per-fold gains vs unsteered.

    The per-fold p-values are the one-sided paired t-tests of :func:`summarise_steering`
    (uncorrected; the Holm-corrected two-sided tests are :func:`steering_comparisons`).
    """
    lines = ["TruthfulQA MC (mean over folds; CE/KL in nats/token on held-out text)",
             f"{'method':18s}{'alpha':>6s}{'MC1':>8s}{'MC2':>8s}{'CE':>8s}{'KL':>9s}  {'MC2 per fold':14s} "
             f"{'gain per fold':16s} {'p per fold':16s} {'>base':6s}{'p<.05':6s} draws > base"]
    for r in summary:
        lines.append(f"{r['method']:18s}{r['alpha']:>6.1f}{r['MC1']:>8.3f}{r['MC2']:>8.3f}{r['CE']:>8.3f}"
                     f"{r['KL']:>9.4f}  {r['MC2_per_fold']:14s} {r['MC2_gain_per_fold']:16s} "
                     f"{r['p_value_per_fold']:16s} {'yes' if r['beats_baseline_MC2_all_folds'] else 'no':6s}"
                     f"{'yes' if r['significant_gain_all_folds'] else 'no':6s}"
                     f"{r['draws_above_baseline'] if r['n_draws'] > 1 else ''}")
    lines += ["gain = held-out MC2 minus the unsteered MC2 on the same questions; p = one-sided paired t-test "
              "over questions, uncorrected.", "random: each question's MC2 is the mean over the draws "
              "(independent random directions).", "uniform_answers = MC2 if all answers were equally likely "
              "(chance level; MC1 not defined there)"]
    return "\n".join(lines)
