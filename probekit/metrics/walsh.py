"""Fourier–Walsh (Walsh–Hadamard) analysis of functions on the Boolean cube {±1}^n.

Conventions (used by every function here and by :mod:`probekit.synthetic.boolean`)
---------------------------------------------------------------------------------
*Truth tables.* A function ``f: {±1}^n -> R`` is given as a truth table: an array whose
axis 0 has length ``2**n`` (``n_points``). Row ``i`` holds ``f(z)`` at the point ``z``
whose coordinates are read off the binary digits of ``i``, **least significant bit
first**::

    b_j(i) = (i >> j) & 1          for j = 0, ..., n-1
    z_j    = 1 - 2 * b_j(i)        (bit 0 -> +1, bit 1 -> -1)

so row 0 is ``z = (+1, ..., +1)``, row 1 is ``z = (-1, +1, ..., +1)`` (``z_0`` flipped)
and row ``2**n - 1`` is ``z = (-1, ..., -1)``. :func:`probekit.synthetic.boolean.cube`
builds exactly these points.

*Subsets.* A subset ``S ⊆ {0, ..., n-1}`` is the bit mask ``s = sum_{j in S} 2**j``;
coefficient row ``s`` of a transform belongs to ``S``. The character (parity) is
``chi_S(z) = prod_{j in S} z_j = (-1)**popcount(i & s)``.

*Normalisation.* The Fourier–Walsh coefficients are the expectations under the uniform
distribution on the cube (O'Donnell 2014, Def. 1.3 / Thm. 1.1)::

    f_hat(S) = 2**-n * sum_i f(z_i) chi_S(z_i),       f(z) = sum_S f_hat(S) chi_S(z),

so Parseval reads ``E[f^2] = sum_S f_hat(S)**2`` and a ±1-valued function has
``sum_S f_hat(S)**2 = 1``. The matrix ``H[s, i] = (-1)**popcount(s & i)`` (Sylvester /
"natural" ordering; :func:`walsh_matrix`) is symmetric and ``H @ H = 2**n I``.

*Degree.* ``deg f = max{|S| : |f_hat(S)| > tol}``; the zero function gets degree 0 (so a
sum of degrees over tasks treats an all-zero task as free). The *weight at level d* is
``W^d[f] = sum_{|S| = d} f_hat(S)**2`` (the Fourier weight spectrum, O'Donnell Def. 1.16).

Batches: every function accepts a single truth table of shape ``(n_points,)`` or a batch
of truth tables as the columns of ``(n_points, n_functions)``.

References
----------
O'Donnell (2014), *Analysis of Boolean Functions*, Cambridge Univ. Press, Ch. 1
(Thm. 1.1 Fourier expansion, Def. 1.16 spectral weight, Ch. 1.2 Walsh–Hadamard).
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
(arXiv 2502.09297), Sec. 3 (degree of a Boolean task realization).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from probekit.errors import ProbekitError

__all__ = [
    "WalshSummary",
    "fourier_degree",
    "inverse_walsh_hadamard",
    "n_bits_of",
    "subset_sizes",
    "walsh_hadamard",
    "walsh_matrix",
    "walsh_summary",
    "weight_spectrum",
]

MAX_BITS = 24


def n_bits_of(n_points: int) -> int:
    """Return ``n`` such that ``n_points == 2**n``.

    Parameters
    ----------
    n_points : int
        Length of a truth table.

    Returns
    -------
    int

    Raises
    ------
    ProbekitError
        If ``n_points`` is not a power of two ``>= 2`` (or exceeds ``2**24``).
    """
    n_points = int(n_points)
    if n_points < 2 or n_points & (n_points - 1):
        raise ProbekitError(
            f"truth table length {n_points} is not a power of two >= 2; a function on "
            "{±1}^n needs exactly 2**n rows (see probekit.metrics.walsh for the ordering)"
        )
    n = n_points.bit_length() - 1
    if n > MAX_BITS:
        raise ProbekitError(f"n={n} bits is too large for a dense truth table; use n <= {MAX_BITS}")
    return n


def subset_sizes(n: int) -> np.ndarray:
    """Size ``|S|`` of every subset mask ``s = 0 .. 2**n - 1`` (popcount).

    Parameters
    ----------
    n : int
        Number of bits, ``1 <= n <= 24``.

    Returns
    -------
    numpy.ndarray of int64, shape (2**n,)

    Raises
    ------
    ProbekitError
        ``n`` not an integer in ``1 .. 24``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_BITS:
        raise ProbekitError(f"n={n!r}; expected an integer number of bits in [1, {MAX_BITS}]")
    sizes = np.zeros(1, dtype=np.int64)
    for _ in range(int(n)):
        sizes = np.concatenate([sizes, sizes + 1])
    return sizes


def walsh_matrix(n: int) -> np.ndarray:
    """The ``2**n x 2**n`` Walsh–Hadamard matrix ``H[s, i] = (-1)**popcount(s & i)``.

    Parameters
    ----------
    n : int
        Number of bits, ``1 <= n <= 14`` (the matrix is dense).

    Returns
    -------
    numpy.ndarray of float64, shape (2**n, 2**n)
        Symmetric, entries ±1, ``H @ H = 2**n * I``. Row ``s`` is the character
        ``chi_S`` evaluated at the cube points in truth-table order.

    Raises
    ------
    ProbekitError
        ``n`` not an integer in ``1 .. 14``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 14:
        raise ProbekitError(f"n={n!r}; walsh_matrix needs an integer n in [1, 14]")
    h = np.ones((1, 1))
    for _ in range(int(n)):
        h = np.block([[h, h], [h, -h]])
    return h


def _as_tables(f: Any, name: str = "f") -> tuple[np.ndarray, bool]:
    arr = np.asarray(f.detach().cpu().numpy() if hasattr(f, "detach") else f)
    if arr.dtype == bool:
        raise ProbekitError(
            f"{name} is a boolean array; pass ±1 (or 0/1 converted by 1 - 2*b) real values"
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise ProbekitError(f"{name} has dtype {arr.dtype}; expected real numbers")
    if arr.ndim not in (1, 2):
        raise ProbekitError(
            f"{name} has shape {arr.shape}; expected (n_points,) or (n_points, n_functions)"
        )
    if np.iscomplexobj(arr):
        raise ProbekitError(f"{name} is complex; expected real-valued truth tables")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ProbekitError(f"{name} contains NaN or inf")
    n_bits_of(arr.shape[0])
    return arr, arr.ndim == 1


def _butterfly(a: np.ndarray) -> np.ndarray:
    """Unnormalised in-order fast Walsh–Hadamard transform along axis 0."""
    n_points = a.shape[0]
    rest = a.shape[1:]
    out = a.copy()
    h = 1
    while h < n_points:
        v = out.reshape((n_points // (2 * h), 2, h) + rest)
        top = v[:, 0].copy()
        v[:, 0] += v[:, 1]
        v[:, 1] = top - v[:, 1]
        h *= 2
    return out


def walsh_hadamard(f: Any, normalized: bool = True) -> np.ndarray:
    """Fast Walsh–Hadamard transform: Fourier–Walsh coefficients of truth tables.

    ``O(n 2**n)`` butterfly per function, vectorised over the batch.

    Parameters
    ----------
    f : array-like or torch.Tensor, shape (n_points,) or (n_points, n_functions)
        Truth tables, ``n_points = 2**n``, row order as in the module docstring
        (row ``i`` <-> ``z_j = 1 - 2*((i >> j) & 1)``).
    normalized : bool
        ``True`` (default): ``f_hat(S) = 2**-n sum_z f(z) chi_S(z)`` (expectation
        normalisation, Parseval ``E f^2 = sum f_hat^2``). ``False``: the plain sum
        ``H @ f`` without the ``2**-n``.

    Returns
    -------
    numpy.ndarray of float64, same shape as ``f``
        Row ``s`` is the coefficient of the subset with bit mask ``s``.

    Raises
    ------
    ProbekitError
        If the length is not a power of two, the array is not 1-D/2-D, or holds
        NaN/inf or non-numbers.

    References
    ----------
    O'Donnell (2014), *Analysis of Boolean Functions*, Thm. 1.1 and Prop. 1.8
    (coefficients as correlations with parities).
    """
    arr, _ = _as_tables(f)
    out = _butterfly(arr)
    if normalized:
        out /= arr.shape[0]
    return out


def inverse_walsh_hadamard(coefficients: Any, normalized: bool = True) -> np.ndarray:
    """Truth tables from Fourier–Walsh coefficients (inverse of :func:`walsh_hadamard`).

    Parameters
    ----------
    coefficients : array-like, shape (n_points,) or (n_points, n_functions)
        Row ``s`` is ``f_hat(S)`` for the subset with mask ``s``.
    normalized : bool
        Must match the ``normalized`` used for the forward transform.

    Returns
    -------
    numpy.ndarray of float64, same shape
        ``f(z_i) = sum_s f_hat(s) (-1)**popcount(s & i)``.

    Raises
    ------
    ProbekitError
        As :func:`walsh_hadamard`.

    References
    ----------
    O'Donnell (2014), Thm. 1.1 (Fourier expansion).
    """
    arr, _ = _as_tables(coefficients, "coefficients")
    out = _butterfly(arr)
    if not normalized:
        out /= arr.shape[0]
    return out


def _check_tol(tol: Any) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)):
        raise ProbekitError(f"tol={tol!r}; expected a float >= 0")
    tol = float(tol)
    if not tol >= 0 or not np.isfinite(tol):
        raise ProbekitError(f"tol={tol!r}; expected a finite float >= 0")
    return tol


def fourier_degree(f: Any, tol: float = 1e-9) -> Any:
    """Fourier–Walsh degree ``max{|S| : |f_hat(S)| > tol}`` of truth tables.

    Parameters
    ----------
    f : array-like or torch.Tensor, shape (n_points,) or (n_points, n_functions)
        Truth tables (module-docstring ordering).
    tol : float
        Coefficients with ``|f_hat(S)| <= tol`` (expectation normalisation) count as 0.
        For outputs of trained networks use a tolerance relative to their scale, e.g.
        ``1e-3 * np.abs(f).max()``, or read the :func:`weight_spectrum` instead.

    Returns
    -------
    int or numpy.ndarray of int64, shape (n_functions,)
        Degree per function; the zero function has degree 0.

    Raises
    ------
    ProbekitError
        Bad truth tables (see :func:`walsh_hadamard`) or a negative ``tol``.

    References
    ----------
    O'Donnell (2014), Def. 1.15 (degree); Zhang, Chen & Chen (2025), ICML, Sec. 3.
    """
    tol = _check_tol(tol)
    arr, single = _as_tables(f)
    coef = walsh_hadamard(arr)
    sizes = subset_sizes(n_bits_of(arr.shape[0]))
    big = np.abs(coef) > tol
    if single:
        return int(sizes[big].max()) if big.any() else 0
    deg = np.where(big, sizes[:, None], 0).max(axis=0)
    return deg.astype(np.int64)


def weight_spectrum(f: Any, normalize: bool = False) -> np.ndarray:
    """Fourier weight per degree level, ``W^d[f] = sum_{|S| = d} f_hat(S)**2``.

    Parameters
    ----------
    f : array-like or torch.Tensor, shape (n_points,) or (n_points, n_functions)
        Truth tables (module-docstring ordering).
    normalize : bool
        Divide by the total weight ``E[f^2]`` so each spectrum sums to 1 (the zero
        function keeps an all-zero spectrum).

    Returns
    -------
    numpy.ndarray of float64, shape (n + 1,) or (n + 1, n_functions)
        Row ``d`` is the weight at level ``d = 0 .. n``; rows sum to ``E[f^2]``
        (Parseval) unless ``normalize``.

    Raises
    ------
    ProbekitError
        Bad truth tables (see :func:`walsh_hadamard`).

    References
    ----------
    O'Donnell (2014), Def. 1.16 (Fourier weight at degree k) and Sec. 1.4 (Parseval).
    """
    arr, single = _as_tables(f)
    n = n_bits_of(arr.shape[0])
    coef = walsh_hadamard(arr)
    sizes = subset_sizes(n)
    sq = coef**2 if not single else (coef**2)[:, None]
    spec = np.zeros((n + 1, sq.shape[1]))
    np.add.at(spec, sizes, sq)
    if normalize:
        total = spec.sum(axis=0, keepdims=True)
        spec = np.divide(spec, total, out=np.zeros_like(spec), where=total > 0)
    return spec[:, 0] if single else spec


@dataclass(frozen=True)
class WalshSummary:
    """Fourier–Walsh summary of one or more truth tables (see :func:`walsh_summary`).

    Attributes
    ----------
    coefficients : numpy.ndarray of float64, shape (n_points, n_functions)
        ``f_hat(S)`` (row = subset mask).
    degree : numpy.ndarray of int64, shape (n_functions,)
    spectrum : numpy.ndarray of float64, shape (n + 1, n_functions)
        Weight per level (not normalised).
    normalized_spectrum : numpy.ndarray of float64, shape (n + 1, n_functions)
    tol : float
    """

    coefficients: np.ndarray
    degree: np.ndarray
    spectrum: np.ndarray
    normalized_spectrum: np.ndarray
    tol: float

    @property
    def n_bits(self) -> int:
        """Number of cube coordinates ``n``."""
        return self.spectrum.shape[0] - 1

    def mean_degree(self) -> np.ndarray:
        """Spectral mean degree ``sum_d d W^d / sum_d W^d`` per function (0 if zero).

        Returns
        -------
        numpy.ndarray of float64, shape (n_functions,)
        """
        levels = np.arange(self.spectrum.shape[0])[:, None]
        return (levels * self.normalized_spectrum).sum(axis=0)


def walsh_summary(f: Any, tol: float = 1e-9) -> WalshSummary:
    """Coefficients, degree and weight spectrum of truth tables in one call.

    Use it on task truth tables or on a trained network's outputs / hidden units
    evaluated at all ``2**n`` cube points (rows in truth-table order).

    Parameters
    ----------
    f : array-like or torch.Tensor, shape (n_points,) or (n_points, n_functions)
    tol : float
        Threshold for :func:`fourier_degree`.

    Returns
    -------
    WalshSummary
        Always batched (a single table becomes ``n_functions = 1``).

    Raises
    ------
    ProbekitError
        Bad truth tables or tolerance.

    References
    ----------
    O'Donnell (2014), Ch. 1; Zhang, Chen & Chen (2025), ICML, Sec. 3.
    """
    tol = _check_tol(tol)
    arr, single = _as_tables(f)
    if single:
        arr = arr[:, None]
    return WalshSummary(
        coefficients=walsh_hadamard(arr),
        degree=np.atleast_1d(fourier_degree(arr, tol)),
        spectrum=weight_spectrum(arr),
        normalized_spectrum=weight_spectrum(arr, normalize=True),
        tol=tol,
    )
