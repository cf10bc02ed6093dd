"""Linear probes with the scikit-learn estimator contract.

Both probes standardize features (fit on the training rows only) and choose their
regularization strength by cross-validation on the training rows, splitting by group
when groups are given, so a tuned probe never sees a test group. They are fitted by the
batched torch engine (:mod:`probekit.probes.engine`) by default; ``backend="sklearn"``
fits the same protocol with ``LogisticRegressionCV`` / ``RidgeCV`` (the reference).
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from probekit._sklearn import validate_input
from probekit.devices import resolve_device
from probekit.errors import ProbekitError
from probekit.probes.splits import has_shared_groups, inner_splits

__all__ = ["LogisticProbe", "RidgeProbe", "probe_for_task"]


# Newer scikit-learn versions warn unless these are set explicitly (plain L2 penalty).
_LOGISTIC_CV_EXTRA = {k: v for k, v in {"l1_ratios": (0.0,), "use_legacy_attributes": False}.items()
                      if k in inspect.signature(LogisticRegressionCV).parameters}


def _check_groups(groups, n_samples: int):
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != (n_samples,):
        raise ProbekitError(f"groups has shape {groups.shape}; expected one group per row ({n_samples},)")
    return groups


BACKENDS = ("engine", "sklearn")


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ProbekitError(f"unknown probe backend {backend!r}; use one of {BACKENDS}")


def _engine_fit(Z, codes, groups, task, n_classes, settings, stats=None):
    """Fit one probe with the engine on standardized ``Z``; coefficients in ``Z`` space (float64)."""
    import torch

    from probekit.probes import engine as E
    from probekit.probes.fit import fit_linear

    device, dtype = resolve_device(settings.device), E.resolve_dtype(settings.dtype)
    X = torch.as_tensor(Z, device=device).to(dtype)[None]
    coef, intercept, penalty = fit_linear(X, codes[None], groups, task, n_classes, settings, stats=stats)
    return (coef[0, 0].double().cpu().numpy(), intercept[0, 0].double().cpu().numpy(),
            float(penalty[0, 0]))


class _StandardizedLinear(BaseEstimator):
    """Shared parts: scaler, coefficients back in the original feature space."""

    def _standardize(self, X):
        self.scaler_ = StandardScaler().fit(X) if self.standardize else None
        return self.scaler_.transform(X) if self.scaler_ is not None else X

    def _to_original(self, coef_z, intercept_z):
        d = coef_z.shape[-1]
        scale = self.scaler_.scale_ if self.scaler_ is not None else np.ones(d)
        mean = self.scaler_.mean_ if self.scaler_ is not None else np.zeros(d)
        coef = coef_z / scale
        return coef, intercept_z - coef @ mean

    def _settings(self, **kw):
        from probekit.probes.fit import EngineSettings

        return EngineSettings(standardize=False, cv=self.cv, random_state=self.random_state,
                              dtype=self.dtype, device=self.device, **kw)


class LogisticProbe(ClassifierMixin, _StandardizedLinear):
    """Standardized logistic-regression probe (binary or multi-class), C by CV.

    The protocol of ``LogisticRegressionCV(Cs, cv=inner folds, scoring="accuracy")`` on
    standardized features (L2 penalty, unpenalized intercept, multinomial for more than
    two classes), fitted by the batched engine or by scikit-learn.

    Parameters
    ----------
    Cs:
        Inverse regularization strengths tried.
    cv:
        Inner cross-validation folds for choosing ``C``.
    max_iter:
        Solver iterations.
    standardize:
        Z-score features with training-set statistics.
    random_state:
        Seed for the inner folds.
    backend:
        ``engine`` (batched torch solver, default) or ``sklearn`` (``LogisticRegressionCV``).
    dtype:
        Engine precision: ``float32`` (default) or ``float64``.
    device:
        Engine device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_iter_ : int
        Largest number of solver iterations over the inner-CV fits and the refit.
    C_ : float
        Chosen inverse regularization strength.
    coef_ : ndarray of shape (n_classes or 1, n_features)
        Weights in the *original* (unstandardized) feature space.
    intercept_ : ndarray of shape (n_classes or 1,)
    scaler_ : StandardScaler or None
    """

    def __init__(self, Cs=(1e-3, 1e-2, 1e-1, 1.0), cv: int = 3, max_iter: int = 300,
                 standardize: bool = True, random_state: int = 0, backend: str = "engine",
                 dtype: str = "float32", device: str | None = "auto"):
        self.Cs = Cs
        self.cv = cv
        self.max_iter = max_iter
        self.standardize = standardize
        self.random_state = random_state
        self.backend = backend
        self.dtype = dtype
        self.device = device

    def fit(self, X, y, groups=None):
        """Fit on ``X`` ``(n_samples, n_features)`` and labels ``y`` ``(n_samples,)``.

        ``groups`` ``(n_samples,)`` keeps rows of a group in one inner fold.

        Raises
        ------
        ProbekitError
            Bad shapes (also of ``groups``), sparse or non-numeric input, NaN or infinite
            activations, continuous labels, fewer than two classes, unknown backend,
            device or dtype.
        """
        X, y = validate_input(self, X, y, dtype=np.float64)
        try:
            check_classification_targets(y)
        except ValueError as e:
            raise ProbekitError(f"{type(self).__name__}: {e}") from None
        groups = _check_groups(groups, len(X))
        _check_backend(self.backend)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ProbekitError(f"a probe needs at least two classes; got 1 class ({self.classes_.tolist()})")
        Z = self._standardize(X)
        if self.backend == "sklearn":
            coef_z, intercept_z, self.C_ = self._fit_sklearn(Z, y, groups)
        else:
            task = "binary" if len(self.classes_) == 2 else "multiclass"
            settings = self._settings(method="logistic", Cs=tuple(self.Cs), max_iter=self.max_iter)
            stats: dict = {}
            coef_z, intercept_z, self.C_ = _engine_fit(Z, codes, groups, task, len(self.classes_), settings, stats)
            self.n_iter_ = stats["n_iter"]
        self.coef_, self.intercept_ = self._to_original(coef_z, intercept_z)
        return self

    def _fit_sklearn(self, Z, y, groups):
        splits = inner_splits(Z, y, groups, self.cv, True, self.random_state)
        with warnings.catch_warnings():
            # a probe at the weakest regularization may stop before full convergence on
            # separable data; the chosen C is scored on held-out folds either way
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = LogisticRegressionCV(
                Cs=list(self.Cs), cv=splits, max_iter=self.max_iter, scoring="accuracy", **_LOGISTIC_CV_EXTRA,
            ).fit(Z, y)
        self.n_iter_ = int(np.max(clf.n_iter_))
        return clf.coef_, clf.intercept_, float(np.ravel(clf.C_)[0])

    def decision_function(self, X):
        """Logits, ``(n_samples,)`` (binary) or ``(n_samples, n_classes)``."""
        check_is_fitted(self, "coef_")
        X = validate_input(self, X, reset=False, dtype=np.float64)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X):
        """Class probabilities ``(n_samples, n_classes)``."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-scores))
            return np.column_stack([1 - p, p])
        scores = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(scores)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted labels ``(n_samples,)``."""
        scores = self.decision_function(X)
        return self.classes_[(scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)]


class RidgeProbe(RegressorMixin, _StandardizedLinear):
    """Standardized ridge-regression probe for continuous concepts, alpha by CV.

    Parameters
    ----------
    alphas:
        Regularization strengths tried.
    cv:
        Inner folds when ``groups`` put several rows in one group (best mean R²);
        otherwise efficient leave-one-out (RidgeCV's generalized cross-validation,
        lowest mean squared LOO residual).
    standardize:
        Z-score features with training-set statistics.
    backend, dtype, device:
        As :class:`LogisticProbe` (``sklearn``: ``RidgeCV``).

    Attributes
    ----------
    n_features_in_ : int
    alpha_ : float
    coef_ : ndarray of shape (n_features,)
        Weights in the original feature space.
    intercept_ : float
    """

    def __init__(self, alphas=tuple(np.logspace(-2, 5, 15)), cv: int = 3, standardize: bool = True,
                 random_state: int = 0, backend: str = "engine", dtype: str = "float32",
                 device: str | None = "auto"):
        self.alphas = alphas
        self.cv = cv
        self.standardize = standardize
        self.random_state = random_state
        self.backend = backend
        self.dtype = dtype
        self.device = device

    def fit(self, X, y, groups=None):
        """Fit on ``X`` ``(n_samples, n_features)`` and targets ``y`` ``(n_samples,)`` (float).

        ``groups`` ``(n_samples,)`` keeps rows of a group in one inner fold.

        Raises
        ------
        ProbekitError
            Bad shapes (also of ``groups``), sparse or non-numeric input, NaN or infinite
            activations or targets, unknown backend, device or dtype.
        """
        X, y = validate_input(self, X, y, dtype=np.float64, y_numeric=True)
        y = y.astype(np.float64)
        groups = _check_groups(groups, len(X))
        _check_backend(self.backend)
        Z = self._standardize(X)
        if self.backend == "sklearn":
            # one row per group: efficient leave-one-out (generalized cross-validation)
            cv = inner_splits(Z, y, groups, self.cv, False, self.random_state) if has_shared_groups(groups) else None
            reg = RidgeCV(alphas=list(self.alphas), cv=cv).fit(Z, y)
            coef_z, intercept_z, self.alpha_ = reg.coef_, reg.intercept_, float(reg.alpha_)
        else:
            settings = self._settings(method="ridge", alphas=tuple(self.alphas))
            coef_z, intercept_z, self.alpha_ = _engine_fit(Z, y, groups, "continuous", 0, settings)
            coef_z, intercept_z = coef_z[0], intercept_z[0]
        self.coef_, intercept = self._to_original(coef_z, intercept_z)
        self.intercept_ = float(intercept)
        return self

    def predict(self, X):
        """Predictions ``(n_samples,)``."""
        check_is_fitted(self, "coef_")
        X = validate_input(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


def probe_for_task(task: str, seed: int = 0):
    """The default probe for a task.

    Parameters
    ----------
    task : {"binary", "multiclass", "continuous"}
    seed : int
        The probe's ``random_state`` (its inner CV folds).

    Returns
    -------
    LogisticProbe or RidgeProbe
        :class:`RidgeProbe` for ``continuous``, else :class:`LogisticProbe`.
    """
    if task == "continuous":
        return RidgeProbe(random_state=seed)
    return LogisticProbe(random_state=seed)
