"""Input checks of probekit's scikit-learn estimators: sklearn's own, raised as ProbekitError.

:func:`validate_input` runs :func:`sklearn.utils.validation.validate_data` (so
``n_features_in_``, sparse / complex / empty / NaN input and feature-count mismatches
behave as in every scikit-learn estimator and pass ``parametrize_with_checks``), accepts
``torch.Tensor`` inputs, and re-raises sklearn's ``ValueError`` / ``TypeError`` as a
:class:`~probekit.errors.ProbekitError` (a ``ValueError``) that names the estimator, so the
CLI reports it as ``error: ...`` instead of a traceback.
"""

from __future__ import annotations

from typing import Any

from sklearn.utils.validation import validate_data

from probekit.errors import ProbekitError

__all__ = ["InputTypeError", "validate_input"]


class InputTypeError(ProbekitError, TypeError):
    """Input of the wrong type (sparse, or objects that are not numbers).

    A :class:`~probekit.errors.ProbekitError` for the CLI and a ``TypeError`` as
    scikit-learn's contract has it for these cases.
    """


def _numpy(x: Any) -> Any:
    """A torch tensor as a NumPy array (detached, on the CPU, half precision widened); else ``x``."""
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):
        t = x.detach().cpu()
        if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
            t = t.float()
        return t.numpy()
    return x


def validate_input(estimator, X: Any, y: Any = "no_validation", *, reset: bool = True, **check_params):
    """Check ``X`` (and ``y``) for ``estimator`` with sklearn's ``validate_data``.

    Parameters
    ----------
    estimator : sklearn.base.BaseEstimator
        Receives ``n_features_in_`` when ``reset`` is true; checked against it otherwise.
    X : array-like or torch.Tensor, shape (n_samples, n_features)
    y : array-like or torch.Tensor, shape (n_samples,), optional
        ``"no_validation"`` (default) checks ``X`` only; ``None`` raises if the
        estimator requires a target.
    reset : bool
        True in ``fit``, False in ``predict`` / ``transform``.
    **check_params
        Passed to ``validate_data`` (``dtype``, ``ensure_min_samples``, ``y_numeric``, ...).

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, numpy.ndarray)
        The checked ``X`` (and ``y``), as ``validate_data`` returns them.

    Raises
    ------
    ProbekitError
        (:class:`InputTypeError`, also a ``TypeError``, where sklearn raises a
        ``TypeError``): sklearn's message, prefixed with the estimator's name (wrong dimensions, sparse,
        complex or non-numeric data, NaN/inf, too few samples or features, a feature
        count different from the fitted one, missing ``y``).
    """
    X = _numpy(X)
    if not (isinstance(y, str) and y == "no_validation") and y is not None:
        y = _numpy(y)
    try:
        return validate_data(estimator, X, y, reset=reset, **check_params)
    except (ValueError, TypeError) as e:
        if isinstance(e, ProbekitError):
            raise
        error = InputTypeError if isinstance(e, TypeError) else ProbekitError
        raise error(f"{type(estimator).__name__}: {e}") from None
