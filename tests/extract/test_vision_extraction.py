"""Hooked extraction on image classifiers: logits unchanged, penultimate features exact."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from probekit.concepts import ConceptDataset
from probekit.extract.recorder import ActivationRecorder
from probekit.extract.runner import ExtractionConfig, encode_images, extract
from probekit.models import load_model


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 256, (48 + i, 56, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    import torchvision

    torch.manual_seed(1)
    model = torchvision.models.resnet18(weights=None).eval()
    path = tmp_path_factory.mktemp("resnet") / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return load_model("torchvision:resnet18", weights=str(path))


@pytest.fixture(scope="module")
def tiny_vit(tmp_path_factory):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(2)
    config = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                       image_size=32, patch_size=8, num_labels=5)
    folder = tmp_path_factory.mktemp("vit")
    ViTForImageClassification(config).eval().save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return load_model(str(folder))


def _logits(loaded, batch):
    with torch.no_grad():
        out = loaded.model(**batch)
    return out if isinstance(out, torch.Tensor) else out.logits


def test_resnet_hooks_leave_logits_bit_identical_and_features_exact(resnet18, image_folder, tmp_path):
    batch = encode_images(resnet18, image_folder)
    plain = _logits(resnet18, batch)
    with ActivationRecorder(resnet18.model, ["avgpool", "layer3"]):
        hooked = _logits(resnet18, batch)
    assert torch.equal(plain, hooked)
    dataset = ConceptDataset(image_folder, [0, 1] * 3, "binary")
    store, points = extract(resnet18, dataset, ExtractionConfig(modules=["avgpool"], batch_size=4), tmp_path,
                            progress=False)
    pooled = {}
    handle = resnet18.model.fc.register_forward_pre_hook(lambda m, args: pooled.setdefault("x", args[0]))
    try:
        _logits(resnet18, batch)
    finally:
        handle.remove()
    np.testing.assert_allclose(store.numpy("avgpool"), pooled["x"].numpy(), rtol=0, atol=1e-6)


def test_resid_keyword_on_a_cnn_gives_stage_outputs(resnet18):
    from probekit.extract.hook_points import resolve_hook_points

    names = [p.name for p in resolve_hook_points(resnet18.model, ["resid"])]
    assert names[-2:] == ["layer4", "avgpool"] and "fc" not in names


def test_vit_cls_features_equal_the_classifier_input(tiny_vit, image_folder, tmp_path):
    batch = encode_images(tiny_vit, image_folder)
    plain = _logits(tiny_vit, batch)
    with ActivationRecorder(tiny_vit.model, ["vit.layers.*"]):
        assert torch.equal(plain, _logits(tiny_vit, batch))
    dataset = ConceptDataset(image_folder, [0, 1] * 3, "binary")
    store, _ = extract(tiny_vit, dataset, ExtractionConfig(modules=["vit.layernorm"], pooling="cls", batch_size=4),
                       tmp_path, progress=False)
    with torch.no_grad():
        reference = tiny_vit.model.vit(**batch).last_hidden_state[:, 0]
    np.testing.assert_allclose(store.numpy("vit.layernorm"), reference.numpy(), rtol=0, atol=1e-6)
    assert torch.allclose(tiny_vit.model.classifier(reference), plain, atol=1e-6)
