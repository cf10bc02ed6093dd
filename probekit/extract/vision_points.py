"""Hook points of image classifiers: one per block (ViTs) or per stage (CNNs, Swin, MaxViT).

:func:`vision_hook_points` is what ``--modules resid`` means for an image classifier. The
points are found from the architecture (the model's class, or for Hugging Face models the
class of the stage/layer list), never from tensor sizes, and each carries the *layout* of
its output so that :func:`probekit.extract.pooling.pool_spatial` pools the right axes.

Names and layers
----------------
Isotropic transformers (torchvision ``VisionTransformer``; Hugging Face ViT, DeiT, BEiT,
Dinov2 and every model whose encoder is a list of ``*Layer`` modules)
    ``blocks.{i}.resid_post``: output of encoder layer ``i``, a token sequence
    ``(batch, tokens, d_model)``, ``layer = i + 1`` -- the same names as for language
    models. Exactly one point per encoder layer (no embedding point).
Hierarchical models (CNNs, Swin, MaxViT, Hugging Face ResNet / ConvNext / Swin / RegNet /
EfficientNet / MobileNetV2 ...)
    The hook point is named after the module it records (``layer3``, ``features.5``,
    ``convnext.encoder.stages.2``), so the name is also a valid ``--modules`` entry and
    matches ``probekit list-modules``; ``layer`` = position in forward order (0, 1, ...).
    The points are the stem, the end of every stage and the global pool that feeds the
    classifier (where the model has one as a module):

    ==================================  ==========================================================
    architecture                        points
    ==================================  ==========================================================
    ResNet / ResNeXt / Wide ResNet      ``conv1 bn1 relu maxpool layer1..layer4 avgpool``
    GoogLeNet, Inception3, ShuffleNetV2 the top-level modules (without aux heads, dropout, ``fc``)
    ConvNeXt                            ``features.0`` (stem), ``features.{1,3,5,7}`` (stages), ``avgpool``
    Swin / Swin V2                      ``features.0``, ``features.{1,3,5,7}`` (channels-last), ``avgpool``
    EfficientNet (v1, v2), MobileNet    every child of ``features``; ``avgpool`` where present
    RegNet                              ``stem``, ``trunk_output.block1..4``, ``avgpool``
    DenseNet                            ``features.pool0``, ``features.denseblock1..4``, ``features.norm5``
    VGG, AlexNet                        every ``MaxPool2d`` of ``features``, ``avgpool``
    SqueezeNet                          every ``MaxPool2d`` of ``features`` and its last module
    MNASNet                             ``layers.7`` (stem), ``layers.8..13`` (stacks), ``layers.16``
    MaxViT                              ``stem``, ``blocks.0..3``, ``classifier.0`` (global pool)
    HF ``*Stage`` lists (ResNet,        ``{base}.embed*`` (stem), ``{base}.encoder.stages.{i}``,
    ConvNext, RegNet)                   ``{base}.pooler`` or ``{base}.layernorm``
    HF Swin / Swinv2                    the stem, the last block of every stage
                                        (``{base}.encoder.layers.{i}.blocks.{-1}``: before the
                                        patch merging, width ``embed_dim * 2**i``), ``{base}.layernorm``
    HF EfficientNet, MobileNetV2        the stem, every block, the last top module, the pooler
    ==================================  ==========================================================

Layouts
-------
``channels_first`` ``(batch, channels, *spatial)``, ``channels_last`` ``(batch, *spatial,
channels)`` (torchvision Swin keeps ``(batch, H, W, C)`` throughout its ``features``),
``tokens`` ``(batch, tokens, d_model)``, ``flat`` ``(batch, features)``; ``unknown`` for a
module of a mixed-layout model whose layout cannot be told from its type (pooling such a
map is an error).

Errors
------
An image classifier whose architecture is not in the rules above gets no hook points, and
asking for ``resid`` on it raises :class:`~probekit.errors.ProbekitError` naming the
architecture and its top-level modules (:func:`refuse_unknown_vision`). Models that are not
image classifiers (language models, a user's ``nn.Sequential``) are left to the
language-model rules (:func:`vision_hook_points` returns ``None``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from torch import nn

from probekit.errors import ProbekitError
from probekit.extract.hook_points import HookPoint
from probekit.hooks import INPUT_SUFFIX

#: Layouts a :class:`VisionHookPoint` can carry (see the module docstring).
_CF, _CL, _TOK = "channels_first", "channels_last", "tokens"


@dataclass(frozen=True)
class VisionHookPoint(HookPoint):
    """A :class:`HookPoint` that also knows the layout of the tensor recorded there."""

    layout: str = _CF


# --------------------------------------------------------------------------- detection


def _torchvision_models():
    """``torchvision.models`` if the model could come from it (torchvision imported), else None."""
    if "torchvision" not in sys.modules:
        return None
    import torchvision.models as tvm

    return tvm


def _is_torchvision(model: nn.Module) -> bool:
    return type(model).__module__.startswith("torchvision.models")


def _is_hf_image_model(model: nn.Module) -> bool:
    if "transformers" not in sys.modules:
        return False
    from transformers import PreTrainedModel

    return isinstance(model, PreTrainedModel) and getattr(model, "main_input_name", None) == "pixel_values"


def is_image_classifier(model: nn.Module) -> bool:
    """Whether ``model`` is an image classifier probekit knows how to feed.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    bool
        True for torchvision models (their class lives in ``torchvision.models``) and
        Hugging Face models whose ``main_input_name`` is ``pixel_values``.
    """
    return _is_torchvision(model) or _is_hf_image_model(model)


def architecture_name(model: nn.Module) -> str:
    """The model's library and class, for messages.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    str
        ``"torchvision SwinTransformer"``, ``"transformers SwinForImageClassification"``,
        or ``"torch <class>"`` for anything else.
    """
    family = "torchvision" if _is_torchvision(model) else "transformers" if _is_hf_image_model(model) else "torch"
    return f"{family} {type(model).__name__}"


def _top_level(model: nn.Module) -> str:
    names = [f"{n} ({type(c).__name__})" for n, c in model.named_children()]
    return ", ".join(names) if names else "(none)"


# --------------------------------------------------------------------------- public API


def vision_hook_points(model: nn.Module) -> list[VisionHookPoint] | None:
    """The ``resid`` hook points of an image classifier, in forward order.

    Parameters
    ----------
    model:
        Any ``nn.Module``.

    Returns
    -------
    list of VisionHookPoint or None
        ``None`` when ``model`` is not a torchvision / Hugging Face image classifier (use
        the language-model rules); ``[]`` for an image classifier whose architecture is
        not known (then :func:`refuse_unknown_vision` explains); else at least one point
        per stage or block, kind ``"resid"``, with the layout of each output.
    """
    if _is_torchvision(model):
        return _torchvision_points(model)
    if _is_hf_image_model(model):
        return _huggingface_points(model)
    return None


def refuse_unknown_vision(model: nn.Module) -> None:
    """Raise for an image classifier without known stages; do nothing for other models.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Raises
    ------
    ProbekitError
        Naming the architecture and its top-level modules, and how to choose modules by name.
    """
    points = vision_hook_points(model)  # None: not an image classifier
    if points is None or points:
        return
    first = next(iter(dict(model.named_children())), "features")
    raise ProbekitError(
        f"cannot find the stages of {architecture_name(model)}: its architecture is not among the "
        f"vision models probekit knows; top-level modules: {_top_level(model)}. Choose modules by "
        f"name instead (e.g. --modules '{first}.*'; `probekit list-modules` lists them all)"
    )


def module_layout(model: nn.Module, name: str) -> str | None:
    """Layout of the tensor recorded at module ``name`` (a hook point module or any module).

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    name : str
        A module name (``:input`` suffix for its input).

    Returns
    -------
    str or None
        One of :data:`probekit.extract.pooling.POOLING_LAYOUTS`, or ``None`` for models
        outside the vision rules (pooling then keeps its convention: 3-D = tokens, 4-D
        and more = channels first).
    """
    points = vision_hook_points(model)
    if points is None:
        return None
    for p in points:
        if p.module == name:
            return p.layout
    mixed = _is_mixed_layout(model)
    if name.endswith(INPUT_SUFFIX):
        return "unknown" if mixed else None
    try:
        module = model.get_submodule(name)
    except AttributeError:
        return None
    by_type = _layout_by_type(module)
    if by_type is not None:
        return by_type
    tvm = _torchvision_models()
    if tvm is not None and isinstance(model, tvm.SwinTransformer) and name.split(".")[0] in ("features", "norm"):
        return _CL
    model_type = str(getattr(getattr(model, "config", None), "model_type", ""))
    if model_type in ("convnext", "convnextv2") and type(module).__name__.endswith(("Layer", "Stage", "Embeddings")):
        return _CF  # HF ConvNext permutes to channels-last only inside a layer, between dwconv and pwconv2
    return "unknown" if mixed else None


def point_layouts(model: nn.Module, points: list[HookPoint]) -> dict[str, str | None]:
    """The activation layout of every point an extraction records.

    Parameters
    ----------
    model : torch.nn.Module
    points : list of HookPoint

    Returns
    -------
    dict of str to str or None
        ``{point.module: layout}``: the point's own ``layout`` when it has one, else
        :func:`module_layout` (``"channels_first"``, ``"channels_last"``, ``"tokens"``,
        ``"unknown"`` or ``None`` for a flat ``(n_samples, d)`` output).
    """
    return {p.module: getattr(p, "layout", None) or module_layout(model, p.module) for p in points}


# --------------------------------------------------------------------------- layouts by type


def _layout_by_type(module: nn.Module) -> str | None:
    tvm = _torchvision_models()
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d,
                           nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return _CF
    if tvm is not None:
        from torchvision.models.convnext import LayerNorm2d
        from torchvision.ops.misc import Permute

        if isinstance(module, LayerNorm2d):
            return _CF
        if isinstance(module, Permute):
            dims = list(module.dims)
            return _CL if dims == [0, 2, 3, 1] else _CF if dims == [0, 3, 1, 2] else "unknown"
    if type(module) in (nn.Linear, nn.LayerNorm):
        return _CL  # act on the last axis: features last, whatever the rank
    if getattr(module, "data_format", None) in ("channels_first", "channels_last"):
        return str(module.data_format)  # HF ConvNext layer norms
    return None


def _is_mixed_layout(model: nn.Module) -> bool:
    """Models whose inner maps are channels-last somewhere (a 4-D map's layout is not implied)."""
    tvm = _torchvision_models()
    if tvm is not None:
        from torchvision.ops.misc import Permute

        mixed = tuple(getattr(tvm, n) for n in ("SwinTransformer", "ConvNeXt", "MaxVit") if hasattr(tvm, n))
        if isinstance(model, mixed):
            return True
        if any(isinstance(m, Permute) for m in model.modules()):
            return True
    if _is_hf_image_model(model):
        model_type = str(getattr(getattr(model, "config", None), "model_type", ""))
        return any(k in model_type for k in ("convnext", "swin", "dinat", "nat", "focalnet"))
    return False


# --------------------------------------------------------------------------- torchvision


def _points(entries: list[tuple[str, str]]) -> list[VisionHookPoint]:
    return [VisionHookPoint(name, name, i, "resid", layout) for i, (name, layout) in enumerate(entries)]


def _children(module: nn.Module, prefix: str) -> list[tuple[str, nn.Module]]:
    return [(f"{prefix}.{n}" if prefix else n, c) for n, c in module.named_children()]


def _root_except(model: nn.Module, skip: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(n, _CF) for n, c in model.named_children() if n not in skip and not isinstance(c, nn.Dropout)]


def _torchvision_points(model: nn.Module) -> list[VisionHookPoint]:
    tvm = _torchvision_models()
    rules = [
        ("VisionTransformer", _tv_vit),
        ("ResNet", lambda m: _points(_root_except(m, ("fc",)))),
        ("GoogLeNet", lambda m: _points(_root_except(m, ("fc", "aux1", "aux2")))),
        ("Inception3", lambda m: _points(_root_except(m, ("fc", "AuxLogits")))),
        ("ShuffleNetV2", lambda m: _points(_root_except(m, ("fc",)))),
        ("ConvNeXt", _tv_convnext),
        ("SwinTransformer", _tv_swin),
        ("EfficientNet", _tv_features_all),
        ("MobileNetV2", _tv_features_all),
        ("MobileNetV3", _tv_features_all),
        ("RegNet", lambda m: _points([("stem", _CF)] + [(n, _CF) for n, _ in _children(m.trunk_output, "trunk_output")]
                                     + [("avgpool", _CF)])),
        ("DenseNet", _tv_densenet),
        ("VGG", _tv_pools),
        ("AlexNet", _tv_pools),
        ("SqueezeNet", _tv_squeezenet),
        ("MNASNet", _tv_mnasnet),
        ("MaxVit", lambda m: _points([("stem", _CF)] + [(n, _CF) for n, _ in _children(m.blocks, "blocks")]
                                     + [("classifier.0", _CF)])),
    ]
    rules = [(getattr(tvm, name), rule) for name, rule in rules if isinstance(getattr(tvm, name, None), type)]
    for cls, rule in rules:
        if isinstance(model, cls):
            return rule(model)
    return []


def _tv_vit(model: nn.Module) -> list[VisionHookPoint]:
    layers = _children(model.encoder.layers, "encoder.layers")
    return [VisionHookPoint(f"blocks.{i}.resid_post", name, i + 1, "resid", _TOK) for i, (name, _) in enumerate(layers)]


def _tv_convnext(model: nn.Module) -> list[VisionHookPoint]:
    from torchvision.models.convnext import CNBlock

    features = _children(model.features, "features")
    stages = [n for n, c in features[1:] if len(c) and all(isinstance(b, CNBlock) for b in c)]
    return _points([(features[0][0], _CF)] + [(n, _CF) for n in stages] + [("avgpool", _CF)])


def _tv_swin(model: nn.Module) -> list[VisionHookPoint]:
    from torchvision.models.swin_transformer import PatchMerging, PatchMergingV2

    features = _children(model.features, "features")
    keep = [features[0][0]] + [n for n, c in features[1:] if not isinstance(c, (PatchMerging, PatchMergingV2))]
    return _points([(n, _CL) for n in keep] + [("avgpool", _CF)])


def _tv_features_all(model: nn.Module) -> list[VisionHookPoint]:
    entries = [(n, _CF) for n, _ in _children(model.features, "features")]
    if isinstance(getattr(model, "avgpool", None), nn.Module):
        entries.append(("avgpool", _CF))
    return _points(entries)


def _tv_densenet(model: nn.Module) -> list[VisionHookPoint]:
    keep = [n for n, _ in _children(model.features, "features")
            if n.split(".")[-1] in ("pool0", "norm5") or n.split(".")[-1].startswith("denseblock")]
    return _points([(n, _CF) for n in keep])


def _tv_pools(model: nn.Module) -> list[VisionHookPoint]:
    pools = [n for n, c in _children(model.features, "features") if isinstance(c, nn.MaxPool2d)]
    return _points([(n, _CF) for n in pools] + [("avgpool", _CF)])


def _tv_squeezenet(model: nn.Module) -> list[VisionHookPoint]:
    features = _children(model.features, "features")
    keep = [n for n, c in features[:-1] if isinstance(c, nn.MaxPool2d)] + [features[-1][0]]
    return _points([(n, _CF) for n in keep])


def _tv_mnasnet(model: nn.Module) -> list[VisionHookPoint]:
    layers = _children(model.layers, "layers")
    stacks = [i for i, (_, c) in enumerate(layers) if isinstance(c, nn.Sequential)]
    if not stacks:
        return []
    keep = [layers[stacks[0] - 1][0]] + [layers[i][0] for i in stacks] + [layers[-1][0]]
    return _points([(n, _CF) for n in keep])


# --------------------------------------------------------------------------- Hugging Face

_LIST_NAMES = ("layers", "layer", "stages", "blocks")
_STEM_NAMES = ("embeddings", "embedder", "conv_stem")
#: Hugging Face model types with hierarchical (stage / block) lists that these rules cover.
HF_HIERARCHICAL = ("resnet", "convnext", "convnextv2", "regnet", "efficientnet", "mobilenet_v1", "mobilenet_v2",
                   "bit", "swin", "swinv2", "donut-swin")
_HF_TOKENS = ("swin", "swinv2", "donut-swin")


def _hf_block_list(base: nn.Module) -> tuple[str, str, nn.Module] | None:
    """``(holder, attribute, list)``: the one list of layers/stages/blocks, on the base model or its ``encoder``."""
    found = []
    for holder_name in ("", "encoder"):
        holder = base if not holder_name else base._modules.get(holder_name)
        if not isinstance(holder, nn.Module):
            continue
        for name in _LIST_NAMES:
            child = holder._modules.get(name)
            if isinstance(child, (nn.ModuleList, nn.Sequential)) and len(child):
                found.append((holder_name, name, child))
    return found[0] if len(found) == 1 else None


def _huggingface_points(model: nn.Module) -> list[VisionHookPoint]:
    prefix = getattr(model, "base_model_prefix", "")
    base = model._modules.get(prefix) if prefix else None
    if not isinstance(base, nn.Module):
        base, prefix = model, ""
    found = _hf_block_list(base)
    if found is None:
        return []
    holder, attr, blocks = found
    kinds = {type(b).__name__ for b in blocks}
    if len(kinds) != 1:
        return []
    kind = kinds.pop()

    def join(*parts: str) -> str:
        return ".".join(p for p in (prefix, *parts) if p)

    list_name = join(holder, attr)
    model_type = str(getattr(getattr(model, "config", None), "model_type", ""))
    if model_type not in HF_HIERARCHICAL:
        if kind.endswith("Layer") and "Conv" not in kind:  # ViT, DeiT, BEiT, Dinov2, ...: token sequences
            return [VisionHookPoint(f"blocks.{i}.resid_post", f"{list_name}.{i}", i + 1, "resid", _TOK)
                    for i in range(len(blocks))]
        return []
    tokens = model_type in _HF_TOKENS
    stem = next((join(n) for n in _STEM_NAMES if isinstance(base._modules.get(n), nn.Module)), None)
    entries = [(stem, _TOK if tokens else _CF)] if stem else []
    if tokens:  # Swin: the last block of each stage, before its patch merging
        if not all(isinstance(getattr(b, "blocks", None), nn.ModuleList) for b in blocks):
            return []
        entries += [(f"{list_name}.{i}.blocks.{len(b.blocks) - 1}", _TOK) for i, b in enumerate(blocks)]
    else:
        entries += [(f"{list_name}.{i}", _CF) for i in range(len(blocks))]
    return _points(entries + _hf_tail(base, join, holder, attr))


_HEAD_NAMES = ("pooler", "layernorm", "dropout")


def _hf_tail(base: nn.Module, join, holder: str, attr: str) -> list[tuple[str, str]]:
    """The modules after the block list that feed the classifier: last top module, global pool or final norm."""
    tail: list[tuple[str, str]] = []
    holder_module = base._modules[holder] if holder else base
    names = list(holder_module._modules)
    rest = [n for n in names[names.index(attr) + 1:] if n not in _HEAD_NAMES
            and not isinstance(holder_module._modules[n], (nn.Dropout, nn.Identity))]
    if rest:
        tail.append((join(holder, rest[-1]), _CF))
    pooler, norm = base._modules.get("pooler"), base._modules.get("layernorm")
    if isinstance(pooler, (nn.AdaptiveAvgPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.MaxPool2d)):
        tail.append((join("pooler"), _CF))
    elif isinstance(norm, nn.Module) and not isinstance(norm, nn.Identity):
        tail.append((join("layernorm"), _layout_by_type(norm) or "unknown"))
    return tail
