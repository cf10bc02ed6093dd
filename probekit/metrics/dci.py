"""DCI: disentanglement, completeness and informativeness (Eastwood & Williams 2018).

One regressor per ground-truth factor predicts that factor from the learned code; the
regressors' feature importances form the importance matrix ``R`` (n_codes x n_factors),
``R[i, j]`` = how much code ``i`` matters for factor ``j``.

* **Disentanglement** of code ``i``: ``D_i = 1 - H_K(P_i)`` with ``P_ij = R_ij / sum_k R_ik``
  and ``H_K`` the entropy in base ``K = n_factors``; overall ``D = sum_i rho_i D_i`` with
  ``rho_i = sum_j R_ij / sum_ij R_ij``. One code per factor -> 1; a code used equally by
  all factors -> 0.
* **Completeness** of factor ``j``: ``C_j = 1 - H_M(P~_.j)`` with ``P~_ij = R_ij / sum_k R_kj``,
  ``M = n_codes``; overall ``C = sum_j w_j C_j`` with ``w_j = sum_i R_ij / sum_ij R_ij``
  (the weighting of disentanglement_lib; the unweighted mean is ``completeness_per_factor.mean()``).
* **Informativeness**: held-out prediction quality of the regressors; reported as test R²
  (higher is better) and as the normalised RMSE the paper uses (lower is better).

Importances: ``"lasso"`` = ``|coefficients|`` of a Lasso on standardised codes and
factors (the paper's choice), ``"gbt"`` = impurity importances of gradient-boosted trees
(as in disentanglement_lib).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from probekit.errors import ProbekitError
from probekit.metrics._validation import (
    as_float_matrix,
    check_choice,
    check_fraction,
    check_min_samples,
    check_no_constant_columns,
    check_positive_int,
    check_same_n_samples,
    constant_columns,
)
from probekit.metrics.identifiability import r2_per_dimension, split_indices

__all__ = ["DCIResult", "DisentanglementCompleteness", "dci", "dci_from_importance", "importance_matrix"]

IMPORTANCES = ("lasso", "gbt")


@dataclass(frozen=True)
class DisentanglementCompleteness:
    """D and C from an importance matrix (see :func:`dci_from_importance`).

    Attributes
    ----------
    disentanglement : float
    completeness : float
    disentanglement_per_code : numpy.ndarray, shape (n_codes,)
    completeness_per_factor : numpy.ndarray, shape (n_factors,)
    code_weights : numpy.ndarray, shape (n_codes,)
        ``rho_i``; zero for codes of zero importance.
    factor_weights : numpy.ndarray, shape (n_factors,)
    """

    disentanglement: float
    completeness: float
    disentanglement_per_code: np.ndarray
    completeness_per_factor: np.ndarray
    code_weights: np.ndarray
    factor_weights: np.ndarray


@dataclass(frozen=True)
class DCIResult(DisentanglementCompleteness):
    """Full DCI result of :func:`dci`.

    Attributes
    ----------
    informativeness : float
        Mean test R² over factors (1 = perfectly predictable).
    informativeness_per_factor : numpy.ndarray, shape (n_factors,)
        Test R² per factor.
    nrmse_per_factor : numpy.ndarray, shape (n_factors,)
        Test RMSE / test standard deviation per factor (``sqrt(1 - R²)``; the paper's
        prediction error, lower is better).
    importance : numpy.ndarray, shape (n_codes, n_factors)
        The importance matrix ``R``.
    method : str
        ``"lasso"`` or ``"gbt"``.
    """

    informativeness: float = 0.0
    informativeness_per_factor: np.ndarray = None  # type: ignore[assignment]
    nrmse_per_factor: np.ndarray = None  # type: ignore[assignment]
    importance: np.ndarray = None  # type: ignore[assignment]
    method: str = ""


def _entropy_complement(p: np.ndarray, base: int) -> np.ndarray:
    """``1 - H_base(p)`` along the last axis for rows of a row-stochastic ``p``."""
    if base == 1:
        return np.ones(p.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    h = -(p * logs).sum(axis=-1) / np.log(base)
    return 1.0 - h


def dci_from_importance(importance: Any) -> DisentanglementCompleteness:
    """Disentanglement and completeness from an importance matrix.

    Definitions (Eastwood & Williams 2018, Sec. 3; ``R`` non-negative, n_codes x n_factors):
    ``D_i = 1 - H_K(R_i. / sum_k R_ik)``, ``D = sum_i rho_i D_i``,
    ``rho_i = sum_j R_ij / sum R``; ``C_j = 1 - H_M(R_.j / sum_k R_kj)``,
    ``C = sum_j w_j C_j``, ``w_j = sum_i R_ij / sum R``; ``H_b`` is entropy in base ``b``
    (``K = n_factors``, ``M = n_codes``; with a single factor/code the entropy is 0).
    A code (factor) with zero total importance gets ``D_i = 0`` (``C_j = 0``) and
    weight 0.

    Parameters
    ----------
    importance : array-like, shape (n_codes, n_factors)
        Non-negative importances (e.g. ``|lasso coefficients|``).

    Returns
    -------
    DisentanglementCompleteness

    Raises
    ------
    ProbekitError
        If ``importance`` is not 2-D, has negative or non-finite entries, or is all zero.

    References
    ----------
    Eastwood & Williams (2018), "A Framework for the Quantitative Evaluation of
    Disentangled Representations", ICLR, Sec. 3 (Eqs. for D_i, rho_i, C_j).
    """
    r = as_float_matrix(importance, "importance")
    if (r < 0).any():
        raise ProbekitError(
            f"importance has {int((r < 0).sum())} negative entries; importances must be >= 0 "
            "(take absolute values of coefficients)"
        )
    total = r.sum()
    if total <= 0:
        raise ProbekitError("importance is all zero; no code is used to predict any factor")
    n_codes, n_factors = r.shape
    row = r.sum(axis=1)
    col = r.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_code = np.where(row[:, None] > 0, r / np.where(row > 0, row, 1.0)[:, None], 0.0)
        p_fac = np.where(col[None, :] > 0, r / np.where(col > 0, col, 1.0)[None, :], 0.0)
    d_i = np.where(row > 0, _entropy_complement(p_code, n_factors), 0.0)
    c_j = np.where(col > 0, _entropy_complement(p_fac.T, n_codes), 0.0)
    rho, w = row / total, col / total
    return DisentanglementCompleteness(
        disentanglement=float(rho @ d_i),
        completeness=float(w @ c_j),
        disentanglement_per_code=d_i,
        completeness_per_factor=c_j,
        code_weights=rho,
        factor_weights=w,
    )


def _standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mu = train.mean(axis=0)
    sd = train.std(axis=0)
    sd[constant_columns(train)] = 1.0  # constant codes become all-zero columns
    return [(a - mu) / sd for a in (train, *others)]


def importance_matrix(
    z_learned: Any,
    z_true: Any,
    method: str = "lasso",
    alpha: float = 0.01,
    n_estimators: int = 100,
    max_depth: int = 3,
    test_size: float = 0.3,
    seed: int = 0,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Importance matrix and held-out predictions of one regressor per factor.

    Codes and factors are standardised with train-split statistics (constant codes get
    importance 0). ``"lasso"``: :class:`sklearn.linear_model.Lasso` (``alpha``) on all
    factors, ``R = |coef|^T``. ``"gbt"``:
    :class:`sklearn.ensemble.GradientBoostingRegressor` per factor (``n_estimators``,
    ``max_depth``, ``random_state=seed``), ``R[:, j] = feature_importances_``.

    Parameters
    ----------
    z_learned : array-like or torch.Tensor, shape (n_samples, n_features)
        Codes.
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
        Ground-truth factors (continuous; discrete factors are treated as numbers).
    method : {"lasso", "gbt"}
    alpha : float
        Lasso penalty (on standardised data).
    n_estimators, max_depth : int
        Gradient boosting settings.
    test_size : float in (0, 1)
        Held-out fraction for the predictions.
    seed : int
        Split (and boosting) seed.
    progress : bool
        Show a tqdm bar over factors (``"gbt"``).

    Returns
    -------
    importance : numpy.ndarray, shape (n_features, n_latents)
    r2 : numpy.ndarray, shape (n_latents,)
        Held-out R² per factor (standardised units; R² is scale invariant).

    Raises
    ------
    ProbekitError
        As :func:`dci`.

    References
    ----------
    Eastwood & Williams (2018), ICLR, Sec. 4 (lasso and random-forest regressors);
    Locatello et al. (2019), "Challenging Common Assumptions in the Unsupervised Learning
    of Disentangled Representations", ICML, App. (gradient-boosted trees).
    """
    check_choice(method, "method", IMPORTANCES)
    test_size = check_fraction(test_size, "test_size")
    zl = as_float_matrix(z_learned, "z_learned", allow_1d=True)
    zt = as_float_matrix(z_true, "z_true", allow_1d=True)
    n = check_same_n_samples([zl, zt], ["z_learned", "z_true"])
    check_no_constant_columns(zt, "z_true", "a constant factor cannot be predicted or explained")
    tr, te = split_indices(n, test_size, seed)
    check_min_samples(tr.size, 5, "DCI (train split)")
    check_min_samples(te.size, 2, "DCI (test split)")
    xtr, xte = _standardize(zl[tr], zl[te])
    ytr, yte = _standardize(zt[tr], zt[te])
    if method == "lasso":
        from sklearn.linear_model import Lasso

        if not (isinstance(alpha, (int, float)) and alpha > 0):
            raise ProbekitError(f"alpha={alpha!r}; expected a positive float")
        model = Lasso(alpha=float(alpha), max_iter=10_000, tol=1e-6).fit(xtr, ytr)
        coef = np.atleast_2d(model.coef_)  # (n_latents, n_features)
        importance = np.abs(coef).T
        pred = np.asarray(model.predict(xte)).reshape(len(te), -1)
    else:
        from sklearn.ensemble import GradientBoostingRegressor

        check_positive_int(n_estimators, "n_estimators")
        check_positive_int(max_depth, "max_depth")
        importance = np.zeros((zl.shape[1], zt.shape[1]))
        pred = np.zeros_like(yte)
        for j in tqdm(range(zt.shape[1]), desc="DCI (gbt)", disable=not progress):
            model = GradientBoostingRegressor(
                n_estimators=n_estimators, max_depth=max_depth, random_state=seed
            ).fit(xtr, ytr[:, j])
            importance[:, j] = model.feature_importances_
            pred[:, j] = model.predict(xte)
    r2 = r2_per_dimension(yte, pred, name="z_true (test split)")
    return importance, r2


def dci(
    z_learned: Any,
    z_true: Any,
    method: str = "lasso",
    alpha: float = 0.01,
    n_estimators: int = 100,
    max_depth: int = 3,
    test_size: float = 0.3,
    seed: int = 0,
    progress: bool = False,
) -> DCIResult:
    """Disentanglement, completeness and informativeness of a learned code.

    Builds the importance matrix with :func:`importance_matrix` and scores it with
    :func:`dci_from_importance` (definitions there and in the module docstring);
    informativeness is the held-out R² of the same regressors, and
    ``nrmse_per_factor = sqrt(1 - R²)`` is the normalised RMSE of the paper.

    Parameters
    ----------
    z_learned : array-like or torch.Tensor, shape (n_samples, n_features)
        Learned codes.
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
        Ground-truth factors.
    method : {"lasso", "gbt"}
        Importance estimator.
    alpha : float
        Lasso penalty on standardised data (``method="lasso"``).
    n_estimators, max_depth : int
        Gradient boosting settings (``method="gbt"``).
    test_size : float in (0, 1)
        Held-out fraction for informativeness.
    seed : int
        Split / boosting seed.
    progress : bool
        Show a tqdm bar over factors (``"gbt"``).

    Returns
    -------
    DCIResult
        A code that is a permutation and rescaling of the factors gives
        D = C = 1 (up to Lasso shrinkage leaking no importance) and informativeness ~1.

    Raises
    ------
    ProbekitError
        On unequal ``n_samples``, NaN/inf, a constant factor, too few samples, an unknown
        ``method``, or if no code gets any importance (e.g. ``alpha`` too large).

    References
    ----------
    Eastwood & Williams (2018), "A Framework for the Quantitative Evaluation of
    Disentangled Representations", ICLR, Sec. 3-4.
    """
    importance, r2 = importance_matrix(
        z_learned,
        z_true,
        method=method,
        alpha=alpha,
        n_estimators=n_estimators,
        max_depth=max_depth,
        test_size=test_size,
        seed=seed,
        progress=progress,
    )
    if importance.sum() <= 0:
        raise ProbekitError(
            f"every importance is zero (method={method!r}, alpha={alpha!r}); the regressors use no "
            "code - lower alpha or check that z_learned carries information"
        )
    dc = dci_from_importance(importance)
    return DCIResult(
        disentanglement=dc.disentanglement,
        completeness=dc.completeness,
        disentanglement_per_code=dc.disentanglement_per_code,
        completeness_per_factor=dc.completeness_per_factor,
        code_weights=dc.code_weights,
        factor_weights=dc.factor_weights,
        informativeness=float(r2.mean()),
        informativeness_per_factor=r2,
        nrmse_per_factor=np.sqrt(np.clip(1.0 - r2, 0.0, None)),
        importance=importance,
        method=method,
    )
