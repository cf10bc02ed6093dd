"""Read an activation store back: per module as numpy, torch or a ``datasets.Dataset``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open

from probekit.errors import ProbekitError, did_you_mean
from probekit.store.manifest import read_manifest
from probekit.store.shardfile import read_header, shard_problem
from probekit.store.writer import EXAMPLE_KEY, POSITION_KEY

__all__ = ["ActivationStore"]

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
        No store in ``directory``, an unreadable manifest, an incomplete store without
        ``allow_incomplete``, or a listed shard missing or of the wrong size (checked on
        open; checksums are checked by :func:`probekit.store.verify_store`). Reading a
        shard whose header is damaged raises it too.
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
        for entry in manifest["shards"]:
            problem = shard_problem(self.directory, entry, full=False)
            if problem:
                raise ProbekitError(damaged_message(self.directory, entry["file"], problem))
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
            try:
                with safe_open(str(path), framework="pt") as f:
                    parts.append(f.get_tensor(module))
            except Exception as e:  # noqa: BLE001 - safetensors raises its own error types
                raise ProbekitError(damaged_message(self.directory, path.name, f"cannot be read ({e})")) from None
        return torch.cat(parts)

    def example_index(self) -> np.ndarray:
        """``(n_rows,)`` int64: the data set row each activation row came from."""
        parts = [_read_numpy(p, EXAMPLE_KEY, False) for p in self._shard_paths()]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def positions(self) -> np.ndarray:
        """``(n_rows,)`` int64: token position within the unpadded sequence (-1 for means)."""
        parts = [_read_numpy(p, POSITION_KEY, False) for p in self._shard_paths()]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def to_dataset(self, modules: list[str] | None = None):
        """The store as a ``datasets.Dataset``; see :func:`probekit.store.datasets.to_dataset`."""
        from probekit.store.datasets import to_dataset

        return to_dataset(self, modules)


def damaged_message(directory: Path, file: str, problem: str) -> str:
    """The error text for a damaged shard: which one, what is wrong, how to recover."""
    return (f"the activation store in {str(directory)!r} is damaged: {file} {problem}; re-run the "
            "extraction that made it to recompute the damaged shards "
            f"(`probekit store verify {directory}` checks every shard)")


def _read_numpy(path: Path, key: str, mmap: bool) -> np.ndarray:
    """One tensor of a safetensors file as numpy; memory-mapped for F32/F16 when asked.

    Raises
    ------
    ProbekitError
        The file is missing, unreadable, lacks ``key`` or is shorter than its header says.
    """
    try:
        return _read_numpy_unchecked(path, key, mmap)
    except (OSError, ValueError, KeyError, TypeError) as e:
        if isinstance(e, ProbekitError):
            raise
        problem = f"has no tensor {key!r}" if isinstance(e, KeyError) else f"cannot be read ({e})"
        raise ProbekitError(damaged_message(path.parent, path.name, problem)) from None


def _read_numpy_unchecked(path: Path, key: str, mmap: bool) -> np.ndarray:
    header, data_start = read_header(path)
    entry = header[key]
    dtype = entry["dtype"]
    if dtype == "BF16":
        with safe_open(str(path), framework="pt") as f:
            return f.get_tensor(key).float().numpy()
    start, end = entry["data_offsets"]
    offset = data_start + start
    np_dtype = _NUMPY_DTYPES[dtype]
    shape = tuple(entry["shape"])
    if end == start:
        return np.empty(shape, dtype=np_dtype)
    if path.stat().st_size < offset + (end - start):
        raise ValueError(f"tensor {key!r} runs past the end of the file")
    if mmap:
        return np.memmap(path, dtype=np_dtype, mode="r", offset=offset, shape=shape)
    with open(path, "rb") as f:
        f.seek(offset)
        return np.frombuffer(f.read(end - start), dtype=np_dtype).reshape(shape).copy()
