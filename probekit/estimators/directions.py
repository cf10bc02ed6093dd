"""Concept directions and linear concept erasure.

* :func:`mean_difference_direction` — difference of class means ("mass-mean" direction).
* :func:`logistic_direction` — weight vector of a logistic-regression probe.
* :class:`LeaceEraser` — closed-form LEACE (least-squares concept erasure), a
  scikit-learn transformer that removes all linearly available information about a
  concept with the smallest possible (Mahalanobis-optimal) change of the data.
* :func:`erasure_check` — is the concept still linearly decodable (after erasure)?
* :func:`cosine_similarity_matrix` — agreement between directions found by different
  methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, check_cv, cross_val_score
from sklearn.utils.validation import check_is_fitted

from probekit._sklearn import validate_input
from probekit.errors import ProbekitError
from probekit.metrics._validation import (
    as_float_matrix,
    as_labels,
    check_choice,
    check_same_n_samples,
    constant_columns,
    to_numpy,
)

__all__ = [
    "ErasureCheckResult",
    "LeaceEraser",
    "cosine_similarity_matrix",
    "erasure_check",
    "logistic_direction",
    "mean_difference_direction",
]


def _binary(x: Any, y: Any, positive: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    xa = as_float_matrix(x, "x", allow_1d=True, min_samples=2)
    ya = as_labels(y, "y")
    check_same_n_samples([xa, ya], ["x", "y"])
    classes = np.unique(ya)
    if classes.size != 2:
        raise ProbekitError(
            f"y has {classes.size} classes ({classes[:5].tolist()}...); a concept direction needs "
            "exactly 2 classes (use one-vs-rest labels for more)"
        )
    if positive is None:
        positive = classes[1]
    elif positive not in classes:
        raise ProbekitError(f"positive={positive!r} is not a label of y; labels are {classes.tolist()}")
    return xa, (ya == positive), positive


def _normalized(v: np.ndarray, normalize: bool, what: str) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        raise ProbekitError(f"the {what} is the zero vector; the classes are not separated along any direction")
    return v / norm if normalize else v


def mean_difference_direction(x: Any, y: Any, normalize: bool = True, positive: Any = None) -> np.ndarray:
    """Difference of class means, ``mu_positive - mu_negative``.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, d_model)
        Activations.
    y : array-like, shape (n_samples,)
        Binary labels (exactly 2 distinct values).
    normalize : bool
        Return a unit vector.
    positive : label, optional
        The class the direction points to; default the larger label (``sorted(y)[-1]``).

    Returns
    -------
    numpy.ndarray of float64, shape (d_model,)

    Raises
    ------
    ProbekitError
        On bad shapes / NaN, not exactly 2 classes, an unknown ``positive`` or equal means.

    References
    ----------
    Li, Patel, Viégas, Pfister & Wattenberg (2023), "Inference-Time Intervention", NeurIPS,
    Sec. 3.3 ("mass mean shift", compared with the probe weight and random directions in
    Table 3); Marks & Tegmark (2023), "The Geometry of Truth", Sec. 4 (mass-mean probe).
    """
    xa, pos, _ = _binary(x, y, positive)
    v = xa[pos].mean(axis=0) - xa[~pos].mean(axis=0)
    return _normalized(v, normalize, "difference of class means")


def logistic_direction(
    x: Any,
    y: Any,
    C: float = 1.0,
    normalize: bool = True,
    positive: Any = None,
    max_iter: int = 1000,
) -> np.ndarray:
    """Weight vector of an L2-regularised logistic-regression probe (with intercept).

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, d_model)
    y : array-like, shape (n_samples,)
        Binary labels.
    C : float
        Inverse regularisation strength (:class:`sklearn.linear_model.LogisticRegression`).
    normalize : bool
        Return a unit vector.
    positive : label, optional
        Class the direction points to (larger label by default).
    max_iter : int
        Solver iterations.

    Returns
    -------
    numpy.ndarray of float64, shape (d_model,)
        ``w`` with ``P(positive | x) = sigmoid(w . x + b)``.

    Raises
    ------
    ProbekitError
        As :func:`mean_difference_direction`.

    References
    ----------
    Alain & Bengio (2016), "Understanding intermediate layers using linear classifier
    probes", arXiv:1610.01644; Li et al. (2023), "Inference-Time Intervention", NeurIPS,
    Sec. 3.3 and Table 3 ("probe weight direction").
    """
    xa, pos, _ = _binary(x, y, positive)
    if not (isinstance(C, (int, float)) and C > 0):
        raise ProbekitError(f"C={C!r}; expected a positive float")
    model = LogisticRegression(C=float(C), max_iter=max_iter).fit(xa, pos.astype(int))
    return _normalized(model.coef_[0].astype(np.float64), normalize, "logistic probe weight")


def _concept_matrix(y: Any, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Encode the concept as a matrix Z.

    2-D input, or 1-D floats that are not all whole numbers: a continuous concept, used
    as is. Otherwise class labels: one-hot ``(n, K)`` plus the sorted classes.
    """
    arr = to_numpy(y, "y")
    continuous = arr.ndim == 2 or (
        arr.ndim == 1
        and np.issubdtype(arr.dtype, np.floating)
        and np.all(np.isfinite(arr))
        and not np.all(arr == np.round(arr))
    )
    if continuous:
        return as_float_matrix(arr, "y (continuous concept)", allow_1d=True), None
    labels = as_labels(arr, "y")
    classes, inv = np.unique(labels, return_inverse=True)
    z = np.zeros((labels.shape[0], classes.size))
    z[np.arange(labels.shape[0]), inv] = 1.0
    return z, classes


class LeaceEraser(TransformerMixin, BaseEstimator):
    """Closed-form LEACE: least-squares linear concept erasure.

    Fitted on activations ``X`` and a concept ``Z`` (class labels, one-hot encoded; or a
    continuous concept: any 2-D ``(n_samples, k)`` array, or a 1-D float array that is not
    all whole numbers), the eraser is the affine map

    ``r(x) = x - P (x - mu_x)``,  ``P = W^+ P_{W Sigma_XZ} W`` (``method="leace"``),

    with ``W = (Sigma_XX^{1/2})^+`` the whitening matrix, ``W^+ = Sigma_XX^{1/2}``, and
    ``P_{W Sigma_XZ}`` the orthogonal projection onto the column space of
    ``W Sigma_XZ``. It makes the cross-covariance of ``r(X)`` and ``Z`` exactly zero, so no
    linear classifier can beat a constant predictor on the fitting distribution (for
    convex losses), while minimising ``E ||r(x) - x||_M^2`` for every PSD norm ``M``.
    ``method="orth"`` uses the plain orthogonal projection ``P = P_{Sigma_XZ}`` instead
    (also zero cross-covariance, larger change of the data in general).

    ``P`` is stored in factored form (``P = left_ @ right_``, rank ``rank_`` <= k), so
    :meth:`transform` costs ``O(n_samples * d_model * rank_)``.

    Parameters
    ----------
    method : {"leace", "orth"}
    rtol : float
        Eigen/singular values below ``rtol`` times the largest count as zero.

    Attributes
    ----------
    mean_ : numpy.ndarray, shape (d_model,)
    left_ : numpy.ndarray, shape (d_model, rank_)
    right_ : numpy.ndarray, shape (rank_, d_model)
    rank_ : int
        Rank of the erased subspace (``K - 1`` for ``K`` balanced-enough classes).
    classes_ : numpy.ndarray or None
        Class labels for a categorical concept, ``None`` for a continuous one.
    n_features_in_ : int

    References
    ----------
    Belrose, Schneider-Joseph, Ravfogel, Cotterell, Raff & Biderman (2023), "LEACE:
    Perfect linear concept erasure in closed form", NeurIPS, Theorem 3.1 (zero
    cross-covariance <=> linear guardedness) and Theorem 4.3 (closed form).
    """

    def __init__(self, method: str = "leace", rtol: float = 1e-10):
        self.method = method
        self.rtol = rtol

    def fit(self, X: Any, y: Any) -> LeaceEraser:
        """Fit the eraser.

        Parameters
        ----------
        X : array-like or torch.Tensor, shape (n_samples, d_model)
        y : array-like, shape (n_samples,) or (n_samples, k)
            Class labels, or a continuous concept (see the class docstring).

        Returns
        -------
        self

        Raises
        ------
        ProbekitError
            On bad shapes / NaN, fewer than 2 classes, an unknown ``method``, or a concept
            with no covariance with ``X``.
        """
        check_choice(self.method, "method", ("leace", "orth"))
        x = validate_input(self, X, dtype=np.float64, ensure_min_samples=2)
        z, classes = _concept_matrix(y, x.shape[0])
        n = check_same_n_samples([x, z], ["X", "y"])
        mu = x.mean(axis=0)
        xc = x - mu
        zc = z - z.mean(axis=0)
        sigma_xz = xc.T @ zc / n  # (d, k)
        if self.method == "leace":
            sigma_xx = xc.T @ xc / n
            lam, vec = np.linalg.eigh(sigma_xx)
            keep = lam > self.rtol * max(lam.max(), 0.0)
            if not keep.any():
                raise ProbekitError("X has zero variance; there is nothing to erase")
            v, lk = vec[:, keep], lam[keep]
            w = (v / np.sqrt(lk)) @ v.T  # (Sigma^{1/2})^+
            w_pinv = (v * np.sqrt(lk)) @ v.T  # Sigma^{1/2}
            a = w @ sigma_xz
        else:
            a = sigma_xz
        u, s, _ = np.linalg.svd(a, full_matrices=False)
        if s.size == 0 or s[0] <= 0:
            raise ProbekitError("X and the concept y have zero cross-covariance; nothing to erase")
        u = u[:, s > self.rtol * s[0]]
        if self.method == "leace":
            self.left_ = w_pinv @ u
            self.right_ = u.T @ w
        else:
            self.left_ = u
            self.right_ = u.T
        self.mean_ = mu
        self.rank_ = int(u.shape[1])
        self.classes_ = classes
        return self

    @property
    def projection_(self) -> np.ndarray:
        """The (oblique) projection ``P``, shape (d_model, d_model); ``r(x) = x - P (x - mean_)``."""
        check_is_fitted(self, "left_")
        return self.left_ @ self.right_

    def transform(self, X: Any) -> np.ndarray:
        """Erase the concept.

        Parameters
        ----------
        X : array-like or torch.Tensor, shape (n_samples, d_model)

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, d_model)

        Raises
        ------
        ProbekitError
            On NaN or a ``d_model`` different from the fitted one.
        """
        check_is_fitted(self, "left_")
        x = validate_input(self, X, reset=False, dtype=np.float64)
        return x - ((x - self.mean_) @ self.right_.T) @ self.left_.T


@dataclass(frozen=True)
class ErasureCheckResult:
    """Result of :func:`erasure_check`.

    Attributes
    ----------
    probe_score : float
        Mean cross-validated accuracy of a linear probe predicting the concept.
    baseline_score : float
        Accuracy of always predicting the majority class.
    max_abs_correlation : float
        Largest ``|corr(x_i, 1[y = c])|`` over features ``i`` and classes ``c`` (0 after an
        exact in-sample erasure; constant features count as 0).
    decodable : bool
        ``probe_score > baseline_score + tolerance``.
    tolerance : float
    """

    probe_score: float
    baseline_score: float
    max_abs_correlation: float
    decodable: bool
    tolerance: float


def erasure_check(
    x: Any,
    y: Any,
    estimator: BaseEstimator | None = None,
    cv: Any = 5,
    tolerance: float = 0.02,
    seed: int = 0,
) -> ErasureCheckResult:
    """Check whether a (categorical) concept is linearly decodable from ``x``.

    Cross-validates a linear probe (default ``LogisticRegression(max_iter=1000)``)
    predicting ``y`` from ``x`` and compares its accuracy with the majority-class rate;
    also reports the largest absolute correlation between a feature and a class indicator
    (exactly 0 for data erased in-sample by :class:`LeaceEraser`). Use it on
    ``LeaceEraser().fit(x, y).transform(x)`` to verify an erasure (``decodable`` False)
    and on ``x`` itself for the contrast.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, d_model)
    y : array-like, shape (n_samples,)
        Class labels.
    estimator : sklearn classifier, optional
        Linear probe to try.
    cv : int or sklearn CV splitter
        An int gives ``StratifiedKFold(cv, shuffle=True, random_state=seed)``.
    tolerance : float
        Accuracy margin above the baseline that counts as decodable.
    seed : int

    Returns
    -------
    ErasureCheckResult

    Raises
    ------
    ProbekitError
        On bad shapes / NaN or fewer than 2 classes.

    References
    ----------
    Belrose et al. (2023), "LEACE", NeurIPS, Definition 2.1 (linear guardedness) and
    Theorem 3.1; Ravfogel et al. (2020), "Null It Out", ACL, Sec. 5 (post-erasure probing).
    """
    xa = as_float_matrix(x, "x", allow_1d=True, min_samples=2)
    ya = as_labels(y, "y")
    n = check_same_n_samples([xa, ya], ["x", "y"])
    est = LogisticRegression(max_iter=1000) if estimator is None else estimator
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        splitter = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=seed)
    else:
        splitter = check_cv(cv, ya, classifier=True)
    scores = cross_val_score(clone(est), xa, ya, cv=splitter, error_score="raise")
    _, counts = np.unique(ya, return_counts=True)
    baseline = float(counts.max() / n)
    z, _ = _concept_matrix(ya, n)
    xc = xa - xa.mean(axis=0)
    zc = z - z.mean(axis=0)
    sx = np.sqrt((xc**2).sum(axis=0))
    sz = np.sqrt((zc**2).sum(axis=0))
    const = np.zeros(xa.shape[1], bool)
    const[constant_columns(xa)] = True
    sx = np.where(const | (sx == 0), np.inf, sx)
    corr = (xc.T @ zc) / np.outer(sx, sz)
    probe = float(np.mean(scores))
    tol = float(tolerance)
    return ErasureCheckResult(
        probe_score=probe,
        baseline_score=baseline,
        max_abs_correlation=float(np.abs(corr).max()),
        decodable=bool(probe > baseline + tol),
        tolerance=tol,
    )


def _directions(a: Any, name: str) -> np.ndarray:
    """Unit-normalised rows of a (n, d) / (d,) array or of a name -> vector mapping."""
    if isinstance(a, Mapping):
        if not a:
            raise ProbekitError(f"{name} is an empty mapping; expected name -> direction vector")
        a = np.stack([to_numpy(v, f"{name}[{k!r}]").astype(np.float64).ravel() for k, v in a.items()])
    arr = to_numpy(a, name)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    arr = as_float_matrix(arr, name)
    norms = np.linalg.norm(arr, axis=1)
    if np.any(norms == 0):
        raise ProbekitError(
            f"{name} has zero-length direction(s) at rows {np.flatnonzero(norms == 0).tolist()}; "
            "cosine similarity is undefined for them"
        )
    return arr / norms[:, None]


def cosine_similarity_matrix(a: Any, b: Any = None) -> np.ndarray:
    """Cosine similarity between every pair of directions.

    ``S[i, j] = <a_i, b_j> / (||a_i|| ||b_j||)``.

    Parameters
    ----------
    a : array-like or torch.Tensor, shape (n_directions, d_model), or (d_model,), or a
        mapping ``name -> (d_model,)`` vector (rows in the mapping's order)
        Directions (e.g. ``{"mean_diff": ..., "logistic": ..., "leace": ...}``).
    b : same types, optional
        Second set; default ``a`` (the symmetric matrix of ``a`` against itself).

    Returns
    -------
    numpy.ndarray of float64, shape (n_a, n_b)
        Values in ``[-1, 1]``; take ``abs`` for sign-free agreement.

    Raises
    ------
    ProbekitError
        On NaN, a zero vector, or different ``d_model`` of ``a`` and ``b``.

    References
    ----------
    Standard cosine similarity; used to compare concept directions e.g. in Marks &
    Tegmark (2023), "The Geometry of Truth", Sec. 4, and Li et al. (2023), NeurIPS, Fig. 4.
    """
    ua = _directions(a, "a")
    ub = ua if b is None else _directions(b, "b")
    if ua.shape[1] != ub.shape[1]:
        raise ProbekitError(f"a has d_model={ua.shape[1]} but b has d_model={ub.shape[1]}; they must match")
    return np.clip(ua @ ub.T, -1.0, 1.0)
