import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.metrics.neighbours import knn_indices, neighbour_overlap


def _brute_overlap(a, b, k):
    def nbrs(x):
        d = ((x[:, None] - x[None]) ** 2).sum(-1)
        np.fill_diagonal(d, np.inf)
        return np.argsort(d, axis=1)[:, :k]

    na, nb = nbrs(a), nbrs(b)
    return np.mean([len(set(na[i]) & set(nb[i])) / k for i in range(len(a))])


def test_matches_brute_force_and_handles_different_dims():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 3))
    b = np.c_[a @ rng.normal(size=(3, 7)), rng.normal(scale=0.5, size=(300, 2))]
    res = neighbour_overlap(a, b, k=10, chunk_size=64)
    assert res.score == pytest.approx(_brute_overlap(a, b, 10), abs=1e-12)
    assert res.k == 10 and res.n_samples == 300 and res.chance == pytest.approx(10 / 299)
    assert res.chance < res.score < 1


def test_invariances_and_chance_level():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2000, 4))
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    assert neighbour_overlap(a, 3.0 * a @ q + 5.0).score == pytest.approx(1.0)
    unrelated = neighbour_overlap(a, rng.normal(size=(2000, 4)), k=20)
    assert unrelated.chance == pytest.approx(20 / 1999)
    assert abs(unrelated.score - unrelated.chance) < 0.01


def test_knn_indices_exclude_self_even_with_duplicates():
    x = np.r_[np.zeros((3, 2)), np.arange(10)[:, None] * np.ones((1, 2))]
    idx = knn_indices(x, k=2)
    assert idx.shape == (13, 2)
    assert all(i not in row for i, row in enumerate(idx))


def test_bad_inputs_raise():
    a = np.zeros((10, 2))
    with pytest.raises(ProbekitError, match="same samples"):
        neighbour_overlap(a, np.zeros((9, 2)))
    with pytest.raises(ProbekitError, match="k must be"):
        neighbour_overlap(np.random.rand(10, 2), np.random.rand(10, 2), k=10)
    with pytest.raises(ProbekitError, match="NaN"):
        neighbour_overlap(np.full((10, 2), np.nan), a)
