"""Shared input validation (and centred second moments) for metrics and estimators.

Every public metric in :mod:`probekit.metrics` and :mod:`probekit.estimators`
converts its inputs with these helpers once, at the boundary, so that wrong
shapes, NaNs/infs and constant columns raise a :class:`~probekit.errors.ProbekitError`
that names the bad argument, instead of a NumPy error or a silent NaN result.

Accepted array-likes: NumPy arrays, nested lists, and ``torch.Tensor`` (any device,
any float dtype, with or without ``requires_grad``; converted with
``detach().cpu().numpy()``). Numeric results are computed in ``float64``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from probekit.errors import ProbekitError

__all__ = [
    "to_numpy",
    "as_float_matrix",
    "as_float_vector",
    "as_labels",
    "check_same_n_samples",
    "check_min_samples",
    "constant_columns",
    "check_no_constant_columns",
    "constant_from_moments",
    "raise_if_constant",
    "check_fraction",
    "check_positive_int",
    "check_choice",
    "CrossProducts",
    "centered_cross_products",
]

#: Relative tolerance under which a column counts as constant: its standard deviation
#: is at most ``CONSTANT_RTOL * max(1, max |column|)``.
CONSTANT_RTOL = 1e-12


def to_numpy(x: Any, name: str = "x") -> np.ndarray:
    """Return ``x`` as a NumPy array (torch tensors are detached and moved to CPU).

    Parameters
    ----------
    x : array-like or torch.Tensor
        Input of any shape.
    name : str
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        A view or copy of ``x``; dtype unchanged (torch ``bfloat16`` becomes ``float32``).

    Raises
    ------
    ProbekitError
        If ``x`` is ``None`` or cannot be converted to an array.
    """
    if x is None:
        raise ProbekitError(f"{name} is None; expected an array (numpy array, list or torch tensor)")
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):  # torch.Tensor
        t = x.detach().cpu()
        if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
            t = t.float()
        return t.numpy()
    try:
        return np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise ProbekitError(f"{name} could not be converted to an array: {exc}") from exc


def _check_finite(arr: np.ndarray, name: str) -> None:
    finite = np.isfinite(arr)
    if not finite.all():
        bad = np.argwhere(~finite)
        first = tuple(int(i) for i in bad[0])
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(bad.shape[0] - n_nan)
        raise ProbekitError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite value(s) (first at index "
            f"{first}); all values must be finite - drop or impute those rows first"
        )


def as_float_matrix(
    x: Any,
    name: str = "x",
    *,
    allow_1d: bool = False,
    min_samples: int = 1,
    min_features: int = 1,
) -> np.ndarray:
    """Validate and convert ``x`` to a finite 2-D ``float64`` array.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, n_features)
        Numeric matrix. With ``allow_1d=True`` a vector of shape ``(n_samples,)`` is
        accepted and returned as ``(n_samples, 1)``.
    name : str
        Argument name used in error messages.
    allow_1d : bool
        Whether a 1-D input is reshaped to a single column.
    min_samples, min_features : int
        Minimum number of rows / columns.

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples, n_features)

    Raises
    ------
    ProbekitError
        On a wrong number of dimensions, a non-numeric dtype, too few rows or columns,
        or any NaN / infinite entry.
    """
    arr = to_numpy(x, name)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ProbekitError(f"{name} has dtype {arr.dtype}; expected a numeric (float or int) array")
    if np.iscomplexobj(arr):
        raise ProbekitError(f"{name} is complex ({arr.dtype}); expected real numbers")
    if arr.ndim == 1 and allow_1d:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        want = "2-D (n_samples, n_features) or 1-D (n_samples,)" if allow_1d else "2-D (n_samples, n_features)"
        raise ProbekitError(f"{name} has shape {arr.shape} ({arr.ndim}-D); expected {want}")
    n, d = arr.shape
    if n < min_samples:
        raise ProbekitError(f"{name} has {n} sample(s) (rows); at least {min_samples} are needed")
    if d < min_features:
        raise ProbekitError(f"{name} has {d} feature(s) (columns); at least {min_features} are needed")
    arr = np.asarray(arr, dtype=np.float64)
    _check_finite(arr, name)
    return arr


def as_float_vector(x: Any, name: str = "x", *, min_samples: int = 1) -> np.ndarray:
    """Validate and convert ``x`` to a finite 1-D ``float64`` array.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples,) or (n_samples, 1)
    name : str
        Argument name used in error messages.
    min_samples : int
        Minimum length.

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples,)

    Raises
    ------
    ProbekitError
        If ``x`` is not a vector (a single column is accepted), too short, non-numeric
        or not finite.
    """
    arr = to_numpy(x, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ProbekitError(f"{name} has shape {arr.shape}; expected a vector of shape (n_samples,)")
    return as_float_matrix(arr, name, allow_1d=True, min_samples=min_samples)[:, 0]


def as_labels(y: Any, name: str = "y", *, min_classes: int = 2) -> np.ndarray:
    """Validate class labels: a 1-D array without missing values and enough classes.

    Parameters
    ----------
    y : array-like or torch.Tensor, shape (n_samples,)
        Class labels (ints, strings or bools; a float array must hold whole numbers).
    name : str
        Argument name used in error messages.
    min_classes : int
        Minimum number of distinct labels.

    Returns
    -------
    numpy.ndarray, shape (n_samples,)

    Raises
    ------
    ProbekitError
        If ``y`` is not 1-D, holds NaN or non-integer floats, or has fewer than
        ``min_classes`` distinct values.
    """
    arr = to_numpy(y, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ProbekitError(f"{name} has shape {arr.shape}; expected class labels of shape (n_samples,)")
    if arr.shape[0] == 0:
        raise ProbekitError(f"{name} is empty; expected at least one label per sample")
    if np.issubdtype(arr.dtype, np.floating):
        _check_finite(arr, name)
        if not np.all(arr == np.round(arr)):
            raise ProbekitError(
                f"{name} holds non-integer floats (e.g. {arr[arr != np.round(arr)][0]!r}); "
                "expected class labels (ints or strings) - for continuous targets use a regression metric"
            )
    n_classes = np.unique(arr).shape[0]
    if n_classes < min_classes:
        raise ProbekitError(
            f"{name} has {n_classes} distinct label(s); at least {min_classes} classes are needed"
        )
    return arr


def check_same_n_samples(arrays: Sequence[Any], names: Sequence[str]) -> int:
    """Check that all arrays have the same first dimension and return it.

    Parameters
    ----------
    arrays : sequence of array_like
        Arrays whose first axis counts samples (``n_samples``).
    names : sequence of str
        The arrays' names, in the same order, for the message.

    Returns
    -------
    int
        The shared ``n_samples``.

    Raises
    ------
    ProbekitError
        Naming the arrays and their lengths when they differ.
    """
    lengths = [int(np.shape(a)[0]) for a in arrays]
    if len(set(lengths)) > 1:
        desc = ", ".join(f"{n}: {k}" for n, k in zip(names, lengths))
        raise ProbekitError(
            f"inputs must have the same number of samples (rows); got {desc}. "
            "Rows must be paired (row i of each input describes the same example)"
        )
    return lengths[0]


def check_min_samples(n: int, n_min: int, what: str) -> None:
    """Raise a :class:`ProbekitError` if ``n < n_min``.

    Parameters
    ----------
    n : int
        Number of samples given.
    n_min : int
        Smallest number accepted.
    what : str
        What needs them (the message starts with it).

    Raises
    ------
    ProbekitError
        When ``n < n_min``.
    """
    if n < n_min:
        raise ProbekitError(f"{what} needs at least {n_min} samples; got {n}")


def constant_columns(x: np.ndarray, rtol: float = CONSTANT_RTOL) -> np.ndarray:
    """Indices of (numerically) constant columns of ``x``.

    A column ``j`` is constant when ``std(x[:, j]) <= rtol * max(1, max_i |x[i, j]|)``.

    Parameters
    ----------
    x : numpy.ndarray, shape (n_samples, n_features)
    rtol : float
        Relative tolerance.

    Returns
    -------
    numpy.ndarray of int, shape (n_constant,)
    """
    std = x.std(axis=0)
    scale = np.maximum(1.0, np.abs(x).max(axis=0))
    return np.flatnonzero(std <= rtol * scale)


def check_no_constant_columns(x: np.ndarray, name: str, why: str) -> None:
    """Raise a :class:`ProbekitError` listing the constant columns of ``x``.

    Parameters
    ----------
    x : numpy.ndarray, shape (n_samples, n_features)
    name : str
        Argument name used in the message.
    why : str
        Why a constant column is a problem for the caller (e.g. "its correlation is
        undefined"); appended to the message.
    """
    raise_if_constant(constant_columns(x), name, why)


def raise_if_constant(bad: np.ndarray, name: str, why: str) -> None:
    """Raise a :class:`ProbekitError` if ``bad`` (indices of constant columns) is non-empty.

    Parameters
    ----------
    bad : ndarray of int, shape (n_bad,)
        Indices of constant columns (e.g. from :func:`constant_columns`).
    name : str
        The array's name, for the message.
    why : str
        Why constant columns are a problem here.

    Raises
    ------
    ProbekitError
        When ``bad`` is non-empty; the message lists up to 10 indices.
    """
    if bad.size:
        shown = ", ".join(str(int(i)) for i in bad[:10]) + (" ..." if bad.size > 10 else "")
        raise ProbekitError(
            f"{name} has {bad.size} constant column(s) (indices {shown}); {why}. "
            "Drop those columns first"
        )


def check_fraction(value: Any, name: str, *, allow_none: bool = False) -> float | None:
    """Check ``0 < value < 1`` (or ``None`` when allowed).

    Parameters
    ----------
    value : float or None
        The value to check (``bool`` is refused).
    name : str
        The argument's name, for the message.
    allow_none : bool
        Whether ``None`` passes (and is returned).

    Returns
    -------
    float or None

    Raises
    ------
    ProbekitError
        When ``value`` is not a real number strictly between 0 and 1 (or ``None`` when
        not allowed).
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ProbekitError(f"{name}={value!r}; expected a float strictly between 0 and 1")
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ProbekitError(f"{name}={value!r}; expected a float strictly between 0 and 1")
    return value


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Check that ``value`` is an integer ``>= minimum``.

    Parameters
    ----------
    value : int
        The value to check (``bool`` and floats are refused).
    name : str
        The argument's name, for the message.
    minimum : int
        Smallest value accepted.

    Returns
    -------
    int

    Raises
    ------
    ProbekitError
        When ``value`` is not an integer or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ProbekitError(f"{name}={value!r}; expected an integer >= {minimum}")
    return int(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Check that ``value`` is one of ``choices`` (message suggests the closest).

    Parameters
    ----------
    value : str
        The value to check.
    name : str
        The argument's name, for the message.
    choices : sequence of str
        The valid values.

    Returns
    -------
    str
        ``value`` unchanged.

    Raises
    ------
    ProbekitError
        When ``value`` is not a string in ``choices``.
    """
    from probekit.errors import did_you_mean

    if not isinstance(value, str) or value not in choices:
        raise ProbekitError(
            did_you_mean(str(value), list(choices), what=name) + f" (valid: {', '.join(choices)})"
        )
    return value


class CrossProducts(NamedTuple):
    """Centred column means and cross-product matrices (see :func:`centered_cross_products`)."""

    mean_x: np.ndarray
    mean_y: np.ndarray | None
    xx: np.ndarray | None
    yy: np.ndarray | None
    xy: np.ndarray | None
    ss_x: np.ndarray
    ss_y: np.ndarray | None


def centered_cross_products(
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    xx: bool = True,
    yy: bool = True,
    xy: bool = True,
    chunk_size: int = 16384,
) -> CrossProducts:
    """Centred cross-product matrices of paired data matrices, computed in row chunks.

    Computes ``Xc^T Yc`` (and optionally ``Xc^T Xc``, ``Yc^T Yc``) where
    ``Xc = X - mean(X, axis=0)``, without forming centred copies of the inputs (extra
    memory ``O(chunk_size * n_features)``). Centring by the exact column means before
    multiplying avoids the cancellation of the raw-moment formula ``X^T Y - n mu_x mu_y^T``.

    Parameters
    ----------
    x : numpy.ndarray of float64, shape (n_samples, d_x)
    y : numpy.ndarray of float64, shape (n_samples, d_y), optional
        Without ``y`` only ``Xc^T Xc`` is computed.
    xx, yy, xy : bool
        Which products to compute.
    chunk_size : int
        Rows per chunk.

    Returns
    -------
    CrossProducts
        ``mean_x`` (d_x,), ``mean_y`` (d_y,), ``xx`` (d_x, d_x), ``yy`` (d_y, d_y),
        ``xy`` (d_x, d_y): unnormalised sums, ``None`` where not requested; ``ss_x`` (d_x,)
        and ``ss_y`` (d_y,): centred column sums of squares (always computed).
    """
    if y is None:
        yy = xy = False
    n = x.shape[0]
    mx = x.mean(axis=0)
    my = None if y is None else y.mean(axis=0)
    out_xx = np.zeros((x.shape[1], x.shape[1])) if xx else None
    out_yy = np.zeros((y.shape[1], y.shape[1])) if yy else None
    out_xy = np.zeros((x.shape[1], y.shape[1])) if xy else None
    ss_x = np.zeros(x.shape[1])
    ss_y = None if y is None else np.zeros(y.shape[1])
    for start in range(0, n, chunk_size):
        xc = x[start : start + chunk_size] - mx
        if out_xx is not None:
            out_xx += xc.T @ xc
        else:
            ss_x += np.einsum("ij,ij->j", xc, xc)
        if y is not None:
            yc = y[start : start + chunk_size] - my
            if out_yy is not None:
                out_yy += yc.T @ yc
            else:
                ss_y += np.einsum("ij,ij->j", yc, yc)
            if out_xy is not None:
                out_xy += xc.T @ yc
    if out_xx is not None:
        ss_x = np.diag(out_xx).copy()
    if out_yy is not None:
        ss_y = np.diag(out_yy).copy()
    return CrossProducts(mx, my, out_xx, out_yy, out_xy, ss_x, ss_y)


def constant_from_moments(
    mean: np.ndarray, ss: np.ndarray, n: int, rtol: float = CONSTANT_RTOL
) -> np.ndarray:
    """Indices of constant columns from column means and centred sums of squares.

    Same rule as :func:`constant_columns` with ``max |x|`` replaced by ``|mean|``
    (no extra pass over the data): ``sqrt(ss / n) <= rtol * max(1, |mean|)``.

    Parameters
    ----------
    mean : ndarray of shape (n_features,)
        Column means.
    ss : ndarray of shape (n_features,)
        Centred sums of squares ``sum_i (x_ij - mean_j) ** 2`` (negative round-off is
        clipped to 0).
    n : int
        Number of samples the moments were taken over.
    rtol : float
        Relative tolerance.

    Returns
    -------
    ndarray of int, shape (n_constant,)
        Indices of the constant columns.
    """
    std = np.sqrt(np.maximum(ss, 0.0) / n)
    return np.flatnonzero(std <= rtol * np.maximum(1.0, np.abs(mean)))
