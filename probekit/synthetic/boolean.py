"""Boolean worlds: latent bits, invertible observation maps, multi-task data sets.

The generative model of Zhang, Chen & Chen (2025): latents ``z ∈ {±1}^n`` (uniform),
observations ``x = psi(z)`` for an invertible map ``psi`` of the cube, and proxy tasks
``y_i = h_i(z)`` that a learner sees only as functions of ``x`` (``h_i ∘ psi^-1``).

Representations of maps
-----------------------
Points of the cube are indexed as in :mod:`probekit.metrics.walsh`: index ``i`` <-> the
point with ``z_j = 1 - 2 * ((i >> j) & 1)`` (bit 0 -> +1). A map ``A: {±1}^n -> {±1}^n``
is a *table*: an int64 array of shape ``(2**n,)`` with ``table[i] = index of A(z_i)``;
bijections are permutations of ``0 .. 2**n - 1``. Composition ``(A ∘ B)[i] = A[B[i]]``
is :func:`compose`, the inverse :func:`invert`.

In bit (GF(2)) notation a point is the bit vector ``b = (b_0, ..., b_{n-1})``.

* A **GF(2)-affine map** is ``b -> M b XOR c`` with ``M`` an invertible 0/1 matrix
  over GF(2); in ±1 notation each output coordinate is ``± prod_{k in S_j} z_k`` (a
  signed parity), so it is a non-linear map of the ±1 cube.
* A **signed permutation** is ``z -> (s_0 z_{pi(0)}, ..., s_{n-1} z_{pi(n-1)})``,
  ``s_j ∈ {±1}``: exactly the affine maps whose ``M`` is a permutation matrix
  (sign flips are the translations ``c``). There are ``2**n * n!`` of them, and they
  are the maps that preserve the Fourier degree of every function
  (``deg(h ∘ P) = deg h``).

Task families (:func:`sample_tasks`)
------------------------------------
* ``"junta"``: a random ``k``-junta ``h(z) = f(z_{j_1}, ..., z_{j_k})`` with the ``k``
  distinct coordinates drawn uniformly and ``f`` a uniform ±1-valued function of the
  ``k`` bits, redrawn until it depends on all ``k`` (so ``k = 1`` gives ``±z_j``, never
  a constant).
* ``"parity"``: ``chi_S(z) = prod_{j in S} z_j`` with ``S`` uniform among the non-empty
  subsets of size ``<= k`` (``k = n``: all ``2**n - 1`` non-empty subsets).
* ``"degree"``: a real-valued random function of degree exactly ``k``,
  ``h = sum_{|S| <= k} c_S chi_S`` with i.i.d. ``c_S ~ N(0, 1)`` (all non-zero a.s.).

References
----------
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
(arXiv 2502.09297), Sec. 2 (data-generating process ``x = psi(z)``, multi-task proxy
tasks) and Sec. 4 (signed permutations as the simple transforms).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probekit.errors import ProbekitError, did_you_mean
from probekit.metrics.walsh import (
    inverse_walsh_hadamard,
    n_bits_of,
    subset_sizes,
    walsh_hadamard,
)

__all__ = [
    "MAP_KINDS",
    "TASK_FAMILIES",
    "BooleanWorld",
    "MultiTaskData",
    "TaskSet",
    "affine_table",
    "bits_of",
    "compose",
    "coverage_probability",
    "covering_juntas",
    "cube",
    "index_of",
    "invert",
    "is_affine",
    "is_bijection",
    "is_signed_permutation",
    "make_multitask_data",
    "make_world",
    "parity_table",
    "random_affine_map",
    "random_bijection",
    "random_signed_permutation",
    "relevant_variables",
    "sample_tasks",
    "signed_permutation_table",
]

MAX_N = 20
MAP_KINDS = ("identity", "signed_permutation", "affine", "bijection")
TASK_FAMILIES = ("junta", "parity", "degree")


def _check_n(n: Any, maximum: int = MAX_N) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= maximum:
        raise ProbekitError(f"n={n!r}; expected an integer number of latent bits in [1, {maximum}]")
    return int(n)


def _rng(seed: Any) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise ProbekitError(f"seed={seed!r}; expected an int, None or a numpy Generator")


def cube(n: int) -> np.ndarray:
    """All ``2**n`` points of ``{±1}^n`` in truth-table order.

    Parameters
    ----------
    n : int
        Number of bits, ``1 <= n <= 20``.

    Returns
    -------
    numpy.ndarray of float64, shape (2**n, n)
        Row ``i``, column ``j`` is ``1 - 2 * ((i >> j) & 1)``.
    """
    n = _check_n(n)
    idx = np.arange(2**n)
    return 1.0 - 2.0 * ((idx[:, None] >> np.arange(n)[None, :]) & 1)


def bits_of(n: int) -> np.ndarray:
    """All ``2**n`` points as 0/1 bit vectors (``b_j = (i >> j) & 1``), shape (2**n, n), int64."""
    n = _check_n(n)
    idx = np.arange(2**n)
    return (idx[:, None] >> np.arange(n)[None, :]) & 1


def index_of(z: Any) -> np.ndarray:
    """Truth-table index of ±1 points (inverse of :func:`cube`).

    Parameters
    ----------
    z : array-like, shape (n_samples, n_latents)
        Entries ±1 (``sign`` is taken, so any non-zero values work; 0 is rejected).

    Returns
    -------
    numpy.ndarray of int64, shape (n_samples,)

    Raises
    ------
    ProbekitError
        If ``z`` is not 2-D or contains zeros / NaN.
    """
    arr = np.asarray(z, dtype=np.float64)
    if arr.ndim != 2:
        raise ProbekitError(f"z has shape {arr.shape}; expected (n_samples, n_latents)")
    _check_n(arr.shape[1])
    if not np.all(np.isfinite(arr)) or np.any(arr == 0):
        raise ProbekitError("z must contain only non-zero finite values (±1 points)")
    bits = (arr < 0).astype(np.int64)
    return (bits << np.arange(arr.shape[1])[None, :]).sum(axis=1)


def _check_table(table: Any, name: str = "table") -> np.ndarray:
    arr = np.asarray(table)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ProbekitError(
            f"{name} must be a 1-D integer array of length 2**n (a map of the cube as a "
            f"table of point indices); got shape {arr.shape}, dtype {arr.dtype}"
        )
    n_bits_of(arr.size)
    if arr.min() < 0 or arr.max() >= arr.size:
        raise ProbekitError(f"{name} has entries outside [0, {arr.size - 1}]")
    return arr.astype(np.int64)


def is_bijection(table: Any) -> bool:
    """Whether a map table is a permutation of the cube points."""
    arr = _check_table(table)
    return bool(np.array_equal(np.sort(arr), np.arange(arr.size)))


def compose(outer: Any, inner: Any) -> np.ndarray:
    """Table of ``outer ∘ inner`` (first ``inner``, then ``outer``): ``outer[inner]``.

    Parameters
    ----------
    outer, inner : array-like of int, shape (2**n,)

    Returns
    -------
    numpy.ndarray of int64, shape (2**n,)
    """
    a, b = _check_table(outer, "outer"), _check_table(inner, "inner")
    if a.size != b.size:
        raise ProbekitError(f"cannot compose maps on cubes of sizes {a.size} and {b.size}")
    return a[b]


def invert(table: Any) -> np.ndarray:
    """Table of the inverse of a bijection.

    Raises
    ------
    ProbekitError
        If ``table`` is not a bijection.
    """
    arr = _check_table(table)
    if not is_bijection(arr):
        raise ProbekitError("table is not a bijection of the cube, so it has no inverse")
    inv = np.empty_like(arr)
    inv[arr] = np.arange(arr.size)
    return inv


def affine_table(matrix: Any, shift: int = 0) -> np.ndarray:
    """Table of the GF(2)-affine map ``b -> M b XOR c``.

    Parameters
    ----------
    matrix : array-like of 0/1, shape (n, n)
        ``M[r, j] = 1`` when input bit ``j`` enters output bit ``r``.
    shift : int
        ``c`` as a bit mask in ``[0, 2**n)`` (in ±1 notation: the sign flips).

    Returns
    -------
    numpy.ndarray of int64, shape (2**n,)
        A bijection iff ``M`` is invertible over GF(2).
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or not np.isin(m, (0, 1)).all():
        raise ProbekitError(f"matrix must be a square 0/1 array; got shape {m.shape}")
    n = _check_n(m.shape[0])
    if not 0 <= int(shift) < 2**n:
        raise ProbekitError(f"shift={shift!r}; expected a bit mask in [0, {2**n})")
    cols = (m.astype(np.int64) << np.arange(n)[:, None]).sum(axis=0)  # column j as a mask
    table = np.zeros(1, dtype=np.int64)
    for j in range(n):
        table = np.concatenate([table, table ^ cols[j]])
    return table ^ int(shift)


def signed_permutation_table(perm: Any, signs: Any) -> np.ndarray:
    """Table of ``z -> (signs[r] * z[perm[r]])_r``.

    Parameters
    ----------
    perm : array-like of int, shape (n,)
        A permutation of ``0 .. n-1``; output coordinate ``r`` reads ``z[perm[r]]``.
    signs : array-like of ±1, shape (n,)

    Returns
    -------
    numpy.ndarray of int64, shape (2**n,)
    """
    perm = np.asarray(perm)
    signs = np.asarray(signs)
    n = _check_n(perm.size)
    if sorted(perm.tolist()) != list(range(n)):
        raise ProbekitError(f"perm={perm.tolist()} is not a permutation of 0..{n - 1}")
    if signs.shape != (n,) or not np.isin(signs, (-1, 1)).all():
        raise ProbekitError(f"signs must be {n} values in {{-1, +1}}; got {signs.tolist()}")
    m = np.zeros((n, n), dtype=np.int64)
    m[np.arange(n), perm] = 1
    shift = int(((signs < 0).astype(np.int64) << np.arange(n)).sum())
    return affine_table(m, shift)


def random_signed_permutation(n: int, seed: Any = None) -> np.ndarray:
    """Uniform random signed permutation of ``{±1}^n`` as a table (shape (2**n,))."""
    n = _check_n(n)
    rng = _rng(seed)
    return signed_permutation_table(rng.permutation(n), rng.choice([-1, 1], size=n))


def random_affine_map(n: int, seed: Any = None) -> np.ndarray:
    """Uniform random GF(2)-affine bijection ``b -> M b XOR c`` as a table.

    ``M`` is uniform on GL(n, 2) (rejection sampling of random 0/1 matrices, accepted with
    probability > 0.28) and ``c`` uniform.

    Returns
    -------
    numpy.ndarray of int64, shape (2**n,)
    """
    n = _check_n(n)
    rng = _rng(seed)
    while True:
        m = rng.integers(0, 2, size=(n, n))
        table = affine_table(m, int(rng.integers(0, 2**n)))
        if is_bijection(table):
            return table


def random_bijection(n: int, seed: Any = None) -> np.ndarray:
    """Uniform random bijection of the cube (a random permutation of its points)."""
    n = _check_n(n)
    return _rng(seed).permutation(2**n).astype(np.int64)


def _linear_part(table: Any) -> tuple[bool, np.ndarray, np.ndarray, np.ndarray]:
    """Parse map table(s) and split off the translation.

    Returns ``(single, tables, cols, linear)``: whether one table was given, the tables
    (n_maps, 2**n), the image of each unit vector after removing the translation
    (n_maps, n), and whether each map is affine (its table is the span of ``cols``).
    """
    arr = np.asarray(table)
    single = arr.ndim == 1
    if single:
        _check_table(arr)
    tables = np.atleast_2d(arr).astype(np.int64)
    n = n_bits_of(tables.shape[1])
    shifted = tables ^ tables[:, :1]
    cols = shifted[:, 1 << np.arange(n)]
    return single, tables, cols, np.all(_span_tables(cols) == shifted, axis=1)


def _span_tables(cols: np.ndarray) -> np.ndarray:
    """Linear tables b -> XOR_{j: b_j = 1} cols[:, j] for a batch of column sets."""
    table = np.zeros((cols.shape[0], 1), dtype=np.int64)
    for j in range(cols.shape[1]):
        table = np.concatenate([table, table ^ cols[:, j : j + 1]], axis=1)
    return table


def is_affine(table: Any) -> Any:
    """Whether map table(s) are GF(2)-affine bijections.

    Parameters
    ----------
    table : array-like of int, shape (2**n,) or (n_maps, 2**n)

    Returns
    -------
    bool or numpy.ndarray of bool, shape (n_maps,)

    Raises
    ------
    ProbekitError
        A single table whose length is not a power of two or whose entries are not in
        ``0 .. 2**n - 1``.
    """
    single, tables, _, linear = _linear_part(table)
    bijective = np.all(np.sort(tables, axis=1) == np.arange(tables.shape[1]), axis=1)
    out = linear & bijective
    return bool(out[0]) if single else out


def is_signed_permutation(table: Any) -> Any:
    """Whether map table(s) are signed permutations of the coordinates.

    A map is a signed permutation iff it is affine with a permutation-matrix linear part:
    every unit vector maps (after removing the translation) to a distinct unit vector.

    Parameters
    ----------
    table : array-like of int, shape (2**n,) or (n_maps, 2**n)

    Returns
    -------
    bool or numpy.ndarray of bool, shape (n_maps,)

    Raises
    ------
    ProbekitError
        A single table whose length is not a power of two or whose entries are not in
        ``0 .. 2**n - 1``.
    """
    single, _, cols, linear = _linear_part(table)
    unit = (cols > 0) & ((cols & (cols - 1)) == 0)
    distinct = np.bitwise_or.reduce(cols, axis=1) == (2 ** cols.shape[1] - 1)
    out = np.all(unit, axis=1) & distinct & linear
    return bool(out[0]) if single else out


def parity_table(n: int, subset: Any) -> np.ndarray:
    """Truth table of ``chi_S(z) = prod_{j in S} z_j``.

    Parameters
    ----------
    n : int
    subset : iterable of int or int
        The coordinates of ``S`` (or its bit mask when an int).

    Returns
    -------
    numpy.ndarray of float64, shape (2**n,)
    """
    n = _check_n(n)
    if isinstance(subset, (int, np.integer)) and not isinstance(subset, bool):
        mask = int(subset)
    else:
        idx = list(subset)
        if any(not 0 <= int(j) < n for j in idx) or len(set(idx)) != len(idx):
            raise ProbekitError(f"subset={idx}; expected distinct coordinates in [0, {n})")
        mask = sum(1 << int(j) for j in idx)
    if not 0 <= mask < 2**n:
        raise ProbekitError(f"subset mask {mask} outside [0, {2**n})")
    sizes = subset_sizes(n)
    return 1.0 - 2.0 * (sizes[np.arange(2**n) & mask] % 2)


def relevant_variables(tables: Any, tol: float = 1e-9) -> np.ndarray:
    """Which coordinates each truth table depends on.

    Coordinate ``j`` is relevant for ``f`` iff some ``S`` with ``j in S`` has
    ``|f_hat(S)| > tol`` (O'Donnell 2014, Def. 2.18 / influence ``Inf_j > 0``).

    Parameters
    ----------
    tables : array-like, shape (n_points,) or (n_points, n_functions)
    tol : float

    Returns
    -------
    numpy.ndarray of bool, shape (n_functions, n) (or (n,) for one table)
    """
    arr = np.asarray(tables, dtype=np.float64)
    single = arr.ndim == 1
    coef = walsh_hadamard(arr if not single else arr[:, None])
    n = n_bits_of(coef.shape[0])
    masks = np.arange(coef.shape[0])
    member = ((masks[:, None] >> np.arange(n)[None, :]) & 1).astype(bool)  # (n_points, n)
    big = np.abs(coef) > tol  # (n_points, n_functions)
    rel = (big.T.astype(np.int64) @ member.astype(np.int64)) > 0
    return rel[0] if single else rel


@dataclass(frozen=True)
class TaskSet:
    """A sampled family of tasks on the latent cube.

    Attributes
    ----------
    tables : numpy.ndarray of float64, shape (2**n, n_tasks)
        ``h_i(z)`` in truth-table order of ``z``.
    family : str
    k : int
        Junta size / maximal parity size / degree.
    relevant : numpy.ndarray of bool, shape (n_tasks, n)
        Coordinates each task depends on.
    descriptions : tuple of str
        Human-readable description per task.
    """

    tables: np.ndarray
    family: str
    k: int
    relevant: np.ndarray
    descriptions: tuple[str, ...] = field(default=())

    @property
    def n_tasks(self) -> int:
        """Number of tasks."""
        return self.tables.shape[1]

    @property
    def covered(self) -> np.ndarray:
        """bool (n,): latent bits that at least one task depends on."""
        return self.relevant.any(axis=0)

    @property
    def covers_all(self) -> bool:
        """Whether every latent bit is relevant to some task."""
        return bool(self.covered.all())

    @property
    def label(self) -> str:
        """Short family label, e.g. ``"1-junta"``, ``"parity(<=3)"``, ``"degree<=2"``."""
        if self.family == "junta":
            return f"{self.k}-junta"
        if self.family == "parity":
            return "parity" if self.k >= n_bits_of(self.tables.shape[0]) else f"parity(<={self.k})"
        return f"degree<={self.k}"


def sample_tasks(
    family: str, n: int, n_tasks: int, k: int | None = None, seed: Any = None
) -> TaskSet:
    """Sample ``n_tasks`` random tasks on ``{±1}^n`` from a family.

    Parameters
    ----------
    family : {"junta", "parity", "degree"}
        See the module docstring for the exact distributions.
    n : int
        Number of latent bits, ``1 <= n <= 20``.
    n_tasks : int
        ``>= 1``.
    k : int, optional
        Junta size (default 1), maximal parity size (default ``n``) or degree (default 2);
        ``1 <= k <= n``.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    TaskSet

    Raises
    ------
    ProbekitError
        Unknown family, or ``n``, ``n_tasks``, ``k`` out of range.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 2 and 4 (proxy tasks as Boolean functions).
    """
    if family not in TASK_FAMILIES:
        raise ProbekitError(did_you_mean(str(family), TASK_FAMILIES, "task family"))
    n = _check_n(n)
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
        raise ProbekitError(f"n_tasks={n_tasks!r}; expected an integer >= 1")
    default_k = {"junta": 1, "parity": n, "degree": 2}[family]
    k = default_k if k is None else k
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ProbekitError(f"k={k!r}; expected an integer in [1, n={n}]")
    k = int(k)
    rng = _rng(seed)
    pts = cube(n)
    sizes = subset_sizes(n)
    tables, desc = [], []
    for _ in range(int(n_tasks)):
        if family == "junta":
            coords = np.sort(rng.choice(n, size=k, replace=False))
            while True:
                values = rng.choice([-1.0, 1.0], size=2**k)
                sub = walsh_hadamard(values)
                sub_sizes_masks = np.arange(2**k)
                dep = [
                    np.any(np.abs(sub[(sub_sizes_masks >> t) & 1 == 1]) > 1e-12) for t in range(k)
                ]
                if all(dep):
                    break
            local = ((pts[:, coords] < 0).astype(np.int64) << np.arange(k)).sum(axis=1)
            tables.append(values[local])
            desc.append(f"f(z{list(coords.tolist())}) table={values.astype(int).tolist()}")
        elif family == "parity":
            choices = np.flatnonzero((sizes >= 1) & (sizes <= k))
            mask = int(rng.choice(choices))
            tables.append(parity_table(n, mask))
            desc.append(f"chi{[j for j in range(n) if mask >> j & 1]}")
        else:
            coef = np.where(sizes <= k, rng.standard_normal(2**n), 0.0)
            tables.append(inverse_walsh_hadamard(coef))
            desc.append(f"random degree-{k} (Gaussian coefficients)")
    tab = np.stack(tables, axis=1)
    return TaskSet(
        tables=tab, family=family, k=k, relevant=relevant_variables(tab), descriptions=tuple(desc)
    )


def covering_juntas(n: int, n_tasks: int, n_uncovered: int = 0, seed: Any = None) -> TaskSet:
    """1-junta tasks ``±z_j`` that cover every allowed latent bit as early as possible.

    ``n_uncovered`` bits (drawn uniformly) are left out; of the remaining ``m = n -
    n_uncovered`` bits, the first ``min(n_tasks, m)`` tasks are signed dictators of
    *distinct* bits in random order and the rest pick their bit uniformly among the
    ``m``; every sign is uniform. So prefixes are nested (the first ``T`` tasks of a set
    with more tasks are the set with ``T`` tasks), ``T >= n`` tasks with
    ``n_uncovered = 0`` always cover every bit, and ``n_uncovered >= 1`` never does — the
    ideal low-degree learner then recovers ``z`` in the first case only (a bit that no
    task depends on can be mixed with another bit at no cost in degree).

    Parameters
    ----------
    n : int
        Latent bits, ``1 <= n <= 20``.
    n_tasks : int
        ``>= 1``.
    n_uncovered : int
        Bits no task depends on, ``0 <= n_uncovered < n``.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    TaskSet
        ``family="junta"``, ``k=1``; ``tables`` of shape (2**n, n_tasks), entries ±1.

    Raises
    ------
    ProbekitError
        ``n``, ``n_tasks`` or ``n_uncovered`` out of range.
    """
    n = _check_n(n)
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
        raise ProbekitError(f"n_tasks={n_tasks!r}; expected an integer >= 1")
    if isinstance(n_uncovered, bool) or not isinstance(n_uncovered, (int, np.integer)) or not 0 <= n_uncovered < n:
        raise ProbekitError(f"n_uncovered={n_uncovered!r}; expected an integer in [0, n={n})")
    rng = _rng(seed)
    allowed = np.sort(rng.choice(n, size=n - int(n_uncovered), replace=False))
    order = rng.permutation(allowed)
    coords, signs = np.empty(int(n_tasks), dtype=np.int64), np.empty(int(n_tasks))
    for i in range(int(n_tasks)):  # one task at a time from one stream: prefixes nest
        coords[i] = order[i] if i < order.size else rng.choice(allowed)
        signs[i] = rng.choice([-1.0, 1.0])
    tab = cube(n)[:, coords] * signs[None, :]
    desc = tuple(f"{'+' if s > 0 else '-'}z{j}" for j, s in zip(coords.tolist(), signs))
    return TaskSet(tables=tab, family="junta", k=1, relevant=relevant_variables(tab), descriptions=desc)


def coverage_probability(n: int, n_tasks: int, k: int = 1) -> float:
    """Probability that ``n_tasks`` uniform ``k``-subsets of ``n`` coordinates cover all.

    For 1-juntas this is the exact probability that every latent bit is the relevant
    variable of some task (inclusion–exclusion):
    ``sum_m (-1)**m C(n, m) (C(n-m, k) / C(n, k))**n_tasks``.

    Parameters
    ----------
    n, n_tasks, k : int

    Returns
    -------
    float in [0, 1]
    """
    n = _check_n(n)
    if not 1 <= k <= n or n_tasks < 0:
        raise ProbekitError(f"need 1 <= k <= n and n_tasks >= 0; got k={k}, n_tasks={n_tasks}")
    total = math.comb(n, k)
    p = sum(
        (-1) ** m * math.comb(n, m) * (math.comb(n - m, k) / total) ** n_tasks
        for m in range(n + 1)
    )
    p = 0.0 if abs(p) < 1e-12 else p  # inclusion-exclusion round-off
    return float(min(1.0, max(0.0, p)))


@dataclass(frozen=True)
class BooleanWorld:
    """A world ``x = psi(z)`` on ``{±1}^n``.

    Attributes
    ----------
    n : int
    kind : str
        One of ``MAP_KINDS``.
    psi : numpy.ndarray of int64, shape (2**n,)
        ``psi[index(z)] = index(x)``.
    """

    n: int
    kind: str
    psi: np.ndarray

    @property
    def psi_inverse(self) -> np.ndarray:
        """Table of ``psi^-1`` (shape (2**n,))."""
        return invert(self.psi)

    def observe(self, z: Any) -> np.ndarray:
        """``x = psi(z)`` for ±1 points ``z`` of shape (n_samples, n); float64 ±1."""
        return cube(self.n)[self.psi[index_of(z)]]

    def tasks_on_observations(self, tasks: TaskSet) -> np.ndarray:
        """Task truth tables as functions of ``x``: ``y_i(x) = h_i(psi^-1(x))``.

        Returns
        -------
        numpy.ndarray of float64, shape (2**n, n_tasks)
        """
        if tasks.tables.shape[0] != 2**self.n:
            raise ProbekitError(
                f"tasks live on a cube of {tasks.tables.shape[0]} points; world has {2**self.n}"
            )
        return tasks.tables[self.psi_inverse]


def make_world(n: int, kind: str = "bijection", seed: Any = None) -> BooleanWorld:
    """A random world ``x = psi(z)``.

    Parameters
    ----------
    n : int
    kind : {"identity", "signed_permutation", "affine", "bijection"}
        ``psi`` uniform among signed permutations, GF(2)-affine bijections or all
        bijections of the cube (``"identity"``: ``x = z``).
    seed : int, None or numpy.random.Generator

    Returns
    -------
    BooleanWorld

    Raises
    ------
    ProbekitError
        Unknown ``kind`` or bad ``n``.
    """
    if kind not in MAP_KINDS:
        raise ProbekitError(did_you_mean(str(kind), MAP_KINDS, "world kind"))
    n = _check_n(n)
    rng = _rng(seed)
    psi = {
        "identity": lambda: np.arange(2**n, dtype=np.int64),
        "signed_permutation": lambda: random_signed_permutation(n, rng),
        "affine": lambda: random_affine_map(n, rng),
        "bijection": lambda: random_bijection(n, rng),
    }[kind]()
    return BooleanWorld(n=n, kind=kind, psi=psi)


@dataclass(frozen=True)
class MultiTaskData:
    """A multi-task data set drawn from a Boolean world.

    Attributes
    ----------
    z : numpy.ndarray of float64, shape (n_samples, n_latents)
        Latents (±1).
    x : numpy.ndarray of float64, shape (n_samples, n_latents)
        Observations ``psi(z)`` (±1).
    y : numpy.ndarray of float64, shape (n_samples, n_tasks)
        Task targets ``h_i(z)``.
    world : BooleanWorld
    tasks : TaskSet
    exhaustive : bool
        Whether the rows are the whole cube (in truth-table order of ``z``).
    """

    z: np.ndarray
    x: np.ndarray
    y: np.ndarray
    world: BooleanWorld
    tasks: TaskSet
    exhaustive: bool


def make_multitask_data(
    n: int,
    n_tasks: int,
    family: str = "junta",
    k: int | None = None,
    world: str | BooleanWorld = "bijection",
    n_samples: int | None = None,
    seed: Any = None,
) -> MultiTaskData:
    """Sample a world, a task family and a (possibly exhaustive) multi-task data set.

    Parameters
    ----------
    n : int
        Latent bits (``<= 16`` is practical: tasks are stored as truth tables).
    n_tasks : int
    family : {"junta", "parity", "degree"}
    k : int, optional
        See :func:`sample_tasks`.
    world : str or BooleanWorld
        A world kind for :func:`make_world`, or a ready world.
    n_samples : int, optional
        ``None``: every point of the cube once (exhaustive, rows in ``z`` order);
        otherwise i.i.d. uniform latents.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    MultiTaskData

    Raises
    ------
    ProbekitError
        Bad arguments (see :func:`sample_tasks`, :func:`make_world`).

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 2 (multi-task data-generating process).
    """
    n = _check_n(n, maximum=16)
    rng = _rng(seed)
    w = world if isinstance(world, BooleanWorld) else make_world(n, world, rng)
    if w.n != n:
        raise ProbekitError(f"world has n={w.n} bits but n={n} was requested")
    tasks = sample_tasks(family, n, n_tasks, k, rng)
    if n_samples is None:
        idx = np.arange(2**n)
    else:
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ProbekitError(f"n_samples={n_samples!r}; expected None or an integer >= 1")
        idx = rng.integers(0, 2**n, size=int(n_samples))
    pts = cube(n)
    return MultiTaskData(
        z=pts[idx],
        x=pts[w.psi[idx]],
        y=tasks.tables[idx],
        world=w,
        tasks=tasks,
        exhaustive=n_samples is None,
    )
