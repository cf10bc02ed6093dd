import pytest
import torch
from torch import nn

from probekit.errors import ProbekitError
from probekit.extract.recorder import ActivationRecorder, resolve_modules


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        self.head = nn.Linear(4, 2)
        self.head_calls = 0

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        self.head_calls += 1
        return self.head(x)


class TupleBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return (self.lin(x), "cache", None)


def _hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_glob_matches_direct_children_in_model_order():
    model = Toy()
    assert resolve_modules(model, "layers.*") == ["layers.0", "layers.1", "layers.2"]
    assert resolve_modules(model, ["head", "layers.1"]) == ["layers.1", "head"]
    assert resolve_modules(model, "layers.0:input") == ["layers.0:input"]


def test_unknown_pattern_lists_closest_names():
    with pytest.raises(ProbekitError) as info:
        resolve_modules(Toy(), "layer.*")
    assert "layers.0" in str(info.value)


def test_records_outputs_and_removes_hooks():
    model = Toy()
    x = torch.randn(2, 4)
    with ActivationRecorder(model, "layers.*") as rec:
        assert _hook_count(model) == 4  # one per layer + the root pre-hook that counts calls
        acts = rec.run(x)
    assert _hook_count(model) == 0
    expected = torch.relu(model.layers[0](x))  # layer output is pre-relu
    assert torch.allclose(acts["layers.0"], model.layers[0](x))
    assert not torch.allclose(acts["layers.0"], expected)


def test_hooks_removed_on_error():
    model = Toy()
    with pytest.raises(RuntimeError, match="boom"):
        with ActivationRecorder(model, "layers.*"):
            raise RuntimeError("boom")
    assert _hook_count(model) == 0


def test_tuple_outputs_reduce_to_first_tensor():
    model = nn.Sequential()
    model.add_module("block", TupleBlock())
    x = torch.randn(3, 4)
    with ActivationRecorder(model, "block") as rec:
        acts = rec.run(x)
    assert torch.equal(acts["block"], model.block.lin(x))


def test_stop_early_skips_later_modules():
    model = Toy()
    with ActivationRecorder(model, "layers.1", stop_early=True) as rec:
        acts = rec.run(torch.randn(2, 4))
    assert model.head_calls == 0 and "layers.1" in acts
    with ActivationRecorder(model, "layers.1", stop_early=False) as rec:
        rec.run(torch.randn(2, 4))
    assert model.head_calls == 1


def test_input_suffix_records_module_input():
    model = Toy()
    x = torch.randn(2, 4)
    with ActivationRecorder(model, ["layers.0:input", "layers.1:input"]) as rec:
        acts = rec.run(x)
    assert torch.equal(acts["layers.0:input"], x)
    assert torch.allclose(acts["layers.1:input"], torch.relu(model.layers[0](x)))
