"""Probe rigor: is a probe's score evidence that the representation encodes the property?

* :func:`mdl_online_code` — minimum description length of the labels given the
  representation, by online (prequential) coding (Voita & Titov 2020). Shorter codes /
  higher compression = the property is extracted with less effort.
* :func:`permutation_test` — p-value of a cross-validated probe score against the
  distribution of scores with randomly permuted labels.
* :func:`selectivity` — task score minus control-task score with the same probe and
  folds (Hewitt & Liang 2019); control labels from :mod:`probekit.probes.control`.

Estimators are any scikit-learn classifiers (default: logistic regression); they are
cloned for every fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, check_cv, cross_val_score
from tqdm.auto import tqdm

from probekit.errors import ProbekitError
from probekit.metrics._validation import (
    as_float_matrix,
    as_labels,
    check_positive_int,
    check_same_n_samples,
)

__all__ = [
    "DEFAULT_MDL_FRACTIONS",
    "MDLResult",
    "PermutationTestResult",
    "SelectivityResult",
    "mdl_online_code",
    "permutation_test",
    "selectivity",
]

#: Block ends (fractions of the data) of Voita & Titov (2020), Sec. 3.2:
#: 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.25, 12.5, 25, 50, 100 percent.
DEFAULT_MDL_FRACTIONS = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.0625, 0.125, 0.25, 0.5, 1.0)


def _default_probe() -> BaseEstimator:
    return LogisticRegression(max_iter=1000)


def _check_estimator(estimator: Any) -> BaseEstimator:
    if estimator is None:
        return _default_probe()
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise ProbekitError(
            f"estimator={estimator!r} is not a scikit-learn estimator (needs fit/get_params); "
            "pass e.g. sklearn.linear_model.LogisticRegression()"
        )
    return estimator


# ---------------------------------------------------------------------------------------
# MDL


@dataclass(frozen=True)
class MDLResult:
    """Online (prequential) description length of labels given representations.

    Attributes
    ----------
    codelength_bits : float
        Online code length ``L_online`` in bits.
    uniform_codelength_bits : float
        ``n_samples * log2(n_classes)``: cost of sending the labels with no model.
    compression : float
        ``uniform_codelength_bits / codelength_bits`` (> 1 means the probe compresses).
    block_ends : numpy.ndarray of int, shape (n_blocks,)
        ``t_1 < t_2 < ... < t_S = n_samples``.
    block_codelengths_bits : numpy.ndarray of float64, shape (n_blocks,)
        Bits spent on each block (the first is ``t_1 log2 K``).
    n_classes : int
    """

    codelength_bits: float
    uniform_codelength_bits: float
    compression: float
    block_ends: np.ndarray
    block_codelengths_bits: np.ndarray
    n_classes: int


def _block_ends(n: int, fractions: Any) -> np.ndarray:
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or fr.size < 2 or not np.all(np.isfinite(fr)):
        raise ProbekitError(f"fractions={fractions!r}; expected at least 2 increasing fractions in (0, 1]")
    if np.any(fr <= 0) or np.any(fr > 1) or np.any(np.diff(fr) <= 0) or fr[-1] != 1.0:
        raise ProbekitError(
            f"fractions={tuple(fr.tolist())}; expected strictly increasing values in (0, 1] ending at 1.0"
        )
    ends = np.maximum(1, np.floor(fr * n).astype(int))
    ends[-1] = n
    ends = np.unique(ends)
    if ends.size < 2:
        raise ProbekitError(f"n_samples={n} is too small for online coding with these fractions")
    return ends


def _predictive_probs(
    estimator: BaseEstimator, x_tr: np.ndarray, y_tr: np.ndarray, x_ev: np.ndarray, n_classes: int
) -> np.ndarray:
    """Class probabilities (n_eval, n_classes) for encoded labels 0..n_classes-1."""
    present = np.unique(y_tr)
    if present.size < 2:
        # a classifier cannot be fitted on one class: Laplace-smoothed frequencies
        counts = np.bincount(y_tr, minlength=n_classes).astype(np.float64)
        p = (counts + 1.0) / (counts.sum() + n_classes)
        return np.broadcast_to(p, (x_ev.shape[0], n_classes)).copy()
    model = clone(estimator).fit(x_tr, y_tr)
    if not hasattr(model, "predict_proba"):
        raise ProbekitError(
            f"{type(model).__name__} has no predict_proba; MDL needs a probabilistic classifier"
        )
    proba = model.predict_proba(x_ev)
    full = np.zeros((x_ev.shape[0], n_classes))
    full[:, np.asarray(model.classes_, dtype=int)] = proba
    return full


def mdl_online_code(
    x: Any,
    y: Any,
    estimator: BaseEstimator | None = None,
    fractions: Any = DEFAULT_MDL_FRACTIONS,
    shuffle: bool = True,
    seed: int = 0,
    uniform_mix: float = 1e-6,
    progress: bool = False,
) -> MDLResult:
    """Minimum description length of labels given representations (online code).

    The rows are (optionally) shuffled and cut at ``t_i = floor(f_i * n)`` for the block
    fractions ``f_i``. The first ``t_1`` labels are sent with the uniform code; every
    later block ``(t_i, t_{i+1}]`` is sent with a probe trained on the first ``t_i`` rows:

    ``L_online = t_1 log2 K + sum_{i=1}^{S-1} sum_{j=t_i+1}^{t_{i+1}} -log2 p_i(y_j | x_j)``,

    with ``K`` classes. ``compression = n log2 K / L_online``.

    Implementation details (documented deviations): the probe's probabilities are mixed
    with the uniform distribution, ``p = (1 - uniform_mix) p_probe + uniform_mix / K``, so
    that a class absent from a small training prefix (or a probability of exactly 0) costs
    a finite ``log2(K / uniform_mix)`` bits; a prefix with a single class uses
    Laplace-smoothed class frequencies instead of a probe.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, n_features)
        Representations.
    y : array-like, shape (n_samples,)
        Class labels (at least 2 classes).
    estimator : sklearn classifier with predict_proba, optional
        Probe (cloned per block); default ``LogisticRegression(max_iter=1000)``.
    fractions : sequence of float
        Strictly increasing block ends in (0, 1], last 1.0; default those of the paper.
    shuffle : bool
        Shuffle rows (``seed``) before cutting blocks.
    seed : int
    uniform_mix : float in [0, 1)
        Weight of the uniform distribution in the code (see above).
    progress : bool
        Show a tqdm bar over blocks.

    Returns
    -------
    MDLResult

    Raises
    ------
    ProbekitError
        On bad shapes / NaN, fewer than 2 classes, bad ``fractions`` or ``uniform_mix``,
        or an estimator without ``predict_proba``.

    References
    ----------
    Voita & Titov (2020), "Information-Theoretic Probing with Minimum Description
    Length", EMNLP, Sec. 3.2 (online code, Eq. for L_online; block fractions) and
    Sec. 2 (uniform code, compression).
    """
    estimator = _check_estimator(estimator)
    xa = as_float_matrix(x, "x", allow_1d=True)
    ya = as_labels(y, "y")
    n = check_same_n_samples([xa, ya], ["x", "y"])
    if not (isinstance(uniform_mix, (int, float)) and 0.0 <= uniform_mix < 1.0):
        raise ProbekitError(f"uniform_mix={uniform_mix!r}; expected a float in [0, 1)")
    classes, y_enc = np.unique(ya, return_inverse=True)
    k = classes.size
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    xa, y_enc = xa[order], y_enc[order]
    ends = _block_ends(n, fractions)
    blocks = [ends[0] * np.log2(k)]
    for i in tqdm(range(ends.size - 1), desc="MDL blocks", disable=not progress):
        lo, hi = ends[i], ends[i + 1]
        p = _predictive_probs(estimator, xa[:lo], y_enc[:lo], xa[lo:hi], k)
        p = (1.0 - uniform_mix) * p + uniform_mix / k
        p_true = p[np.arange(hi - lo), y_enc[lo:hi]]
        if np.any(p_true <= 0):
            raise ProbekitError(
                "the probe assigned probability 0 to an observed label; use uniform_mix > 0"
            )
        blocks.append(float(-np.log2(p_true).sum()))
    blocks_arr = np.asarray(blocks, dtype=np.float64)
    online = float(blocks_arr.sum())
    uniform = float(n * np.log2(k))
    return MDLResult(
        codelength_bits=online,
        uniform_codelength_bits=uniform,
        compression=uniform / online,
        block_ends=ends,
        block_codelengths_bits=blocks_arr,
        n_classes=int(k),
    )


# ---------------------------------------------------------------------------------------
# permutation test


@dataclass(frozen=True)
class PermutationTestResult:
    """Result of :func:`permutation_test`.

    Attributes
    ----------
    score : float
        Mean cross-validated score with the real labels.
    permutation_scores : numpy.ndarray of float64, shape (n_permutations,)
        Mean cross-validated score for each label permutation.
    p_value : float
        ``(1 + #{permutation_scores >= score}) / (1 + n_permutations)``.
    """

    score: float
    permutation_scores: np.ndarray
    p_value: float


def permutation_test(
    estimator: BaseEstimator | None,
    x: Any,
    y: Any,
    n_permutations: int = 100,
    cv: Any = 5,
    scoring: Any = None,
    seed: int = 0,
    progress: bool = False,
) -> PermutationTestResult:
    """Permutation test of a cross-validated probe score.

    Null hypothesis: the labels are independent of the representation. The probe is
    cross-validated with the real labels (score ``s``) and with ``n_permutations`` random
    permutations of the labels (scores ``s_b``, same folds), and

    ``p = (1 + #{b : s_b >= s}) / (1 + n_permutations)``

    (never 0; the smallest attainable p-value is ``1 / (n_permutations + 1)``).
    Permutations are drawn from ``numpy.random.RandomState(seed)`` in the same way as
    :func:`sklearn.model_selection.permutation_test_score`, so both give identical
    results for the same ``seed``; this function adds input validation, a progress bar
    and a result object.

    Parameters
    ----------
    estimator : sklearn estimator, optional
        Probe; default ``LogisticRegression(max_iter=1000)``.
    x : array-like or torch.Tensor, shape (n_samples, n_features)
    y : array-like, shape (n_samples,)
        Labels (classification) or targets (regression estimator).
    n_permutations : int
        Number of permutations (>= 1).
    cv : int or sklearn CV splitter
        As in :func:`sklearn.model_selection.cross_val_score` (an int gives stratified
        folds for classifiers, without shuffling).
    scoring : str or callable, optional
        sklearn scorer (default: the estimator's ``score``; accuracy for classifiers).
    seed : int
        Seed of the permutations.
    progress : bool
        Show a tqdm bar over permutations.

    Returns
    -------
    PermutationTestResult

    Raises
    ------
    ProbekitError
        On bad shapes / NaN, a bad ``n_permutations`` or estimator.

    References
    ----------
    Ojala & Garriga (2010), "Permutation Tests for Studying Classifier Performance",
    JMLR 11, Test 1 and Eq. for the p-value; Phipson & Smyth (2010), "Permutation
    P-values Should Never Be Zero", Stat. Appl. Genet. Mol. Biol. 9.
    """
    estimator = _check_estimator(estimator)
    check_positive_int(n_permutations, "n_permutations")
    xa = as_float_matrix(x, "x", allow_1d=True)
    if is_classifier(estimator):
        ya = as_labels(y, "y")
    else:
        from probekit.metrics._validation import as_float_vector

        ya = as_float_vector(y, "y")
    check_same_n_samples([xa, ya], ["x", "y"])
    splitter = check_cv(cv, ya, classifier=is_classifier(estimator))

    def cv_score(labels: np.ndarray) -> float:
        scores = cross_val_score(
            clone(estimator), xa, labels, cv=splitter, scoring=scoring, error_score="raise"
        )
        return float(np.mean(scores))

    score = cv_score(ya)
    rng = np.random.RandomState(seed)  # same permutation stream as sklearn's permutation_test_score
    perm_scores = np.empty(n_permutations)
    for b in tqdm(range(n_permutations), desc="permutations", disable=not progress):
        perm_scores[b] = cv_score(ya[rng.permutation(len(ya))])
    p = (1.0 + np.sum(perm_scores >= score)) / (1.0 + n_permutations)
    return PermutationTestResult(score=score, permutation_scores=perm_scores, p_value=float(p))


# ---------------------------------------------------------------------------------------
# selectivity


@dataclass(frozen=True)
class SelectivityResult:
    """Result of :func:`selectivity`.

    Attributes
    ----------
    task_score : float
        Mean cross-validated score on the real labels.
    control_score : float
        Mean cross-validated score on the control labels (same folds, same probe).
    selectivity : float
        ``task_score - control_score``.
    task_fold_scores, control_fold_scores : numpy.ndarray of float64, shape (n_splits,)
    """

    task_score: float
    control_score: float
    selectivity: float
    task_fold_scores: np.ndarray
    control_fold_scores: np.ndarray


def selectivity(
    estimator: BaseEstimator | None,
    x: Any,
    y: Any,
    y_control: Any = None,
    word_types: Any = None,
    cv: Any = 5,
    scoring: Any = None,
    seed: int = 0,
) -> SelectivityResult:
    """Selectivity of a probe: task score minus control-task score.

    ``selectivity = score(probe, x, y) - score(probe, x, y_control)``, both
    cross-validated with the same folds and the same probe hyper-parameters. A control
    task (Hewitt & Liang 2019) gives every word type a fixed random label, so it can only
    be solved by memorising word identity; a high-capacity probe that scores well on it
    is not evidence that the representation encodes the property.

    Control labels: pass ``y_control`` directly, or ``word_types`` to build them with
    :func:`probekit.probes.control.control_task_labels` (``seed``). Shuffled labels
    (:func:`probekit.probes.control.shuffled_labels`) are a weaker control for data
    without word types.

    Parameters
    ----------
    estimator : sklearn classifier, optional
        Probe; default ``LogisticRegression(max_iter=1000)``.
    x : array-like or torch.Tensor, shape (n_samples, n_features)
    y : array-like, shape (n_samples,)
        Real labels.
    y_control : array-like, shape (n_samples,), optional
        Control labels.
    word_types : array-like, shape (n_samples,), optional
        Word type of each row (used when ``y_control`` is None).
    cv : int or sklearn CV splitter
        An int gives ``KFold(cv, shuffle=True, random_state=seed)`` (label-agnostic, so the
        folds are identical for both tasks).
    scoring : str or callable, optional
        sklearn scorer (default: accuracy for classifiers).
    seed : int
        Seed of the folds and of the control labels.

    Returns
    -------
    SelectivityResult

    Raises
    ------
    ProbekitError
        If neither ``y_control`` nor ``word_types`` is given, on length mismatches, NaN,
        fewer than 2 classes in ``y`` or ``y_control``.

    References
    ----------
    Hewitt & Liang (2019), "Designing and Interpreting Probes with Control Tasks",
    EMNLP, Sec. 2 (control tasks) and Sec. 3 (selectivity).
    """
    estimator = _check_estimator(estimator)
    xa = as_float_matrix(x, "x", allow_1d=True)
    ya = as_labels(y, "y")
    if y_control is None:
        if word_types is None:
            raise ProbekitError(
                "selectivity needs control labels: pass y_control=... or word_types=... "
                "(see probekit.probes.control.control_task_labels / shuffled_labels)"
            )
        wt = np.asarray(word_types)
        check_same_n_samples([wt, ya], ["word_types", "y"])
        from probekit.probes.control import control_task_labels

        y_control = control_task_labels(wt, ya, seed)
    yc = as_labels(y_control, "y_control")
    check_same_n_samples([xa, ya, yc], ["x", "y", "y_control"])
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        check_positive_int(cv, "cv", minimum=2)
        splitter = KFold(n_splits=int(cv), shuffle=True, random_state=seed)
    else:
        splitter = cv
    folds = list(splitter.split(xa, ya))
    task = cross_val_score(clone(estimator), xa, ya, cv=folds, scoring=scoring, error_score="raise")
    control = cross_val_score(clone(estimator), xa, yc, cv=folds, scoring=scoring, error_score="raise")
    t, c = float(task.mean()), float(control.mean())
    return SelectivityResult(t, c, t - c, np.asarray(task, float), np.asarray(control, float))
