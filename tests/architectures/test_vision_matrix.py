"""The vision architecture matrix: ``resid`` hook points of 28 image classifiers, checked.

For every model (torchvision builders with ``weights=None``; Hugging Face classifiers from
tiny configs, saved to a folder and loaded with ``load_vision_model`` as a user would):

* the ``resid`` hook points are >= 2, all of kind ``resid``, in forward order (ViTs:
  exactly one per encoder layer);
* recording two random images and pooling with the point's layout (as ``extract`` does)
  gives one vector per image whose width is the stage's channel count -- numbers from
  the papers / torchvision docs / the config, not from the model -- and finite values;
* the pooled values equal an independent reference: the classifier's input captured
  with a plain torch hook (last point), and where the model offers one, every point
  against its own ``output_hidden_states`` / a hand-written forward / hooks on other modules.

``python tests/architectures/test_vision_matrix.py`` prints the support table (markdown).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch
from torch import nn

from probekit.errors import ProbekitError
from probekit.extract.hook_points import resolve_hook_points
from probekit.extract.pooling import pool_spatial
from probekit.extract.recorder import ActivationRecorder
from probekit.extract.vision_points import point_layouts


@dataclass
class Spec:
    """One matrix row: how to build the model, what to feed it, what to expect."""

    id: str
    build: Callable[[object], nn.Module]  # tmp folder -> model in eval mode
    side: int
    widths: list[int]  # expected pooled width of every point, in order
    head: str | None = None  # module whose input is the last point's pooled features
    per_point: str | None = None  # "vit" | "hidden_states" | "swin" | "densenet"
    hidden_offset: int = 0  # HF hidden_states[j] is point j + offset
    notes: str = ""
    hf: bool = False
    extra: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- builders


def _tv(name: str, **kwargs):
    def build(_tmp):
        import torchvision.models as tvm

        torch.manual_seed(0)
        return tvm.get_model(name, weights=None, **kwargs).eval()

    return build


def _tv_loaded(name: str):
    def build(_tmp):
        from probekit.models.vision import load_vision_model

        return load_vision_model(f"torchvision:{name}", seed=0).model

    return build


def _hf(config_name: str, model_name: str, **config):
    def build(tmp):
        import transformers
        from transformers import ViTImageProcessor

        from probekit.models.vision import load_vision_model

        torch.manual_seed(0)
        cfg = getattr(transformers, config_name)(num_labels=3, **config)
        folder = tmp / model_name
        getattr(transformers, model_name)(cfg).eval().save_pretrained(folder)
        ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
        return load_vision_model(str(folder)).model

    return build


_VIT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, image_size=32, patch_size=8)
_STAGES = dict(hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 2, 1])
_SWIN = dict(image_size=32, patch_size=4, embed_dim=8, depths=[1, 2, 1], num_heads=[1, 2, 2], window_size=2)

SPECS = [
    Spec("torchvision resnet18", _tv_loaded("resnet18"), 64, [64] * 5 + [128, 256, 512, 512], "fc",
         notes="`conv1 bn1 relu maxpool layer1..4 avgpool`; loaded with `load_vision_model`"),
    Spec("torchvision resnet50", _tv("resnet50"), 64, [64] * 4 + [256, 512, 1024, 2048, 2048], "fc",
         notes="as resnet18"),
    Spec("torchvision vit_b_16", _tv("vit_b_16", image_size=64), 64, [768] * 12, "encoder.ln", "vit",
         notes="`blocks.{i}.resid_post` = `encoder.layers.encoder_layer_{i}`, one per encoder layer"),
    Spec("torchvision convnext_tiny", _tv("convnext_tiny"), 64, [96, 96, 192, 384, 768, 768], "classifier",
         notes="stem `features.0`, stages `features.{1,3,5,7}`, `avgpool`"),
    Spec("torchvision swin_t", _tv("swin_t"), 64, [96, 96, 192, 384, 768, 768], "head",
         notes="`features.{0,1,3,5,7}` are channels-last (B, H, W, C), pooled over H, W; `avgpool`"),
    Spec("torchvision maxvit_t", _tv("maxvit_t"), 224, [64, 64, 128, 256, 512, 512], "classifier.2",
         notes="`stem`, `blocks.0..3`, `classifier.0` (global pool); needs 224 px"),
    Spec("torchvision efficientnet_b0", _tv("efficientnet_b0"), 64, [32, 16, 24, 40, 80, 112, 192, 320, 1280, 1280],
         "classifier", notes="every stage of `features`, `avgpool`"),
    Spec("torchvision mobilenet_v3_small", _tv("mobilenet_v3_small"), 64,
         [16, 16, 24, 24, 40, 40, 40, 48, 48, 96, 96, 96, 576, 576], "classifier",
         notes="every block of `features`, `avgpool`"),
    Spec("torchvision mobilenet_v2", _tv("mobilenet_v2"), 64,
         [32, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320, 1280], "classifier",
         notes="every block of `features` (pooled functionally after `features.18`)"),
    Spec("torchvision regnet_y_400mf", _tv("regnet_y_400mf"), 64, [32, 48, 104, 208, 440, 440], "fc",
         notes="`stem`, `trunk_output.block1..4`, `avgpool`"),
    Spec("torchvision densenet121", _tv("densenet121"), 64, [64, 256, 512, 1024, 1024, 1024], None, "densenet",
         notes="`features.pool0`, `features.denseblock1..4`, `features.norm5` (before the functional ReLU)"),
    Spec("torchvision vgg11", _tv("vgg11"), 64, [64, 128, 256, 512, 512, 512], "classifier",
         notes="every `MaxPool2d` of `features`, `avgpool`"),
    Spec("torchvision squeezenet1_0", _tv("squeezenet1_0"), 64, [96, 256, 512, 512], "classifier",
         notes="every `MaxPool2d` of `features` and its last Fire module"),
    Spec("torchvision shufflenet_v2_x0_5", _tv("shufflenet_v2_x0_5"), 64, [24, 24, 48, 96, 192, 1024], "fc",
         notes="top-level modules except `fc`"),
    Spec("torchvision mnasnet0_5", _tv("mnasnet0_5"), 64, [8, 16, 24, 40, 48, 96, 160, 1280], "classifier",
         notes="`layers.7` (stem), `layers.8..13` (stacks), `layers.16`"),
    Spec("torchvision googlenet", _tv("googlenet", aux_logits=False, init_weights=False), 64,
         [64, 64, 64, 192, 192, 256, 480, 480, 512, 512, 512, 528, 832, 832, 832, 1024, 1024], "fc",
         notes="top-level modules except aux heads, dropout, `fc`"),
    Spec("HF ViT", _hf("ViTConfig", "ViTForImageClassification", **_VIT), 32, [32, 32], None, "hidden_states",
         hidden_offset=-1, hf=True, notes="`blocks.{i}.resid_post` = `vit.layers.{i}`"),
    Spec("HF DeiT", _hf("DeiTConfig", "DeiTForImageClassification", **_VIT), 32, [32, 32], None, "hidden_states",
         hidden_offset=-1, hf=True, notes="`deit.layers.{i}`"),
    Spec("HF BEiT", _hf("BeitConfig", "BeitForImageClassification", **_VIT), 32, [32, 32], None, "hidden_states",
         hidden_offset=-1, hf=True, notes="`beit.layers.{i}`"),
    Spec("HF Dinov2", _hf("Dinov2Config", "Dinov2ForImageClassification", **_VIT), 32, [32, 32], None,
         "hidden_states", hidden_offset=-1, hf=True, notes="`dinov2.encoder.layer.{i}`"),
    Spec("HF ResNet", _hf("ResNetConfig", "ResNetForImageClassification", embedding_size=8, hidden_sizes=[8, 16, 24, 32],
                          depths=[1, 1, 1, 1]), 32, [8, 8, 16, 24, 32, 32], "classifier", "hidden_states",
         hf=True, notes="`resnet.embedder`, `resnet.encoder.stages.{i}`, `resnet.pooler`"),
    Spec("HF ConvNext", _hf("ConvNextConfig", "ConvNextForImageClassification", **_STAGES), 32, [8, 8, 16, 24, 32, 32],
         "classifier", "hidden_states", hf=True,
         notes="`convnext.embeddings`, `convnext.encoder.stages.{i}`, `convnext.layernorm` (pooled)"),
    Spec("HF ConvNextV2", _hf("ConvNextV2Config", "ConvNextV2ForImageClassification", **_STAGES), 32,
         [8, 8, 16, 24, 32, 32], "classifier", "hidden_states", hf=True, notes="as ConvNext"),
    Spec("HF RegNet", _hf("RegNetConfig", "RegNetForImageClassification", embedding_size=8, hidden_sizes=[8, 16, 24, 32],
                          depths=[1, 1, 1, 1], groups_width=8), 32, [8, 8, 16, 24, 32, 32], "classifier",
         "hidden_states", hf=True, notes="as HF ResNet"),
    Spec("HF Swin", _hf("SwinConfig", "SwinForImageClassification", **_SWIN), 32, [8, 8, 16, 32, 32], "classifier",
         "swin", hf=True, notes="`swin.embeddings`, last block of each stage (before patch merging), `swin.layernorm`"),
    Spec("HF Swinv2", _hf("Swinv2Config", "Swinv2ForImageClassification", **_SWIN), 32, [8, 8, 16, 32, 32],
         "classifier", "swin", hf=True, notes="as Swin"),
    Spec("HF EfficientNet", _hf("EfficientNetConfig", "EfficientNetForImageClassification", image_size=32,
                                width_coefficient=0.1, depth_coefficient=0.2, hidden_dim=128), 32,
         [8, 8, 8, 8, 8, 16, 24, 32, 128, 128], "classifier", "hidden_states", hf=True,
         notes="stem, every block, `encoder.top_activation`, `pooler`"),
    Spec("HF MobileNetV2", _hf("MobileNetV2Config", "MobileNetV2ForImageClassification", image_size=32,
                               depth_multiplier=0.35), 32,
         [8, 8, 8, 16, 16, 16, 24, 24, 24, 24, 32, 32, 32, 56, 56, 56, 112, 1280, 1280], "classifier",
         "hidden_states", hidden_offset=1, hf=True, notes="`conv_stem`, every block, `conv_1x1`, `pooler`"),
]
BY_ID = {s.id: s for s in SPECS}


# --------------------------------------------------------------------------- recording and references


def _inputs(spec: Spec, model: nn.Module) -> tuple[tuple, dict]:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, spec.side, spec.side, generator=generator)
    return ((), {"pixel_values": x}) if spec.hf else ((x,), {})


def record_pooled(model: nn.Module, args, kwargs, pooling: str = "mean"):
    """The ``resid`` points and their pooled values, recorded as ``extract`` does (pooling in the hook)."""
    points = resolve_hook_points(model, ["resid"])
    layouts = point_layouts(model, points)
    with ActivationRecorder(model, [p.module for p in points],
                            transform=lambda name, t: pool_spatial(t, pooling, layouts[name])) as rec:
        acts = rec.run(*args, **kwargs)
    return points, [acts[p.module] for p in points]


def _capture_inputs(model: nn.Module, names: list[str], args, kwargs) -> list[torch.Tensor]:
    """Inputs of modules ``names`` during a plain forward (torch hooks, not the recorder)."""
    seen: dict[str, torch.Tensor] = {}
    handles = [
        model.get_submodule(n).register_forward_pre_hook(
            lambda m, a, n=n: seen.__setitem__(n, (a[0][0] if isinstance(a[0], tuple) else a[0]).clone()))
        for n in names
    ]
    try:
        with torch.no_grad():
            model(*args, **kwargs)
    finally:
        for h in handles:
            h.remove()
    return [seen[n] for n in names]


def _channel_mean(t: torch.Tensor, channels: int) -> torch.Tensor:
    """Per-channel mean of a flattened channel-major input (B, C * spatial) or (B, C)."""
    return t.reshape(t.shape[0], channels, -1).mean(-1)


def references(spec: Spec, model: nn.Module, args, kwargs, n_points: int) -> dict[int, torch.Tensor]:
    """``{point index: expected pooled values}`` from sources independent of the recorder."""
    expected: dict[int, torch.Tensor] = {}
    if spec.head:
        (head_input,) = _capture_inputs(model, [spec.head], args, kwargs)
        if spec.per_point == "vit":
            head_input = head_input.mean(1)  # encoder.ln sees the last layer's tokens
        expected[n_points - 1] = _channel_mean(head_input, spec.widths[-1])
    with torch.no_grad():
        if spec.per_point == "vit":  # hand-written forward of torchvision's VisionTransformer
            x = model._process_input(args[0])
            x = torch.cat([model.class_token.expand(x.shape[0], -1, -1), x], dim=1) + model.encoder.pos_embedding
            for i, layer in enumerate(model.encoder.layers):
                x = layer(x)
                expected[i] = x.mean(1)
        elif spec.per_point == "densenet":
            expected[n_points - 1] = model.features(args[0]).mean((2, 3))
        elif spec.per_point == "hidden_states":
            hidden = model(**kwargs, output_hidden_states=True).hidden_states
            for j, h in enumerate(hidden):
                if 0 <= j + spec.hidden_offset < n_points:
                    expected[j + spec.hidden_offset] = h.mean(1) if h.ndim == 3 else h.mean((2, 3))
    if spec.per_point == "swin":  # before patch merging = input of each stage's downsample / final norm
        prefix = model.base_model_prefix
        stages = model.get_submodule(f"{prefix}.encoder.layers")
        names = [f"{prefix}.encoder.layers.{i}.downsample" for i in range(len(stages) - 1)] + [f"{prefix}.layernorm"]
        for i, t in enumerate(_capture_inputs(model, names, args, kwargs)):
            expected[i + 1] = t.mean(1)
    return expected


# --------------------------------------------------------------------------- the matrix


#: Models that more than one test uses stay built; the others are freed after their test.
_REUSED = ("torchvision vit_b_16", "torchvision swin_t")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Models built at most once for this module, on first use."""
    cache: dict[str, nn.Module] = {}
    folder = tmp_path_factory.mktemp("vision-matrix")

    def get(spec_id: str) -> nn.Module:
        model = cache.get(spec_id) or BY_ID[spec_id].build(folder)
        if spec_id in _REUSED:
            cache[spec_id] = model
        return model

    return get


def test_matrix_has_at_least_twenty_classifiers():
    assert len(SPECS) >= 20 and len({s.id for s in SPECS}) == len(SPECS)


@pytest.mark.parametrize("spec_id", [s.id for s in SPECS])
def test_resid_points_have_stage_widths_and_reproduce_references(spec_id, built):
    spec = BY_ID[spec_id]
    model = built(spec_id)
    args, kwargs = _inputs(spec, model)
    points, pooled = record_pooled(model, args, kwargs)
    assert len(points) >= 2 and {p.kind for p in points} == {"resid"}
    assert [p.layer for p in points] == sorted(p.layer for p in points) and len({p.name for p in points}) == len(points)
    assert [tuple(v.shape) for v in pooled] == [(2, w) for w in spec.widths], [p.name for p in points]
    assert all(bool(torch.isfinite(v).all()) for v in pooled)
    expected = references(spec, model, args, kwargs, len(points))
    assert n_references(spec, len(points)) <= len(expected)
    for index, reference in expected.items():
        torch.testing.assert_close(pooled[index], reference, rtol=1e-4, atol=1e-5,
                                   msg=lambda m, i=index: f"{points[i].name}: {m}")


def n_references(spec: Spec, n_points: int) -> int:
    """How many points at least must have a reference (so that a lost reference fails the test)."""
    if spec.per_point == "vit":
        return n_points
    if spec.per_point == "hidden_states":
        return n_points - 1 if spec.hidden_offset == 0 else n_points - (2 if spec.hidden_offset > 0 else 0)
    if spec.per_point == "swin":
        return n_points - 1
    return 1


def test_vit_gives_exactly_one_point_per_encoder_layer(built):
    model = built("torchvision vit_b_16")
    points = resolve_hook_points(model, ["resid"])
    layers = [n for n, _ in model.encoder.layers.named_children()]
    assert [p.module for p in points] == [f"encoder.layers.{n}" for n in layers] and len(layers) == 12
    assert [p.name for p in points] == [f"blocks.{i}.resid_post" for i in range(12)]
    assert [p.layer for p in points] == list(range(1, 13))


def test_swin_t_stage_widths_are_the_channel_counts_not_the_map_side(built):
    model = built("torchvision swin_t")
    args, kwargs = _inputs(BY_ID["torchvision swin_t"], model)
    points, pooled = record_pooled(model, args, kwargs)
    stages = {p.module: v.shape[1] for p, v in zip(points, pooled)}
    assert [stages[f"features.{i}"] for i in (1, 3, 5, 7)] == [96, 192, 384, 768]
    # the old convention (channels first) would have averaged over W and C: width = H = 2 for the last stage
    last = model.features(args[0])
    assert tuple(last.shape) == (2, 2, 2, 768) and pool_spatial(last, "mean").shape[1] == 2
    torch.testing.assert_close(pooled[[p.module for p in points].index("features.7")], last.mean((1, 2)))


def test_unknown_image_classifier_is_refused_naming_its_modules(tmp_path):
    from transformers import MobileViTConfig, MobileViTForImageClassification

    torch.manual_seed(0)
    model = MobileViTForImageClassification(MobileViTConfig(
        image_size=32, hidden_sizes=[16, 16, 16], neck_hidden_sizes=[8, 8, 8, 8, 8, 8, 16], num_labels=3)).eval()
    with pytest.raises(ProbekitError, match=r"transformers MobileViTForImageClassification.*top-level modules: "
                                            r"mobilevit \(MobileViTModel\).*--modules"):
        resolve_hook_points(model, ["resid"])
    names = [p.name for p in resolve_hook_points(model, ["mobilevit.encoder.layer.*"])]
    assert names[0] == "mobilevit.encoder.layer.0" and len(names) == 5  # modules by name still work


def test_torchvision_video_model_is_refused():
    import torchvision.models as tvm

    model = tvm.video.r3d_18(weights=None).eval()
    with pytest.raises(ProbekitError, match=r"torchvision VideoResNet.*stem \(BasicStem\).*layer1"):
        resolve_hook_points(model, ["resid"])


# --------------------------------------------------------------------------- support table


def support_table() -> str:
    """The matrix as a markdown table (architecture, hook points, notes); builds every model."""
    import tempfile
    from pathlib import Path

    rows = ["| architecture | `resid` hook points | pooled widths | values checked against | notes |",
            "|---|---|---|---|---|"]
    checks = {"vit": "hand-written encoder forward (every layer)", "hidden_states": "`output_hidden_states`",
              "swin": "inputs of each stage's patch merging", "densenet": "`model.features(x)`"}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in SPECS:
            model = spec.build(Path(tmp))
            points = resolve_hook_points(model, ["resid"])
            widths = ", ".join(str(w) for w in spec.widths)
            checked = [c for c in (checks.get(spec.per_point or ""), f"input of `{spec.head}`" if spec.head else None) if c]
            rows.append(f"| {spec.id} | {len(points)} | {widths} | {'; '.join(checked)} | {spec.notes} |")
    return "\n".join(rows)


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.stdout.write(support_table() + "\n")
