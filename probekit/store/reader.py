"""Read an activation store back: per module as numpy, torch or a ``datasets.Dataset``.

Every shard is memory-mapped (float32, float16 and bfloat16; bfloat16 through torch, as
numpy has no such dtype). :meth:`ActivationStore.features` gives the hook points as lazy
handles (:class:`StoredRows`) that read nothing until asked, so a probe sweep holds one
chunk of hook points (or one chunk of rows) in memory at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from probekit.errors import ProbekitError, did_you_mean
from probekit.store.manifest import read_manifest
from probekit.store.shardfile import read_header, shard_problem
from probekit.store.writer import EXAMPLE_KEY, POSITION_KEY

__all__ = ["ActivationStore", "StoredRows"]

_NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": np.uint16}


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
    n_samples : int
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
        self.n_samples = int(manifest["n_rows"])  # the manifest key keeps its name (on-disk format)

    def __repr__(self) -> str:
        return f"ActivationStore({str(self.directory)!r}, modules={len(self.modules)}, n_samples={self.n_samples})"

    def _check_module(self, module: str) -> None:
        if module not in self.modules:
            raise ProbekitError(did_you_mean(module, self.modules, "module in this store"))

    def _shard_paths(self) -> list[Path]:
        return [self.directory / s["file"] for s in self.manifest["shards"]]

    def numpy(self, module: str, mmap: bool = True) -> np.ndarray:
        """Rows of ``module`` as a numpy array ``(n_samples, d_model)``.

        float32 and float16 stores are memory-mapped (``mmap=True``) when the store has
        one shard; several shards are concatenated into memory (use :meth:`features` to
        read them a chunk at a time). bfloat16 is returned as float32 (numpy has no
        bfloat16).

        Parameters
        ----------
        module : str
            A recorded key (one of :attr:`modules`).
        mmap : bool
            Memory-map a one-shard store instead of reading it.

        Returns
        -------
        ndarray of shape (n_samples, d_model)
            float32 or float16 (the stored dtype; bfloat16 as float32).

        Raises
        ------
        ProbekitError
            An unknown module (closest names listed), or a damaged shard.
        """
        self._check_module(module)
        parts = [_read_numpy(p, module, mmap) for p in self._shard_paths()]
        parts = [_bf16_to_float32(a) if k == "BF16" else a for a, k in zip(parts, self._dtypes(module))]
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty((0,))

    def torch(self, module: str) -> torch.Tensor:
        """Rows of ``module`` as a torch tensor ``(n_samples, d_model)`` in the stored dtype.

        A one-shard store gives a tensor backed by the memory-mapped file (read-only: do
        not write to it); several shards are concatenated into memory.

        Parameters
        ----------
        module : str
            A recorded key (one of :attr:`modules`).

        Returns
        -------
        torch.Tensor of shape (n_samples, d_model)
            float32, float16 or bfloat16.

        Raises
        ------
        ProbekitError
            An unknown module (closest names listed), or a damaged shard.
        """
        self._check_module(module)
        parts = [_as_torch(_read_numpy(p, module, True), k) for p, k in zip(self._shard_paths(), self._dtypes(module))]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _dtypes(self, module: str) -> list[str]:
        """Stored dtype code (``F32``, ``F16``, ``BF16``) of ``module`` in each shard."""
        out = []
        for path in self._shard_paths():
            try:
                out.append(read_header(path)[0][module]["dtype"])
            except (OSError, ValueError, KeyError) as e:
                problem = f"has no tensor {module!r}" if isinstance(e, KeyError) else f"cannot be read ({e})"
                raise ProbekitError(damaged_message(self.directory, path.name, problem)) from None
        return out

    def rows(self, module: str) -> "StoredRows":
        """A lazy, memory-mapped handle on ``module``'s rows (see :class:`StoredRows`).

        Parameters
        ----------
        module : str
            A recorded key (one of :attr:`modules`).

        Returns
        -------
        StoredRows
            Shape ``(n_samples, d_model)``.

        Raises
        ------
        ProbekitError
            An unknown module (closest names listed), or a damaged shard header.
        """
        self._check_module(module)
        return StoredRows([_read_numpy(p, module, True) for p in self._shard_paths()], self._dtypes(module))

    def features(self, modules: list[str] | None = None) -> "Mapping[str, StoredRows]":
        """``{module: StoredRows}`` for ``modules`` (default all), in forward order; nothing is read yet.

        Parameters
        ----------
        modules : list of str, optional
            Recorded keys; ``None`` for all of :attr:`modules`.

        Returns
        -------
        Mapping of str to StoredRows
            Each ``(n_samples, d_model)``; an entry's shards are memory-mapped when it is accessed.

        Raises
        ------
        ProbekitError
            An unknown module.
        """
        names = list(modules or self.modules)
        for name in names:
            self._check_module(name)
        return _LazyFeatures(self, names)

    def example_index(self) -> np.ndarray:
        """``(n_samples,)`` int64: the data set row each activation row came from."""
        parts = [_read_numpy(p, EXAMPLE_KEY, False) for p in self._shard_paths()]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def positions(self) -> np.ndarray:
        """``(n_samples,)`` int64: token position within the unpadded sequence (-1 for means)."""
        parts = [_read_numpy(p, POSITION_KEY, False) for p in self._shard_paths()]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def to_dataset(self, modules: list[str] | None = None):
        """The store as a ``datasets.Dataset``; see :func:`probekit.store.datasets.to_dataset`.

        Parameters
        ----------
        modules : list of str, optional
            Hook points to include (default all).

        Returns
        -------
        datasets.Dataset
            One row per activation row (columns as :func:`~probekit.store.datasets.to_dataset`).

        Raises
        ------
        ProbekitError
            Unknown module (closest names listed), damaged shard.
        """
        from probekit.store.datasets import to_dataset

        return to_dataset(self, modules)


def damaged_message(directory: Path, file: str, problem: str) -> str:
    """The error text for a damaged shard: which one, what is wrong, how to recover.

    Parameters
    ----------
    directory : path-like
        The store folder.
    file : str
        The shard's file name.
    problem : str
        What is wrong with it (e.g. ``"is missing"``).

    Returns
    -------
    str
    """
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
    start, end = entry["data_offsets"]
    offset = data_start + start
    np_dtype = _NUMPY_DTYPES[entry["dtype"]]
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


def _as_torch(array: np.ndarray, code: str) -> torch.Tensor:
    """A torch view of a (memory-mapped) array; ``uint16`` bits reinterpreted as bfloat16 for ``BF16``."""
    import warnings

    with warnings.catch_warnings():  # read-only memory maps: the tensor shares the file's pages
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        if code == "BF16":
            return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
        return torch.from_numpy(array)


def _bf16_to_float32(bits: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (``uint16``) as float32 values (exact: bfloat16 is float32's top half)."""
    return (np.asarray(bits).astype(np.uint32) << 16).view(np.float32)


def _read_slice(mm: np.memmap, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a 2-D memory map read with a plain file read.

    Touching the map's pages would leave them resident (counted in the process's RSS
    until the map closes); a read copies the rows and leaves nothing mapped, so streaming
    a store bigger than memory keeps memory flat.
    """
    width = mm.shape[1]
    count = max(0, stop - start) * width
    with open(mm.filename, "rb") as f:
        f.seek(mm.offset + start * width * mm.dtype.itemsize)
        return np.fromfile(f, dtype=mm.dtype, count=count).reshape(-1, width)


class StoredRows:
    """The rows of one hook point across a store's shards, read only when asked.

    Behaves as a read-only ``(n_samples, d)`` array for ``np.asarray`` (reads everything),
    slicing and fancy row indexing (reads only the shards involved). float32 and float16
    come back in their dtype; bfloat16 as float32.

    Parameters
    ----------
    parts : list of ndarray
        One (memory-mapped) ``(n_rows_in_shard, d)`` array per shard, in order.
    codes : list of str
        The safetensors dtype code of each part (``"F32"``, ``"F16"``, ``"BF16"``;
        bfloat16 parts hold the raw 16-bit words).

    Attributes
    ----------
    shape : tuple of int
    dtype : numpy.dtype
        The dtype rows come back in.
    """

    def __init__(self, parts: list[np.ndarray], codes: list[str]):
        self._parts, self._codes = parts, codes
        self._starts = np.cumsum([0] + [len(p) for p in parts])
        d = parts[0].shape[1:] if parts else (0,)
        self.shape = (int(self._starts[-1]), *d)
        kinds = {np.float32 if c == "BF16" else p.dtype.type for p, c in zip(parts, codes)}
        self.dtype = np.dtype(np.float32 if len(kinds) != 1 else kinds.pop())

    ndim = property(lambda self: len(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"StoredRows(shape={self.shape}, dtype={self.dtype}, shards={len(self._parts)})"

    def _part(self, i: int, index=slice(None)) -> np.ndarray:
        part = self._parts[i]
        if isinstance(index, slice) and isinstance(part, np.memmap) and part.ndim == 2:
            part = _read_slice(part, *index.indices(len(part))[:2])
        else:
            part = part[index]
        return _bf16_to_float32(part) if self._codes[i] == "BF16" else np.asarray(part, dtype=self.dtype)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` as an in-memory array ``(stop - start, d)``.

        Parameters
        ----------
        start : int
            First row (``>= 0``).
        stop : int, optional
            One past the last row; ``None`` (or beyond the end) for ``n_samples``.

        Returns
        -------
        ndarray of shape (stop - start, d)
            In :attr:`dtype`.
        """
        stop = self.shape[0] if stop is None else min(stop, self.shape[0])
        out = []
        for i, (lo, hi) in enumerate(zip(self._starts[:-1], self._starts[1:])):
            if hi > start and lo < stop:
                out.append(self._part(i, slice(max(start, lo) - lo, min(stop, hi) - lo)))
        return np.concatenate(out) if out else np.empty((0, *self.shape[1:]), dtype=self.dtype)

    def __array__(self, dtype=None, copy=None):
        X = self.read()
        return X if dtype is None else X.astype(dtype, copy=False)

    def __getitem__(self, index):
        if isinstance(index, slice) and index.step in (None, 1):
            start, stop, _ = index.indices(self.shape[0])
            return self.read(start, stop)
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        if index.ndim != 1:
            return np.asarray(self)[index]
        shard = np.searchsorted(self._starts, index, side="right") - 1
        out = np.empty((len(index), *self.shape[1:]), dtype=self.dtype)
        for i in np.unique(shard):
            sel = shard == i
            out[sel] = self._part(int(i), index[sel] - self._starts[i])
        return out


class _LazyFeatures(Mapping):
    """``{module: StoredRows}`` opened on access."""

    def __init__(self, store: ActivationStore, names: list[str]):
        self._store, self._names = store, names

    def __getitem__(self, name: str) -> StoredRows:
        if name not in self._names:
            raise KeyError(name)
        return self._store.rows(name)

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)
