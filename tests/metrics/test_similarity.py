"""CKA / CCA / SVCCA: invariances, brute-force n x n and scipy / sklearn cross-checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.linalg import eigh
from scipy.stats import ortho_group
from sklearn.decomposition import PCA

from probekit.errors import ProbekitError
from probekit.metrics.similarity import canonical_correlations, cca_similarity, linear_cka, svcca


def _xy(n=300, dx=6, dy=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dx))
    y = np.tanh(x[:, :dy] @ rng.normal(size=(dy, dy))) + 0.5 * rng.normal(size=(n, dy))
    return x, y


def _hsic_gram(k, l):
    n = k.shape[0]
    h = np.eye(n) - 1.0 / n
    return np.trace(k @ h @ l @ h)


def _hsic_unbiased_gram(k, l):
    """Song et al. (2012), Eq. 5, literally on n x n matrices."""
    n = k.shape[0]
    k, l = k.copy(), l.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(l, 0)
    one = np.ones(n)
    return (np.trace(k @ l) + (one @ k @ one) * (one @ l @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * (one @ k @ l @ one)) / (n * (n - 3))


def test_cka_matches_brute_force_gram_formula():
    x, y = _xy()
    k, l = x @ x.T, y @ y.T
    want = _hsic_gram(k, l) / np.sqrt(_hsic_gram(k, k) * _hsic_gram(l, l))
    assert linear_cka(x, y) == pytest.approx(want, abs=1e-10)
    assert 0.0 < want < 1.0


def test_debiased_cka_matches_brute_force_unbiased_hsic():
    x, y = _xy(n=120, seed=1)
    x = x + 3.0  # the feature-space form centres first; HSIC_u is shift invariant
    k, l = x @ x.T, y @ y.T
    want = _hsic_unbiased_gram(k, l) / np.sqrt(_hsic_unbiased_gram(k, k) * _hsic_unbiased_gram(l, l))
    assert linear_cka(x, y, debiased=True) == pytest.approx(want, abs=1e-8)
    assert linear_cka(x, y, debiased=True) < linear_cka(x, y)


def test_cka_invariant_to_orthogonal_transforms_and_isotropic_scaling():
    x, y = _xy(seed=2)
    qx, qy = ortho_group.rvs(6, random_state=3), ortho_group.rvs(4, random_state=4)
    base = linear_cka(x, y)
    assert linear_cka(3.7 * x @ qx + 1.0, 0.01 * y @ qy) == pytest.approx(base, abs=1e-10)
    assert linear_cka(x, 5.0 * x @ qx) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(x, x @ np.diag([1, 2, 3, 4, 5, 100.0])) < 0.9  # not invariant to anisotropic scaling


def test_cka_large_n_uses_feature_space_and_torch_input():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(20_000, 8))  # an n x n Gram would need 3.2 GB
    y = torch.tensor(x @ ortho_group.rvs(8, random_state=6), dtype=torch.float64)
    assert linear_cka(x, y) == pytest.approx(1.0, abs=1e-10)


def test_cka_constant_columns_are_harmless_but_all_constant_raises():
    x, y = _xy(seed=7)
    assert linear_cka(np.column_stack([x, np.ones(len(x))]), y) == pytest.approx(linear_cka(x, y), abs=1e-12)
    with pytest.raises(ProbekitError, match="every column of y is constant"):
        linear_cka(x, np.ones((len(x), 3)))


def _cca_by_generalized_eig(x, y):
    xc, yc = x - x.mean(0), y - y.mean(0)
    sxx, syy, sxy = xc.T @ xc, yc.T @ yc, xc.T @ yc
    vals = eigh(sxy @ np.linalg.solve(syy, sxy.T), sxx, eigvals_only=True)
    return np.sqrt(np.clip(np.sort(vals)[::-1][: min(x.shape[1], y.shape[1])], 0, None))


def test_cca_matches_generalized_eigenproblem():
    x, y = _xy(n=500, seed=8)
    got = canonical_correlations(x, y)
    assert got.shape == (4,)
    assert np.allclose(got, _cca_by_generalized_eig(x, y), atol=1e-8)
    res = cca_similarity(x, y)
    assert res.mean == pytest.approx(got.mean(), abs=1e-12) and res.rank_x == 6


def test_cca_is_one_under_invertible_affine_maps():
    x, _ = _xy(seed=9)
    a = np.random.default_rng(10).normal(size=(6, 6))
    res = cca_similarity(x, x @ a + 4.0)
    assert np.allclose(res.correlations, 1.0, atol=1e-10)


def test_svcca_matches_cca_on_pca_projections_and_drops_noise_directions():
    rng = np.random.default_rng(11)
    latent = rng.normal(size=(400, 3))
    x = latent @ rng.normal(size=(3, 10)) * 5 + 1e-3 * rng.normal(size=(400, 10))
    y = latent @ rng.normal(size=(3, 8)) * 5 + 1e-3 * rng.normal(size=(400, 8))
    res = svcca(x, y, variance_kept=0.99)
    assert (res.rank_x, res.rank_y) == (3, 3)
    assert res.mean == pytest.approx(1.0, abs=1e-4)
    fixed = svcca(x, y, n_components=5)
    px, py = PCA(5).fit_transform(x), PCA(5).fit_transform(y)
    assert np.allclose(fixed.correlations, _cca_by_generalized_eig(px, py), atol=1e-8)


def test_errors():
    x, y = _xy(n=8, dx=5, dy=4)
    with pytest.raises(ProbekitError, match="needs more than"):
        cca_similarity(x, y)
    with pytest.raises(ProbekitError, match="same number of samples"):
        linear_cka(x, y[:-1])
    with pytest.raises(ProbekitError, match="variance_kept"):
        svcca(x, y, variance_kept=1.5)
    with pytest.raises(ProbekitError, match="numerical rank"):
        cca_similarity(np.column_stack([x[:, 0], 2 * x[:, 0]]), y[:, :1], n_components=2)
    with pytest.raises(ProbekitError, match="NaN"):
        linear_cka(np.full_like(x, np.nan), y)
