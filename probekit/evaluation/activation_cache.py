"""Computed activation rows kept in an activation store, reused while their identity matches.

For activations that do not come from :func:`probekit.extract.extract` (e.g. per-head
outputs recorded while scoring answers): the rows go to a :class:`probekit.store.StoreWriter`
store, JSON metadata to ``cache_info.json`` beside it. The metadata file is written
(atomically) before the store is finished, so a run killed at any moment leaves either a
finished store with its metadata or a store that is visibly incomplete (recomputed next time).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from probekit.errors import ProbekitError

__all__ = ["INFO_NAME", "cached_rows"]

INFO_NAME = "cache_info.json"
_ROWS = "rows"


def _load(directory: Path, identity: dict):
    from probekit.store import ActivationStore

    if not (directory / INFO_NAME).is_file():
        return None
    try:
        store = ActivationStore(directory)
    except ProbekitError:
        return None
    stored = store.manifest["identity"]
    if any(stored.get(k) != v for k, v in identity.items()):
        return None
    meta = json.loads((directory / INFO_NAME).read_text())
    if meta.get("identity") != identity:
        return None
    rows = np.asarray(store.numpy(_ROWS, mmap=False)).reshape(-1, *meta["row_shape"])
    return rows, store.example_index(), meta["info"]


def _clear(directory: Path) -> None:
    """Remove a finished store's own files (its listed shards, manifest and the cache info)."""
    from probekit.store.manifest import MANIFEST_NAME, read_manifest

    manifest = read_manifest(directory)
    for entry in (manifest or {}).get("shards", []):
        (directory / entry["file"]).unlink(missing_ok=True)
    for name in (MANIFEST_NAME, INFO_NAME):
        (directory / name).unlink(missing_ok=True)


def cached_rows(directory, identity: dict, compute: Callable, dtype: str = "float16", refresh: bool = False):
    """Rows from the store in ``directory`` if it is finished and made with ``identity``, else ``compute()``'s.

    Parameters
    ----------
    directory : path
        Store folder (created; replaced when its identity differs, its info file is missing
        or ``refresh``).
    identity : dict
        JSON-able description of everything the rows depend on.
    compute : callable
        ``() -> (rows, example_index, info)``: ``rows`` ``(n_samples, *row_shape)``,
        ``example_index`` ``(n_samples,)`` non-decreasing ints from 0 (e.g. the question
        of each answer row), ``info`` a JSON-able dict (kept exactly, e.g. float64 scores).
    dtype : {"float32", "float16", "bfloat16"}
        Storage dtype of the rows.
    refresh : bool
        Recompute even when a matching store exists.

    Returns
    -------
    (rows, example_index, info, cached)
        ``rows`` as stored (``dtype``; bfloat16 as float32), ``cached`` True when read back
        without computing.

    Raises
    ------
    ProbekitError
        ``example_index`` not non-decreasing or of the wrong length; a store error.
    """
    from probekit.store import StoreWriter

    directory = Path(directory)
    found = None if refresh else _load(directory, identity)
    if found is not None:
        return (*found, True)
    rows, example_index, info = compute()
    rows, example_index = np.asarray(rows), np.asarray(example_index, dtype=np.int64)
    if example_index.shape != (len(rows),) or (np.diff(example_index) < 0).any() or example_index.min() < 0:
        raise ProbekitError(f"example_index must be ({len(rows)},) non-decreasing ints >= 0; got shape "
                            f"{example_index.shape}")
    writer = StoreWriter(directory, identity, dtype=dtype, overwrite=True, shard_examples=1 << 30)
    if writer.complete:  # same identity but refreshed, or its info file is missing: start again
        writer.close()
        _clear(directory)
        writer = StoreWriter(directory, identity, dtype=dtype, overwrite=True, shard_examples=1 << 30)
    try:
        meta = {"identity": identity, "row_shape": list(rows.shape[1:]), "info": info}
        tmp = directory / (INFO_NAME + ".tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, directory / INFO_NAME)
        writer.append({_ROWS: torch.from_numpy(np.ascontiguousarray(rows.reshape(len(rows), -1)))},
                      torch.from_numpy(example_index), torch.full((len(rows),), -1, dtype=torch.long))
        writer.finish(int(example_index.max()) + 1 if len(rows) else 0)
    finally:
        writer.close()
    stored = _load(directory, identity)
    return (*stored, False)
