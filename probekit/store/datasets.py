"""A store's examples (text or image path, label, group) on disk, and the store as a
``datasets.Dataset``.

At extraction the data set's columns go to ``examples.parquet`` in the store folder
(one row per example, in example order; written to a temporary file, fsynced and
renamed, so it is whole or absent). Its schema metadata holds the data fingerprint and
the example count, so a file that does not belong to the store is never used.
:func:`to_dataset` joins it to the activation rows by example index with Arrow
``take`` and wraps the activations as fixed-size list columns over the numpy buffers:
no Python lists are built on the way out.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from probekit.concepts.dataset import UNLABELED
from probekit.errors import ProbekitError

__all__ = ["EXAMPLES_NAME", "read_examples", "to_dataset", "write_examples"]

EXAMPLES_NAME = "examples.parquet"
_META = b"probekit"


def write_examples(directory, dataset, text: bool | str = True) -> Path:
    """Write ``dataset``'s examples to ``directory/examples.parquet`` unless that file
    already holds them (same fingerprint and length).

    Parameters
    ----------
    directory:
        Store folder (exists).
    dataset:
        :class:`~probekit.concepts.ConceptDataset`.
    text:
        Inputs are texts (column ``text``), else image file paths (column ``image_path``);
        a string names the column (a modality adapter's ``example_column``).

    Returns
    -------
    pathlib.Path
        The file. Columns: ``example_index`` (int64), ``text`` or ``image_path``
        (string), ``label`` (int64 classes or float64; absent for unlabeled inputs),
        ``group``, and ``word_type`` when the data has word types.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(directory) / EXAMPLES_NAME
    if _meta(path) == _expected(dataset):
        return path
    n = len(dataset)
    column = text if isinstance(text, str) else "text" if text else "image_path"
    columns = {"example_index": pa.array(np.arange(n, dtype=np.int64)),
               column: pa.array([str(x) for x in dataset.inputs], pa.string())}
    if dataset.task != UNLABELED:  # placeholders are not labels
        columns["label"] = pa.array(np.asarray(dataset.labels))
    columns["group"] = _arrow(dataset.groups)
    if dataset.word_types is not None:
        columns["word_type"] = _arrow(dataset.word_types)
    meta = dict(_expected(dataset), task=dataset.task, label_names=dataset.label_names, name=dataset.name)
    table = pa.table(columns).replace_schema_metadata({_META: json.dumps(meta).encode()})
    tmp = path.with_name(f"{EXAMPLES_NAME}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _expected(dataset) -> dict:
    return {"data_fingerprint": dataset.fingerprint, "n_examples": len(dataset)}


def _arrow(values: np.ndarray):
    """A numpy column as Arrow (numbers as they are; anything else as strings)."""
    import pyarrow as pa

    values = np.asarray(values)
    return pa.array(values if values.dtype.kind in "biuf" else values.astype(str))


def _meta(path: Path) -> dict | None:
    """The probekit metadata of an examples file, or ``None`` (absent or unreadable)."""
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(_META)
        return json.loads(raw) if raw else None
    except (OSError, ValueError):
        return None


def read_examples(store):
    """The examples of ``store`` as a ``pyarrow.Table`` (row ``i`` = example ``i``).

    Parameters
    ----------
    store : ActivationStore
        The store whose ``examples.parquet`` is read.

    Returns
    -------
    pyarrow.Table or None
        ``None`` when the store has no examples that match it (written by an older
        probekit, or a file of other data: its fingerprint or example count differs).
    """
    import pyarrow.parquet as pq

    path = Path(store.directory) / EXAMPLES_NAME
    meta = _meta(path)
    identity = store.manifest.get("identity", {})
    if meta is None or meta.get("data_fingerprint") != identity.get("data_fingerprint") \
            or meta.get("n_examples") != identity.get("n_examples"):
        return None
    return pq.read_table(path)


def to_dataset(store, modules: list[str] | None = None):
    """``store`` as a ``datasets.Dataset``: one row per activation row.

    Parameters
    ----------
    store:
        :class:`~probekit.store.ActivationStore`.
    modules:
        Hook points to include (default all).

    Returns
    -------
    datasets.Dataset
        Columns ``example_index`` and ``position`` (int64), then ``text`` (or
        ``image_path``), ``label`` (a ``ClassLabel`` for classes), ``group``
        (``word_type``) of each row's example, then one float32 column per module,
        ``Sequence(float32, length=d)`` (nested for rows of more than one axis). A store
        written before probekit saved examples has no text/label/group columns (a
        ``UserWarning`` says so; running its extraction again adds them without
        recomputing anything).

    Raises
    ------
    ProbekitError
        Unknown module (closest names listed), damaged shard.
    """
    import datasets
    import pyarrow as pa

    modules = list(store.modules if modules is None else modules)
    index = store.example_index()
    columns = {"example_index": pa.array(index), "position": pa.array(store.positions())}
    examples = read_examples(store)
    meta = {}
    if examples is None:
        warnings.warn(f"activation store {str(store.directory)!r} has no {EXAMPLES_NAME} (written by an older "
                      "probekit): the dataset has no text, label or group columns; run the same extraction "
                      "again to add them (no activation is recomputed)", UserWarning, stacklevel=3)
    else:
        meta = json.loads(examples.schema.metadata[_META])
        taken = examples.take(pa.array(index))
        columns.update({c: taken[c] for c in taken.column_names if c != "example_index"})
    for module in modules:
        columns[module] = _fixed_size(np.asarray(store.numpy(module, mmap=False), dtype=np.float32))
    table = pa.table(columns)
    features = datasets.Features.from_arrow_schema(table.schema)
    if meta.get("label_names") and meta.get("task") != "continuous":
        features["label"] = datasets.ClassLabel(names=meta["label_names"])
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=features))


def _fixed_size(rows: np.ndarray):
    """``(n, *shape)`` numpy -> Arrow fixed-size lists over the same buffer."""
    import pyarrow as pa

    if rows.ndim < 2:
        raise ProbekitError(f"activation rows have shape {rows.shape}; expected (n_samples, d, ...)")
    values = pa.array(np.ascontiguousarray(rows).reshape(-1))
    for size in reversed(rows.shape[1:]):
        values = pa.FixedSizeListArray.from_arrays(values, int(size))
    return values
