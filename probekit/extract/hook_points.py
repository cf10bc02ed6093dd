"""Named hook points (residual stream, attention output, MLP output) derived from module names.

Naming follows TransformerLens so users recognise it:

=========================  ======================================  =====
hook point                 what is recorded                         layer
=========================  ======================================  =====
``embed``                  input of block 0 (= ``hidden_states[0]``)  0
``blocks.{i}.resid_post``  output of block ``i`` (residual stream)   i + 1
``blocks.{i}.attn_out``    output of block ``i``'s attention module  i + 1
``blocks.{i}.mlp_out``     output of block ``i``'s MLP module        i + 1
=========================  ======================================  =====

The blocks are found without per-architecture tables: the longest ``nn.ModuleList``
whose children all share one class (``model.layers`` for Llama, ``transformer.h`` for
GPT-2, ``gpt_neox.layers`` for GPT-NeoX, ``encoder.layer`` for BERT, ...). Attention and
MLP modules are the block children with the usual names.

Note: for models with a final norm (Llama, GPT-2, GPT-NeoX) Hugging Face's
``output_hidden_states[-1]`` is the *normed* last residual stream;
``blocks.{L-1}.resid_post`` is the raw block output, as for every other layer.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from torch import nn

from probekit.extract.recorder import INPUT_SUFFIX, module_names

ATTENTION_NAMES = ("self_attn", "attn", "attention", "self_attention")
MLP_NAMES = ("mlp", "feed_forward", "ffn", "intermediate")


@dataclass(frozen=True)
class HookPoint:
    """A named place to record: ``name`` (hook point), ``module`` (recorder key), ``layer``."""

    name: str
    module: str
    layer: int
    kind: str  # "resid", "attn", "mlp"


def find_blocks(model: nn.Module) -> tuple[str, int]:
    """Name and length of the model's list of transformer blocks.

    Returns
    -------
    (str, int)
        The ``nn.ModuleList`` name (``model.layers``) and its number of blocks;
        ``("", 0)`` when the model has no such list (e.g. a CNN).
    """
    best, best_len = "", 0
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) > best_len:
            classes = {type(child) for child in module}
            if len(classes) == 1:
                best, best_len = name, len(module)
    return best, best_len


def hook_points(model: nn.Module) -> list[HookPoint]:
    """All named hook points of a transformer, in forward order.

    Returns an empty list for models without a block list; use module names then.
    """
    from probekit.extract.vision_points import vision_hook_points

    if (vision := vision_hook_points(model)) is not None:  # image classifiers: stages / ViT layers
        return vision
    blocks, n_blocks = find_blocks(model)
    if not n_blocks:
        return []
    points = [HookPoint("embed", f"{blocks}.0{INPUT_SUFFIX}", 0, "resid")]
    first = model.get_submodule(blocks)[0]
    children = dict(first.named_children())
    attn = next((c for c in ATTENTION_NAMES if c in children), None)
    mlp = next((c for c in MLP_NAMES if c in children), None)
    if "intermediate" in children and "output" in children:
        # BERT-style post-LN blocks: the attention module and `output` already add the
        # residual and normalise; their `dense` projections are the contributions
        attn = _existing(first, f"{attn}.output.dense") if attn else None
        mlp = _existing(first, "output.dense")
    for i in range(n_blocks):
        if attn:
            points.append(HookPoint(f"blocks.{i}.attn_out", f"{blocks}.{i}.{attn}", i + 1, "attn"))
        if mlp:
            points.append(HookPoint(f"blocks.{i}.mlp_out", f"{blocks}.{i}.{mlp}", i + 1, "mlp"))
        points.append(HookPoint(f"blocks.{i}.resid_post", f"{blocks}.{i}", i + 1, "resid"))
    return points


def _existing(module: nn.Module, name: str) -> str | None:
    try:
        module.get_submodule(name)
    except AttributeError:
        return None
    return name


def residual_stream(model: nn.Module) -> list[HookPoint]:
    """``embed`` and every ``blocks.{i}.resid_post``: the residual stream at every layer."""
    return [p for p in hook_points(model) if p.kind == "resid"]


def stage_outputs(model: nn.Module) -> list[HookPoint]:
    """For models without a block list (CNNs such as ResNet): the outputs of the root's
    direct children, except a final ``nn.Linear`` classifier; ``layer`` = child index.

    This is what the ``resid`` keyword means for such models.
    """
    from probekit.extract.vision_points import refuse_unknown_vision

    refuse_unknown_vision(model)  # an image classifier of unknown architecture: no guess
    children = list(model.named_children())
    if children and isinstance(children[-1][1], nn.Linear):
        children = children[:-1]
    return [HookPoint(name, name, i, "stage") for i, (name, _) in enumerate(children)]


def resolve_hook_points(model: nn.Module, patterns: list[str]) -> list[HookPoint]:
    """Turn user patterns into hook points.

    Each pattern is tried, in order, as (1) the keyword ``resid`` / ``residual`` (the
    whole residual stream; for models without blocks, :func:`stage_outputs`), ``attn`` or ``mlp``; (2) a hook point name or glob
    (``blocks.*.resid_post``); (3) a module name or glob (``model.layers.*``), recorded
    at that module's output (``:input`` suffix for its input). Module-level points get
    ``layer`` = their position among the chosen modules (0, 1, ...), unless the module is
    a block, whose layer is its block index + 1.

    Raises
    ------
    ProbekitError
        A pattern that matches neither a hook point nor a module (closest names listed).
    """
    from probekit.extract.recorder import resolve_modules

    points = hook_points(model)
    by_module = {p.module: p for p in points}
    kinds = {"resid": "resid", "residual": "resid", "attn": "attn", "mlp": "mlp"}
    chosen: list[HookPoint] = []
    module_patterns: list[str] = []
    for pattern in patterns:
        if pattern in kinds and points:
            chosen += [p for p in points if p.kind == kinds[pattern]]
            continue
        if kinds.get(pattern) == "resid" and not points:
            chosen += stage_outputs(model)
            continue
        hits = [p for p in points if fnmatch.fnmatchcase(p.name, pattern)]
        if hits:
            chosen += hits
        else:
            module_patterns.append(pattern)
    if module_patterns:
        for index, name in enumerate(resolve_modules(model, module_patterns)):
            chosen.append(by_module.get(name) or HookPoint(name, name, index, "module"))
    seen, unique = set(), []
    order = {name: i for i, name in enumerate(_forward_order(model))}
    for p in sorted(chosen, key=lambda p: order.get(p.module, 0)):
        if p.module not in seen:
            seen.add(p.module)
            unique.append(p)
    return unique


def _forward_order(model: nn.Module) -> list[str]:
    order = []
    for name in module_names(model):
        order += [name + INPUT_SUFFIX, name]
    return order
