"""Reduce a layer's activations to one vector per example.

Convolutional layers give maps ``(batch, channels, height, width)``; transformer layers
give token sequences ``(batch, pos, d_model)``; some models (torchvision Swin, ConvNeXt
block internals) keep maps channels-last ``(batch, height, width, channels)``. A probe
needs ``(batch, d_model)``: this module turns any of them into that, with a named,
explicit method and, where the layout is known, an explicit ``layout``
(:func:`probekit.extract.vision_points.module_layout` tells it from the model).
"""

from __future__ import annotations

import torch

from probekit.errors import ProbekitError, did_you_mean

#: Pooling methods understood by :func:`pool_spatial`.
POOLING_METHODS = ("mean", "max", "flatten", "cls", "none")
#: Layouts understood by :func:`pool_spatial` (``None`` = the convention described there).
POOLING_LAYOUTS = ("channels_first", "channels_last", "tokens", "flat", "unknown")


def pool_spatial(
    tensor: torch.Tensor, method: str = "mean", layout: str | None = None, where: str | None = None
) -> torch.Tensor:
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
    layout:
        Where the feature axis is, when known:

        ``None``
            Convention: 3-D = token sequence ``(batch, pos, d_model)``, 4-D or more =
            channels first.
        ``"channels_first"``
            ``(batch, channels, *spatial)`` (3 or more dims).
        ``"channels_last"``
            ``(batch, *spatial, channels)`` (3 or more dims; e.g. torchvision Swin's
            ``(batch, H, W, C)``; a 3-D one is a token sequence): ``mean``/``max`` pool
            every middle axis; ``flatten`` gives channel-major order, as for a
            channels-first map.
        ``"tokens"``
            ``(batch, pos, d_model)`` (exactly 3 dims).
        ``"flat"``
            ``(batch, features)`` (exactly 2 dims).
        ``"unknown"``
            The caller cannot tell; only 2-D tensors (nothing to pool) and ``"none"``
            are accepted, anything else is an error rather than a guess.
    where:
        Name of the module the tensor comes from, for error messages.

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
        ``(batch, pos, d_model)``; a token sequence with zero tokens; an unknown
        ``layout``, a tensor whose rank does not fit ``layout``, or a map of
        ``"unknown"`` layout.

    Examples
    --------
    >>> pool_spatial(torch.zeros(8, 512, 7, 7), "mean").shape
    torch.Size([8, 512])
    >>> pool_spatial(torch.zeros(8, 197, 768), "cls").shape
    torch.Size([8, 768])
    >>> pool_spatial(torch.zeros(8, 7, 7, 768), "mean", layout="channels_last").shape
    torch.Size([8, 768])
    """
    if not isinstance(method, str) or method not in POOLING_METHODS:
        raise ProbekitError(did_you_mean(str(method), POOLING_METHODS, "pooling method"))
    if layout is not None and layout not in POOLING_LAYOUTS:
        raise ProbekitError(did_you_mean(str(layout), POOLING_LAYOUTS, "layout"))
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
    if layout == "channels_last" and tensor.ndim == 3:
        layout = "tokens"  # (batch, pos, d_model): the features are last already
    _check_layout(shape, layout, method, where)
    if layout == "channels_last" and tensor.ndim >= 4:
        if method in ("mean", "max"):
            axes = tuple(range(1, tensor.ndim - 1))
            _check_not_empty(shape, axes, method)
            return tensor.mean(dim=axes) if method == "mean" else tensor.amax(dim=axes)
        tensor = tensor.movedim(-1, 1)  # flatten channel-major, as for channels-first maps
        shape = tuple(tensor.shape)
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
    axes = (1,) if tensor.ndim == 3 and layout != "channels_first" else tuple(range(2, tensor.ndim))
    _check_not_empty(shape, axes, method)
    if method == "mean":
        return tensor.mean(dim=axes)
    return tensor.amax(dim=axes)


def _check_layout(shape: tuple[int, ...], layout: str | None, method: str, where: str | None = None) -> None:
    """Raise when the tensor's rank does not fit ``layout`` (or the layout is unknown for a map)."""
    ndim = len(shape)
    if layout is None or ndim == 2:
        if layout == "tokens" and ndim == 2 and method == "cls":
            raise ProbekitError(f"pooling method 'cls' needs a token sequence (batch, pos, d_model), got {shape}")
        return
    if layout == "unknown":
        raise ProbekitError(
            f"cannot pool a tensor of shape {shape} with method {method!r}: its layout (which axis holds "
            f"the channels) is not known for module {where or '(unnamed)'!r}; record one of the model's hook points "
            "(`probekit list-modules` lists them) or use pooling 'none'"
        )
    expected = {"flat": ndim == 2, "tokens": ndim == 3, "channels_first": ndim >= 3, "channels_last": ndim >= 3}
    if not expected[layout]:
        raise ProbekitError(
            f"a tensor of shape {shape} does not have layout {layout!r} "
            "(flat: (batch, features); tokens: (batch, pos, d_model); channels_first: (batch, C, *spatial); "
            "channels_last: (batch, *spatial, C))"
        )
    if method == "cls" and layout != "tokens":
        raise ProbekitError(
            f"pooling method 'cls' needs a token sequence (batch, pos, d_model), got a {layout} map of shape "
            f"{shape}; use 'mean' or 'max'"
        )


def _check_not_empty(shape: tuple[int, ...], axes: tuple[int, ...], method: str) -> None:
    if any(shape[a] == 0 for a in axes):
        what = "a sequence with no tokens" if len(shape) == 3 else "an empty spatial map"
        raise ProbekitError(f"pooling method {method!r} got {what}, shape {shape}")
