"""Penultimate features through extract() and the store."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from probekit.concepts.dataset import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.penultimate import penultimate_features, penultimate_module
from probekit.models.base import LoadedModel
from probekit.models.pixels import pixel_projection_model


def test_penultimate_module_finds_pooling_layers_and_says_what_it_tried():
    net = nn.Sequential()
    net.add_module("features", nn.Conv2d(3, 4, 3))
    net.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
    assert penultimate_module(net) == "avgpool"
    with pytest.raises(ProbekitError, match="_avg_pooling, avgpool"):
        penultimate_module(nn.Sequential(nn.Linear(2, 2)))


def _preprocess(image):
    return torch.from_numpy(np.asarray(image.resize((16, 16)), dtype=np.float32) / 255.0).permute(2, 0, 1)


def test_features_equal_the_models_own_output_and_the_store_is_reused(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(5):
        p = tmp_path / f"im{i}.png"
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    like = LoadedModel(model=nn.Identity(), name="like", kind="image-classifier", preprocess=_preprocess)
    pixels = pixel_projection_model(like, dim=6, side=4, seed=1)
    data = ConceptDataset(name="imgs", inputs=paths, labels=np.array([0, 1, 0, 1, 0]), task="binary")
    feats = penultimate_features({"px": pixels}, data, tmp_path / "stores", batch_size=2)
    with torch.no_grad():
        expected = pixels.model(torch.stack([_preprocess(Image.open(p).convert("RGB")) for p in paths]))
    assert feats["px"].shape == (5, 6) and feats["px"].dtype == np.float64
    np.testing.assert_allclose(feats["px"], expected.double().numpy(), rtol=1e-5, atol=1e-6)  # float32 batches
    again = penultimate_features({"px": pixels}, data, tmp_path / "stores", batch_size=2)
    np.testing.assert_array_equal(again["px"], feats["px"])
    assert (tmp_path / "stores" / "px" / "manifest.json").is_file()
