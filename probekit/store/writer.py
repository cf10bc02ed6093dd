"""Stream activations to disk as sharded safetensors, resumably."""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from probekit.errors import ProbekitError
from probekit.store.manifest import (
    FORMAT_VERSION,
    STORE_DTYPES,
    identity_hash,
    read_manifest,
    write_manifest,
)

EXAMPLE_KEY = "_example_index"
POSITION_KEY = "_position"


class StoreWriter:
    """Append activation rows to a store; shards are cut at fixed example boundaries.

    A shard holds the rows of examples ``[k * shard_examples, (k + 1) * shard_examples)``
    for every module, plus ``_example_index`` and ``_position`` (int64, one per row).
    Each shard is written to a temporary file and renamed into place, and only then
    listed in the manifest; the manifest says ``"complete": true`` only after
    :meth:`finish`. So a run killed at any moment (even by SIGKILL) leaves a store that
    is visibly incomplete, and :meth:`open` resumes it at the first example of the first
    missing shard: with the same batches, the finished store is identical to one from
    an uninterrupted run.

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
        Examples per shard.
    overwrite:
        Replace a store of another identity found in ``directory``.

    Raises
    ------
    ProbekitError
        Unknown dtype; ``directory`` holds a store of another identity and
        ``overwrite`` is false; ``directory`` is not writable.
    """

    def __init__(self, directory, identity: dict, dtype: str = "float32",
                 shard_examples: int = 1024, overwrite: bool = False, info: dict | None = None):
        if dtype not in STORE_DTYPES:
            raise ProbekitError(f"unknown store dtype {dtype!r}; valid: {', '.join(STORE_DTYPES)}")
        self.directory = Path(directory)
        self.identity = dict(identity, dtype=dtype, shard_examples=shard_examples)
        self.hash = identity_hash(self.identity)
        self.dtype = dtype
        self.torch_dtype = getattr(torch, dtype)
        self.shard_examples = int(shard_examples)
        _make_writable_dir(self.directory)
        existing = read_manifest(self.directory)
        if existing is not None and existing.get("identity_hash") != self.hash:
            if not overwrite:
                raise ProbekitError(
                    f"{self.directory} already holds an activation store made with another "
                    "configuration; choose another output folder or pass overwrite"
                )
            existing = None
            for f in self.directory.glob("shard-*.safetensors*"):
                f.unlink()
        if existing is None:
            self.manifest = {
                "format_version": FORMAT_VERSION,
                "identity": self.identity,
                "identity_hash": self.hash,
                "complete": False,
                "shards": [],
                "modules": {},
                "n_rows": 0,
                "n_examples": 0,
                "created": _now(),
                "info": info or {},
            }
            write_manifest(self.directory, self.manifest)
        else:
            self.manifest = existing
        self._drop_unlisted_shards()
        self._buffer: list[tuple[dict, torch.Tensor, torch.Tensor]] = []

    # -- state -------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """True once :meth:`finish` has marked the store complete."""
        return bool(self.manifest["complete"])

    @property
    def examples_done(self) -> int:
        """Examples safely on disk; a resumed run starts at this example."""
        return int(self.manifest["n_examples"])

    def _drop_unlisted_shards(self) -> None:
        listed = {s["file"] for s in self.manifest["shards"]}
        for f in self.directory.glob("shard-*"):
            if f.name not in listed:
                f.unlink()

    # -- writing -----------------------------------------------------------------
    def append(self, rows: dict[str, torch.Tensor], example_index: torch.Tensor,
               position: torch.Tensor) -> None:
        """Add rows for consecutive examples.

        Parameters
        ----------
        rows:
            ``{module: (n_rows, d_module) tensor}``; all with the same ``n_rows``.
        example_index:
            ``(n_rows,)`` global example index of each row (non-decreasing).
        position:
            ``(n_rows,)`` token position of each row (``-1`` when not applicable).
        """
        if self.complete:
            raise RuntimeError("store is complete; nothing may be appended")
        example_index = example_index.to(torch.long).cpu()
        position = position.to(torch.long).cpu()
        rows = {k: v.detach().to("cpu", self.torch_dtype).contiguous() for k, v in rows.items()}
        self._buffer.append((rows, example_index, position))
        self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self._buffer:
            return
        rows = {k: torch.cat([b[0][k] for b in self._buffer]) for k in self._buffer[0][0]}
        examples = torch.cat([b[1] for b in self._buffer])
        positions = torch.cat([b[2] for b in self._buffer])
        self._buffer = []
        start = self.examples_done
        while len(examples):
            boundary = start + self.shard_examples
            cut = int(torch.searchsorted(examples, torch.tensor(boundary)))
            shard_full = int(examples[cut - 1]) >= boundary - 1 if cut else False
            if not shard_full and not final:
                self._buffer = [(rows, examples, positions)]  # wait for the rest of the shard
                return
            end_example = boundary if shard_full else int(examples[-1]) + 1
            self._write_shard({k: v[:cut] for k, v in rows.items()}, examples[:cut],
                              positions[:cut], end_example)
            rows = {k: v[cut:] for k, v in rows.items()}
            examples, positions = examples[cut:], positions[cut:]
            start = end_example

    def _write_shard(self, rows, examples, positions, end_example: int) -> None:
        index = len(self.manifest["shards"])
        name = f"shard-{index:05d}.safetensors"
        tmp = self.directory / (name + ".tmp")
        tensors = dict(rows)
        tensors[EXAMPLE_KEY] = examples.contiguous()
        tensors[POSITION_KEY] = positions.contiguous()
        save_file(tensors, str(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / name)
        if not self.manifest["modules"]:
            self.manifest["modules"] = {
                k: {"row_shape": list(v.shape[1:]), "dtype": self.dtype} for k, v in rows.items()
            }
        self.manifest["shards"].append({
            "file": name,
            "rows": int(len(examples)),
            "first_example": int(self.examples_done),
            "end_example": int(end_example),
        })
        self.manifest["n_rows"] += int(len(examples))
        self.manifest["n_examples"] = int(end_example)
        write_manifest(self.directory, self.manifest)

    def finish(self, n_examples: int) -> None:
        """Flush the last shard and mark the store complete.

        Raises
        ------
        RuntimeError
            When fewer than ``n_examples`` examples were written.
        """
        self._flush(final=True)
        if self.examples_done != n_examples:
            raise RuntimeError(
                f"store has {self.examples_done} examples, expected {n_examples}; not marked complete"
            )
        self.manifest["complete"] = True
        self.manifest["finished"] = _now()
        write_manifest(self.directory, self.manifest)


def _make_writable_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ProbekitError(f"cannot write to output folder {str(directory)!r}: {e.strerror or e}") from None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
