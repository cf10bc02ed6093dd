"""Torch devices: one way to name them and one way to find a model's."""

from __future__ import annotations

import torch
from torch import nn

from probekit.errors import ProbekitError

__all__ = ["resolve_device", "model_device"]


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` / ``"auto"`` -> CUDA when available, else CPU; otherwise ``torch.device(device)``.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ...

    Returns
    -------
    torch.device

    Raises
    ------
    ProbekitError
        An unknown device string, or a CUDA device when no GPU is available.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ProbekitError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ProbekitError(f"device {device!r} asked for, but no CUDA GPU is available; use 'cpu' or 'auto'")
    return dev


def model_device(model: nn.Module) -> torch.device:
    """Device of the model's first parameter (or buffer); CPU for a model with neither.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    torch.device
    """
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")
