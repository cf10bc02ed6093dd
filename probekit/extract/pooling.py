"""Reduce a layer's activations to one vector per example.

Convolutional layers give maps ``(batch, channels, height, width)``; transformer layers
give token sequences ``(batch, pos, d_model)``. A probe needs ``(batch, d_model)``: this
module turns either into that, with a named, explicit method.
"""

from __future__ import annotations

import torch

from probekit.errors import ProbekitError, did_you_mean

#: Pooling methods understood by :func:`pool_spatial`.
POOLING_METHODS = ("mean", "max", "flatten", "cls", "none")


def pool_spatial(tensor: torch.Tensor, method: str = "mean") -> torch.Tensor:
    """Pool the spatial or token axes of a batch of activations.

    Parameters
    ----------
    tensor:
        Activations of one layer, batch first. Accepted layouts:

        * ``(batch, d_model)`` -- already one vector per example (e.g. a linear layer);
        * ``(batch, pos, d_model)`` -- a token sequence (ViT, transformer);
        * ``(batch, channels, height, width)`` -- a convolutional map (any number of
          trailing spatial axes ``(batch, channels, *spatial)`` with ``len(spatial) >= 2``).
    method:
        One of :data:`POOLING_METHODS`:

        ``"mean"``
            Global average: over ``height, width`` of a conv map -> ``(batch, channels)``;
            over ``pos`` of a token sequence -> ``(batch, d_model)``. A 2-D input is
            returned unchanged (nothing to pool).
        ``"max"``
            Global maximum over the same axes as ``"mean"``.
        ``"flatten"``
            Keep every position: ``(batch, prod(other dims))`` (C-order, so a conv map
            becomes ``channels * height * width`` features, channel-major).
        ``"cls"``
            First token of a ``(batch, pos, d_model)`` sequence -> ``(batch, d_model)``
            (the ``[CLS]`` token of ViT/BERT outputs). Only valid for 3-D input.
        ``"none"``
            Return the tensor unchanged.

    Returns
    -------
    torch.Tensor
        ``(batch, features)`` for every method except ``"none"``; same dtype and device
        as the input.

    Raises
    ------
    ProbekitError
        ``tensor`` is not a ``torch.Tensor``; an unknown ``method`` (with the closest
        valid names); a tensor without a batch and feature axis (fewer than 2 dims) for
        any method but ``"none"``; ``"cls"`` on a tensor that is not
        ``(batch, pos, d_model)``; a token sequence with zero tokens.

    Examples
    --------
    >>> pool_spatial(torch.zeros(8, 512, 7, 7), "mean").shape
    torch.Size([8, 512])
    >>> pool_spatial(torch.zeros(8, 197, 768), "cls").shape
    torch.Size([8, 768])
    """
    if not isinstance(method, str) or method not in POOLING_METHODS:
        raise ProbekitError(did_you_mean(str(method), POOLING_METHODS, "pooling method"))
    if not isinstance(tensor, torch.Tensor):
        raise ProbekitError(
            f"pool_spatial expects a torch.Tensor, got {type(tensor).__name__}; "
            "pass the layer's output tensor (batch first)"
        )
    if method == "none":
        return tensor
    shape = tuple(tensor.shape)
    if tensor.ndim < 2:
        raise ProbekitError(
            f"cannot pool a tensor of shape {shape} with method {method!r}: expected "
            "(batch, d_model), (batch, pos, d_model) or (batch, channels, height, width)"
        )
    if method == "flatten":
        return tensor.reshape(shape[0], -1)
    if method == "cls":
        if tensor.ndim != 3:
            raise ProbekitError(
                f"pooling method 'cls' needs a token sequence (batch, pos, d_model), got shape "
                f"{shape}; use 'mean' or 'max' for conv maps (batch, channels, height, width)"
            )
        if shape[1] == 0:
            raise ProbekitError(f"pooling method 'cls' got a sequence with no tokens, shape {shape}")
        return tensor[:, 0, :]
    if tensor.ndim == 2:
        return tensor
    if tensor.ndim == 3:
        axes: tuple[int, ...] = (1,)
        if shape[1] == 0:
            raise ProbekitError(f"pooling method {method!r} got a sequence with no tokens, shape {shape}")
    else:
        axes = tuple(range(2, tensor.ndim))
        if any(shape[a] == 0 for a in axes):
            raise ProbekitError(f"pooling method {method!r} got an empty spatial map, shape {shape}")
    if method == "mean":
        return tensor.mean(dim=axes)
    return tensor.amax(dim=axes)
