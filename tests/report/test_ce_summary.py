"""Seed summaries of the P2 runs: t-intervals against scipy, budgets never pooled, one seed never '± 0.0'."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from probekit.errors import ProbekitError
from probekit.report.ce_summary import budget_label, ce_synthetic_table, format_mean_ci, summarize_ce_runs

BUDGET = {"budget": "cpu", "steps": 2000, "batch_size": 1024, "lr": 3e-3, "lr_schedule": "cosine", "n_instances": 1000}


def _run(seed, r2, **kw):
    return {"row": "base", "method": "diet", "seed": seed, **BUDGET, "affine_r2": r2, "seconds": 10.0, **kw}


def test_format_mean_ci():
    assert format_mean_ci(0.9812, 0.0071, 3) == "98.1 ± 0.7"
    assert format_mean_ci(0.9812, None, 1) == "98.1 (n = 1, no interval)"
    assert format_mean_ci(0.9812, 0.0, 1) == "98.1 (n = 1, no interval)"
    assert format_mean_ci(None) == "—"
    assert format_mean_ci(0.123, None, None, 1.0, 2) == "0.12"


def test_summarize_matches_scipy_t_interval_and_keeps_budgets_apart():
    vals = [0.97, 0.985, 0.99]
    runs = [_run(s, v) for s, v in enumerate(vals)] + [_run(0, 0.5, steps=4000)]
    rows = summarize_ce_runs(runs)
    assert [r["steps"] for r in rows] == [2000, 4000] and [r["n_seeds"] for r in rows] == [3, 1]
    lo, hi = stats.t.interval(0.95, 2, loc=np.mean(vals), scale=stats.sem(vals))
    assert rows[0]["affine_r2_mean"] == pytest.approx(np.mean(vals))
    assert rows[0]["affine_r2_ci"] == pytest.approx((hi - lo) / 2)
    assert rows[1]["affine_r2_ci"] is None and rows[0]["sv_mae_mean"] is None  # metric absent -> None
    assert budget_label(runs[0]) == "cpu: 2000 steps, batch 1024, cosine Adam 0.003, N = 1000"
    for r in rows:
        r.update(setting="base", paper_r2_z=0.99, paper_r2_w=None)
    table = ce_synthetic_table(rows)
    assert "n = 1, no interval" in table and "± 0.0 " not in table and "4000 steps" in table
    with pytest.raises(ProbekitError, match="seed listed twice"):
        summarize_ce_runs([_run(0, 0.9), _run(0, 0.8)])
    with pytest.raises(ProbekitError, match="lacks"):
        summarize_ce_runs([{"row": "base", "method": "diet", "seed": 0}])
