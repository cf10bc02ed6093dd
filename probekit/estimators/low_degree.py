"""The ideal low-degree multi-task learner: exact minimum-degree search over representations.

Set-up (Zhang, Chen & Chen 2025). Latents ``z ∈ {±1}^n``, observations ``x = psi(z)``
for a bijection ``psi`` of the cube, tasks ``h_i`` on ``z``; the learner sees each task
as a function of the observation, ``y_i = h_i ∘ psi^-1``. A *representation* is a
bijection ``Phi`` of the cube (``r = Phi(x)``); the task heads that realise the tasks on
top of it are forced, ``g_i = y_i ∘ Phi^-1``, and the learner's objective is the total
Fourier–Walsh degree of its heads::

    C(Phi) = sum_i deg(y_i ∘ Phi^-1) = sum_i deg(h_i ∘ psi^-1 ∘ Phi^-1).

:class:`LowDegreeSearch` computes ``C`` for *every* ``Phi`` in a search space and returns
the set of minimizers ``argmin C``. Search spaces:

* ``"bijection"``: all ``(2**n)!`` bijections (``n <= 3``: 40320 maps for ``n = 3``).
* ``"affine"``: all GF(2)-affine bijections ``b -> M b XOR c`` (``n <= 5``;
  ``|GL(4,2)| * 16 = 322560`` maps for ``n = 4``).
* ``"signed_permutation"``: the ``2**n n!`` signed permutations (``n <= 8``).

**Recovery (exact definition).** Write ``SP`` for the signed permutations. The true
latent representation is ``Phi* = psi^-1``, and the representations that "recover ``z``
up to the simple transforms" are ``SP ∘ psi^-1 = {P ∘ psi^-1 : P ∈ SP}``
(``Phi(x) = P(z)``). All of them have the same cost ``C(P ∘ psi^-1) = sum_i deg h_i``
because signed permutations preserve degree. The search *recovers the world model* iff

    argmin_{Phi in space} C(Phi)  ==  SP ∘ psi^-1        (equality of sets),

i.e. every minimizer is a signed permutation of ``z`` and every signed permutation of
``z`` is a minimizer. Computed as: ``psi^-1`` lies in the search space, ``C(psi^-1)``
equals the minimum, and the number of minimizers equals ``|SP| = 2**n n!``
(``SP ∘ psi^-1`` is then a subset of the minimizers of the same size). When ``psi`` is
outside the space (e.g. a random bijection world searched over affine maps) recovery is
impossible by construction and reported as such (``truth_reachable = False``).

Exactness and cost. The affine and signed-permutation searches use that translations
(sign flips) never change a degree and that a linear ``Phi(b) = M b`` maps the Fourier
support of ``y`` to ``supp(y ∘ Phi^-1) = B supp(y)`` with ``B = (M^-1)^T``, so the cost
is ``sum_i max_{s ∈ supp(y_i)} popcount(B s)``: one table look-up per (map, support
element), vectorised over all of GL(n, 2) at once (chunked for ``n = 5``). The bijection
search evaluates the Walsh–Hadamard transform of every permuted truth table (batched
matrix products). Both are exact up to the coefficient threshold ``tol``.

References
----------
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
(arXiv 2502.09297), Sec. 3-4 (minimum-degree solutions, recovery up to signed
permutations; the exact theorem numbering is not checked here); O'Donnell (2014), *Analysis of Boolean Functions*, Ch. 1.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from tqdm.auto import tqdm

from probekit._sklearn import validate_input
from probekit.errors import ProbekitError, did_you_mean
from probekit.metrics.walsh import (
    fourier_degree,
    n_bits_of,
    subset_sizes,
    walsh_hadamard,
    walsh_matrix,
)

__all__ = [
    "CRITERIA",
    "SPACES",
    "LowDegreeRecovery",
    "LowDegreeSearch",
    "general_linear_tables",
    "representation_cost",
    "total_degree",
]

SPACES = ("signed_permutation", "affine", "bijection")
CRITERIA = ("degree", "influence")
MAX_N = {"signed_permutation": 8, "affine": 5, "bijection": 3}


def representation_cost(
    tasks_x: Any, phi: Any, criterion: str = "degree", tol: float = 1e-9
) -> float:
    """Cost of one representation ``Phi`` for the fitted tasks.

    ``criterion="degree"``: ``C(Phi) = sum_i deg(y_i ∘ Phi^-1)``;
    ``criterion="influence"``: ``sum_i sum_S |S| g_i_hat(S)**2`` with ``g_i = y_i ∘ Phi^-1``.

    Parameters
    ----------
    tasks_x : array-like, shape (n_points, n_tasks)
        Task truth tables as functions of the observation ``x`` (``n_points = 2**n``).
    phi : array-like of int, shape (n_points,)
        The representation as a bijection table (``phi[index(x)] = index(r)``).
    criterion : {"degree", "influence"}
    tol : float
        Coefficient threshold of :func:`probekit.metrics.walsh.fourier_degree`.

    Returns
    -------
    float
        An integer value for ``"degree"``.

    Raises
    ------
    ProbekitError
        Mismatched sizes, ``phi`` not a bijection, or an unknown criterion.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 3 (degree of a hierarchical realization);
    O'Donnell (2014), Prop. 2.28 (total influence ``sum_S |S| f_hat(S)^2``).
    """
    from probekit.synthetic.boolean import invert

    if criterion not in CRITERIA:
        raise ProbekitError(did_you_mean(str(criterion), CRITERIA, "criterion"))
    y = _check_tasks(tasks_x)
    phi = np.asarray(phi)
    if phi.shape != (y.shape[0],):
        raise ProbekitError(f"phi has shape {phi.shape}; expected ({y.shape[0]},)")
    g = y[invert(phi)]
    if criterion == "degree":
        return float(np.sum(fourier_degree(g, tol)))
    sizes = subset_sizes(n_bits_of(y.shape[0]))
    return float(np.sum(sizes[:, None] * walsh_hadamard(g) ** 2))


def total_degree(tasks_x: Any, phi: Any, tol: float = 1e-9) -> int:
    """``C(Phi) = sum_i deg(y_i ∘ Phi^-1)``; see :func:`representation_cost`.

    Parameters
    ----------
    tasks_x : array-like, shape (n_points, n_tasks)
    phi : array-like of int, shape (n_points,)
    tol : float

    Returns
    -------
    int

    Raises
    ------
    ProbekitError
        As :func:`representation_cost`.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 3.
    """
    return int(representation_cost(tasks_x, phi, "degree", tol))


def _check_tasks(x: Any) -> np.ndarray:
    arr = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ProbekitError(
            f"tasks have shape {arr.shape}; expected truth tables (n_points, n_tasks)"
        )
    if not np.all(np.isfinite(arr)):
        raise ProbekitError("task truth tables contain NaN or inf")
    n_bits_of(arr.shape[0])
    return arr


def _extend_linear(tables: np.ndarray, n: int) -> np.ndarray:
    """Extend partial GL tables (P, 2**k) column by column to full (P', 2**n) tables."""
    n_points = 2**n
    while tables.shape[1] < n_points:
        p = tables.shape[0]
        in_span = np.zeros((p, n_points), dtype=bool)
        in_span[np.arange(p)[:, None], tables] = True
        rows, new_col = np.nonzero(~in_span)
        base = tables[rows]
        tables = np.concatenate([base, base ^ new_col.astype(tables.dtype)[:, None]], axis=1)
    return tables


def general_linear_tables(n: int):
    """Yield all invertible linear maps of GF(2)^n as tables, in chunks.

    Each row is ``b[s] = B s`` for an invertible ``B`` (columns = images of the unit
    vectors, built in the order ``j = 0 .. n-1``), dtype uint8. For ``n <= 4`` one chunk;
    for ``n = 5`` one chunk per first column (31 chunks of 322560 maps).

    Parameters
    ----------
    n : int
        ``1 <= n <= 5``.

    Yields
    ------
    numpy.ndarray of uint8, shape (n_maps_in_chunk, 2**n)

    Raises
    ------
    ProbekitError
        ``n`` not an integer in ``1 .. 5``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 5:
        raise ProbekitError(f"n={n!r}; the GL(n, 2) enumeration supports 1 <= n <= 5")
    start = np.zeros((1, 1), dtype=np.uint8)
    if n <= 4:
        yield _extend_linear(start, n)
        return
    for v in range(1, 2**n):
        yield _extend_linear(np.array([[0, v]], dtype=np.uint8), n)


def _gl_order(n: int) -> int:
    return math.prod(2**n - 2**k for k in range(n))


def _signed_perm_linear_tables(n: int) -> np.ndarray:
    from probekit.synthetic.boolean import _span_tables

    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)  # (n!, n)
    cols = 1 << perms  # column j = e_{perm[j]}
    return _span_tables(cols).astype(np.uint8 if n <= 8 else np.int64)


def _phi_from_dual(b_tables: np.ndarray) -> np.ndarray:
    """Representation tables ``Phi(b) = M b`` from dual tables ``B = (M^-1)^T``."""
    from probekit.synthetic.boolean import _span_tables

    b = b_tables.astype(np.int64)
    n = n_bits_of(b.shape[1])
    binv = np.argsort(b, axis=1)  # inverse permutation: table of B^-1
    bc = binv[:, 1 << np.arange(n)]  # (m, n): column i of B^-1 as a mask
    j = np.arange(n)
    # column j of M = B^-T has bit i set iff bit j of (column i of B^-1) is set
    cols_m = (((bc[:, None, :] >> j[None, :, None]) & 1) << j[None, None, :]).sum(axis=2)
    return _span_tables(cols_m)


@dataclass(frozen=True)
class LowDegreeRecovery:
    """Outcome of :meth:`LowDegreeSearch.recovery` (see the module docstring).

    Attributes
    ----------
    space, criterion : str
    n_bits, n_tasks : int
    min_cost : float
        ``min_Phi C(Phi)`` over the search space (criterion value).
    latent_cost : float
        ``C(psi^-1)``, the criterion value of the true latent representation.
    min_total_degree : int
        Total degree ``sum_i deg`` of a minimizer (``== min_cost`` for ``"degree"``).
    latent_total_degree : int
        ``sum_i deg h_i`` (total degree of the true latent representation).
    n_minimizers : int
        Number of maps in the space attaining the minimum.
    n_signed_permutations : int
        ``2**n n!``.
    truth_reachable : bool
        ``psi^-1`` (hence all of ``SP ∘ psi^-1``) lies in the search space.
    truth_is_minimizer : bool
        Reachable and ``latent_cost == min_cost``.
    recovered : bool
        ``argmin C == SP ∘ psi^-1`` exactly.
    stored_checked : int
        Stored minimizers whose composition with ``psi`` was checked explicitly.
    stored_signed_fraction : float
        Fraction of those with ``Phi ∘ psi`` a signed permutation (NaN if none stored).
    """

    space: str
    criterion: str
    n_bits: int
    n_tasks: int
    min_cost: float
    latent_cost: float
    min_total_degree: int
    latent_total_degree: int
    n_minimizers: int
    n_signed_permutations: int
    truth_reachable: bool
    truth_is_minimizer: bool
    recovered: bool
    stored_checked: int
    stored_signed_fraction: float

    def to_dict(self) -> dict[str, Any]:
        """Plain-``dict`` view (JSON-serialisable)."""
        return asdict(self)


class LowDegreeSearch(BaseEstimator):
    """Exact search for the representations of minimal total task-head degree.

    Parameters
    ----------
    space : {"affine", "signed_permutation", "bijection"}
        Search space for ``Phi`` (see the module docstring; ``n <= 5``, ``8``, ``3``).
    criterion : {"degree", "influence"}
        ``"degree"`` (default, the paper's objective): ``C(Phi) = sum_i deg(g_i)``.
        ``"influence"``: the spectral refinement ``sum_i sum_S |S| g_i_hat(S)**2``
        (total influence, O'Donnell Prop. 2.28), which also penalises moving weight to
        higher levels below the top degree; ties are decided with a relative
        tolerance of ``1e-9``. Both are invariant under signed permutations.
    tol : float
        A Fourier coefficient counts as non-zero when ``|f_hat(S)| > tol``.
    chunk_size : int
        Maps evaluated per vectorised batch in the bijection search.
    max_stored : int
        At most this many minimizer tables are kept in ``minimizers_``.
    progress : bool
        tqdm bar over chunks.

    Attributes
    ----------
    n_bits_ : int
    n_tasks_ : int
    task_degrees_ : numpy.ndarray of int64, shape (n_tasks,)
        ``deg y_i`` (the cost of ``Phi = identity``, per task).
    min_cost_ : float
        Minimal criterion value (the minimal total degree for ``"degree"``).
    min_total_degree_ : int
        Total degree of the (first) minimizer.
    n_minimizers_ : int
        Number of maps of the space attaining the minimum (each affine minimizer's
        ``2**n`` translations counted).
    n_candidates_ : int
        Size of the search space.
    cost_histogram_ : numpy.ndarray of int64, shape (max_total_degree + 1,)
        Number of maps of the space with each total degree (for either criterion).
    minimizers_ : numpy.ndarray of int64, shape (n_stored, 2**n)
        Minimizer tables ``Phi`` (``phi[index(x)] = index(r)``). For the affine and
        signed-permutation spaces one representative per linear part is stored (its
        translations ``phi ^ c`` are minimizers too).
    multiplicity_ : int
        Maps represented by each stored table (``2**n`` for affine / signed
        permutation, 1 for bijection).

    Examples
    --------
    >>> from probekit.synthetic.boolean import make_world, sample_tasks
    >>> world = make_world(3, "affine", seed=0)
    >>> tasks = sample_tasks("junta", 3, 12, k=1, seed=0)
    >>> search = LowDegreeSearch("affine").fit(world.tasks_on_observations(tasks))
    >>> search.recovery(world.psi).recovered
    True

    References
    ----------
    Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
    (arXiv 2502.09297), Sec. 3-4 (min-degree realizations recover the latents up to
    signed permutations given enough tasks).
    """

    def __init__(
        self,
        space: str = "affine",
        criterion: str = "degree",
        tol: float = 1e-9,
        chunk_size: int = 8192,
        max_stored: int = 4096,
        progress: bool = False,
    ) -> None:
        self.space = space
        self.criterion = criterion
        self.tol = tol
        self.chunk_size = chunk_size
        self.max_stored = max_stored
        self.progress = progress

    # ------------------------------------------------------------------ validation
    def _validate(self, y: np.ndarray) -> int:
        if self.space not in SPACES:
            raise ProbekitError(did_you_mean(str(self.space), SPACES, "search space"))
        n = n_bits_of(y.shape[0])
        if n > MAX_N[self.space]:
            raise ProbekitError(
                f"space={self.space!r} is enumerated exactly only for n <= {MAX_N[self.space]}; "
                f"the tasks live on n={n} bits"
            )
        for name in ("chunk_size", "max_stored"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ProbekitError(f"{name}={v!r}; expected an integer >= 1")
        if self.criterion not in CRITERIA:
            raise ProbekitError(did_you_mean(str(self.criterion), CRITERIA, "criterion"))
        if not isinstance(self.tol, (int, float)) or not self.tol >= 0:
            raise ProbekitError(f"tol={self.tol!r}; expected a float >= 0")
        return n

    # ------------------------------------------------------------------ fit
    def fit(self, X: Any, y: Any = None) -> LowDegreeSearch:
        """Enumerate the search space and find the minimizers of the total degree.

        Parameters
        ----------
        X : array-like, shape (n_points, n_tasks)
            Task truth tables as functions of the observation ``x`` (``n_points = 2**n``,
            row order of :mod:`probekit.metrics.walsh`), e.g.
            :meth:`probekit.synthetic.boolean.BooleanWorld.tasks_on_observations`.
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ProbekitError
            Bad tables, unknown space, or ``n`` too large for the space.
        """
        # sklearn's checks first (sparse, complex, empty, NaN: sklearn's messages), then the tables'
        tasks = _check_tasks(validate_input(self, X, dtype=np.float64, ensure_2d=False, ensure_min_samples=2))
        n = self._validate(tasks)
        self.n_bits_ = n
        self.n_tasks_ = tasks.shape[1]
        self.task_degrees_ = np.asarray(fourier_degree(tasks, self.tol), dtype=np.int64)
        if self.space == "bijection":
            self._fit_bijection(tasks, n)
        else:
            self._fit_linear(tasks, n)
        self._tasks_x = tasks
        return self

    def _is_min(self, cost: np.ndarray, best: float) -> np.ndarray:
        if self.criterion == "degree":
            return cost == best
        return cost <= best + 1e-9 * max(1.0, abs(best))

    def _fit_linear(self, tasks: np.ndarray, n: int) -> None:
        coef = walsh_hadamard(tasks)
        support = np.abs(coef) > self.tol  # (n_points, n_tasks)
        keys: dict[bytes, int] = {}
        for t in range(support.shape[1]):  # group tasks with identical supports
            kb = support[:, t].tobytes()
            keys[kb] = keys.get(kb, 0) + 1
        supports = [(np.flatnonzero(np.frombuffer(kb, dtype=bool)), c) for kb, c in keys.items()]
        energy = (np.where(support, coef, 0.0) ** 2).sum(axis=1)  # (n_points,) sum_i y_i_hat(s)^2
        pop = subset_sizes(n).astype(np.uint8)
        if self.space == "signed_permutation":
            chunks = iter([_signed_perm_linear_tables(n)])
            n_linear, n_chunks = math.factorial(n), 1
        else:
            chunks = general_linear_tables(n)
            n_linear, n_chunks = _gl_order(n), (1 if n <= 4 else 2**n - 1)
        best: float | None = None
        best_tables: list[np.ndarray] = []
        n_best = 0
        hist = np.zeros(n * self.n_tasks_ + 1, dtype=np.int64)
        bar = tqdm(chunks, total=n_chunks, disable=not self.progress, desc="GL(n,2) search")
        for tables in bar:
            w = pop[tables]  # (m, 2**n): popcount(B s) = |B S|
            deg_cost = np.zeros(tables.shape[0], dtype=np.int64)
            for idx, cnt in supports:
                if idx.size:
                    deg_cost += cnt * w[:, idx].max(axis=1).astype(np.int64)
            hist += np.bincount(deg_cost, minlength=hist.size)[: hist.size]
            if self.criterion == "degree":
                cost = deg_cost.astype(np.float64)
            else:  # |B S| weights the energy that lands on level |B S|
                cost = w.astype(np.float64) @ energy
            c_min = float(cost.min())
            if best is None or c_min < best - 1e-9 * max(1.0, abs(best)):
                best, best_tables, n_best = c_min, [], 0
            sel = np.flatnonzero(self._is_min(cost, best))
            n_best += sel.size
            stored = sum(t.shape[0] for t in best_tables)
            if sel.size and stored < int(self.max_stored):
                best_tables.append(tables[sel[: int(self.max_stored) - stored]])
        mult = 2**n
        self.multiplicity_ = mult
        self.n_candidates_ = n_linear * mult
        self.min_cost_ = float(best)
        self.n_minimizers_ = int(n_best) * mult
        self.cost_histogram_ = hist * mult
        self.minimizers_ = _phi_from_dual(np.concatenate(best_tables, axis=0))
        self.min_total_degree_ = int(
            round(representation_cost(tasks, self.minimizers_[0], "degree", self.tol))
        )

    def _fit_bijection(self, tasks: np.ndarray, n: int) -> None:
        n_points = 2**n
        h = walsh_matrix(n)
        sizes = subset_sizes(n)
        perms = np.array(list(itertools.permutations(range(n_points))), dtype=np.int64)
        costs = np.empty(perms.shape[0], dtype=np.float64)
        deg_costs = np.empty(perms.shape[0], dtype=np.int64)
        starts = range(0, perms.shape[0], int(self.chunk_size))
        for s in tqdm(starts, disable=not self.progress, desc="bijection search"):
            inv = perms[s : s + int(self.chunk_size)]  # rows = Phi^-1
            g = tasks[inv]  # (m, n_points, n_tasks): y ∘ Phi^-1
            coef = np.einsum("si,mit->mst", h, g) / n_points
            big = np.abs(coef) > self.tol
            deg = np.where(big, sizes[None, :, None], 0).max(axis=1).sum(axis=1)
            deg_costs[s : s + inv.shape[0]] = deg
            if self.criterion == "degree":
                costs[s : s + inv.shape[0]] = deg
            else:
                costs[s : s + inv.shape[0]] = np.einsum("s,mst->m", sizes, coef**2)
        self.multiplicity_ = 1
        self.n_candidates_ = perms.shape[0]
        self.min_cost_ = float(costs.min())
        sel = np.flatnonzero(self._is_min(costs, self.min_cost_))
        self.n_minimizers_ = int(sel.size)
        self.cost_histogram_ = np.bincount(deg_costs).astype(np.int64)
        self.min_total_degree_ = int(deg_costs[sel[0]])
        inv = perms[sel[: int(self.max_stored)]]
        phi = np.empty_like(inv)
        np.put_along_axis(phi, inv, np.arange(n_points)[None, :], axis=1)
        self.minimizers_ = phi

    # ------------------------------------------------------------------ evaluation
    def _check_fitted(self) -> None:
        if not hasattr(self, "min_cost_"):
            raise ProbekitError("this LowDegreeSearch is not fitted yet; call fit(tasks_x) first")

    def cost(self, phi: Any) -> float:
        """Criterion value of any bijection table on the fitted tasks.

        Parameters
        ----------
        phi : array-like of int, shape (2**n,)

        Returns
        -------
        float
            See :func:`representation_cost`.
        """
        self._check_fitted()
        return representation_cost(self._tasks_x, phi, self.criterion, self.tol)

    def total_degree(self, phi: Any) -> int:
        """``sum_i deg(y_i ∘ Phi^-1)`` of any bijection table on the fitted tasks.

        Parameters
        ----------
        phi : array-like of int, shape (2**n,)
            A bijection table (``phi[index(x)] = index(r)``).

        Returns
        -------
        int
            The total degree, see :func:`total_degree`.

        Raises
        ------
        ProbekitError
            When the search is not fitted yet, or ``phi`` is invalid (as
            :func:`representation_cost`).

        References
        ----------
        Zhang, Chen & Chen (2025), ICML, Sec. 3.
        """
        self._check_fitted()
        return total_degree(self._tasks_x, phi, self.tol)

    def recovery(self, psi: Any) -> LowDegreeRecovery:
        """Whether the minimizers are exactly the signed permutations of the latents.

        Parameters
        ----------
        psi : array-like of int, shape (2**n,)
            The world's observation map table (``psi[index(z)] = index(x)``).

        Returns
        -------
        LowDegreeRecovery

        Raises
        ------
        ProbekitError
            If not fitted, or ``psi`` is not a bijection of the same cube.

        References
        ----------
        Zhang, Chen & Chen (2025), ICML, Sec. 4 (recovery up to signed permutations).
        """
        from probekit.synthetic.boolean import invert, is_affine, is_signed_permutation

        self._check_fitted()
        psi = np.asarray(psi)
        if psi.shape != (2**self.n_bits_,):
            raise ProbekitError(f"psi has shape {psi.shape}; expected ({2**self.n_bits_},)")
        psi_inv = invert(psi)
        if self.space == "bijection":
            reachable = True
        elif self.space == "affine":
            reachable = bool(is_affine(psi))
        else:
            reachable = bool(is_signed_permutation(psi))
        latent_cost = self.cost(psi_inv)
        n_sp = 2**self.n_bits_ * math.factorial(self.n_bits_)
        truth_min = reachable and bool(self._is_min(np.array([latent_cost]), self.min_cost_)[0])
        recovered = bool(truth_min and self.n_minimizers_ == n_sp)
        stored = self.minimizers_
        frac = float(np.mean(is_signed_permutation(stored[:, psi])))
        return LowDegreeRecovery(
            space=self.space,
            criterion=self.criterion,
            n_bits=self.n_bits_,
            n_tasks=self.n_tasks_,
            min_cost=float(self.min_cost_),
            latent_cost=float(latent_cost),
            min_total_degree=int(self.min_total_degree_),
            latent_total_degree=int(self.total_degree(psi_inv)),
            n_minimizers=int(self.n_minimizers_),
            n_signed_permutations=n_sp,
            truth_reachable=reachable,
            truth_is_minimizer=bool(truth_min),
            recovered=recovered,
            stored_checked=int(stored.shape[0]),
            stored_signed_fraction=frac,
        )
