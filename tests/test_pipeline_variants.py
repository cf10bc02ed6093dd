"""Which variants a probe run extracts: the model's adapter adds its input baselines."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from probekit.config import ModelConfig, RunConfig
from probekit.extract import ExtractionConfig
from probekit.models import load_model
from probekit.pipeline import _variants


def test_image_models_get_random_init_and_pixel_projection_text_models_do_not(tiny_models):
    config = RunConfig(model=ModelConfig(name="torchvision:squeezenet1_1", weights="random"))
    image = load_model("torchvision:squeezenet1_1", weights="random")
    variants = _variants(config, image, ExtractionConfig(modules=["features.3"]), Path("out"))
    assert [(v, options.modules, folder.name) for v, _, options, folder in variants] == [
        ("pretrained", ["features.3"], "activations"), ("random-init", ["features.3"], "activations-random-init"),
        ("pixel-projection", ["projection"], "activations-pixel-projection")]
    assert variants[1][1].info["random_init"] and variants[2][1].info["architecture"] == "PixelProjection"
    assert [v for v, *_ in _variants(dataclasses.replace(config, baselines=False), image, ExtractionConfig(),
                                     Path("out"))] == ["pretrained"]
    text_config = RunConfig(model=ModelConfig(name=str(tiny_models["llama"])))
    text = load_model(str(tiny_models["llama"]))
    assert [v for v, *_ in _variants(text_config, text, ExtractionConfig(), Path("out"))] == ["pretrained"]
