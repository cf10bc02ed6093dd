"""k-nearest-neighbour overlap between two representations of the same samples.

For every sample ``i`` take its ``k`` nearest neighbours (itself excluded) in
representation ``a`` and in representation ``b``; the score is the mean fraction
shared, ``mean_i |N_a(i) & N_b(i)| / k``. It is 1 when both representations
have the same local neighbourhoods and ``k / (n - 1)`` in expectation for
unrelated ones (the chance level reported alongside).

Memory: neighbours are queried in chunks of ``chunk_size`` rows, so peak memory
is ``O(n * k)`` for the index arrays plus ``O(chunk_size * n)`` for the distance
block of the brute-force search (sklearn uses trees in low dimension): with the
default 512 rows and n = 50k that is ~200 MB at most, plus two ``(n, k)`` int64
arrays (8 MB each). Computation is in float64; time grows as ``n^2 * n_features``
for high-dimensional inputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.neighbors import NearestNeighbors

from probekit.errors import ProbekitError

__all__ = ["NeighbourOverlap", "knn_indices", "neighbour_overlap"]


@dataclass(frozen=True)
class NeighbourOverlap:
    """Result of :func:`neighbour_overlap`.

    Attributes
    ----------
    score : float
        Mean fraction of shared k-nearest neighbours, in [0, 1].
    chance : float
        Expected score for unrelated representations, ``k / (n_samples - 1)``.
    k : int
    n_samples : int
    """

    score: float
    chance: float
    k: int
    n_samples: int

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return asdict(self)


def _as_2d(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ProbekitError(f"{name} must have shape (n_samples, n_features); got {np.asarray(x).shape}")
    if not np.all(np.isfinite(arr)):
        raise ProbekitError(f"{name} contains NaN or infinite values")
    return arr


def knn_indices(x, k: int = 20, metric: str = "euclidean", chunk_size: int = 512) -> np.ndarray:
    """Indices of the ``k`` nearest neighbours of every row of ``x``, excluding the row itself.

    Parameters
    ----------
    x : array_like of shape (n_samples, n_features)
    k : int
    metric : str
        Any metric of :class:`sklearn.neighbors.NearestNeighbors`.
    chunk_size : int
        Rows queried at once.

    Returns
    -------
    ndarray of shape (n_samples, k), int64
        Neighbours, nearest first. When duplicates make a row's own index fall
        outside its ``k + 1`` nearest, the farthest of them is dropped instead.

    Raises
    ------
    ProbekitError
        Bad shape, non-finite values, or ``k`` not in ``[1, n_samples - 1]``.
    """
    x = _as_2d(x, "x")
    n = x.shape[0]
    if not 1 <= int(k) <= n - 1:
        raise ProbekitError(f"k must be in [1, n_samples - 1] = [1, {n - 1}]; got {k}")
    nn = NearestNeighbors(n_neighbors=k + 1, metric=metric).fit(x)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, chunk_size):
        stop = min(n, start + chunk_size)
        idx = nn.kneighbors(x[start:stop], return_distance=False)
        rows = np.arange(start, stop)
        is_self = idx == rows[:, None]
        # drop self where present, else drop the last (k+1-th) neighbour
        drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
        keep = np.ones_like(idx, dtype=bool)
        keep[np.arange(stop - start), drop] = False
        out[start:stop] = idx[keep].reshape(stop - start, k)
    return out


def neighbour_overlap(a, b, k: int = 20, metric: str = "euclidean",
                      chunk_size: int = 512) -> NeighbourOverlap:
    """Mean k-NN overlap of two representations of the same ``n`` samples.

    Parameters
    ----------
    a : array_like of shape (n_samples, n_features_a)
    b : array_like of shape (n_samples, n_features_b)
        Same samples, same order; the dimensions may differ.
    k : int
        Neighbourhood size (paper: 20).
    metric : str
        Distance used in both spaces.
    chunk_size : int
        Rows queried at once (memory bound, see module docstring).

    Returns
    -------
    NeighbourOverlap
        ``score``, ``chance = k / (n - 1)``, ``k``, ``n_samples``.

    Raises
    ------
    ProbekitError
        Row counts differ, bad shapes, non-finite values, or ``k`` out of range.

    References
    ----------
    Ostrow, Eisen & Fiete (2024). Delay Embedding Theory of Neural Sequence Models,
    arXiv 2406.11993, Sec. 3 (neighbour overlap of hidden states with the true
    state, k = 20); Kennel, Brown & Abarbanel (1992), Phys. Rev. A 45 (neighbour
    preservation as the criterion of an embedding).
    """
    a = _as_2d(a, "a")
    b = _as_2d(b, "b")
    if a.shape[0] != b.shape[0]:
        raise ProbekitError(f"a and b must hold the same samples; got {a.shape[0]} and {b.shape[0]} rows")
    n = a.shape[0]
    if n < 2:
        raise ProbekitError(f"need at least 2 samples; got {n}")
    na = knn_indices(a, k, metric, chunk_size)
    nb = knn_indices(b, k, metric, chunk_size)
    shared = 0
    for start in range(0, n, chunk_size):
        sa = np.sort(na[start:start + chunk_size], axis=1)
        sb = np.sort(nb[start:start + chunk_size], axis=1)
        # count common elements of two sorted rows (each row holds distinct indices)
        both = np.concatenate([sa, sb], axis=1)
        both.sort(axis=1)
        shared += int(np.sum(both[:, 1:] == both[:, :-1]))
    return NeighbourOverlap(score=shared / (n * k), chance=k / (n - 1), k=int(k), n_samples=int(n))
