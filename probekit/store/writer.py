"""Stream activations to disk as sharded safetensors, resumably."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from probekit.errors import ProbekitError
from probekit.files import make_writable_dir
from probekit.store.lock import StoreLock
from probekit.store.manifest import (
    STORE_DTYPES,
    identity_hash,
    is_store_file,
    new_manifest,
    read_manifest,
    shard_name,
    utc_now,
    write_manifest,
)
from probekit.store.shardfile import CHECKSUM, shard_problem, write_shard_file

EXAMPLE_KEY = "_example_index"
POSITION_KEY = "_position"
DEFAULT_SHARD_BYTES = 256 << 20  # 256 MiB


class StoreWriter:
    """Append activation rows to a store; shards are cut on example boundaries.

    A shard holds the rows of consecutive examples for every module, plus
    ``_example_index`` and ``_position`` (int64, one per row). A shard closes when it
    holds ``shard_examples`` examples, or before a batch that would take it past
    ``shard_bytes`` (so a shard is at most ``shard_bytes``, or one batch when a single
    batch is larger). Rows wait in memory as the appended batches themselves (no
    re-concatenation: an append costs O(its rows), memory is at most one shard plus one
    batch) and are written to a temporary file, fsynced and renamed into place; only
    then is the shard listed in the manifest (with its size and BLAKE2b checksum). The
    manifest says ``"complete": true`` only after :meth:`finish`. So a run killed at any
    moment (even by SIGKILL) leaves a store that is visibly incomplete, and reopening it
    resumes at the first example of the first missing shard: with the same batches, the
    finished store is identical to one from an uninterrupted run.

    Opening a folder checks every listed shard (size, checksum, header); from the first
    damaged (missing, truncated, altered) shard on, shards are dropped with a warning and
    the store is marked incomplete, so the run recomputes them. Only files the store
    creates (``shard-NNNNN.safetensors`` and temporaries) are ever removed. A lock file
    (``.store.lock``, with the holder's pid) keeps a second live writer out.

    Parameters
    ----------
    directory:
        Store folder (created if needed).
    identity:
        JSON-able dict of everything that determines the rows (model and weights hash,
        modules, token selection, data fingerprint, dtype, batch size, ...).
    dtype:
        Storage dtype: ``float32``, ``float16`` or ``bfloat16``.
    shard_examples:
        At most this many examples per shard.
    shard_bytes:
        At most this many bytes per shard (``None``: no byte limit). Default 256 MiB.
    overwrite:
        Replace a store of another identity, or one whose manifest cannot be read.
    info:
        JSON-able extra information kept in the manifest (not part of the identity).

    Raises
    ------
    ProbekitError
        Unknown dtype or non-positive shard size; ``directory`` holds a store of another
        identity or an unreadable manifest and ``overwrite`` is false; ``directory`` is
        not writable; another live process is writing into ``directory``.
    """

    def __init__(self, directory, identity: dict, dtype: str = "float32", shard_examples: int = 1024,
                 overwrite: bool = False, info: dict | None = None,
                 shard_bytes: int | None = DEFAULT_SHARD_BYTES):
        if dtype not in STORE_DTYPES:
            raise ProbekitError(f"unknown store dtype {dtype!r}; valid: {', '.join(STORE_DTYPES)}")
        for name, value in (("shard_examples", shard_examples), ("shard_bytes", shard_bytes)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ProbekitError(f"{name} must be a positive integer, got {value!r}")
        self.directory = Path(directory)
        self.dtype = dtype
        self.torch_dtype = getattr(torch, dtype)
        self.shard_examples = int(shard_examples)
        self.shard_bytes = shard_bytes
        self.identity = dict(identity, dtype=dtype, shard_examples=self.shard_examples)
        if shard_bytes is not None:
            self.identity["shard_bytes"] = int(shard_bytes)
        self.hash = identity_hash(self.identity)
        self._pending: _Pending | None = None
        self._arena: torch.Tensor | None = None  # shard_bytes of memory the filling shard's rows are copied into
        make_writable_dir(self.directory)
        self._lock = StoreLock(self.directory)
        try:
            self._open(overwrite, info or {})
        except BaseException:
            self._lock.release()
            raise
        if self.complete:
            self._lock.release()

    def _open(self, overwrite: bool, info: dict) -> None:
        try:
            existing = read_manifest(self.directory)
        except ProbekitError:
            if not overwrite:
                raise
            existing = None
        if existing is not None and existing["identity_hash"] != self.hash and not self._adopt_legacy(existing):
            if not overwrite:
                raise ProbekitError(
                    f"{self.directory} already holds an activation store made with another "
                    "configuration; choose another output folder or pass overwrite"
                )
            existing = None
        if existing is None:
            self.manifest = new_manifest(self.identity, info)
            write_manifest(self.directory, self.manifest)
        else:
            self.manifest = existing
            self._drop_damaged_shards()
        self._drop_unlisted_files()

    def _adopt_legacy(self, existing: dict) -> bool:
        """A store from before ``shard_bytes`` existed, otherwise identical: keep its layout."""
        legacy = {k: v for k, v in self.identity.items() if k != "shard_bytes"}
        if "shard_bytes" in existing["identity"] or existing["identity_hash"] != identity_hash(legacy):
            return False
        self.identity, self.hash, self.shard_bytes = legacy, existing["identity_hash"], None
        return True

    # -- state -------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """True once :meth:`finish` has marked the store complete."""
        return bool(self.manifest["complete"])

    @property
    def examples_done(self) -> int:
        """Examples safely on disk; a resumed run starts at this example."""
        return int(self.manifest["n_examples"])

    def _drop_damaged_shards(self) -> None:
        shards = self.manifest["shards"]
        for i, entry in enumerate(shards):
            problem = shard_problem(self.directory, entry, full=True)
            if problem is None:
                continue
            warnings.warn(
                f"activation store {str(self.directory)!r}: {entry['file']} {problem}; recomputing from "
                f"example {entry['first_example']} ({len(shards) - i} shard(s))", UserWarning, stacklevel=4)
            del shards[i:]
            self.manifest["n_rows"] = sum(s["rows"] for s in shards)
            self.manifest["n_examples"] = shards[-1]["end_example"] if shards else 0
            self.manifest["complete"] = False
            self.manifest.pop("finished", None)
            write_manifest(self.directory, self.manifest)
            return

    def _drop_unlisted_files(self) -> None:
        listed = {s["file"] for s in self.manifest["shards"]}
        for f in self.directory.iterdir():
            if is_store_file(f.name) and f.name not in listed and f.is_file():
                f.unlink()

    def close(self) -> None:
        """Give up the folder's lock without finishing (rows not yet in a shard are dropped)."""
        self._pending = self._arena = None
        self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _check_usable(self) -> None:
        if self._lock.revoked:
            raise RuntimeError(f"another StoreWriter took over {str(self.directory)!r}; this one may not write")
        if self.complete:
            raise RuntimeError("store is complete; nothing may be appended")

    # -- writing -----------------------------------------------------------------
    def append(self, rows: dict[str, torch.Tensor], example_index: torch.Tensor,
               position: torch.Tensor) -> None:
        """Add rows for consecutive examples (all rows of each example in one call).

        Parameters
        ----------
        rows:
            ``{module: (n_samples, *row_shape) tensor}``; all with the same ``n_samples``;
            the same modules and row shapes in every call.
        example_index:
            ``(n_samples,)`` global example index of each row (non-decreasing).
        position:
            ``(n_samples,)`` token position of each row (``-1`` when not applicable).

        Raises
        ------
        ProbekitError
            Mismatched row counts, modules or row shapes, or decreasing example indices.
        RuntimeError
            The store is complete, or another writer of this process took it over.
        """
        self._check_usable()
        examples = example_index.detach().to("cpu", torch.long).reshape(-1)
        positions = position.detach().to("cpu", torch.long).reshape(-1)
        rows = {k: v.detach().to("cpu", self.torch_dtype).contiguous() for k, v in rows.items()}
        self._check_batch(rows, examples, positions)
        self._lock.busy = True
        try:
            self._add(rows, examples.clone(), positions.clone())
        finally:
            self._lock.busy = False

    def _check_batch(self, rows: dict, examples: torch.Tensor, positions: torch.Tensor) -> None:
        n = len(examples)
        shapes = {k: tuple(v.shape[1:]) for k, v in rows.items()}
        known = self._pending.row_shapes if self._pending else (
            {k: tuple(m["row_shape"]) for k, m in self.manifest["modules"].items()} or None)
        if known is not None and shapes != known:
            raise ProbekitError(f"rows {shapes} do not match the store's modules {known}")
        if not rows or any(v.ndim == 0 or v.shape[0] != n for v in rows.values()) or len(positions) != n:
            raise ProbekitError(f"every module and position needs {n} rows (one per example_index entry)")
        floor = self._pending.last_example + 1 if self._pending and self._pending.n_rows else self.examples_done
        if n and (int(examples[0]) < floor or bool((examples[1:] < examples[:-1]).any())):
            raise ProbekitError(f"example indices must be non-decreasing and start at or after example {floor}")

    def _add(self, rows: dict, examples: torch.Tensor, positions: torch.Tensor) -> None:
        """Split one batch at shard boundaries and queue or write the pieces."""
        while True:
            pending = self._pending or _Pending(self.examples_done, rows, self._get_arena())
            self._pending = pending
            boundary = pending.first_example + self.shard_examples
            cut = int(torch.searchsorted(examples, torch.tensor(boundary)))
            if cut:
                part = ({k: v[:cut] for k, v in rows.items()}, examples[:cut], positions[:cut])
                nbytes = _nbytes(part[0]) + 16 * cut
                if (self.shard_bytes is not None and pending.n_rows
                        and pending.nbytes + nbytes > self.shard_bytes):
                    self._write_shard(int(examples[0]))  # byte limit: close before this batch
                    continue
                pending.add(*part, nbytes)
            if cut < len(examples):  # rows of the next shard follow: this one is full
                self._write_shard(boundary)
                rows = {k: v[cut:] for k, v in rows.items()}
                examples, positions = examples[cut:], positions[cut:]
                continue
            if pending.n_rows and pending.last_example >= boundary - 1:
                self._write_shard(boundary)
            return

    def _get_arena(self) -> torch.Tensor | None:
        """One preallocated block per writer, reused by every shard: its pages are only
        touched as rows arrive, and rows copied into it do not fragment the heap."""
        if self._arena is None and self.shard_bytes is not None:
            self._arena = torch.empty(self.shard_bytes, dtype=torch.uint8)
        return self._arena

    def _write_shard(self, end_example: int) -> None:
        pending, self._pending = self._pending, None
        index = len(self.manifest["shards"])
        name = shard_name(index)
        tmp = self.directory / (name + ".tmp")
        pieces = dict(pending.rows)
        pieces[EXAMPLE_KEY], pieces[POSITION_KEY] = pending.examples, pending.positions
        if not pending.n_rows:  # a run of examples without rows: an empty shard keeps the layout
            pieces = {k: [torch.empty((0, *pending.row_shapes[k]), dtype=self.torch_dtype)] for k in pending.rows}
            pieces[EXAMPLE_KEY] = pieces[POSITION_KEY] = [torch.empty(0, dtype=torch.long)]
        size, digest = write_shard_file(tmp, pieces)
        tmp.replace(self.directory / name)
        if not self.manifest["modules"]:
            self.manifest["modules"] = {k: {"row_shape": list(s), "dtype": self.dtype}
                                        for k, s in pending.row_shapes.items()}
        self.manifest["shards"].append({
            "file": name,
            "rows": pending.n_rows,
            "first_example": pending.first_example,
            "end_example": int(end_example),
            "size": size,
            CHECKSUM: digest,
        })
        self.manifest["n_rows"] += pending.n_rows
        self.manifest["n_examples"] = int(end_example)
        write_manifest(self.directory, self.manifest)

    def finish(self, n_examples: int) -> None:
        """Flush the last shard, mark the store complete and release the folder's lock.

        Parameters
        ----------
        n_examples : int
            Examples the extraction has in all (a :class:`PartWriter`: one past its last).

        Raises
        ------
        RuntimeError
            When the number of examples written is not ``n_examples`` (the store stays
            incomplete), the store is already complete, or another writer took the folder
            over.
        """
        self._check_usable()
        self._lock.busy = True
        try:
            if self._pending is not None and self._pending.n_rows:
                self._write_shard(self._pending.last_example + 1)
            if self.examples_done != n_examples:
                raise RuntimeError(
                    f"store has {self.examples_done} examples, expected {n_examples}; not marked complete"
                )
            self.manifest["complete"] = True
            self.manifest["finished"] = utc_now()
            write_manifest(self.directory, self.manifest)
        finally:
            self._lock.busy = False
        self._arena = None
        self._lock.release()


class _Pending:
    """The rows of the shard being filled: per module a list of tensors, each a copy of one
    batch's rows in the writer's arena (or, past its end, a tensor of its own)."""

    def __init__(self, first_example: int, like: dict[str, torch.Tensor], arena: torch.Tensor | None):
        self.first_example = first_example
        self.row_shapes = {k: tuple(v.shape[1:]) for k, v in like.items()}
        self.rows: dict[str, list[torch.Tensor]] = {k: [] for k in like}
        self.examples: list[torch.Tensor] = []
        self.positions: list[torch.Tensor] = []
        self.n_rows = 0
        self.nbytes = 0
        self.last_example = first_example - 1
        self._arena, self._used = arena, 0

    def add(self, rows: dict, examples: torch.Tensor, positions: torch.Tensor, nbytes: int) -> None:
        for k, v in rows.items():
            self.rows[k].append(self._place(v))
        self.examples.append(examples)
        self.positions.append(positions)
        self.n_rows += len(examples)
        self.nbytes += nbytes
        self.last_example = int(examples[-1])

    def _place(self, t: torch.Tensor) -> torch.Tensor:
        n = t.numel() * t.element_size()
        start = -(-self._used // 8) * 8  # 8-byte aligned, so any dtype view is valid
        if self._arena is None or start + n > self._arena.numel():
            return _own(t)
        self._used = start + n
        block = self._arena[start:start + n].view(t.dtype).view(t.shape)
        block.copy_(t)
        return block


def _own(t: torch.Tensor) -> torch.Tensor:
    """``t`` contiguous and owning its memory (a view into a larger tensor would keep
    that whole tensor alive while the shard fills)."""
    t = t.contiguous()
    if t.untyped_storage().nbytes() > t.numel() * t.element_size():
        t = t.clone()
    return t


def _nbytes(rows: dict[str, torch.Tensor]) -> int:
    return sum(v.numel() * v.element_size() for v in rows.values())
