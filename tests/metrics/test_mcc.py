"""MCC: known answers, brute-force and scipy cross-checks, error handling."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from scipy.stats import rankdata, spearmanr

from probekit.errors import ProbekitError
from probekit.metrics.mcc import correlation_matrix, mcc_report, mean_correlation_coefficient, rank_columns


def _latents(n=2000, d=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def _brute_force_mcc(c: np.ndarray, sign_invariant: bool = True) -> float:
    """Max over all one-to-one matchings of the mean (abs) matched correlation."""
    s = np.abs(c) if sign_invariant else c
    d_t, d_l = s.shape
    if d_t <= d_l:
        return max(np.mean([s[i, p[i]] for i in range(d_t)]) for p in itertools.permutations(range(d_l), d_t))
    return max(np.mean([s[p[j], j] for j in range(d_l)]) for p in itertools.permutations(range(d_t), d_l))


def test_permutation_and_scaling_gives_mcc_one_and_recovers_the_permutation():
    z = _latents()
    perm = np.array([3, 0, 4, 1, 2])
    scales = np.array([2.0, -0.5, 3.0, 10.0, -1.0])
    z_l = z[:, perm] * scales + 7.0  # learned column k = scales[k] * true column perm[k]
    rep = mcc_report(z, z_l)
    assert rep.mcc == pytest.approx(1.0, abs=1e-12)
    # true column perm[k] is matched to learned column k
    assert dict(zip(rep.true_indices.tolist(), rep.learned_indices.tolist())) == {p: k for k, p in enumerate(perm)}
    assert np.allclose(np.sign(rep.per_dimension), np.sign(scales[rep.learned_indices]))
    # without sign invariance the two negative scales cost: (3 * 1 + 2 * (-1)) / 5
    assert mean_correlation_coefficient(z, z_l, sign_invariant=False) < 1.0 - 1e-6
    assert mean_correlation_coefficient(z, z_l, method="spearman") == pytest.approx(1.0, abs=1e-12)


def test_random_invertible_linear_map_gives_mcc_below_one_and_weak_mcc_one():
    z = _latents(seed=1)
    a = np.random.default_rng(2).normal(size=(5, 5))
    z_l = z @ a + 1.0
    assert mean_correlation_coefficient(z, z_l) < 0.9
    assert mean_correlation_coefficient(z, z_l, weak=True) == pytest.approx(1.0, abs=1e-10)
    assert mean_correlation_coefficient(z, z_l, weak=True, test_size=0.5) == pytest.approx(1.0, abs=1e-10)


def test_elementwise_monotone_map_gives_spearman_one_pearson_below_one():
    z = _latents(seed=3)
    z_l = np.column_stack([np.exp(2 * z[:, 0]), z[:, 1] ** 3, np.tanh(3 * z[:, 2]), -np.exp(z[:, 3]), z[:, 4] ** 5])
    assert mean_correlation_coefficient(z, z_l, method="spearman") == pytest.approx(1.0, abs=1e-12)
    assert mean_correlation_coefficient(z, z_l, method="pearson") < 0.9


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
@pytest.mark.parametrize("sign_invariant", [True, False])
def test_matches_brute_force_over_permutations(shape, sign_invariant):
    rng = np.random.default_rng(sum(shape))
    d_t, d_l = shape
    z = rng.normal(size=(300, d_t))
    z_l = z @ rng.normal(size=(d_t, d_l)) + 0.7 * rng.normal(size=(300, d_l))
    c = np.corrcoef(z.T, z_l.T)[:d_t, d_t:]  # independent computation
    got = mean_correlation_coefficient(z, z_l, sign_invariant=sign_invariant)
    assert got == pytest.approx(_brute_force_mcc(c, sign_invariant), abs=1e-10)
    rep = mcc_report(z, z_l, sign_invariant=sign_invariant)
    assert rep.per_dimension.shape == (min(shape),)
    assert rep.unmatched_true.size == max(0, d_t - d_l)


def test_correlation_matrix_matches_numpy_and_scipy():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(500, 4)) * [1, 10, 100, 1e-3] + 1e4  # large offsets: no cancellation
    b = a[:, :3] @ rng.normal(size=(3, 6)) + rng.normal(size=(500, 6))
    assert np.allclose(correlation_matrix(a, b), np.corrcoef(a.T, b.T)[:4, 4:], atol=1e-10, rtol=0)
    ties = np.floor((a - a.mean(0)) / a.std(0) * 2)  # few integer values: many ties
    rho = spearmanr(ties, b).statistic[:4, 4:]
    assert np.allclose(correlation_matrix(ties, b, method="spearman"), rho, atol=1e-10, rtol=0)


def test_rank_columns_matches_scipy_rankdata_with_ties():
    rng = np.random.default_rng(12)
    x = rng.integers(0, 5, size=(300, 7)).astype(float)  # heavy ties
    x[:, 3] = rng.normal(size=300)  # no ties
    x[:, 5] = 2.0  # one tie group
    assert np.array_equal(rank_columns(x), rankdata(x, axis=0, method="average"))


def test_spearman_mcc_matches_scipy_and_brute_force():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(400, 4))
    z_l = np.exp(z @ rng.normal(size=(4, 4)))
    c = spearmanr(z, z_l).statistic[:4, 4:]
    assert mean_correlation_coefficient(z, z_l, method="spearman") == pytest.approx(_brute_force_mcc(c), abs=1e-10)


def test_out_of_sample_mcc_uses_disjoint_splits():
    z = _latents(n=1001, seed=7)
    z_l = z[:, ::-1] + 0.5 * np.random.default_rng(8).normal(size=z.shape)
    rep = mcc_report(z, z_l, test_size=0.5, seed=3)
    assert rep.n_fit + rep.n_score == 1001 and rep.n_score == 501
    assert 0.8 < rep.mcc < 1.0
    assert rep.learned_indices.tolist() == [4, 3, 2, 1, 0]
    # the out-of-sample score is the held-out correlation of the in-sample matching
    assert rep.mcc != pytest.approx(mcc_report(z, z_l).mcc, abs=1e-12)


def test_torch_and_1d_inputs():
    z = _latents(n=200, d=1, seed=9)[:, 0]
    t = torch.tensor(2 * z + 1, dtype=torch.float32, requires_grad=True)
    assert mean_correlation_coefficient(z, t) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    "z_true, z_learned, match",
    [
        (np.zeros((10, 2)) + np.arange(2), np.random.default_rng(0).normal(size=(10, 2)), "constant column"),
        (np.ones((10, 2)).cumsum(0), np.ones((9, 2)).cumsum(0), "same number of samples"),
        (np.full((10, 2), np.nan), np.ones((10, 2)), "NaN"),
        (np.ones((10, 2, 2)), np.ones((10, 2)), "3-D"),
        (np.array([["a", "b"]] * 10), np.ones((10, 2)), "numeric"),
    ],
)
def test_bad_inputs_raise_clear_errors(z_true, z_learned, match):
    with pytest.raises(ProbekitError, match=match):
        mean_correlation_coefficient(z_true, z_learned)


def test_bad_options_raise():
    z = _latents(n=50, d=2)
    with pytest.raises(ProbekitError, match="spearman"):
        mean_correlation_coefficient(z, z, method="spearmann")
    with pytest.raises(ProbekitError, match="test_size"):
        mean_correlation_coefficient(z, z, test_size=1.5)
    with pytest.raises(ProbekitError, match="at least 3"):
        mean_correlation_coefficient(z[:2], z[:2])
