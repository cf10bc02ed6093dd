"""Identify weights by content: one format, SHA-256 as 16 hex characters.

:func:`hash_files` hashes weight files (names, sizes, bytes), :func:`hash_parameters` a
model's tensors; both give ``LoadedModel.weights_hash``, which a store records so that
activations of other weights are never reused.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth", ".ckpt")


def hash_files(paths: list[Path]) -> str:
    """SHA-256 (hex, 16 chars) over the names, sizes and bytes of ``paths`` (sorted).

    Parameters
    ----------
    paths : list of path-like
        Files to hash.

    Returns
    -------
    str
        16 hex digits.

    Raises
    ------
    OSError
        A file that cannot be read.
    """
    h = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        h.update(path.name.encode())
        h.update(str(path.stat().st_size).encode())
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
    return h.hexdigest()[:16]


def hash_weight_files(source: Path) -> str | None:
    """Hash of the weight files of a file or folder (:func:`hash_files`).

    Parameters
    ----------
    source : path-like
        A weights file, or a folder whose files with a suffix in ``WEIGHT_SUFFIXES`` are
        hashed.

    Returns
    -------
    str or None
        16 hex digits; ``None`` if it holds no weight files (or does not exist).
    """
    source = Path(source)
    if source.is_file():
        return hash_files([source])
    files = [p for p in source.iterdir() if p.suffix in WEIGHT_SUFFIXES] if source.is_dir() else []
    return hash_files(files) if files else None


def hash_parameters(model: nn.Module, extra: str = "") -> str:
    """SHA-256 (hex, 16 chars) of every parameter and buffer, plus ``extra``.

    Parameters
    ----------
    model : torch.nn.Module
        The model; each ``state_dict`` entry's name, dtype, shape and bytes are hashed.
    extra : str
        Hashed first (e.g. the seed of a random initialisation).

    Returns
    -------
    str
        16 hex digits.
    """
    h = hashlib.sha256(extra.encode())
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        if isinstance(tensor, torch.Tensor):
            t = tensor.detach().cpu().contiguous()
            h.update(f"{t.dtype}{tuple(t.shape)}".encode())
            if t.numel():
                h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]
