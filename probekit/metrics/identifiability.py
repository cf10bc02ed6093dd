"""Linear identifiability: how well a linear map explains one latent space by another.

* :func:`affine_r2` — R² of a least-squares affine map (with intercept) fitted on one
  split and scored on held-out samples. Equals 1 when the learned latents are an
  invertible affine function of the true ones ("identified up to an affine map").
* :func:`orthogonal_identifiability` — R² of a map *without* intercept plus the spread
  of the fitted map's singular values: both perfect (R² = 1, deviation 0) exactly when
  the learned latents are a scaled orthogonal transform of the true ones.
* :func:`linear_identifiability` — either of the above, learned→true, true→learned or
  both.

All functions accept NumPy arrays or torch tensors and compute in float64.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from probekit.errors import ProbekitError
from probekit.metrics._validation import (
    as_float_matrix,
    check_choice,
    check_fraction,
    check_min_samples,
    check_no_constant_columns,
    check_same_n_samples,
)

__all__ = [
    "RIDGE_ALPHAS",
    "LinearIdentifiabilityResult",
    "OrthogonalResult",
    "R2Result",
    "affine_r2",
    "factor_probe_scores",
    "linear_identifiability",
    "no_intercept_probe",
    "orthogonal_identifiability",
    "r2_per_dimension",
    "ridge_cv_probe",
    "singular_value_mae",
    "split_indices",
]

DIRECTIONS = ("learned_to_true", "true_to_learned", "both")
KINDS = ("affine", "orthogonal")


@dataclass(frozen=True)
class R2Result:
    """Held-out R² of a linear map from a source to a target representation.

    Attributes
    ----------
    mean : float
        Mean of ``per_dimension``.
    per_dimension : numpy.ndarray of float64, shape (d_target,)
        R² of each target column on the test samples (can be negative).
    coef : numpy.ndarray of float64, shape (d_source, d_target)
        Fitted map: ``prediction = source @ coef + intercept``.
    intercept : numpy.ndarray of float64, shape (d_target,)
        Zeros when ``fit_intercept`` is False.
    fit_intercept : bool
    train_indices, test_indices : numpy.ndarray of int
        Rows used to fit and to score (identical when ``test_size`` is None).
    """

    mean: float
    per_dimension: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    fit_intercept: bool
    train_indices: np.ndarray
    test_indices: np.ndarray

    @property
    def n_train(self) -> int:
        """Number of fitting samples."""
        return int(self.train_indices.size)

    @property
    def n_test(self) -> int:
        """Number of scoring samples."""
        return int(self.test_indices.size)


@dataclass(frozen=True)
class OrthogonalResult(R2Result):
    """:class:`R2Result` of a no-intercept fit plus the singular values of its map.

    Attributes
    ----------
    singular_values : numpy.ndarray of float64, shape (min(d_source, d_target),)
        Singular values of ``coef``, descending.
    sv_deviation : float
        ``mean_k |s_k / mean(s) - 1|``: mean relative deviation of the singular values
        from their mean (0 iff the map is a multiple of an orthogonal/isometric map).
    sv_mae_to_one : float
        ``mean_k |s_k - 1|``: deviation from an exactly orthogonal map (scale 1).
    """

    singular_values: np.ndarray = None  # type: ignore[assignment]
    sv_deviation: float = float("nan")
    sv_mae_to_one: float = float("nan")


@dataclass(frozen=True)
class LinearIdentifiabilityResult:
    """Results of :func:`linear_identifiability` per direction (``None`` if not computed)."""

    learned_to_true: R2Result | None
    true_to_learned: R2Result | None

    @property
    def scores(self) -> dict[str, float]:
        """Mean R² per computed direction, e.g. ``{"learned_to_true": 0.98}``."""
        out = {}
        if self.learned_to_true is not None:
            out["learned_to_true"] = self.learned_to_true.mean
        if self.true_to_learned is not None:
            out["true_to_learned"] = self.true_to_learned.mean
        return out


def split_indices(n: int, test_size: float | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test split of ``range(n)``: ``ceil(test_size * n)`` test rows.

    Parameters
    ----------
    n : int
        Number of samples.
    test_size : float in (0, 1) or None
        ``None`` returns all rows for both (in-sample).
    seed : int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    train_idx, test_idx : numpy.ndarray of int, sorted
    """
    if test_size is None:
        idx = np.arange(n)
        return idx, idx
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(np.ceil(test_size * n))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def r2_per_dimension(y_true: np.ndarray, y_pred: np.ndarray, name: str = "target") -> np.ndarray:
    """Coefficient of determination of each column.

    ``R²_j = 1 - sum_i (y_ij - yhat_ij)² / sum_i (y_ij - mean_i y_ij)²``
    (same convention as :func:`sklearn.metrics.r2_score` with ``multioutput="raw_values"``).

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray of float64, shape (n_samples, d_target)
    name : str
        Name of the target used in error messages.

    Returns
    -------
    numpy.ndarray of float64, shape (d_target,)

    Raises
    ------
    ProbekitError
        If a column of ``y_true`` is constant (R² undefined).
    """
    check_no_constant_columns(y_true, name, "R² is undefined for a target with zero variance")
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - ss_res / ss_tot


def _fit_and_score(
    source: np.ndarray,
    target: np.ndarray,
    *,
    fit_intercept: bool,
    test_size: float | None,
    seed: int,
    names: tuple[str, str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = check_same_n_samples([source, target], list(names))
    test_size = check_fraction(test_size, "test_size", allow_none=True)
    tr, te = split_indices(n, test_size, seed)
    need = source.shape[1] + (1 if fit_intercept else 0) + 1
    check_min_samples(
        tr.size,
        need,
        f"a {'affine' if fit_intercept else 'linear'} fit from {source.shape[1]} {names[0]} "
        "dimensions (train split; otherwise the map is not determined)",
    )
    check_min_samples(te.size, 2, "R² (test split)")
    xs, ys = source[tr], target[tr]
    if fit_intercept:
        mx, my = xs.mean(axis=0), ys.mean(axis=0)
        coef, *_ = np.linalg.lstsq(xs - mx, ys - my, rcond=None)
        intercept = my - mx @ coef
    else:
        coef, *_ = np.linalg.lstsq(xs, ys, rcond=None)
        intercept = np.zeros(target.shape[1])
    pred = source[te] @ coef + intercept
    r2 = r2_per_dimension(target[te], pred, name=f"{names[1]} (test split)")
    return r2, coef, intercept, tr, te


def _affine(source: Any, target: Any, test_size: float | None, seed: int, names: tuple[str, str]) -> R2Result:
    xs = as_float_matrix(source, names[0], allow_1d=True)
    ys = as_float_matrix(target, names[1], allow_1d=True)
    r2, coef, intercept, tr, te = _fit_and_score(
        xs, ys, fit_intercept=True, test_size=test_size, seed=seed, names=names
    )
    return R2Result(float(r2.mean()), r2, coef, intercept, True, tr, te)


def _orthogonal(
    source: Any, target: Any, test_size: float | None, seed: int, names: tuple[str, str]
) -> OrthogonalResult:
    xs = as_float_matrix(source, names[0], allow_1d=True)
    ys = as_float_matrix(target, names[1], allow_1d=True)
    r2, coef, intercept, tr, te = _fit_and_score(
        xs, ys, fit_intercept=False, test_size=test_size, seed=seed, names=names
    )
    s = np.linalg.svd(coef, compute_uv=False)
    if s.max() <= 0:
        raise ProbekitError(
            f"the fitted linear map is zero; {names[0]} carries no linear information about {names[1]}"
        )
    return OrthogonalResult(
        float(r2.mean()),
        r2,
        coef,
        intercept,
        False,
        tr,
        te,
        singular_values=s,
        sv_deviation=float(np.mean(np.abs(s / s.mean() - 1.0))),
        sv_mae_to_one=float(np.mean(np.abs(s - 1.0))),
    )


def singular_value_mae(singular_values: Any, target: float) -> float:
    """Mean absolute error of a map's singular values to one target value.

    ``mean_k |s_k - target|``: 0 iff the map is ``1 / target`` times an orthogonal
    (isometric) map. The paper's "orthogonal" score: with a normalised head the encoder
    learns ``f(g(z)) ≈ kappa · O z``, so the map from ``f`` back to ``z`` has singular
    values ``1 / kappa`` (target ``1 / kappa`` for z~ -> z, 1 for the unit head rows w -> v).

    Parameters
    ----------
    singular_values : array-like of float, shape (k,)
        E.g. :attr:`OrthogonalResult.singular_values`.
    target : float
        Finite and > 0.

    Returns
    -------
    float

    Raises
    ------
    ProbekitError
        An empty or non-finite ``singular_values``; a ``target`` that is not a finite
        positive number.

    References
    ----------
    Reizinger et al. (2025), ICLR, Sec. 5 (orthogonal case: MAE of the singular values of
    the fitted no-intercept map to their target); the reference code (klindtlab/csi,
    ``simulation/src/disentanglement_utils.py``, ``orthogonal_linear_disentanglement``,
    ``scaler=kappa``) scores ``mean_absolute_error(ones / kappa, s)``.
    """
    s = np.asarray(singular_values, dtype=np.float64).ravel()
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise ProbekitError(f"singular_values must be a non-empty finite array; got {s!r}")
    if not (isinstance(target, (int, float, np.floating, np.integer)) and np.isfinite(target) and target > 0):
        raise ProbekitError(f"target must be a finite number > 0; got {target!r}")
    return float(np.mean(np.abs(s - float(target))))


def affine_r2(
    z_learned: Any,
    z_true: Any,
    test_size: float | None = 0.5,
    seed: int = 0,
) -> R2Result:
    """Held-out R² of the best affine map from learned to true latents.

    Fits ``z_true ≈ z_learned @ A + c`` by ordinary least squares on a random
    ``1 - test_size`` fraction of the rows and reports, on the other rows,
    ``R²_j = 1 - SS_res_j / SS_tot_j`` for every true dimension ``j`` (``SS_tot`` around the
    test mean, as :func:`sklearn.metrics.r2_score`) and their mean.

    Parameters
    ----------
    z_learned : array-like or torch.Tensor, shape (n_samples, n_features)
        Source (regressors). 1-D is treated as one column.
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
        Target.
    test_size : float in (0, 1) or None
        Held-out fraction (``ceil(test_size * n_samples)`` rows); ``None`` scores in-sample.
    seed : int
        Seed of the split.

    Returns
    -------
    R2Result
        ``mean`` and ``per_dimension`` (n_latents,); 1 when ``z_true`` is an affine
        function of ``z_learned``.

    Raises
    ------
    ProbekitError
        On unequal ``n_samples``, NaN/inf, fewer train rows than ``n_features + 2``,
        a constant ``z_true`` column on the test split (R² undefined), or a bad ``test_size``.

    References
    ----------
    Zimmermann, Sharma, Schneider, Bethge & Brendel (2021), "Contrastive Learning Inverts
    the Data Generating Process", ICML, Sec. 5 (linear/affine R² evaluation);
    Reizinger et al. (2025), "Cross-Entropy Is All You Need To Invert the Data
    Generating Process", ICLR, Tables 2-3 (affine R², fit on one half, scored on the other).
    """
    return _affine(z_learned, z_true, test_size, seed, ("z_learned", "z_true"))


def orthogonal_identifiability(
    z_learned: Any,
    z_true: Any,
    test_size: float | None = 0.5,
    seed: int = 0,
) -> OrthogonalResult:
    """No-intercept linear fit from learned to true latents, with its singular values.

    Fits ``z_true ≈ z_learned @ W`` (least squares, no intercept) on the train split and
    reports the held-out R² (as :func:`affine_r2`) and the singular values ``s`` of ``W``.
    If ``z_learned = z_true @ (c Q)`` for an orthogonal ``Q`` and a scalar ``c``, then R² = 1
    and all ``s_k = 1/c``, so

    * ``sv_deviation = mean_k |s_k / mean(s) - 1| = 0`` (identified up to a scaled
      orthogonal map), and
    * ``sv_mae_to_one = mean_k |s_k - 1| = 0`` when moreover ``c = 1``.

    Parameters
    ----------
    z_learned : array-like or torch.Tensor, shape (n_samples, n_features)
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
    test_size : float in (0, 1) or None
        Held-out fraction; ``None`` scores in-sample.
    seed : int
        Seed of the split.

    Returns
    -------
    OrthogonalResult

    Raises
    ------
    ProbekitError
        As :func:`affine_r2`; also when the fitted map is zero.

    References
    ----------
    Zimmermann et al. (2021), ICML, Theorem 5 (recovery up to an orthogonal map on the
    sphere); Reizinger et al. (2025), ICLR, Sec. 4 ("orthogonal case: no-intercept R² and
    the deviation of the fitted map's singular values from their target").
    """
    return _orthogonal(z_learned, z_true, test_size, seed, ("z_learned", "z_true"))


def linear_identifiability(
    z_learned: Any,
    z_true: Any,
    direction: str = "learned_to_true",
    kind: str = "affine",
    test_size: float | None = 0.5,
    seed: int = 0,
) -> LinearIdentifiabilityResult:
    """Affine or orthogonal identifiability in one or both directions.

    ``learned_to_true`` regresses ``z_true`` on ``z_learned`` (does the representation
    contain the latents?); ``true_to_learned`` regresses ``z_learned`` on ``z_true`` (is
    the representation a linear function of the latents, i.e. nothing else?). Both are
    1 exactly for an invertible affine relation (or, for ``kind="orthogonal"``, a linear
    one without offset). Both directions use the same split.

    Parameters
    ----------
    z_learned : array-like or torch.Tensor, shape (n_samples, n_features)
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
    direction : {"learned_to_true", "true_to_learned", "both"}
    kind : {"affine", "orthogonal"}
        :func:`affine_r2` or :func:`orthogonal_identifiability`.
    test_size : float in (0, 1) or None
    seed : int

    Returns
    -------
    LinearIdentifiabilityResult
        With ``learned_to_true`` / ``true_to_learned`` (``None`` where not requested).

    Raises
    ------
    ProbekitError
        On an unknown ``direction`` / ``kind``, and as :func:`affine_r2`.

    References
    ----------
    Zimmermann et al. (2021), ICML, Sec. 5; Reizinger et al. (2025), ICLR, Tables 2-3;
    Khemakhem et al. (2020), AISTATS, Definition 1 (identifiability up to a linear map).
    """
    check_choice(direction, "direction", DIRECTIONS)
    check_choice(kind, "kind", KINDS)
    fn = _affine if kind == "affine" else _orthogonal
    l2t = t2l = None
    if direction in ("learned_to_true", "both"):
        l2t = fn(z_learned, z_true, test_size, seed, ("z_learned", "z_true"))
    if direction in ("true_to_learned", "both"):
        t2l = fn(z_true, z_learned, test_size, seed, ("z_true", "z_learned"))
    return LinearIdentifiabilityResult(learned_to_true=l2t, true_to_learned=t2l)


def no_intercept_probe(f_train: Any, y_train: Any, f_test: Any, y_test: Any):
    """Pearson r between ``y_test`` and a no-intercept least-squares prediction from ``f_test``.

    Each target column is z-scored with the train statistics; ``beta`` is the minimum-norm
    least-squares solution ``pinv(F) y`` (no intercept, no penalty), one ``lstsq`` for all
    columns; a column whose prediction or test target is constant scores 0.

    Parameters
    ----------
    f_train : array-like, shape (n_train, n_features)
    y_train : array-like, shape (n_train,) or (n_train, n_targets)
    f_test : array-like, shape (n_test, n_features)
    y_test : array-like, shape (n_test,) or (n_test, n_targets)

    Returns
    -------
    float for 1-D targets, else numpy.ndarray of float64, shape (n_targets,)

    Raises
    ------
    ProbekitError
        Row counts or feature widths disagree, NaN/inf.

    References
    ----------
    Reizinger et al. (2025), "Cross-Entropy Is All You Need To Invert the Data Generating
    Process", ICLR, Table 4 (no-intercept linear regression from features to each
    z-scored factor; Pearson r on the test split).
    """
    one = np.ndim(y_train) == 1
    ftr, ytr, fte, yte = _probe_inputs(f_train, y_train, f_test, y_test)
    sd = ytr.std(0)
    sd[sd == 0] = 1.0
    beta = np.linalg.lstsq(ftr, (ytr - ytr.mean(0)) / sd, rcond=None)[0]
    pred = fte @ beta
    r = np.zeros(ytr.shape[1])
    for j in range(ytr.shape[1]):
        if np.std(pred[:, j]) > 0 and np.std(yte[:, j]) > 0:
            r[j] = np.corrcoef(yte[:, j], pred[:, j])[0, 1]
    return float(r[0]) if one else r


#: Default penalties of :func:`ridge_cv_probe` (log-spaced, 1e-3 .. 1e5).
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 5, 17))


def ridge_cv_probe(f_train: Any, y_train: Any, f_test: Any, y_test: Any, alphas=RIDGE_ALPHAS):
    """Pearson r between ``y_test`` and a ridge prediction whose penalty is chosen by leave-one-out CV.

    The regularised counterpart of :func:`no_intercept_probe` for features that are wide
    compared with the training rows (e.g. 4096 pixels from 9600 images, where the
    unpenalised fit overfits): each target column is z-scored with the train statistics
    and fitted by :class:`sklearn.linear_model.RidgeCV` (efficient leave-one-out /
    generalised cross-validation on the train split only, one penalty per target, with
    an intercept -- Pearson r ignores a constant offset of the predictions, and the
    intercept keeps the penalty off the mean). A column whose prediction or test target
    is constant scores 0.

    Parameters
    ----------
    f_train : array-like, shape (n_train, n_features)
    y_train : array-like, shape (n_train,) or (n_train, n_targets)
    f_test : array-like, shape (n_test, n_features)
    y_test : array-like, shape (n_test,) or (n_test, n_targets)
    alphas : sequence of float
        Candidate penalties, all > 0 (default :data:`RIDGE_ALPHAS`).

    Returns
    -------
    r : float for 1-D targets, else numpy.ndarray of float64, shape (n_targets,)
    chosen : numpy.ndarray of float64, shape (n_targets,)
        The penalty picked for each target.

    Raises
    ------
    ProbekitError
        As :func:`no_intercept_probe`; an empty or non-positive ``alphas``; fewer than 3
        training rows.

    References
    ----------
    Hoerl & Kennard (1970), "Ridge Regression", Technometrics 12(1); Golub, Heath & Wahba
    (1979), "Generalized cross-validation as a method for choosing a good ridge
    parameter", Technometrics 21(2); Reizinger et al. (2025), ICLR, Table 4 (the
    unpenalised probe this regularises).
    """
    from sklearn.linear_model import RidgeCV

    one = np.ndim(y_train) == 1
    ftr, ytr, fte, yte = _probe_inputs(f_train, y_train, f_test, y_test)
    a = np.asarray(alphas, dtype=np.float64).ravel()
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise ProbekitError(f"alphas must be a non-empty list of finite penalties > 0; got {list(a)}")
    check_min_samples(ftr.shape[0], 3, "a ridge probe with leave-one-out CV (train split)")
    sd = ytr.std(0)
    sd[sd == 0] = 1.0
    model = RidgeCV(alphas=a, fit_intercept=True, alpha_per_target=True).fit(ftr, (ytr - ytr.mean(0)) / sd)
    pred = model.predict(fte).reshape(fte.shape[0], -1)
    r = np.zeros(ytr.shape[1])
    for j in range(ytr.shape[1]):
        if np.std(pred[:, j]) > 0 and np.std(yte[:, j]) > 0:
            r[j] = np.corrcoef(yte[:, j], pred[:, j])[0, 1]
    chosen = np.broadcast_to(np.asarray(model.alpha_, dtype=np.float64), (ytr.shape[1],)).copy()
    return (float(r[0]) if one else r), chosen


def _probe_inputs(f_train, y_train, f_test, y_test):
    """Validated float64 matrices ``(f_train, y_train, f_test, y_test)`` of a train/test probe."""
    ftr = as_float_matrix(f_train, "f_train", allow_1d=True)
    fte = as_float_matrix(f_test, "f_test", allow_1d=True)
    ytr = as_float_matrix(y_train, "y_train", allow_1d=True)
    yte = as_float_matrix(y_test, "y_test", allow_1d=True)
    check_same_n_samples([ftr, ytr], ["f_train", "y_train"])
    check_same_n_samples([fte, yte], ["f_test", "y_test"])
    if ftr.shape[1] != fte.shape[1] or ytr.shape[1] != yte.shape[1]:
        raise ProbekitError(f"train and test widths differ: features {ftr.shape[1]} vs {fte.shape[1]}, "
                            f"targets {ytr.shape[1]} vs {yte.shape[1]}")
    return ftr, ytr, fte, yte


def factor_probe_scores(f_train: Any, y_train: Any, f_test: Any, y_test: Any, names, probe: str = "ridge-cv"
                        ) -> dict[str, float]:
    """Both probes' Pearson r per factor: :func:`no_intercept_probe` and :func:`ridge_cv_probe`.

    Parameters
    ----------
    f_train, f_test : array-like, shape (n, n_features)
    y_train, y_test : array-like, shape (n, n_factors)
    names : sequence of str, length n_factors
    probe : {"ridge-cv", "lstsq"}
        Which probe's score goes under the bare factor name.

    Returns
    -------
    dict
        ``<name>`` (the chosen probe), ``<name>_lstsq``, ``<name>_ridge_cv`` and
        ``<name>_ridge_alpha`` (the penalty chosen by leave-one-out CV) for every factor.

    Raises
    ------
    ProbekitError
        An unknown ``probe``; ``names`` not matching the factor columns; as the probes.
    """
    check_choice(probe, "probe", ("ridge-cv", "lstsq"))
    names = list(names)
    if np.ndim(y_train) != 2 or np.shape(y_train)[1] != len(names):
        raise ProbekitError(f"names has {len(names)} entries; y_train must have shape (n, {len(names)}), "
                            f"got {np.shape(y_train)}")
    lsq = no_intercept_probe(f_train, y_train, f_test, y_test)
    ridge, alphas = ridge_cv_probe(f_train, y_train, f_test, y_test)
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        out[name] = float(ridge[j] if probe == "ridge-cv" else lsq[j])
        out[f"{name}_lstsq"], out[f"{name}_ridge_cv"] = float(lsq[j]), float(ridge[j])
        out[f"{name}_ridge_alpha"] = float(alphas[j])
    return out
