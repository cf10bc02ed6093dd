"""Probe every recorded hook point: group-split cross-validation plus control baselines."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from tqdm.auto import tqdm

from probekit.concepts.dataset import ConceptDataset
from probekit.errors import ProbekitError
from probekit.probes.control import control_task_labels, shuffled_labels
from probekit.probes.linear import probe_for_task

__all__ = ["ProbeResult", "cross_validated_score", "layer_sweep", "outer_splits"]


@dataclass
class ProbeResult:
    """One row of a layer sweep (one hook point).

    ``score`` is the mean held-out accuracy (classification) or R² (regression) over
    the outer folds, ``score_std`` its standard deviation over folds. ``control_score``
    is the same probe trained and tested on control labels: Hewitt & Liang's control
    task when the data has word types, else shuffled labels. ``selectivity`` =
    ``score - control_score``.
    """

    module: str
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

    def as_dict(self) -> dict:
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
    return float(r2_score(y_true, y_pred) if task == "continuous" else accuracy_score(y_true, y_pred))


def cross_validated_score(X, y, groups, splits, task: str, probe=None, seed: int = 0) -> np.ndarray:
    """Held-out score of a fresh probe on each split.

    Parameters
    ----------
    X:
        ``(n_samples, d_model)`` activations.
    y:
        ``(n_samples,)`` labels.
    groups:
        ``(n_samples,)`` group ids (used for the probe's inner CV).
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
    probe = probe if probe is not None else probe_for_task(task, random_state=seed)
    scores = []
    for train, test in splits:
        model = clone(probe).fit(X[train], y[train], groups=groups[train])
        scores.append(_score(task, y[test], model.predict(X[test])))
    return np.asarray(scores)


def layer_sweep(
    features: dict[str, np.ndarray],
    layers: dict[str, int],
    dataset: ConceptDataset,
    example_index: np.ndarray | None = None,
    n_splits: int = 5,
    seed: int = 0,
    probe=None,
    progress: bool = True,
) -> list[ProbeResult]:
    """Probe each hook point's activations for the data set's concept.

    Parameters
    ----------
    features:
        ``{hook point: (n_rows, d_model) array}`` (e.g. read from an activation store).
    layers:
        ``{hook point: layer index}`` for the results table.
    dataset:
        The concept data set the rows came from.
    example_index:
        ``(n_rows,)`` data set row of each activation row (token-level stores); default
        one row per example.
    n_splits:
        Outer folds, split by ``dataset.groups`` so no group is on both sides.
    seed:
        Seed for folds and control labels.
    probe:
        Unfitted sklearn estimator to use instead of the default for the task.

    Returns
    -------
    list of ProbeResult
        One per hook point, in the order of ``features``.
    """
    rows = np.arange(len(dataset)) if example_index is None else np.asarray(example_index)
    y = dataset.labels[rows]
    groups = dataset.groups[rows]
    splits = outer_splits(y, groups, dataset.task, n_splits, seed)
    shuffled = shuffled_labels(y, seed=seed)
    has_types = dataset.word_types is not None
    control_task = control_task_labels(dataset.word_types[rows], y, seed=seed) if has_types else None
    metric = "r2" if dataset.task == "continuous" else "accuracy"
    n_train = int(np.mean([len(tr) for tr, _ in splits]))
    n_test = int(np.mean([len(te) for _, te in splits]))
    results = []
    for name, X in tqdm(features.items(), desc="probing", disable=not progress, unit="layer"):
        X = np.asarray(X, dtype=np.float64)
        scores = cross_validated_score(X, y, groups, splits, dataset.task, probe, seed)
        shuffled_score = float(cross_validated_score(X, shuffled, groups, splits, dataset.task, probe, seed).mean())
        task_score = None
        if control_task is not None:
            task_score = float(cross_validated_score(X, control_task, groups, splits, dataset.task, probe, seed).mean())
        control_score = task_score if task_score is not None else shuffled_score
        results.append(ProbeResult(
            module=name, layer=int(layers.get(name, len(results))), score=float(scores.mean()),
            score_std=float(scores.std()), control_score=control_score,
            selectivity=float(scores.mean()) - control_score, metric=metric, n_train=n_train,
            n_test=n_test, shuffled_score=shuffled_score, control_task_score=task_score,
            control="control task (Hewitt & Liang 2019)" if has_types else "shuffled labels",
            n_folds=len(splits),
        ))
    return results
