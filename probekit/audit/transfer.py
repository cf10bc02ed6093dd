"""Transfer matrix: a probe trained on data set A at A's best hook point, scored on data set B there.

The generalisation test of Marks & Tegmark (2023, *The Geometry of Truth*): if a direction
read off one data set also separates another, the model represents the shared concept
(truth) rather than a feature of one data set's surface form. Only data sets of the same
task type are paired (binary with binary, continuous with continuous, multiclass with
multiclass of the same class names); the diagonal is A's own cross-validated score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["compatible", "transfer_matrix", "transfer_score"]


def compatible(a, b) -> bool:
    """Whether a probe of data set ``a`` can be scored on ``b``.

    Parameters
    ----------
    a, b : ConceptDataset
        The training and test data sets.

    Returns
    -------
    bool
        Same task type, and for multiclass tasks the same class names.
    """
    if a.task != b.task:
        return False
    return a.task != "multiclass" or list(a.label_names or []) == list(b.label_names or [])


def _features(store_dir: Path, hook_point: str, dataset):
    """``(X, y, groups)`` of one hook point of a store: ``(n_samples, d_model)`` float64, labels and groups per row."""
    from probekit.store import ActivationStore

    store = ActivationStore(store_dir)
    rows = store.example_index()
    return np.asarray(store.numpy(hook_point), dtype=np.float64), dataset.labels[rows], dataset.groups[rows]


def transfer_score(train, test, task: str, seed: int = 0, device: str | None = "auto",
                   dtype: str = "float32") -> float:
    """Fit the default probe on ``train`` and score it on ``test``.

    :class:`LogisticProbe`, or :class:`RidgeProbe` for a continuous target; penalty by
    group-aware inner CV.

    Parameters
    ----------
    train, test : (ndarray, ndarray, ndarray)
        ``(X, y, groups)``: features ``(n_samples, d_model)``, targets ``(n_samples,)``,
        groups ``(n_samples,)`` (``test``'s groups are unused).
    task : str
        The task type (``"continuous"`` for regression).
    seed : int
        The probe's ``random_state``.
    device, dtype : str
        The probe engine's.

    Returns
    -------
    float
        Accuracy (classification) or R² (continuous) on every row of ``test``.
    """
    from sklearn.metrics import accuracy_score, r2_score

    from probekit.probes.linear import LogisticProbe, RidgeProbe

    X, y, groups = train
    cls = RidgeProbe if task == "continuous" else LogisticProbe
    probe = cls(random_state=seed, device=device, dtype=dtype).fit(X, y, groups=groups)
    predicted = probe.predict(test[0])
    return float(r2_score(test[1], predicted) if task == "continuous" else accuracy_score(test[1], predicted))


def transfer_matrix(rows: list[dict], datasets: list, stores: dict, seed: int = 0, device: str | None = "auto",
                    dtype: str = "float32") -> list[dict]:
    """Transfer rows of one model variant.

    Parameters
    ----------
    rows:
        The variant's results rows (``dataset``, ``hook_point``, ``layer``, ``score``, ``metric``).
    datasets:
        :class:`~probekit.audit.runner.LoadedData` of the audit.
    stores:
        ``{data set name: store folder}`` of this variant.
    seed, device, dtype:
        Seed of the probe's inner folds; the probe engine's device and precision.

    Returns
    -------
    list of dict
        One row per compatible (train, test) pair: ``model, variant, train_dataset,
        test_dataset, hook_point, layer, score, metric, chance, n_train, n_test,
        evaluation`` (``cross-validated`` on the diagonal, else ``transfer``).
    """
    if not rows:
        return []
    model, variant = rows[0]["model"], rows[0]["variant"]
    out = []
    for a in datasets:
        own = [r for r in rows if r["dataset"] == a.name]
        best = max(own, key=lambda r: r["score"])
        hook, train = best["hook_point"], None
        for b in datasets:
            if not compatible(a.dataset, b.dataset):
                continue
            row = {"model": model, "variant": variant, "train_dataset": a.name, "test_dataset": b.name,
                   "hook_point": hook, "layer": best["layer"], "metric": best["metric"], "chance": b.chance}
            if b is a:
                row.update(score=best["score"], n_train=best["n_train"], n_test=best["n_test"],
                           evaluation="cross-validated")
            else:
                train = train or _features(stores[a.name], hook, a.dataset)
                test = _features(stores[b.name], hook, b.dataset)
                row.update(score=transfer_score(train, test, a.dataset.task, seed, device, dtype), n_train=len(train[1]),
                           n_test=len(test[1]), evaluation="transfer")
            out.append(row)
    return out
