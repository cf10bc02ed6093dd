"""One type for concept data: inputs plus labels, with groups for leak-free splits."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from probekit.errors import ProbekitError

#: Label kinds a concept can have; decides the probe (logistic vs ridge) and metric.
TASKS = ("binary", "multiclass", "continuous")
#: The task of inputs without labels (:meth:`ConceptDataset.from_inputs`): they can be
#: extracted, not probed.
UNLABELED = "unlabeled"


@dataclass
class ConceptDataset:
    """Inputs paired with concept labels.

    Attributes
    ----------
    inputs:
        ``n_samples`` model inputs: strings for text models, image file paths (str) for
        image models.
    labels:
        ``(n_samples,)`` labels; int64 for ``binary``/``multiclass``, float64 for
        ``continuous``.
    task:
        One of :data:`TASKS`.
    name:
        Short name used in output paths and reports.
    groups:
        ``(n_samples,)`` group ids (strings or ints). Rows sharing a group (a true
        statement and its false twin, the two members of a minimal pair) are never split
        between train and test. Defaults to one group per row.
    word_types:
        ``(n_samples,)`` word type per row (e.g. the noun of a minimal pair), used for
        Hewitt & Liang control tasks; ``None`` when the data has none.
    label_names:
        Class names, index = label value (classification only).
    metadata:
        Provenance (source path or hub id, column mapping, ...), saved with each run.
        ``metadata["modality"]`` (``"text"`` or ``"image"``, set by the loaders) says
        which kind of model the inputs are for; see :attr:`modality`.

    Raises
    ------
    ProbekitError
        Empty data, length mismatch, NaN labels, a single class, or an unknown task.
    """

    inputs: list[Any]
    labels: np.ndarray
    task: str
    name: str = "dataset"
    groups: np.ndarray | None = None
    word_types: np.ndarray | None = None
    label_names: list[str] | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.task not in TASKS + (UNLABELED,):
            raise ProbekitError(f"unknown task {self.task!r}; valid: {', '.join(TASKS)} (or {UNLABELED!r})")
        self.inputs = list(self.inputs)
        n = len(self.inputs)
        if n == 0:
            raise ProbekitError(f"data set {self.name!r} is empty: it has no rows")
        labels = np.asarray(self.labels)
        if labels.shape != (n,):
            raise ProbekitError(
                f"data set {self.name!r}: labels have shape {labels.shape}, expected ({n},)"
            )
        if self.task == "continuous":
            labels = labels.astype(np.float64)
            bad = ~np.isfinite(labels)
            if bad.any():
                raise ProbekitError(
                    f"data set {self.name!r}: {int(bad.sum())} label(s) are NaN or infinite "
                    f"(first at row {int(np.flatnonzero(bad)[0])}); drop or fill them"
                )
            if np.ptp(labels) == 0:
                raise ProbekitError(f"data set {self.name!r}: all {n} labels equal {labels[0]}")
        elif self.task == UNLABELED:
            labels = labels.astype(np.int64)
        else:
            if labels.dtype.kind == "f" and np.isnan(labels).any():
                bad = np.flatnonzero(np.isnan(labels))
                raise ProbekitError(
                    f"data set {self.name!r}: {len(bad)} label(s) are NaN (first at row {int(bad[0])})"
                )
            labels = labels.astype(np.int64)
            classes = np.unique(labels)
            if len(classes) < 2:
                raise ProbekitError(
                    f"data set {self.name!r}: labels have a single class ({classes[0]}); "
                    "a probe needs at least two"
                )
        self.labels = labels
        self.groups = np.arange(n) if self.groups is None else np.asarray(self.groups)
        if self.groups.shape != (n,):
            raise ProbekitError(f"data set {self.name!r}: groups have shape {self.groups.shape}, expected ({n},)")
        if self.word_types is not None:
            self.word_types = np.asarray(self.word_types)
            if self.word_types.shape != (n,):
                raise ProbekitError(
                    f"data set {self.name!r}: word_types have shape {self.word_types.shape}, expected ({n},)"
                )

    def __len__(self) -> int:
        return len(self.inputs)

    @classmethod
    def from_inputs(cls, inputs, name: str = "inputs", modality: str = "text") -> "ConceptDataset":
        """Inputs without labels, for extraction only (task :data:`UNLABELED`).

        Parameters
        ----------
        inputs : sequence
            ``n_samples`` inputs: texts (str), image paths (str) with
            ``modality="image"``, or whatever a registered modality's adapter encodes
            (:mod:`probekit.extract.modalities`).
        name : str
        modality : str
            ``"text"``, ``"image"`` or a registered modality's name.

        Returns
        -------
        ConceptDataset
            Labels all 0 (placeholders: an unlabeled data set cannot be probed), one group
            per row.

        Raises
        ------
        ProbekitError
            No inputs, a text or image input that is not a string, or a modality that is
            not a non-empty string.
        """
        inputs = list(inputs)
        if not isinstance(modality, str) or not modality:
            raise ProbekitError(f"modality must be 'text', 'image' or a registered modality's name, not {modality!r}")
        bad = [i for i, x in enumerate(inputs) if not isinstance(x, str)]
        if bad and modality in ("text", "image"):
            raise ProbekitError(f"input {bad[0]} is a {type(inputs[bad[0]]).__name__}; inputs must be strings "
                                "(texts, or image paths)")
        return cls(inputs, np.zeros(len(inputs), dtype=np.int64), UNLABELED, name=name,
                   metadata={"modality": modality, "source": "in memory"})

    @property
    def modality(self) -> str | None:
        """``"text"``, ``"image"`` or another modality (from ``metadata["modality"]``); ``None`` when unknown."""
        return self.metadata.get("modality")

    @property
    def fingerprint(self) -> str:
        """SHA-256 (hex, 16 chars) of inputs, labels and task: identifies the data in stores."""
        h = hashlib.sha256()
        h.update(json.dumps([self.task, [str(x) for x in self.inputs]]).encode())
        h.update(np.ascontiguousarray(self.labels).tobytes())
        return h.hexdigest()[:16]

    def subset(self, index: np.ndarray) -> "ConceptDataset":
        """Rows ``index`` as a new data set (same name, task and metadata).

        Parameters
        ----------
        index : array_like of int, shape (n_subset,)
            Integer row indices (repeats allowed; a boolean mask is not supported).

        Returns
        -------
        ConceptDataset
        """
        index = np.asarray(index)
        return ConceptDataset(
            inputs=[self.inputs[i] for i in index],
            labels=self.labels[index],
            task=self.task,
            name=self.name,
            groups=self.groups[index],
            word_types=None if self.word_types is None else self.word_types[index],
            label_names=self.label_names,
            metadata=dict(self.metadata),
        )


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def group_identical_inputs(texts: list[str], groups: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Merge groups so that identical texts always share one group.

    Two rows end in the same group when they have the same text (after collapsing
    runs of whitespace and stripping the ends) or the same given group, transitively.
    A probe scored on group splits then never sees a text in training that it is
    tested on (a duplicated row would otherwise be memorised across folds).

    Parameters
    ----------
    texts:
        ``n_samples`` strings.
    groups:
        ``(n_samples,)`` given group ids, or ``None`` (one group per row).

    Returns
    -------
    (numpy.ndarray, dict)
        ``(n_samples,)`` group ids: unchanged when nothing had to be merged; otherwise
        each merged group takes the id of its first row's group (``int64`` row index of
        the first row when ``groups`` is ``None``). The dict counts what was found:
        ``duplicate_rows`` (rows whose text appeared in an earlier row),
        ``duplicate_texts`` (distinct texts occurring more than once) and
        ``groups_merged`` (how many fewer groups there are than before).
    """
    n = len(texts)
    keys = [" ".join(str(t).split()) for t in texts]
    base = np.arange(n) if groups is None else np.asarray(groups)
    parent = list(range(n))
    first_of: dict = {}
    counts: dict = {}
    for i, (key, group) in enumerate(zip(keys, base.tolist())):
        counts[key] = counts.get(key, 0) + 1
        for first in (first_of.setdefault(("text", key), i), first_of.setdefault(("group", group), i)):
            a, b = _root(parent, first), _root(parent, i)
            if a != b:
                parent[max(a, b)] = min(a, b)
    roots = np.array([_root(parent, i) for i in range(n)], dtype=np.int64)
    n_before = len(np.unique(base)) if n else 0
    n_after = len(np.unique(roots)) if n else 0
    stats = {"duplicate_rows": n - len(counts), "duplicate_texts": sum(c > 1 for c in counts.values()),
             "groups_merged": n_before - n_after}
    if stats["groups_merged"] == 0:
        return base, stats
    return (roots if groups is None else base[roots]), stats
