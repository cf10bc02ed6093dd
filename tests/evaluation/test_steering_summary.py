"""summarise_steering: per (method, alpha) means over draws then folds, paired MC2 gains per fold."""

import numpy as np
import pytest

from probekit.evaluation.steering_summary import summarise_steering


def test_random_draws_are_averaged_and_gains_are_paired_by_question():
    rows, perq = [], []
    for fold in (0, 1):
        rows.append({"fold": fold, "method": "baseline", "alpha": 0.0, "MC1": 0.2, "MC2": 0.40, "MC3": 0.1,
                     "CE": 2.0, "KL": 0.0})
        perq += [{"fold": fold, "method": "baseline", "alpha": 0.0, "question": q, "MC2": 0.4} for q in range(4)]
        for draw, mc2 in enumerate((0.50, 0.46)):
            rows.append({"fold": fold, "method": "random", "draw": draw, "alpha": 2.0, "MC1": 0.3, "MC2": mc2,
                         "MC3": 0.1, "CE": 2.1, "KL": 0.01})
            perq += [{"fold": fold, "method": "random", "draw": draw, "alpha": 2.0, "question": q,
                      "MC2": mc2 + 0.01 * q} for q in range(4)]
    out = {(r["method"], r["alpha"]): r for r in summarise_steering(rows, perq)}
    rnd = out["random", 2.0]
    assert rnd["n_folds"] == 2 and rnd["n_draws"] == 2
    assert rnd["MC2"] == pytest.approx(0.48)
    assert rnd["MC2_per_fold"] == "0.4800 0.4800"
    gain = np.mean([0.48 + 0.01 * q - 0.4 for q in range(4)])
    assert rnd["MC2_gain_per_fold"] == f"{gain:+.4f} {gain:+.4f}"
    assert rnd["beats_baseline_MC2_all_folds"] and rnd["draws_above_baseline"] == "2/2 2/2"
    assert rnd["significant_gain_all_folds"]
    assert not out["baseline", 0.0]["beats_baseline_MC2_all_folds"]


# ---------------------------------------------------------------- comparisons between methods
from probekit.errors import ProbekitError  # noqa: E402
from probekit.evaluation.paired import holm  # noqa: E402
from probekit.evaluation.steering_summary import (  # noqa: E402
    check_uniform_rows, mc2_levels, read_steering_run, steering_comparisons, steering_markdown_table,
    uniform_answer_mc2)
from probekit.report.tables import write_rows_csv  # noqa: E402


def _synthetic_run(n_per_fold=30, seed=0, folds=(0, 1)):
    """Baseline ~0.4; 'good' +0.05 on every question; random: 3 draws whose mean is baseline + 0."""
    rng = np.random.default_rng(seed)
    rows, perq, counts = [], [], {}
    for fold in folds:
        qs = range(fold * 1000, fold * 1000 + n_per_fold)
        base = {q: 0.4 + rng.normal(0, 0.05) for q in qs}
        for q in qs:
            counts[q] = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        mean = lambda d: float(np.mean(list(d.values())))  # noqa: E731
        rows.append({"fold": fold, "method": "baseline", "alpha": 0.0, "MC1": 0.2, "MC2": mean(base), "MC3": 0.1,
                     "CE": 2.0, "KL": 0.0})
        uni = float(np.mean([counts[q][0] / sum(counts[q]) for q in qs]))
        rows.append({"fold": fold, "method": "uniform_answers", "alpha": 0.0, "MC1": 0.0, "MC2": uni, "MC3": 0.0,
                     "CE": float("nan"), "KL": float("nan")})
        perq += [{"fold": fold, "method": "baseline", "draw": 0, "alpha": 0.0, "question": q, "MC2": base[q]}
                 for q in qs]
        noise = {q: rng.normal(0, 0.03, 3) for q in qs}
        for draw in range(3):
            vals = {q: base[q] + noise[q][draw] - noise[q].mean() for q in qs}
            rows.append({"fold": fold, "method": "random", "draw": draw, "alpha": 2.0, "MC1": 0.2,
                         "MC2": mean(vals), "MC3": 0.1, "CE": 2.1, "KL": 0.01})
            perq += [{"fold": fold, "method": "random", "draw": draw, "alpha": 2.0, "question": q, "MC2": v}
                     for q, v in vals.items()]
        good = {q: base[q] + 0.05 + rng.normal(0, 0.005) for q in qs}
        rows.append({"fold": fold, "method": "good", "draw": 0, "alpha": 2.0, "MC1": 0.3, "MC2": mean(good),
                     "MC3": 0.1, "CE": 2.1, "KL": 0.02})
        perq += [{"fold": fold, "method": "good", "draw": 0, "alpha": 2.0, "question": q, "MC2": v}
                 for q, v in good.items()]
    return rows, perq, counts


def test_comparisons_per_fold_and_pooled_with_holm():
    rows, perq, counts = _synthetic_run()
    tests = steering_comparisons(perq, counts)
    # family per scope: unsteered vs uniform + 2 methods x (vs unsteered, vs uniform) + 1 pair
    assert [t["scope"] for t in tests].count("pooled") == 6 and [t["scope"] for t in tests].count("fold 0") == 6
    by = {(t["scope"], t["a"], t["b"]): t for t in tests}
    base = {(r["fold"], r["question"]): r["MC2"] for r in perq if r["method"] == "baseline"}
    good = {(r["fold"], r["question"]): r["MC2"] for r in perq if r["method"] == "good"}
    g = by["pooled", "good", "baseline"]
    assert g["n"] == 60 and g["folds"] == "0 1"
    assert g["diff"] == pytest.approx(np.mean([good[k] - base[k] for k in base]))
    assert g["significant"] and g["ci_low"] > 0.045
    # random = the mean over draws per question, which is the baseline exactly here
    r = by["pooled", "random", "baseline"]
    assert abs(r["diff"]) < 1e-12 and not r["significant"] and r["p_t"] == 1.0
    assert by["pooled", "random", "good"]["diff"] == pytest.approx(-g["diff"])
    u = by["fold 1", "baseline", "uniform_answers"]
    uni1 = np.mean([counts[q][0] / sum(counts[q]) for f, q in base if f == 1])
    assert u["n"] == 30 and u["diff"] == pytest.approx(np.mean([v for (f, _), v in base.items() if f == 1]) - uni1)
    for scope in ("fold 0", "fold 1", "pooled"):
        fam = [t for t in tests if t["scope"] == scope]
        np.testing.assert_allclose([t["p_holm"] for t in fam], holm([t["p_t"] for t in fam]))
        assert all(t["p_holm"] >= t["p_t"] for t in fam)
    check_uniform_rows(rows, perq, counts)  # the recorded chance rows match the counts
    bad = dict(counts)
    q0 = next(iter(bad))
    bad[q0] = (bad[q0][0] + 1, bad[q0][1])
    with pytest.raises(ProbekitError, match="uniform-answer MC2"):
        check_uniform_rows(rows, perq, bad)
    with pytest.raises(ProbekitError, match="no answer counts"):
        steering_comparisons(perq, {})
    with pytest.raises(ProbekitError, match="no answer counts"):
        check_uniform_rows(rows, perq, {})


def test_partial_run_has_no_pooled_row_for_an_unfinished_method_and_csvs_round_trip(tmp_path):
    rows, perq, counts = _synthetic_run(n_per_fold=10)
    rows = [r for r in rows if not (r["fold"] == 1 and r["method"] == "good")]
    perq = [r for r in perq if not (r["fold"] == 1 and r["method"] == "good")]
    write_rows_csv(rows, tmp_path / "steer_runs.csv")
    write_rows_csv(perq, tmp_path / "steer_per_question.csv")
    rows2, perq2 = read_steering_run(tmp_path)
    assert rows2[0]["fold"] == 0 and isinstance(perq2[0]["question"], int) and perq2[0]["MC2"] == perq[0]["MC2"]
    tests = steering_comparisons(perq2, counts)
    assert not [t for t in tests if t["scope"] == "pooled" and "good" in (t["a"], t["b"])]
    assert [t for t in tests if t["scope"] == "fold 0" and t["a"] == "good"]
    levels = mc2_levels(perq2, counts)
    assert ("good", 2.0) not in levels and levels["random", 2.0]["n"] == 20  # only methods on every fold
    table = steering_markdown_table(summarise_steering(rows2, perq2), tests, "20 q, 2 folds", levels)
    assert "not pooled (partial run)" in table and table.count("20 q, 2 folds") >= 4
    lv = levels["baseline", 0.0]
    assert f"| baseline | 0 | 20 q, 2 folds | 20 | 0.200 | {lv['mean']:.3f} [{lv['ci_low']:.3f}, " in table
    with pytest.raises(ProbekitError, match="does not exist"):
        read_steering_run(tmp_path / "nowhere")


def test_uniform_answer_mc2_is_mc2_of_equal_scores():
    from probekit.evaluation.truthfulqa import mc_scores

    assert uniform_answer_mc2([2, 1], [2, 3]).tolist() == [0.5, 0.25]
    assert mc_scores([-1.0, -1.0], [-1.0, -1.0, -1.0]).mc2 == pytest.approx(uniform_answer_mc2(2, 3))
    with pytest.raises(ProbekitError, match=">= 1"):
        uniform_answer_mc2([0], [3])


def test_mc2_levels_pool_folds_average_draws_and_bootstrap_the_mean():
    rows, perq, counts = _synthetic_run(n_per_fold=25)
    levels = mc2_levels(perq, counts)
    base = [r["MC2"] for r in perq if r["method"] == "baseline"]
    lv = levels["baseline", 0.0]
    assert lv["n"] == 50 and lv["mean"] == pytest.approx(np.mean(base))
    se = np.std(base, ddof=1) / np.sqrt(50)  # the percentile interval is close to mean ± 1.96 SE
    assert lv["ci_low"] == pytest.approx(lv["mean"] - 1.96 * se, abs=0.3 * se)
    assert lv["ci_high"] == pytest.approx(lv["mean"] + 1.96 * se, abs=0.3 * se)
    assert levels["random", 2.0]["mean"] == pytest.approx(lv["mean"])  # draws average back to the baseline
    uni = np.mean([counts[q][0] / sum(counts[q]) for q in {r["question"] for r in perq}])
    assert levels["uniform_answers", 0.0]["mean"] == pytest.approx(uni)
