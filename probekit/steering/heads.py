"""Per-attention-head activations: where they live and how to steer them.

The output of attention head ``h`` of block ``l`` (before the output projection mixes the
heads) is slice ``[h·head_dim, (h+1)·head_dim)`` of the *input* of that block's attention
output projection:

==========  ======================================
family      output projection (its input = heads)
==========  ======================================
Llama       ``model.layers.{l}.self_attn.o_proj``
GPT-2       ``transformer.h.{l}.attn.c_proj``
GPT-NeoX    ``gpt_neox.layers.{l}.attention.dense``
==========  ======================================

:func:`attention_head_sites` finds them without per-architecture tables (block list from
:func:`probekit.extract.hook_points.find_blocks`, attention child by name, projection
child by name). Record with ``ActivationRecorder(model, [site.recorder_key, ...])``
(``:input`` suffix), reshape with :func:`split_heads`, steer with :func:`head_interventions`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from probekit.errors import ProbekitError
from probekit.extract.hook_points import ATTENTION_NAMES, find_blocks
from probekit.extract.recorder import INPUT_SUFFIX
from probekit.steering.hooks import Intervention, PositionSpec

__all__ = ["HeadSite", "attention_head_sites", "head_interventions", "split_heads"]

OUTPUT_PROJECTION_NAMES = ("o_proj", "c_proj", "dense", "out_proj", "o")


@dataclass(frozen=True)
class HeadSite:
    """The attention output projection of one block.

    Attributes
    ----------
    layer : int
        Block index (0-based).
    module : str
        Name of the output projection module.
    n_heads : int
    head_dim : int
    """

    layer: int
    module: str
    n_heads: int
    head_dim: int

    @property
    def recorder_key(self) -> str:
        """Module name with ``:input`` (what :class:`ActivationRecorder` records)."""
        return self.module + INPUT_SUFFIX


def _in_features(module: nn.Module) -> int:
    if isinstance(module, nn.Linear):
        return int(module.in_features)
    if hasattr(module, "nx"):  # transformers' GPT-2 Conv1D: weight (nx, nf)
        return int(module.nx)
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.dim() == 2:
        return int(weight.shape[1])
    raise ProbekitError(f"cannot tell the input width of {type(module).__name__}")


def attention_head_sites(model: nn.Module, n_heads: int | None = None) -> list[HeadSite]:
    """Output projection of the attention of every block, with its head layout.

    Parameters
    ----------
    model : torch.nn.Module
        A Llama / GPT-2 / GPT-NeoX-style transformer (causal LM or base model).
    n_heads : int, optional
        Number of attention heads; default ``model.config.num_attention_heads``
        (or ``n_head``).

    Returns
    -------
    list of HeadSite
        One per block, in order.

    Raises
    ------
    ProbekitError
        No block list, no attention / output projection child, or a width not divisible
        by the number of heads.
    """
    blocks, n_blocks = find_blocks(model)
    if not n_blocks:
        raise ProbekitError(f"{type(model).__name__} has no list of transformer blocks")
    if n_heads is None:
        config = getattr(model, "config", None)
        n_heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_head", None)
        if n_heads is None:
            raise ProbekitError("cannot read the number of heads from model.config; pass n_heads=")
    sites = []
    for i in range(n_blocks):
        block = model.get_submodule(f"{blocks}.{i}")
        children = dict(block.named_children())
        attn = next((c for c in ATTENTION_NAMES if c in children), None)
        if attn is None:
            raise ProbekitError(f"block {blocks}.{i} has no attention child (looked for {ATTENTION_NAMES}); "
                                f"children: {list(children)}")
        attn_children = dict(children[attn].named_children())
        proj = next((c for c in OUTPUT_PROJECTION_NAMES if c in attn_children), None)
        if proj is None:
            raise ProbekitError(f"{blocks}.{i}.{attn} has no output projection (looked for "
                                f"{OUTPUT_PROJECTION_NAMES}); children: {list(attn_children)}")
        width = _in_features(attn_children[proj])
        if width % int(n_heads):
            raise ProbekitError(f"{blocks}.{i}.{attn}.{proj} has input width {width}, not divisible by "
                                f"n_heads={n_heads}")
        sites.append(HeadSite(i, f"{blocks}.{i}.{attn}.{proj}", int(n_heads), width // int(n_heads)))
    return sites


def split_heads(x, n_heads: int):
    """Reshape ``(..., n_heads * head_dim)`` to ``(..., n_heads, head_dim)`` (numpy or torch).

    Parameters
    ----------
    x : ndarray or torch.Tensor of shape (..., d_model)
        Concatenated head outputs (e.g. the input of an attention output projection).
    n_heads : int
        Number of heads.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., n_heads, d_model // n_heads)
        A view of ``x``, same type and dtype.

    Raises
    ------
    ProbekitError
        When ``d_model`` is not divisible by ``n_heads``.
    """
    if x.shape[-1] % n_heads:
        raise ProbekitError(f"last dimension {x.shape[-1]} is not divisible by n_heads={n_heads}")
    return x.reshape(*x.shape[:-1], n_heads, x.shape[-1] // n_heads)


def head_interventions(
    sites: list[HeadSite],
    vectors: Mapping[tuple[int, int], object],
    positions: PositionSpec = "all",
    scale: float = 1.0,
) -> list[Intervention]:
    """Interventions adding a vector to chosen heads' outputs.

    Parameters
    ----------
    sites : list of HeadSite
        From :func:`attention_head_sites` (indexed by ``layer``).
    vectors : mapping ``{(layer, head): vector}``
        ``vector`` of shape ``(head_dim,)`` or ``(batch, head_dim)`` (numpy or torch).
    positions, scale : see :class:`probekit.steering.hooks.Intervention`.

    Returns
    -------
    list of Intervention
        One per steered layer, on the output projection's input; heads not named get zeros.

    Raises
    ------
    ProbekitError
        Unknown layer / head or a vector of the wrong size.
    """
    by_layer: dict[int, dict[int, torch.Tensor]] = {}
    layers = {s.layer: s for s in sites}
    batch = None
    for (layer, head), v in vectors.items():
        if layer not in layers:
            raise ProbekitError(f"layer {layer} is not one of the sites' layers 0..{len(sites) - 1}")
        site = layers[layer]
        if not 0 <= head < site.n_heads:
            raise ProbekitError(f"head {head} is outside 0..{site.n_heads - 1} (layer {layer})")
        t = torch.as_tensor(np.asarray(v) if not isinstance(v, torch.Tensor) else v, dtype=torch.float32)
        if t.shape[-1] != site.head_dim or t.dim() not in (1, 2):
            raise ProbekitError(f"vector for head ({layer}, {head}) has shape {tuple(t.shape)}; expected "
                                f"({site.head_dim},) or (batch, {site.head_dim})")
        if t.dim() == 2:
            if batch is not None and t.shape[0] != batch:
                raise ProbekitError("per-example head vectors must all have the same batch size")
            batch = t.shape[0]
        by_layer.setdefault(layer, {})[head] = t
    out = []
    for layer, heads in sorted(by_layer.items()):
        site = layers[layer]
        rows = batch if any(t.dim() == 2 for t in heads.values()) else None
        full = torch.zeros((rows, site.n_heads, site.head_dim) if rows else (site.n_heads, site.head_dim))
        for head, t in heads.items():
            full[..., head, :] = t
        out.append(Intervention(site.recorder_key, full.reshape(*full.shape[:-2], -1), positions, scale))
    return out
