"""Probe every recorded hook point: group-split cross-validation, control baselines, statistics."""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from probekit.concepts.dataset import UNLABELED, ConceptDataset
from probekit.errors import ProbekitError
from probekit.probes.control import control_task_labels, shuffled_labels
from probekit.probes.fit import EngineSettings, out_of_fold, predictions
from probekit.probes.linear import LogisticProbe, RidgeProbe, probe_for_task
from probekit.probes.stats import bootstrap_ci, mean_fold_auroc, permutation_p_value

__all__ = ["ProbeResult", "cross_validated_score", "layer_sweep", "outer_splits"]


@dataclass
class ProbeResult:
    """One row of a layer sweep (one hook point).

    ``score`` is the mean held-out accuracy (classification) or R² (regression) over
    the outer folds of every seed (``fold_scores``), ``score_std`` their standard
    deviation. The control is the same protocol (same folds, same penalty search)
    refitted on ``n_controls`` independent control-label draws: Hewitt & Liang's control
    task when the data has word types, else shuffled labels; ``control_score`` is the
    mean over draws and ``control_sd`` their standard deviation (ddof 1);
    ``selectivity = score - control_score``. ``p_value`` is
    ``(1 + #{draws scoring >= score}) / (1 + n_controls)``. ``ci_low``/``ci_high`` is a
    95 % percentile bootstrap interval over groups of the pooled out-of-fold
    predictions. ``auroc`` (binary tasks) is the mean AUROC of the held-out decision
    values over folds. ``shuffled_score`` is the control mean when the control is
    shuffled labels, else the score on one extra shuffle; ``control_task_score`` the
    control mean when the control is the control task, else ``None``.
    """

    hook_point: str
    layer: int
    score: float
    score_std: float
    control_score: float
    selectivity: float
    metric: str
    n_train: int
    n_test: int
    shuffled_score: float
    control_task_score: float | None
    control: str
    n_folds: int
    fold_scores: list = field(default_factory=list)
    control_sd: float | None = None
    control_scores: list = field(default_factory=list)
    p_value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    auroc: float | None = None
    n_seeds: int = 1
    n_controls: int = 1

    def to_dict(self) -> dict:
        """The row as a dict (one line of results.csv)."""
        return asdict(self)


def outer_splits(labels: np.ndarray, groups: np.ndarray, task: str, n_splits: int, seed: int):
    """Outer train/test splits by group (stratified by label for classification).

    Raises
    ------
    ProbekitError
        Fewer groups than folds.
    """
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ProbekitError(
            f"{n_groups} group(s) cannot be split into {n_splits} folds; lower n_splits or add data"
        )
    dummy = np.zeros((len(labels), 1))
    if task == "continuous":
        rng = np.random.default_rng(seed)
        # shuffle groups so folds do not follow file order
        unique, inverse = np.unique(groups, return_inverse=True)
        shuffled = rng.permutation(len(unique))[inverse]
        return list(GroupKFold(n_splits).split(dummy, labels, shuffled))
    return list(StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed).split(dummy, labels, groups))


def _score(task: str, y_true, y_pred) -> float:
    """R² (continuous) or accuracy; accuracy as a plain mean (``accuracy_score``'s checks cost more than the sum)."""
    if task == "continuous":
        return float(r2_score(y_true, y_pred))
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def cross_validated_score(X, y, groups, splits, task: str, probe=None, seed: int = 0) -> np.ndarray:
    """Held-out score of a fresh probe on each split.

    Parameters
    ----------
    X:
        ``(n_samples, d_model)`` activations.
    y:
        ``(n_samples,)`` labels.
    groups:
        ``(n_samples,)`` group ids, passed to ``fit`` where it takes them (the probe's
        inner CV).
    splits:
        ``[(train_index, test_index), ...]``.
    task:
        ``binary``, ``multiclass`` or ``continuous``.
    probe:
        An unfitted sklearn estimator; default :func:`probe_for_task`.

    Returns
    -------
    numpy.ndarray
        ``(n_splits,)`` accuracy or R² per split.
    """
    probe = probe if probe is not None else probe_for_task(task, seed=seed)
    scores = []
    for train, test in splits:
        model = clone(probe).fit(X[train], y[train], **fit_params_for_groups(probe, groups[train]))
        scores.append(_score(task, y[test], model.predict(X[test])))
    return np.asarray(scores)


def fit_params_for_groups(estimator, groups) -> dict:
    """``{"groups": groups}`` when ``estimator.fit`` takes ``groups`` (routed to a Pipeline's last step), else ``{}``."""
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return {f"{name}__{k}": v for k, v in fit_params_for_groups(last, groups).items()}
    try:
        parameters = inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        return {}
    return {"groups": groups} if "groups" in parameters else {}


def _decision_values(model, X) -> np.ndarray | None:
    """Binary decision values of a fitted estimator (``decision_function`` or P(class 1)), if it has either."""
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X)).reshape(len(X), -1)[:, -1]
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(X))[:, -1]
    return None


def _custom_out_of_fold(features, label_sets, groups, splits, probe, bar):
    """Per-layer fitting of a user's estimator: predictions and decision values ``(L, S, n)``."""
    L, (S, n) = len(features), label_sets.shape
    pred = np.zeros((L, S, n), dtype=label_sets.dtype)
    dec = np.full((L, S, n), np.nan)
    for li, X in enumerate(features):
        X = np.asarray(X, dtype=np.float64)
        for s, y in enumerate(label_sets):
            for train, test in splits:
                model = clone(probe).fit(X[train], y[train], **fit_params_for_groups(probe, groups[train]))
                pred[li, s, test] = model.predict(X[test])
                values = _decision_values(model, X[test])
                if values is not None:
                    dec[li, s, test] = values
        bar.update(1)
    return pred, dec


def _engine_settings(probe, seed: int, device, dtype, method, stream=None) -> EngineSettings | None:
    """Engine settings for the default probe or one of ours; ``None`` for any other estimator."""
    if probe is None:
        return EngineSettings(method=method, device=device, dtype=dtype, random_state=seed, stream=stream)
    if isinstance(probe, (LogisticProbe, RidgeProbe)) and probe.backend == "engine":
        grid = {"Cs": tuple(probe.Cs), "max_iter": probe.max_iter} if isinstance(probe, LogisticProbe) \
            else {"alphas": tuple(probe.alphas)}
        return EngineSettings(method="logistic" if isinstance(probe, LogisticProbe) else "ridge", cv=probe.cv,
                              standardize=probe.standardize, dtype=probe.dtype, device=probe.device,
                              random_state=probe.random_state, **grid)
    return None


def _label_sets(y, word_types, n_controls: int, seed: int):
    """``[y, control draw 1..K, (one shuffle when the controls are control tasks)]`` as an array."""
    if word_types is not None:
        controls = [control_task_labels(word_types, y, seed=seed + k) for k in range(n_controls)]
        return np.stack([y, *controls, shuffled_labels(y, seed=seed)])
    return np.stack([y, *[shuffled_labels(y, seed=seed + k) for k in range(n_controls)]])


def layer_sweep(
    features: dict[str, np.ndarray],
    layers: dict[str, int],
    dataset: ConceptDataset,
    example_index: np.ndarray | None = None,
    n_splits: int = 5,
    seed: int = 0,
    probe=None,
    progress: bool = True,
    n_controls: int = 5,
    seeds: int = 1,
    device: str | None = "auto",
    dtype: str = "float32",
    method: str | None = None,
    n_bootstrap: int = 1000,
    stream: bool | None = None,
) -> list[ProbeResult]:
    """Probe each hook point's activations for the data set's concept, with statistics.

    Parameters
    ----------
    features:
        ``{hook point: (n_samples, d_model) array}``, or a lazy mapping such as
        :meth:`ActivationStore.features <probekit.store.reader.ActivationStore.features>`
        (the engine reads a chunk of hook points at a time).
    layers:
        ``{hook point: layer index}`` for the results table.
    dataset:
        The concept data set the rows came from.
    example_index:
        ``(n_samples,)`` data set row of each activation row (token-level stores); default
        one row per example.
    n_splits:
        Outer folds, split by ``dataset.groups`` so no group is on both sides.
    seed:
        Seed for folds, inner folds and control labels.
    probe:
        ``None`` (default): the batched engine (logistic for classes, ridge for a
        continuous target). A :class:`LogisticProbe` / :class:`RidgeProbe` runs on the
        engine with its settings; any other unfitted sklearn estimator (or Pipeline) is
        fitted per layer and fold, given ``groups`` only when its ``fit`` takes them.
    n_controls:
        Independent control-label draws ``K`` (same protocol on each).
    seeds:
        Repeats of the outer split (seeds ``seed, seed + 1, ...``); scores pool all folds.
    device, dtype, method:
        Engine settings (see :class:`~probekit.probes.fit.EngineSettings`).
    n_bootstrap:
        Bootstrap resamples for the CI.
    stream:
        Ridge regression from streamed statistics (each layer read in row chunks);
        ``None``: when a layer is larger than the engine's chunk budget.

    Returns
    -------
    list of ProbeResult
        One per hook point, in the order of ``features``.

    Raises
    ------
    ProbekitError
        ``n_controls`` or ``seeds`` below 1, an unlabeled data set, too few groups for the folds,
        bad engine settings.
    """
    if n_controls < 1 or seeds < 1:
        raise ProbekitError(f"n_controls and seeds must be at least 1; got n_controls={n_controls}, seeds={seeds}")
    if dataset.task == UNLABELED:
        raise ProbekitError(f"data set {dataset.name!r} has no labels (it was made from plain inputs); probe a "
                            "data set with labels: a CSV with --label-column, or a built-in concept data set")
    rows = np.arange(len(dataset)) if example_index is None else np.asarray(example_index)
    y, groups, task = dataset.labels[rows], dataset.groups[rows], dataset.task
    types = dataset.word_types[rows] if dataset.word_types is not None else None
    label_sets = _label_sets(y, types, n_controls, seed)
    names, X_list = list(features), list(features.values())
    runs = []
    with tqdm(total=len(X_list) * seeds, desc="probing", disable=not progress, unit="layer") as bar:
        for rep in range(seeds):
            splits = outer_splits(y, groups, task, n_splits, seed + rep)
            settings = _engine_settings(probe, seed + rep, device, dtype, method, stream)
            if settings is None:
                pred, dec = _custom_out_of_fold(X_list, label_sets, groups, splits, probe, bar)
            else:
                classes, codes = np.unique(label_sets, return_inverse=True)
                codes = label_sets if task == "continuous" else codes.reshape(label_sets.shape)
                decision, _ = out_of_fold(X_list, codes, groups, task, splits, settings, progress=bar.update)
                pred = predictions(decision, task)
                pred = pred if task == "continuous" else classes[pred]
                dec = decision[..., -1]
            runs.append((splits, pred, dec))
    return [_result(names[i], int(layers.get(names[i], i)), i, runs, label_sets, groups, task, types is not None,
                    n_controls, n_bootstrap, seed) for i in range(len(names))]


def _result(name, layer, i, runs, label_sets, groups, task, has_types, K, n_bootstrap, seed) -> ProbeResult:
    """Scores and statistics of layer ``i`` from the out-of-fold runs of every seed."""
    def fold_scores(s):
        return [_score(task, label_sets[s][te], pred[i, s, te]) for splits, pred, _ in runs for _, te in splits]

    scores = np.asarray(fold_scores(0))
    controls = np.asarray([np.mean(fold_scores(1 + k)) for k in range(K)])
    shuffled = float(np.mean(fold_scores(K + 1))) if has_types else float(controls.mean())
    y = label_sets[0]
    ci = bootstrap_ci(y, np.stack([pred[i, 0] for _, pred, _ in runs]), groups, task, n_bootstrap, seed)
    auroc = None
    if task == "binary" and not np.isnan(runs[0][2][i, 0]).all():
        values = [mean_fold_auroc(y, dec[i, 0], splits) for splits, _, dec in runs]
        auroc = float(np.mean(values)) if None not in values else None
    splits = runs[0][0]
    return ProbeResult(
        hook_point=name, layer=layer, score=float(scores.mean()), score_std=float(scores.std()),
        control_score=float(controls.mean()), selectivity=float(scores.mean() - controls.mean()),
        metric="r2" if task == "continuous" else "accuracy",
        n_train=int(np.mean([len(tr) for tr, _ in splits])), n_test=int(np.mean([len(te) for _, te in splits])),
        shuffled_score=shuffled, control_task_score=float(controls.mean()) if has_types else None,
        control="control task (Hewitt & Liang 2019)" if has_types else "shuffled labels", n_folds=len(splits),
        fold_scores=[float(v) for v in scores], control_sd=float(controls.std(ddof=1)) if K > 1 else 0.0,
        control_scores=[float(v) for v in controls], p_value=permutation_p_value(scores.mean(), controls),
        ci_low=ci[0], ci_high=ci[1], auroc=auroc, n_seeds=len(runs), n_controls=K,
    )
