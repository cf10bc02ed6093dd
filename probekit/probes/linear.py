"""Linear probes with the scikit-learn estimator contract.

Both probes standardize features (fit on the training rows only) and choose their
regularization strength by cross-validation on the training rows, splitting by group
when groups are given, so a tuned probe never sees a test group.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV, RidgeCV
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from probekit._sklearn import validate_input
from probekit.errors import ProbekitError

__all__ = ["LogisticProbe", "RidgeProbe", "probe_for_task"]


# Newer scikit-learn versions warn unless these are set explicitly (plain L2 penalty).
_LOGISTIC_CV_EXTRA = {k: v for k, v in {"l1_ratios": (0.0,), "use_legacy_attributes": False}.items()
                      if k in inspect.signature(LogisticRegressionCV).parameters}


def _has_shared_groups(groups) -> bool:
    """True when some group holds more than one row (so splits must respect groups)."""
    return groups is not None and len(np.unique(groups)) < len(groups)


def _inner_splits(X, y, groups, cv, classification, random_state):
    if _has_shared_groups(groups) and len(np.unique(groups)) >= cv:
        return list(GroupKFold(n_splits=cv).split(X, y, groups))
    if classification:
        smallest = np.bincount(np.unique(y, return_inverse=True)[1]).min()
        folds = max(2, min(cv, int(smallest)))
        return list(StratifiedKFold(folds, shuffle=True, random_state=random_state).split(X, y))
    return list(KFold(cv, shuffle=True, random_state=random_state).split(X))


def _check_groups(groups, n_samples: int):
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != (n_samples,):
        raise ProbekitError(f"groups has shape {groups.shape}; expected one group per row ({n_samples},)")
    return groups


class LogisticProbe(ClassifierMixin, BaseEstimator):
    """Standardized logistic-regression probe (binary or multi-class), C by CV.

    Parameters
    ----------
    Cs:
        Inverse regularization strengths tried (``LogisticRegressionCV``).
    cv:
        Inner cross-validation folds for choosing ``C``.
    max_iter:
        Solver iterations.
    standardize:
        Z-score features with training-set statistics.
    random_state:
        Seed for the inner folds.

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
    classifier_ : LogisticRegressionCV
    """

    def __init__(self, Cs=(1e-3, 1e-2, 1e-1, 1.0), cv: int = 3, max_iter: int = 300,
                 standardize: bool = True, random_state: int = 0):
        self.Cs = Cs
        self.cv = cv
        self.max_iter = max_iter
        self.standardize = standardize
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        """Fit on ``X`` ``(n_samples, n_features)`` and labels ``y`` ``(n_samples,)``.

        ``groups`` ``(n_samples,)`` keeps rows of a group in one inner fold.

        Raises
        ------
        ProbekitError
            Bad shapes (also of ``groups``), sparse or non-numeric input, NaN or infinite
            activations, continuous labels, or fewer than two classes.
        """
        X, y = validate_input(self, X, y, dtype=np.float64)
        try:
            check_classification_targets(y)
        except ValueError as e:
            raise ProbekitError(f"{type(self).__name__}: {e}") from None
        groups = _check_groups(groups, len(X))
        classes = np.unique(y)
        if len(classes) < 2:
            raise ProbekitError(f"a probe needs at least two classes; got 1 class ({classes.tolist()})")
        self.scaler_ = StandardScaler().fit(X) if self.standardize else None
        Z = self.scaler_.transform(X) if self.scaler_ is not None else X
        splits = _inner_splits(Z, y, groups, self.cv, True, self.random_state)
        with warnings.catch_warnings():
            # a probe at the weakest regularization may stop before full convergence on
            # separable data; the chosen C is scored on held-out folds either way
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.classifier_ = LogisticRegressionCV(
                Cs=list(self.Cs), cv=splits, max_iter=self.max_iter, scoring="accuracy", **_LOGISTIC_CV_EXTRA,
            ).fit(Z, y)
        self.classes_ = self.classifier_.classes_
        self.n_iter_ = int(np.max(self.classifier_.n_iter_))
        self.C_ = float(np.ravel(self.classifier_.C_)[0])
        scale = self.scaler_.scale_ if self.scaler_ is not None else np.ones(X.shape[1])
        mean = self.scaler_.mean_ if self.scaler_ is not None else np.zeros(X.shape[1])
        self.coef_ = self.classifier_.coef_ / scale
        self.intercept_ = self.classifier_.intercept_ - self.coef_ @ mean
        return self

    def _z(self, X):
        check_is_fitted(self, "classifier_")
        X = validate_input(self, X, reset=False, dtype=np.float64)
        return self.scaler_.transform(X) if self.scaler_ is not None else X

    def decision_function(self, X):
        """Logits, ``(n_samples,)`` (binary) or ``(n_samples, n_classes)``."""
        z = self._z(X)
        return self.classifier_.decision_function(z)

    def predict_proba(self, X):
        """Class probabilities ``(n_samples, n_classes)``."""
        z = self._z(X)
        return self.classifier_.predict_proba(z)

    def predict(self, X):
        """Predicted labels ``(n_samples,)``."""
        z = self._z(X)
        return self.classifier_.predict(z)


class RidgeProbe(RegressorMixin, BaseEstimator):
    """Standardized ridge-regression probe for continuous concepts, alpha by CV.

    Parameters
    ----------
    alphas:
        Regularization strengths tried.
    cv:
        Inner folds when ``groups`` put several rows in one group; otherwise efficient
        leave-one-out (RidgeCV's generalized cross-validation).
    standardize:
        Z-score features with training-set statistics.

    Attributes
    ----------
    n_features_in_ : int
    alpha_ : float
    coef_ : ndarray of shape (n_features,)
        Weights in the original feature space.
    intercept_ : float
    """

    def __init__(self, alphas=tuple(np.logspace(-2, 5, 15)), cv: int = 3, standardize: bool = True,
                 random_state: int = 0):
        self.alphas = alphas
        self.cv = cv
        self.standardize = standardize
        self.random_state = random_state

    def fit(self, X, y, groups=None):
        """Fit on ``X`` ``(n_samples, n_features)`` and targets ``y`` ``(n_samples,)`` (float).

        ``groups`` ``(n_samples,)`` keeps rows of a group in one inner fold.

        Raises
        ------
        ProbekitError
            Bad shapes (also of ``groups``), sparse or non-numeric input, NaN or infinite
            activations or targets.
        """
        X, y = validate_input(self, X, y, dtype=np.float64, y_numeric=True)
        y = y.astype(np.float64)
        groups = _check_groups(groups, len(X))
        self.scaler_ = StandardScaler().fit(X) if self.standardize else None
        Z = self.scaler_.transform(X) if self.scaler_ is not None else X
        # one row per group: efficient leave-one-out (generalized cross-validation)
        cv = _inner_splits(Z, y, groups, self.cv, False, self.random_state) if _has_shared_groups(groups) else None
        self.regressor_ = RidgeCV(alphas=list(self.alphas), cv=cv).fit(Z, y)
        self.alpha_ = float(self.regressor_.alpha_)
        scale = self.scaler_.scale_ if self.scaler_ is not None else np.ones(X.shape[1])
        mean = self.scaler_.mean_ if self.scaler_ is not None else np.zeros(X.shape[1])
        self.coef_ = self.regressor_.coef_ / scale
        self.intercept_ = float(self.regressor_.intercept_ - self.coef_ @ mean)
        return self

    def predict(self, X):
        """Predictions ``(n_samples,)``."""
        check_is_fitted(self, "regressor_")
        X = validate_input(self, X, reset=False, dtype=np.float64)
        return self.regressor_.predict(self.scaler_.transform(X) if self.scaler_ is not None else X)


def probe_for_task(task: str, random_state: int = 0):
    """The default probe for a task: :class:`LogisticProbe` or :class:`RidgeProbe`."""
    if task == "continuous":
        return RidgeProbe(random_state=random_state)
    return LogisticProbe(random_state=random_state)
