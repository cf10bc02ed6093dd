"""Singular-value MAE and the ridge-CV factor probe: checked against sklearn / brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group
from sklearn.metrics import mean_absolute_error

from probekit.errors import ProbekitError
from probekit.metrics.identifiability import (
    factor_probe_scores,
    no_intercept_probe,
    orthogonal_identifiability,
    ridge_cv_probe,
    singular_value_mae,
)


def test_singular_value_mae_matches_sklearn_and_is_zero_for_a_scaled_orthogonal_encoder():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2000, 5))
    kappa = 10.0
    q = ortho_group.rvs(5, random_state=1)
    orth = orthogonal_identifiability(kappa * z @ q, z)  # f = kappa O z: the map back has singular values 1/kappa
    assert singular_value_mae(orth.singular_values, 1 / kappa) == pytest.approx(0.0, abs=1e-10)
    s = np.array([3.0, 1.0, 0.25])
    assert singular_value_mae(s, 0.5) == pytest.approx(mean_absolute_error(np.full(3, 0.5), s))
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ProbekitError, match="target"):
            singular_value_mae(s, bad)
    with pytest.raises(ProbekitError, match="singular_values"):
        singular_value_mae([], 1.0)


def _loo_mse(x, y, alpha):
    """Brute-force leave-one-out MSE of an intercept ridge fit (the independent reference)."""
    err = []
    for i in range(x.shape[0]):
        keep = np.arange(x.shape[0]) != i
        xm, ym = x[keep].mean(0), y[keep].mean()
        xc = x[keep] - xm
        beta = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y[keep] - ym))
        err.append((y[i] - ((x[i] - xm) @ beta + ym)) ** 2)
    return float(np.mean(err))


def test_ridge_cv_probe_picks_the_leave_one_out_penalty_and_beats_lstsq_when_wide():
    rng = np.random.default_rng(0)
    n, d = 60, 40  # n/d = 1.5: the unpenalised fit overfits
    w = rng.normal(size=d)
    x = rng.normal(size=(2 * n, d))
    y = x @ w + 4.0 * rng.normal(size=2 * n)
    alphas = [0.1, 1.0, 10.0, 100.0, 1000.0]
    r, chosen = ridge_cv_probe(x[:n], y[:n], x[n:], y[n:], alphas=alphas)
    ys = (y[:n] - y[:n].mean()) / y[:n].std()
    best = alphas[int(np.argmin([_loo_mse(x[:n], ys, a) for a in alphas]))]
    assert chosen.tolist() == [best]
    assert isinstance(r, float) and r > no_intercept_probe(x[:n], y[:n], x[n:], y[n:]) + 0.05
    with pytest.raises(ProbekitError, match="alphas"):
        ridge_cv_probe(x[:n], y[:n], x[n:], y[n:], alphas=[0.0])


def test_factor_probe_scores_reports_both_probes_per_factor():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(200, 6))
    y = np.c_[f[:, 0], f[:, 1] - f[:, 2]] + 0.1 * rng.normal(size=(200, 2))
    out = factor_probe_scores(f[:100], y[:100], f[100:], y[100:], ["a", "b"], probe="lstsq")
    assert out["a"] == out["a_lstsq"] == pytest.approx(no_intercept_probe(f[:100], y[:100, 0], f[100:], y[100:, 0]))
    assert out["b_ridge_cv"] > 0.95 and out["b_ridge_alpha"] > 0
    with pytest.raises(ProbekitError, match="names"):
        factor_probe_scores(f[:100], y[:100], f[100:], y[100:], ["a"])
    with pytest.raises(ProbekitError, match="probe"):
        factor_probe_scores(f[:100], y[:100], f[100:], y[100:], ["a", "b"], probe="lasso")
