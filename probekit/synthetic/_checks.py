"""Small shared checks of the synthetic tasks and trainers (argument validation, torch threads)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from probekit.errors import ProbekitError


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (restored afterwards); ``None`` leaves torch's setting."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def pos_int(v: Any, name: str, minimum: int = 1) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ProbekitError(f"{name}={v!r}; expected an integer >= {minimum}")


def nonneg(v: Any, name: str, positive: bool = False) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        raise ProbekitError(f"{name}={v!r}; expected a finite number")
    if v < 0 or (positive and v == 0):
        raise ProbekitError(f"{name}={v!r}; expected a number {'>' if positive else '>='} 0")
