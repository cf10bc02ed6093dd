"""``load_model(name, random_init=True)`` for language models: same architecture, config and
tokenizer; weights drawn at random with a fixed seed; a weights hash of its own."""

import pytest
import torch

from probekit.errors import ProbekitError
from probekit.models import load_model
from tests.conftest import build_tiny_model


@pytest.mark.parametrize("kind", ["llama", "bert"])
def test_random_init_language_model(tmp_path, kind):
    folder = str(build_tiny_model(kind, tmp_path / kind, seed=7))  # "pretrained": weights drawn with seed 7
    pretrained = load_model(folder)
    random = load_model(folder, random_init=True)
    again = load_model(folder, random_init=True)

    assert type(random.model) is type(pretrained.model) and random.kind == pretrained.kind
    assert random.model.config.to_dict() == pretrained.model.config.to_dict()
    assert random.tokenizer("a cat").input_ids == pretrained.tokenizer("a cat").input_ids
    state, reference = random.model.state_dict(), pretrained.model.state_dict()
    assert state.keys() == reference.keys()
    assert all(state[k].shape == reference[k].shape and state[k].dtype == reference[k].dtype for k in state)
    # the saved (pretrained) weights are not the random ones, every weight matrix differs
    matrices = [k for k, v in reference.items() if v.ndim == 2]
    assert matrices and all(not torch.equal(state[k], reference[k]) for k in matrices)
    # the same seed draws the same weights; another seed others
    assert all(torch.equal(state[k], again.model.state_dict()[k]) for k in state)
    assert random.weights_hash == again.weights_hash
    assert random.info["random_init"] is True and random.info["seed"] == 0
    assert pretrained.info["random_init"] is False and "random init (seed 0)" in random.source
    # independent reference: transformers' own initialisation after torch.manual_seed(7)
    # is what the folder holds, and what random_init with seed 7 draws; another seed, other weights
    seven = load_model(folder, random_init=True, seed=7)
    assert all(torch.equal(seven.model.state_dict()[k], reference[k]) for k in reference)
    assert len({pretrained.weights_hash, random.weights_hash, seven.weights_hash}) == 3


def test_random_init_leaves_the_global_rng_alone(tiny_model_dir):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    load_model(str(tiny_model_dir), random_init=True)
    assert torch.equal(torch.rand(3), expected)


def test_random_init_with_device_map_is_refused(tiny_model_dir):
    with pytest.raises(ProbekitError, match="device_map"):
        load_model(str(tiny_model_dir), random_init=True, device_map="auto")
