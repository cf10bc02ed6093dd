"""Affine / orthogonal identifiability: known answers and sklearn cross-checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import ortho_group
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from probekit.errors import ProbekitError
from probekit.metrics.identifiability import (
    affine_r2,
    linear_identifiability,
    orthogonal_identifiability,
    split_indices,
)
from probekit.metrics.mcc import mean_correlation_coefficient


def _z(n=1000, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def test_random_invertible_linear_map_gives_affine_r2_one_and_mcc_below_one():
    z = _z()
    a = np.random.default_rng(1).normal(size=(4, 4))
    z_l = z @ a - 3.0
    res = affine_r2(z_l, z)
    assert res.mean == pytest.approx(1.0, abs=1e-10)
    assert res.per_dimension.shape == (4,)
    assert np.allclose(res.per_dimension, 1.0, atol=1e-10)
    assert np.allclose(res.coef, np.linalg.inv(a), atol=1e-8)
    assert mean_correlation_coefficient(z, z_l) < 0.95


def test_affine_r2_matches_sklearn_on_the_same_split():
    rng = np.random.default_rng(2)
    z = _z(n=600, d=3, seed=3)
    z_l = np.tanh(z @ rng.normal(size=(3, 5))) + 0.3 * rng.normal(size=(600, 5)) + 2.0
    res = affine_r2(z_l, z, test_size=0.3, seed=11)
    tr, te = split_indices(600, 0.3, 11)
    assert np.array_equal(res.train_indices, tr) and np.array_equal(res.test_indices, te)
    assert te.size == 180 and np.intersect1d(tr, te).size == 0
    lr = LinearRegression().fit(z_l[tr], z[tr])
    want = r2_score(z[te], lr.predict(z_l[te]), multioutput="raw_values")
    assert np.allclose(res.per_dimension, want, atol=1e-8, rtol=0)
    assert res.mean == pytest.approx(float(want.mean()), abs=1e-8)
    assert np.allclose(res.coef, lr.coef_.T, atol=1e-8) and np.allclose(res.intercept, lr.intercept_, atol=1e-8)
    assert 0.0 < res.mean < 1.0


def test_orthogonal_map_gives_r2_one_and_no_singular_value_deviation():
    z = _z(seed=4)
    q = ortho_group.rvs(4, random_state=5)
    res = orthogonal_identifiability(z @ q, z)
    assert res.mean == pytest.approx(1.0, abs=1e-10)
    assert res.sv_deviation == pytest.approx(0.0, abs=1e-10)
    assert res.sv_mae_to_one == pytest.approx(0.0, abs=1e-10)
    # scaled orthogonal: still no deviation from a constant, but singular values 1/2
    scaled = orthogonal_identifiability(2.0 * z @ q, z)
    assert scaled.sv_deviation == pytest.approx(0.0, abs=1e-10)
    assert scaled.sv_mae_to_one == pytest.approx(0.5, abs=1e-10)
    assert np.allclose(scaled.singular_values, 0.5, atol=1e-10)


def test_non_orthogonal_or_offset_maps_are_detected():
    z = _z(seed=6)
    a = np.diag([1.0, 2.0, 4.0, 8.0]) @ ortho_group.rvs(4, random_state=7)
    skewed = orthogonal_identifiability(z @ a, z)
    assert skewed.mean == pytest.approx(1.0, abs=1e-10)  # still linear
    assert skewed.sv_deviation > 0.3  # but far from orthogonal
    shifted = orthogonal_identifiability(z + 5.0, z)  # offset: no intercept to absorb it
    assert shifted.mean < 0.9
    assert affine_r2(z + 5.0, z).mean == pytest.approx(1.0, abs=1e-10)


def test_orthogonal_fit_matches_sklearn_without_intercept():
    rng = np.random.default_rng(8)
    z = _z(n=500, d=3, seed=9)
    z_l = z @ rng.normal(size=(3, 3)) + 0.5 * rng.normal(size=(500, 3)) + 0.3
    res = orthogonal_identifiability(z_l, z, test_size=0.4, seed=1)
    tr, te = res.train_indices, res.test_indices
    lr = LinearRegression(fit_intercept=False).fit(z_l[tr], z[tr])
    want = r2_score(z[te], lr.predict(z_l[te]), multioutput="raw_values")
    assert np.allclose(res.per_dimension, want, atol=1e-8, rtol=0)
    assert np.allclose(res.singular_values, np.linalg.svd(lr.coef_, compute_uv=False), atol=1e-8)


def test_both_directions_detect_extra_dimensions():
    rng = np.random.default_rng(10)
    z = _z(seed=11)
    nuisance = rng.normal(size=(1000, 2))  # learned space holds z plus independent noise dims
    z_l = np.column_stack([z @ rng.normal(size=(4, 4)), nuisance])
    res = linear_identifiability(z_l, z, direction="both")
    assert res.learned_to_true.mean == pytest.approx(1.0, abs=1e-10)
    assert res.true_to_learned.mean < 0.8
    assert res.true_to_learned.per_dimension.shape == (6,)
    assert set(res.scores) == {"learned_to_true", "true_to_learned"}
    only = linear_identifiability(z_l, z, direction="true_to_learned", kind="orthogonal")
    assert only.learned_to_true is None and only.true_to_learned.singular_values.shape == (4,)


def test_in_sample_and_torch_inputs():
    z = _z(n=50, d=2, seed=12)
    res = affine_r2(torch.tensor(z * 3.0), torch.tensor(z), test_size=None)
    assert res.n_train == res.n_test == 50
    assert res.mean == pytest.approx(1.0, abs=1e-10)


def test_errors():
    z = _z(n=40, d=3, seed=13)
    with pytest.raises(ProbekitError, match="constant column"):
        affine_r2(z, np.column_stack([z[:, 0], np.ones(40)]))
    with pytest.raises(ProbekitError, match="at least"):
        affine_r2(_z(n=8, d=6), _z(n=8, d=2))
    with pytest.raises(ProbekitError, match="same number of samples"):
        affine_r2(z, z[:-1])
    with pytest.raises(ProbekitError, match="learned_to_true"):
        linear_identifiability(z, z, direction="learned->true")
    bad = z.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ProbekitError, match=r"infinite value\(s\) \(first at index \(3, 1\)\)"):
        orthogonal_identifiability(bad, z)
    with pytest.raises(ProbekitError, match="test_size"):
        affine_r2(z, z, test_size=0)
