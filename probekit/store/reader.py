"""Read an activation store back: per module as numpy, torch or a ``datasets.Dataset``."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from probekit.errors import ProbekitError, did_you_mean
from probekit.store.manifest import read_manifest
from probekit.store.writer import EXAMPLE_KEY, POSITION_KEY

_NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


class ActivationStore:
    """A finished activation store on disk.

    Parameters
    ----------
    directory:
        The store folder (with ``manifest.json`` and ``shard-*.safetensors``).
    allow_incomplete:
        Open a store whose run has not finished (reads the shards written so far).

    Attributes
    ----------
    manifest : dict
        The parsed manifest (identity, modules, shards, row count, completion flag).
    modules : list of str
        Recorded module keys, in forward order.
    n_rows : int
        Rows per module (examples, or tokens for token-level selections).

    Raises
    ------
    ProbekitError
        No store in ``directory``, or an incomplete store without ``allow_incomplete``.
    """

    def __init__(self, directory, allow_incomplete: bool = False):
        self.directory = Path(directory)
        manifest = read_manifest(self.directory)
        if manifest is None:
            raise ProbekitError(f"no activation store in {str(self.directory)!r} (no manifest.json)")
        if not manifest["complete"] and not allow_incomplete:
            raise ProbekitError(
                f"the activation store in {str(self.directory)!r} is incomplete "
                f"({manifest['n_examples']} examples written); re-run the extraction to resume it"
            )
        self.manifest = manifest
        self.modules = list(manifest["modules"])
        self.n_rows = int(manifest["n_rows"])

    def __repr__(self) -> str:
        return f"ActivationStore({str(self.directory)!r}, modules={len(self.modules)}, n_rows={self.n_rows})"

    def _check_module(self, module: str) -> None:
        if module not in self.modules:
            raise ProbekitError(did_you_mean(module, self.modules, "module in this store"))

    def _shard_paths(self) -> list[Path]:
        return [self.directory / s["file"] for s in self.manifest["shards"]]

    def numpy(self, module: str, mmap: bool = True) -> np.ndarray:
        """Rows of ``module`` as a numpy array ``(n_rows, d_module)``.

        float32 and float16 stores are memory-mapped (``mmap=True``) when the store has
        one shard; several shards are concatenated into memory. bfloat16 is returned as
        float32 (numpy has no bfloat16).
        """
        self._check_module(module)
        parts = [_read_numpy(p, module, mmap) for p in self._shard_paths()]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty((0,))

    def torch(self, module: str) -> torch.Tensor:
        """Rows of ``module`` as a torch tensor ``(n_rows, d_module)`` in the stored dtype."""
        self._check_module(module)
        parts = []
        for path in self._shard_paths():
            with safe_open(str(path), framework="pt") as f:
                parts.append(f.get_tensor(module))
        return torch.cat(parts)

    def example_index(self) -> np.ndarray:
        """``(n_rows,)`` int64: the data set row each activation row came from."""
        return np.concatenate([_read_numpy(p, EXAMPLE_KEY, False) for p in self._shard_paths()])

    def positions(self) -> np.ndarray:
        """``(n_rows,)`` int64: token position within the unpadded sequence (-1 for means)."""
        return np.concatenate([_read_numpy(p, POSITION_KEY, False) for p in self._shard_paths()])

    def to_dataset(self, modules: list[str] | None = None):
        """The store as a ``datasets.Dataset`` with one column per module plus
        ``example_index`` and ``position`` (float32 rows)."""
        import datasets

        columns = {"example_index": self.example_index(), "position": self.positions()}
        for module in modules or self.modules:
            columns[module] = np.asarray(self.numpy(module, mmap=False), dtype=np.float32)
        return datasets.Dataset.from_dict({k: list(v) if v.ndim > 1 else v for k, v in columns.items()})


def _read_numpy(path: Path, key: str, mmap: bool) -> np.ndarray:
    """One tensor of a safetensors file as numpy; memory-mapped for F32/F16 when asked."""
    with open(path, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
    entry = header[key]
    dtype = entry["dtype"]
    if dtype == "BF16":
        with safe_open(str(path), framework="pt") as f:
            return f.get_tensor(key).float().numpy()
    start, end = entry["data_offsets"]
    offset = 8 + header_len + start
    np_dtype = _NUMPY_DTYPES[dtype]
    shape = tuple(entry["shape"])
    if end == start:
        return np.empty(shape, dtype=np_dtype)
    if mmap:
        return np.memmap(path, dtype=np_dtype, mode="r", offset=offset, shape=shape)
    with open(path, "rb") as f:
        f.seek(offset)
        return np.frombuffer(f.read(end - start), dtype=np_dtype).reshape(shape).copy()
