"""Layouts of vision hook points: channels-last pooling, layouts of any module, extract() end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from probekit.concepts import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.hook_points import hook_points, resolve_hook_points
from probekit.extract.pooling import pool_spatial
from probekit.extract.recorder import ActivationRecorder
from probekit.extract.runner import ExtractionConfig, extract
from probekit.extract.vision_points import module_layout, vision_hook_points
from probekit.models.base import LoadedModel
from probekit.models.vision import ImagePreprocess, load_vision_model


@pytest.fixture(scope="module")
def tiny_swin():
    from torchvision.models.swin_transformer import SwinTransformer

    torch.manual_seed(0)
    return SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 1], num_heads=[1, 1], window_size=[2, 2],
                           num_classes=3).eval()


@pytest.fixture(scope="module")
def tiny_convnext():
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt

    torch.manual_seed(0)
    return ConvNeXt([CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 1)], num_classes=3).eval()


def test_channels_last_pooling_equals_channels_first_pooling_of_the_permuted_map():
    x = torch.randn(3, 5, 4, 7)  # (batch, H, W, C)
    cf = x.permute(0, 3, 1, 2)
    for method in ("mean", "max", "flatten"):
        torch.testing.assert_close(pool_spatial(x, method, layout="channels_last"), pool_spatial(cf, method))
    assert pool_spatial(x, "mean", layout="channels_last").shape == (3, 7)
    assert pool_spatial(cf, "mean", layout="channels_first").shape == (3, 7)
    tokens = torch.randn(2, 6, 4)
    torch.testing.assert_close(pool_spatial(tokens, "cls", layout="tokens"), tokens[:, 0])
    torch.testing.assert_close(pool_spatial(tokens, "mean", layout="channels_last"), tokens.mean(1))
    torch.testing.assert_close(pool_spatial(tokens, "mean", layout="channels_first"), tokens.mean(2))


def test_pooling_refuses_unknown_or_mismatched_layouts():
    with pytest.raises(ProbekitError, match="layout .* is not known"):
        pool_spatial(torch.zeros(2, 3, 4, 4), "mean", layout="unknown")
    assert pool_spatial(torch.ones(2, 3), "mean", layout="unknown").shape == (2, 3)  # nothing to pool
    with pytest.raises(ProbekitError, match="does not have layout 'tokens'"):
        pool_spatial(torch.zeros(2, 3, 4, 4), "mean", layout="tokens")
    with pytest.raises(ProbekitError, match="'cls' needs a token sequence"):
        pool_spatial(torch.zeros(2, 3, 4, 4), "cls", layout="channels_last")
    with pytest.raises(ProbekitError, match="channels_last"):
        pool_spatial(torch.zeros(2, 3), "mean", layout="channels-last")


def test_layout_of_any_module_follows_its_type(tiny_swin, tiny_convnext):
    assert module_layout(tiny_swin, "features.1.0") == "channels_last"  # a Swin block: (B, H, W, C)
    assert module_layout(tiny_swin, "features.1.0.mlp") == "channels_last"
    assert module_layout(tiny_swin, "features.0.0") == "channels_first"  # the patch-embedding conv
    assert module_layout(tiny_swin, "permute") == "channels_first" and module_layout(tiny_swin, "norm") == "channels_last"
    assert module_layout(tiny_convnext, "features.1.0.block.3") == "channels_last"  # nn.Linear inside CNBlock
    assert module_layout(tiny_convnext, "features.1.0.block.4") == "unknown"  # GELU: layout of whatever precedes
    assert module_layout(tiny_convnext, "features.1") == "channels_first"
    assert module_layout(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), "1") is None  # not an image classifier


def test_layout_of_hf_convnext_modules():
    from transformers import ConvNextConfig, ConvNextForImageClassification

    model = ConvNextForImageClassification(ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2)).eval()
    layer = "convnext.encoder.stages.0.layers.0"
    assert module_layout(model, layer) == "channels_first"
    assert module_layout(model, f"{layer}.pwconv1") == "channels_last"  # nn.Linear on (B, H, W, C)
    assert module_layout(model, f"{layer}.layernorm") == "channels_last"  # data_format="channels_last"
    assert module_layout(model, f"{layer}.act") == "unknown"
    with ActivationRecorder(model, [layer, f"{layer}.pwconv1"]) as rec:
        acts = rec.run(pixel_values=torch.randn(2, 3, 32, 32))
    assert acts[layer].shape[1] == 8 and acts[f"{layer}.pwconv1"].shape[-1] == 32  # the layouts are real


def test_language_models_and_plain_modules_are_left_to_the_block_rules():
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt = GPT2LMHeadModel(GPT2Config(n_embd=16, n_layer=2, n_head=2, vocab_size=50, n_positions=16))
    assert vision_hook_points(gpt) is None
    assert [p.name for p in hook_points(gpt) if p.kind == "resid"][:2] == ["embed", "blocks.0.resid_post"]
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2))
    assert vision_hook_points(cnn) is None
    assert [p.name for p in resolve_hook_points(cnn, ["resid"])] == ["0", "1", "2"]


def _image_folder(folder, n=4):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (40, 44 + i, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_extract_stores_swin_stage_channels_and_refuses_an_unknown_layout(tiny_swin, tiny_convnext, tmp_path):
    paths = _image_folder(tmp_path)
    dataset = ConceptDataset(paths, [0, 1, 0, 1], "binary")
    preprocess = ImagePreprocess(resize=32, crop=32)
    loaded = LoadedModel(model=tiny_swin, name="tiny-swin", kind="image-classifier", preprocess=preprocess,
                         weights_hash="tiny-swin-seed0", info={"input_name": "x"})
    store, points = extract(loaded, dataset, ExtractionConfig(modules=["resid", "features.1.0"], batch_size=2),
                            tmp_path / "store", progress=False)
    assert [p.name for p in points] == ["features.0", "features.1", "features.1.0", "features.3", "avgpool"]
    pixels = torch.stack([preprocess(Image.open(p)) for p in paths])
    with torch.no_grad():
        last = tiny_swin.features(pixels)  # (B, H, W, 16), computed without hooks
    assert tuple(last.shape) == (4, 4, 4, 16)
    np.testing.assert_allclose(store.numpy("features.3"), last.mean((1, 2)).numpy(), rtol=1e-5, atol=1e-6)
    assert [store.numpy(n).shape[1] for n in ("features.0", "features.1", "features.1.0", "avgpool")] == [8, 8, 8, 16]
    conv = LoadedModel(model=tiny_convnext, name="tiny-convnext", kind="image-classifier", preprocess=preprocess,
                       weights_hash="tiny-convnext-seed0", info={"input_name": "x"})
    with pytest.raises(ProbekitError, match=r"shape \(2, 8, 8, 32\).*layout .* is not known for module 'features.1.0.block.4'"):
        extract(conv, dataset, ExtractionConfig(modules=["features.1.0.block.4"], batch_size=2), tmp_path / "bad",
                progress=False)


def test_hf_folder_without_architectures_loads_the_plain_classifier(tmp_path):
    from transformers import DeiTConfig, DeiTForImageClassification

    torch.manual_seed(0)
    config = DeiTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                        image_size=32, patch_size=8, num_labels=3)
    original = DeiTForImageClassification(config).eval()
    original.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    saved.pop("architectures")
    (tmp_path / "config.json").write_text(json.dumps(saved))
    with pytest.warns(UserWarning, match="no image processor"):
        loaded = load_vision_model(str(tmp_path))
    assert type(loaded.model) is DeiTForImageClassification
    assert torch.equal(loaded.model.classifier.weight, original.classifier.weight)
    with pytest.warns(UserWarning):
        assert type(load_vision_model(str(tmp_path), random_init=True).model) is DeiTForImageClassification


def test_list_modules_shows_vision_hook_points_with_their_shapes(tiny_swin):
    from probekit.extract.inspect import describe_modules

    loaded = LoadedModel(model=tiny_swin, name="tiny-swin", kind="image-classifier",
                         preprocess=ImagePreprocess(resize=32, crop=32), info={"input_name": "x"})
    lines = describe_modules(loaded)
    row = next(line for line in lines if line.startswith("features.3 "))
    assert "(1, 4, 4, 16)" in row and lines[0].startswith("# hook points")
