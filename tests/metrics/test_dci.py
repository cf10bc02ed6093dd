"""DCI: hand-computed importance matrices, scipy entropy and sklearn Lasso cross-checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy, ortho_group
from sklearn.linear_model import Lasso

from probekit.errors import ProbekitError
from probekit.metrics.dci import dci, dci_from_importance, importance_matrix
from probekit.metrics.identifiability import split_indices


def test_one_code_per_factor_is_perfect_and_uniform_use_is_zero():
    perfect = dci_from_importance(np.diag([0.3, 2.0, 1.0])[[2, 0, 1]])
    assert perfect.disentanglement == pytest.approx(1.0, abs=1e-12)
    assert perfect.completeness == pytest.approx(1.0, abs=1e-12)
    uniform = dci_from_importance(np.ones((4, 3)))
    assert uniform.disentanglement == pytest.approx(0.0, abs=1e-12)
    assert uniform.completeness == pytest.approx(0.0, abs=1e-12)


def test_hand_computed_example_matches_scipy_entropy():
    r = np.array([[1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])  # third code unused
    res = dci_from_importance(r)
    # codes: [.5, .5] -> D=0 ; [0, 1] -> D=1 ; unused -> 0 with weight 0
    assert np.allclose(res.disentanglement_per_code, [0.0, 1.0, 0.0], atol=1e-12)
    assert np.allclose(res.code_weights, [0.5, 0.5, 0.0])
    assert res.disentanglement == pytest.approx(0.5, abs=1e-12)
    # factors: [1, 0, 0] -> C=1 ; [1/3, 2/3, 0] -> 1 - H_3
    c1 = 1.0 - entropy([1 / 3, 2 / 3, 0.0], base=3)
    assert np.allclose(res.completeness_per_factor, [1.0, c1], atol=1e-12)
    assert res.completeness == pytest.approx(0.25 * 1.0 + 0.75 * c1, abs=1e-12)


def test_random_importance_matches_independent_formula():
    r = np.random.default_rng(0).uniform(size=(6, 4))
    res = dci_from_importance(r)
    d = [1 - entropy(row, base=4) for row in r]
    c = [1 - entropy(col, base=6) for col in r.T]
    assert res.disentanglement == pytest.approx(np.dot(r.sum(1) / r.sum(), d), abs=1e-12)
    assert res.completeness == pytest.approx(np.dot(r.sum(0) / r.sum(), c), abs=1e-12)


def test_lasso_dci_on_permuted_scaled_codes_and_on_mixed_codes():
    rng = np.random.default_rng(1)
    z = rng.uniform(-1, 1, size=(2000, 4))
    codes = z[:, [2, 0, 3, 1]] * [3.0, -1.0, 0.2, 5.0] + 0.01 * rng.normal(size=(2000, 4))
    good = dci(codes, z)
    assert good.disentanglement > 0.99 and good.completeness > 0.99
    assert good.informativeness > 0.99
    assert np.allclose(good.nrmse_per_factor, np.sqrt(1 - good.informativeness_per_factor))
    assert good.importance.shape == (4, 4)
    assert good.importance.argmax(axis=0).tolist() == [1, 3, 0, 2]
    mixed = dci(z @ ortho_group.rvs(4, random_state=2), z)
    assert mixed.disentanglement < 0.6 and mixed.completeness < 0.6
    assert mixed.informativeness > 0.99  # still linearly informative


def test_lasso_importance_matches_sklearn_directly():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(400, 3))
    codes = z @ rng.normal(size=(3, 5)) + rng.normal(size=(400, 5))
    imp, r2 = importance_matrix(codes, z, alpha=0.05, test_size=0.25, seed=4)
    tr, te = split_indices(400, 0.25, 4)
    xs = (codes[tr] - codes[tr].mean(0)) / codes[tr].std(0)
    ys = (z[tr] - z[tr].mean(0)) / z[tr].std(0)
    for j in range(3):
        want = np.abs(Lasso(alpha=0.05, max_iter=10_000, tol=1e-6).fit(xs, ys[:, j]).coef_)
        assert np.allclose(imp[:, j], want, atol=1e-8)
    assert r2.shape == (3,) and np.all(r2 < 1.0)


def test_gbt_importances_find_the_right_codes():
    rng = np.random.default_rng(5)
    z = rng.uniform(size=(300, 2))
    codes = np.column_stack([np.exp(z[:, 1]), rng.normal(size=300), z[:, 0] ** 2])
    res = dci(codes, z, method="gbt", n_estimators=20, seed=0)
    assert res.importance.argmax(axis=0).tolist() == [2, 0]
    assert np.allclose(res.importance.sum(axis=0), 1.0)  # sklearn importances sum to 1
    assert res.disentanglement > 0.8 and res.informativeness > 0.9


def test_errors():
    with pytest.raises(ProbekitError, match="negative"):
        dci_from_importance([[1.0, -0.1]])
    with pytest.raises(ProbekitError, match="all zero"):
        dci_from_importance(np.zeros((2, 2)))
    z = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ProbekitError, match="constant"):
        dci(z, np.column_stack([z[:, 0], np.zeros(50)]))
    with pytest.raises(ProbekitError, match="gbt"):
        dci(z, z, method="gbdt")
    with pytest.raises(ProbekitError, match="every importance is zero"):
        dci(z, z, alpha=100.0)
