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
