"""One shard file: safetensors written piece by piece, its checksum, and its damage checks.

A shard is written straight from the list of per-batch tensors it holds, so closing a
shard costs one pass over its bytes and no concatenated copy. The bytes are exactly
those :func:`safetensors.torch.save_file` writes for the concatenated tensors (same
header, key order and padding), so stores from before and after read the same.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
from pathlib import Path

import torch
from safetensors.torch import save as _safetensors_save

__all__ = []

CHECKSUM = "blake2b"  # 256-bit BLAKE2b of the whole file, hex
_CHUNK = 8 << 20
_CODES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}


def new_hasher():
    """The hash object whose hex digest is stored under ``"blake2b"`` in the manifest."""
    return hashlib.blake2b(digest_size=32)


@functools.lru_cache(maxsize=64)
def _key_order(names_and_codes: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The order safetensors lays tensors out in (asked of safetensors itself, on empty tensors)."""
    dtypes = {code: dtype for dtype, code in _CODES.items()}
    blob = _safetensors_save({name: torch.empty(0, dtype=dtypes[code]) for name, code in names_and_codes})
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    return tuple(k for k in header if k != "__metadata__")  # the header lists tensors in layout order


def write_shard_file(path: Path, pieces: dict[str, list[torch.Tensor]]) -> tuple[int, str]:
    """Write ``{name: [tensor, ...]}`` as one safetensors file, each name's pieces
    concatenated along dim 0; fsync it.

    Parameters
    ----------
    path:
        Destination (the caller renames it into place).
    pieces:
        Per name, a non-empty list of CPU contiguous tensors ``(n_i, *row_shape)`` of
        one dtype (float32, float16, bfloat16 or int64).

    Returns
    -------
    (int, str)
        File size in bytes and its BLAKE2b-256 hex digest.
    """
    codes = {name: _CODES[parts[0].dtype] for name, parts in pieces.items()}
    order = _key_order(tuple(sorted(codes.items())))
    header, offset = {}, 0
    for name in order:
        rows = sum(int(p.shape[0]) for p in pieces[name])
        nbytes = sum(p.numel() * p.element_size() for p in pieces[name])
        header[name] = {"dtype": codes[name], "shape": [rows, *pieces[name][0].shape[1:]],
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    hasher = new_hasher()
    with open(path, "wb") as f:
        for chunk in (struct.pack("<Q", len(blob)), blob):
            f.write(chunk)
            hasher.update(chunk)
        for name in order:
            for part in pieces[name]:
                raw = part.reshape(-1).view(torch.uint8).numpy()
                f.write(raw)
                hasher.update(raw)
        f.flush()
        os.fsync(f.fileno())
        size = f.tell()
    return size, hasher.hexdigest()


def read_header(path: Path) -> tuple[dict, int]:
    """The safetensors header of ``path`` and the file offset its data starts at.

    Parameters
    ----------
    path : path-like
        A safetensors file.

    Returns
    -------
    (dict, int)
        The parsed JSON header and the byte offset of the data (``8 + header length``).

    Raises
    ------
    ValueError
        Not a safetensors file (short, or the header is not JSON).
    """
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError("shorter than a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > os.fstat(f.fileno()).st_size:
            raise ValueError("header length beyond the end of the file")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"unreadable header ({e})") from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header, 8 + n


def file_digest(path: Path) -> str:
    """Checksum of a shard file, as recorded in the store manifest.

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    str
        BLAKE2b-256 hex digest (64 characters) of the file's bytes, read in 8 MiB chunks.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    hasher = new_hasher()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def shard_problem(directory: Path, entry: dict, full: bool) -> str | None:
    """What is wrong with one listed shard, or ``None``.

    The cheap check (``full=False``) compares the file's size with the manifest's; the
    full check also compares the checksum and the header's row counts (for shards
    written before sizes and checksums were recorded, only the header).

    Parameters
    ----------
    directory : pathlib.Path
        The store folder.
    entry : dict
        The shard's manifest entry (``file``, ``rows``, ``size``, checksum).
    full : bool
        Also read the whole file (checksum) and its header.

    Returns
    -------
    str or None
        A phrase completing "shard X ..." (e.g. ``"is missing"``), or ``None`` when the
        shard is sound.
    """
    path = Path(directory) / entry["file"]
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return "is missing"
    expected = entry.get("size")
    if expected is not None and size != expected:
        return f"has {size} bytes, the manifest records {expected} (truncated or overwritten)"
    if not full:
        return None
    if entry.get(CHECKSUM) is not None and file_digest(path) != entry[CHECKSUM]:
        return "does not match its recorded blake2b checksum (its bytes changed)"
    try:
        header, start = read_header(path)
        for key, info in header.items():
            if key == "__metadata__":
                continue
            if info["shape"][0] != entry["rows"] or start + info["data_offsets"][1] > size:
                return f"tensor {key!r} does not hold the {entry['rows']} rows the manifest records"
    except (ValueError, KeyError, TypeError, IndexError) as e:
        return f"is not a readable safetensors file ({e})"
    return None
