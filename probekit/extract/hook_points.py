"""Named hook points (residual stream, attention output, MLP output) derived from module names.

Naming follows TransformerLens so users recognise it:

=========================  ======================================  =====
hook point                 what is recorded                         layer
=========================  ======================================  =====
``embed``                  input of block 0 (= ``hidden_states[0]``)  0
``blocks.{i}.resid_post``  output of block ``i`` (residual stream)   i + 1
``blocks.{i}.attn_out``    output of block ``i``'s attention module  i + 1
``blocks.{i}.mlp_out``     output of block ``i``'s MLP module        i + 1
``blocks.{i}.cross_attn_out``  seq2seq decoders: cross-attention     i + 1
=========================  ======================================  =====

``attn_out`` / ``mlp_out`` are each sublayer's own contribution to the residual stream
(see :func:`sublayers`); :func:`probekit.check.check_sublayer_sums` verifies it.

The blocks are found without per-architecture tables: the longest ``nn.ModuleList``
whose children all share one class (``model.layers`` for Llama, ``transformer.h`` for
GPT-2, ``gpt_neox.layers`` for GPT-NeoX, ``encoder.layer`` for BERT, ...). Attention and
MLP modules are the block children with the usual names.

Note: for models with a final norm (Llama, GPT-2, GPT-NeoX) Hugging Face's
``output_hidden_states[-1]`` is the *normed* last residual stream;
``blocks.{L-1}.resid_post`` is the raw block output, as for every other layer.
"""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from dataclasses import dataclass

from torch import nn

from probekit.errors import ProbekitError, closest
from probekit.hooks import CALL_SEPARATOR, split_key
from probekit.extract.recorder import INPUT_SUFFIX, module_names, resolve_modules

ATTENTION_NAMES = ("self_attn", "attn", "attention", "self_attention", "multi_head_attention")
MLP_NAMES = ("mlp", "feed_forward", "ffn", "mlp_block", "block_sparse_moe")
CROSS_ATTENTION_NAMES = ("encoder_attn", "crossattention", "cross_attn")
#: Norms some blocks apply to a sublayer's output before adding it (GLM-4).
POST_SUBLAYER_NORMS = {"post_self_attn_layernorm": "attn", "post_mlp_layernorm": "mlp"}


@dataclass(frozen=True)
class HookPoint:
    """A named place to record: ``name`` (hook point), ``module`` (recorder key), ``layer``."""

    name: str
    module: str
    layer: int
    kind: str  # "resid", "attn", "mlp", "stage", "module"


@dataclass
class BlockList:
    """The blocks of one stack (a decoder, an encoder, or the decoder of a seq2seq model).

    Attributes
    ----------
    prefix:
        Hook-point prefix: ``""`` for a single stack, ``"encoder."`` / ``"decoder."``.
    container:
        Module name of the ``nn.ModuleList`` (``model.layers``).
    blocks:
        Recorder key of each block application, in forward order (``model.layers.3``;
        ``...albert_layers.0@2`` for the third application of a shared layer).
    """

    prefix: str
    container: str
    blocks: list[str]


def _expected_layers(config, attribute: str = "num_hidden_layers") -> int | None:
    value = getattr(config, attribute, None) if config is not None else None
    return int(value) if isinstance(value, int) and value > 0 else None


def _module_lists(root: nn.Module, prefix: str = "") -> list[tuple[str, nn.ModuleList]]:
    return [(f"{prefix}{n}" if n else prefix.rstrip("."), m) for n, m in root.named_modules()
            if isinstance(m, nn.ModuleList) and len(m)]


def _pick_list(lists: list[tuple[str, nn.ModuleList]], expected: int | None) -> tuple[str, nn.ModuleList] | None:
    """The block list: the shallowest list with the configured number of layers (mixed
    block classes allowed: hybrid models), else the longest list of one block class."""
    if expected:
        matching = [(n, m) for n, m in lists if len(m) == expected]
        if matching:
            return min(matching, key=lambda item: item[0].count("."))
    homogeneous = [(n, m) for n, m in lists if len({type(c) for c in m}) == 1]
    if not homogeneous:
        return None
    return max(homogeneous, key=lambda item: len(item[1]))


def block_lists(model: nn.Module) -> list[BlockList]:
    """Every stack of blocks of ``model`` (one for decoders/encoders, two for seq2seq).

    Blocks are found from module names, not tables: for a model with a Hugging Face
    ``config``, the shallowest ``nn.ModuleList`` with ``config.num_hidden_layers`` entries
    (hybrid models mix block classes in it); otherwise the longest list of one class.
    Encoder–decoder models (``config.is_encoder_decoder``) give an encoder and a decoder
    stack. ALBERT-style shared layers give one entry per application (``name@k``).

    Parameters
    ----------
    model : torch.nn.Module
        The model (a transformers model or any module).

    Returns
    -------
    list of BlockList
        Empty for models without blocks (CNNs).

    Raises
    ------
    ProbekitError
        When the configured number of layers matches no module list and the architecture
        is not one probekit understands (the message names the lists found).
    """
    config = getattr(model, "config", None)
    if getattr(config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
        return _seq2seq_lists(model, config)
    if getattr(config, "model_type", None) == "albert":
        return [_albert_list(model, config)]
    lists = _module_lists(model)
    expected = _expected_layers(config)
    chosen = _pick_list(lists, expected)
    if chosen is None:
        return []
    name, container = chosen
    if expected and len(container) != expected and _is_language_config(config):
        raise ProbekitError(
            f"{type(model).__name__}: config says {expected} layers but no module list has that many "
            f"(lists found: {', '.join(f'{n} ({len(m)})' for n, m in lists) or 'none'}); probekit cannot "
            "tell which modules are the blocks. Record module names instead (--modules NAME)")
    return [BlockList("", name, [f"{name}.{i}" for i in range(len(container))])]


def _is_language_config(config) -> bool:
    return config is not None and not any(
        hasattr(config, a) for a in ("image_size", "num_channels", "hidden_sizes", "depths"))


def _seq2seq_lists(model: nn.Module, config) -> list[BlockList]:
    out = []
    names = {id(m): n for n, m in model.named_modules()}
    for side, getter, attribute in (("encoder", "get_encoder", "encoder_layers"),
                                    ("decoder", "get_decoder", "decoder_layers")):
        part = getattr(model, getter)()
        base = names.get(id(part))
        if base is None:
            raise ProbekitError(f"{type(model).__name__}: the {side} is not a submodule; cannot name its blocks")
        expected = _expected_layers(config, attribute) or (
            _expected_layers(config, "num_layers") if side == "encoder" else
            _expected_layers(config, "num_decoder_layers") or _expected_layers(config, "num_layers"))
        chosen = _pick_list(_module_lists(part, base + "." if base else ""), expected)
        if chosen is None or (expected and len(chosen[1]) != expected):
            raise ProbekitError(f"{type(model).__name__}: cannot find the {side}'s {expected} blocks")
        name = chosen[0]
        out.append(BlockList(f"{side}.", name, [f"{name}.{i}" for i in range(len(chosen[1]))]))
    return out


def _albert_list(model: nn.Module, config) -> BlockList:
    """ALBERT applies ``num_hidden_groups`` shared layer groups ``num_hidden_layers``
    times; layer ``i`` uses group ``i // (num_hidden_layers / num_hidden_groups)``."""
    n_layers, n_groups = config.num_hidden_layers, config.num_hidden_groups
    if getattr(config, "inner_group_num", 1) != 1:
        raise ProbekitError("ALBERT with inner_group_num != 1 is not supported: each layer application "
                            "then runs several inner layers; record module names instead")
    groups = [n for n, m in model.named_modules() if n.endswith("albert_layer_groups")]
    if len(groups) != 1:
        raise ProbekitError("ALBERT model without one `albert_layer_groups` list; cannot name its layers")
    calls: dict[int, int] = {}
    blocks = []
    for i in range(n_layers):
        group = int(i / (n_layers / n_groups))
        blocks.append(f"{groups[0]}.{group}.albert_layers.0{CALL_SEPARATOR}{calls.get(group, 0)}")
        calls[group] = calls.get(group, 0) + 1
    return BlockList("", groups[0], blocks)


def find_blocks(model: nn.Module) -> tuple[str, int]:
    """Name and length of the model's (first) list of transformer blocks.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    (str, int)
        The ``nn.ModuleList`` name (``model.layers``) and its number of blocks;
        ``("", 0)`` when the model has no such list (e.g. a CNN).

    Raises
    ------
    ProbekitError
        See :func:`block_lists`.
    """
    lists = block_lists(model)
    if not lists:
        return "", 0
    container = model.get_submodule(lists[0].container)
    return lists[0].container, len(container)


def _with_call(key: str, child: str) -> str:
    """``a.b@2`` + ``c`` -> ``a.b.c@2`` (a shared layer's children run once per call)."""
    name, sep, call = key.partition(CALL_SEPARATOR)
    return f"{name}.{child}{sep}{call}"


def _adds_residual(module: nn.Module) -> bool:
    try:
        return "residual" in inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False


def cross_attention(block: nn.Module) -> str | None:
    """The cross-attention child of a decoder block of a seq2seq model, if any.

    Parameters
    ----------
    block : torch.nn.Module
        One block.

    Returns
    -------
    str or None
        The child's name (one of ``CROSS_ATTENTION_NAMES``), ``None`` when it has none.
    """
    children = dict(block.named_children())
    return next((c for c in CROSS_ATTENTION_NAMES if c in children), None)


def sublayers(block: nn.Module) -> tuple[str | None, str | None, list[str]]:
    """The children of one block that give its attention's and its MLP's own contribution.

    Rules, from module names and signatures (the contributions are checked numerically by
    :func:`probekit.check.check_model`):

    - pre-norm and parallel blocks (Llama, GPT-2, GPT-J, Falcon, ...): the attention child
      (``self_attn``, ``attn``, ``attention``, ``self_attention``) and the MLP child
      (``mlp``, ``feed_forward``, ``ffn``, ``mlp_block``; OPT/BART/XGLM's ``fc2``);
    - blocks that normalise a sublayer's output before adding it (Gemma 2/3's and
      OLMo 2's ``post_attention_layernorm`` / ``post_feedforward_layernorm``, GLM-4's
      ``post_self_attn_layernorm`` / ``post_mlp_layernorm``): those norms;
    - BERT-style post-LN blocks: the ``dense`` projections before the residual add;
    - a sublayer whose ``forward`` takes the residual (Bloom, MPT) returns residual +
      contribution: refused, with a note.

    Parameters
    ----------
    block : torch.nn.Module
        One block of the residual stream.

    Returns
    -------
    (str or None, str or None, list of str)
        The attention's and the MLP's module names relative to ``block`` (``None`` where
        there is none or it is refused), and notes on what is refused.
    """
    children = dict(block.named_children())
    notes: list[str] = []
    attn = next((c for c in ATTENTION_NAMES if c in children), None)
    mlp = next((c for c in MLP_NAMES if c in children), None)
    if mlp is None and "fc2" in children:
        mlp = "fc2"
    if "intermediate" in children and "output" in children:
        attn = _existing(block, f"{attn}.output.dense") if attn else None
        return attn, _existing(block, "output.dense"), notes
    for norm, which in POST_SUBLAYER_NORMS.items():
        if norm in children:
            attn, mlp = (norm, mlp) if which == "attn" else (attn, norm)
    if "post_feedforward_layernorm" in children and mlp:
        mlp = "post_feedforward_layernorm"
        if attn and "post_attention_layernorm" in children and (
                "pre_feedforward_layernorm" in children or "input_layernorm" not in children):
            attn = "post_attention_layernorm"
    for label, name in (("attention", attn), ("MLP", mlp)):
        if name and _adds_residual(block.get_submodule(name)):
            notes.append(f"{type(block.get_submodule(name)).__name__} adds the residual inside its forward, "
                         f"so its output is not the {label}'s own contribution: no "
                         f"{'attn' if label == 'attention' else 'mlp'}_out hook points")
            attn, mlp = (None, mlp) if label == "attention" else (attn, None)
    return attn, mlp, notes


#: ALBERT's shared layer: the projections whose outputs are the attention's and the
#: MLP's contributions (before the residual add and LayerNorm).
ALBERT_SUBLAYERS = ("attention.dense", "ffn_output")


def hook_points(model: nn.Module) -> list[HookPoint]:
    """All named hook points of a transformer, in forward order.

    Returns an empty list for models without a block list; use module names then.
    Encoder–decoder models give ``encoder.embed``, ``encoder.blocks.{i}.*``,
    ``decoder.embed``, ``decoder.blocks.{i}.*``; decoder layers are numbered after the
    encoder's. Image classifiers get their stage / ViT-layer points
    (:func:`probekit.extract.vision_points.vision_hook_points`).

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    list of HookPoint
        ``embed``, then per block ``attn_out``, ``cross_attn_out``, ``mlp_out`` (where
        found) and ``resid_post``.

    Raises
    ------
    ProbekitError
        See :func:`block_lists`.
    """
    from probekit.extract.vision_points import vision_hook_points

    if (vision := vision_hook_points(model)) is not None:  # image classifiers: stages / ViT layers
        return vision
    points: list[HookPoint] = []
    layer0 = 0
    albert = getattr(getattr(model, "config", None), "model_type", None) == "albert"
    for stack in block_lists(model):
        p = stack.prefix
        first, _, call = stack.blocks[0].partition(CALL_SEPARATOR)
        points.append(HookPoint(f"{p}embed", f"{first}{INPUT_SUFFIX}{_sep(call)}", layer0, "resid"))
        for i, key in enumerate(stack.blocks):
            if albert:
                attn, mlp = ALBERT_SUBLAYERS
            else:
                attn, mlp, _ = sublayers(model.get_submodule(key.partition(CALL_SEPARATOR)[0]))
            layer = layer0 + i + 1
            if attn:
                points.append(HookPoint(f"{p}blocks.{i}.attn_out", _with_call(key, attn), layer, "attn"))
            cross = None if albert else cross_attention(model.get_submodule(key))
            if cross:
                points.append(HookPoint(f"{p}blocks.{i}.cross_attn_out", _with_call(key, cross), layer,
                                        "cross_attn"))
            if mlp:
                points.append(HookPoint(f"{p}blocks.{i}.mlp_out", _with_call(key, mlp), layer, "mlp"))
            points.append(HookPoint(f"{p}blocks.{i}.resid_post", key, layer, "resid"))
        layer0 += len(stack.blocks) + 1
    return points


def _sep(call: str) -> str:
    return f"{CALL_SEPARATOR}{call}" if call else ""


def sublayer_notes(model: nn.Module) -> list[str]:
    """Why some ``attn_out`` / ``mlp_out`` hook points are missing.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    list of str
        One note per distinct reason; empty when none are missing.
    """
    notes: list[str] = []
    for stack in block_lists(model):
        for key in stack.blocks:
            notes += [n for n in sublayers(model.get_submodule(key.partition(CALL_SEPARATOR)[0]))[2]
                      if n not in notes]
    return notes


def _first_block_children(model: nn.Module) -> list[str]:
    stacks = block_lists(model)
    if not stacks:
        return []
    block = model.get_submodule(stacks[0].blocks[0].partition(CALL_SEPARATOR)[0])
    return [name for name, _ in block.named_children()]


def _existing(module: nn.Module, name: str) -> str | None:
    try:
        module.get_submodule(name)
    except AttributeError:
        return None
    return name


def residual_stream(model: nn.Module) -> list[HookPoint]:
    """``embed`` and every ``blocks.{i}.resid_post``: the residual stream at every layer.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    list of HookPoint
        In forward order; empty for models without blocks.

    Raises
    ------
    ProbekitError
        See :func:`block_lists`.
    """
    return [p for p in hook_points(model) if p.kind == "resid"]


def stage_outputs(model: nn.Module) -> list[HookPoint]:
    """The hook points of a model without a block list (CNNs such as ResNet).

    The outputs of the root's direct children, except a final ``nn.Linear`` classifier;
    ``layer`` = child index. This is what the ``resid`` keyword means for such models.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    list of HookPoint
        Of kind ``"stage"``.

    Raises
    ------
    ProbekitError
        An image classifier of an architecture probekit does not know
        (:func:`probekit.extract.vision_points.refuse_unknown_vision`).
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
    whole residual stream; for models without blocks, :func:`stage_outputs`), ``attn`` or
    ``mlp``; (2) a hook point name or glob (``blocks.*.resid_post``); (3) a module name or
    glob (``model.layers.*``), recorded at that module's output (``:input`` suffix for
    its input). Module-level points get ``layer`` = their position among the chosen
    modules (0, 1, ...), unless the module is a block, whose layer is its block index + 1.

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    patterns : list of str
        Keywords, hook point names / globs, module names / globs.

    Returns
    -------
    list of HookPoint
        Without duplicates, in forward order.

    Raises
    ------
    ProbekitError
        A pattern that matches neither a hook point nor a module (closest names listed),
        or ``attn`` / ``mlp`` for a model that has no such hook points (the reason given).
    """
    points = hook_points(model)
    by_module = {p.module: p for p in points}
    kinds = {"resid": "resid", "residual": "resid", "attn": "attn", "mlp": "mlp"}
    chosen: list[HookPoint] = []
    module_patterns: list[str] = []
    for pattern in patterns:
        if pattern in kinds and points:
            hits = [p for p in points if p.kind == kinds[pattern]]
            if not hits:
                notes = sublayer_notes(model) or [
                    "no child of its blocks has a known attention / MLP name (children of the first "
                    f"block: {', '.join(_first_block_children(model))})"]
                raise ProbekitError(f"{type(model).__name__} has no {pattern}_out hook points: "
                                    f"{'; '.join(notes)}; use 'resid' or module names (`probekit list-modules`)")
            chosen += hits
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
        try:
            names = resolve_modules(model, module_patterns)
        except ProbekitError as error:
            raise _unknown_pattern(model, module_patterns, points, error) from None
        for index, name in enumerate(names):
            chosen.append(by_module.get(name) or HookPoint(name, name, index, "module"))
    seen, unique = set(), []
    order = {name: i for i, name in enumerate(_forward_order(model))}

    def key(point: HookPoint) -> tuple[int, int]:
        name, is_input, call = split_key(point.module)
        return (call or 0, order.get(name + (INPUT_SUFFIX if is_input else ""), 0))

    for p in sorted(chosen, key=key):
        if p.module not in seen:
            seen.add(p.module)
            unique.append(p)
    return unique


def _unknown_pattern(model: nn.Module, patterns: list[str], points: list[HookPoint],
                     error: ProbekitError) -> ProbekitError:
    """A pattern that is neither a hook point nor a module: suggest the closest of both."""
    for pattern in patterns:
        try:
            resolve_modules(model, pattern)
        except ProbekitError:
            point_names = [p.name for p in points]
            near_points = difflib.get_close_matches(pattern, point_names, n=3, cutoff=0.75)
            near_modules = closest(pattern, module_names(model), n=5)
            hint = (f"closest hook points: {', '.join(near_points)}; " if near_points else "")
            return ProbekitError(
                f"{pattern!r} matches no module and no hook point of {type(model).__name__}; {hint}"
                f"closest module names: {', '.join(near_modules)} (`probekit list-modules` lists them all)")
    return error


def _forward_order(model: nn.Module) -> list[str]:
    order = []
    for name in module_names(model):
        order += [name + INPUT_SUFFIX, name]
    return order
