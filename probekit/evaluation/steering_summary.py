"""Summaries of steering runs: metrics per method and strength, held-out MC2 gains tested per fold."""

from __future__ import annotations

import numpy as np

from probekit.evaluation.paired import paired_gain

__all__ = ["summarise_steering"]


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
