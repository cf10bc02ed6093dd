"""Steering during cached generation on architectures the older tests did not use."""

from __future__ import annotations

import pytest
import torch

from probekit.errors import ProbekitError
from probekit.extract.recorder import ActivationRecorder
from probekit.models import wrap_model
from probekit.steering import steer
from probekit.steering.hooks import forward_offset
from probekit.steering.selftest import steering_deltas
from tests.architectures.tiny_lms import SENTENCES, tiny_lm


@pytest.mark.parametrize("arch", ["qwen2", "mistral"])
@pytest.mark.parametrize("use_cache", [True, False])
def test_vector_lands_exactly_at_absolute_positions_during_generate(arch, use_cache):
    model, tokenizer, kind = tiny_lm(arch)
    loaded = wrap_model(model, tokenizer, kind=kind)
    texts = SENTENCES[:3]  # of different lengths: a left-padded batch
    deltas, vector, prompt = steering_deltas(loaded, "model.layers.1", [2, prompt_pos := 0], texts, use_cache)
    # positions [2, 0]: token 2 of the prompt and token 0 (a pad for the shorter rows) -
    # both inside the prefill; then nothing in later passes
    assert len(deltas) == 3
    expected = torch.zeros_like(deltas[0])
    expected[:, [prompt_pos, 2]] = vector
    assert torch.allclose(deltas[0], expected, atol=1e-6)
    for step, delta in enumerate(deltas[1:], start=1):
        seq = delta.shape[1]
        assert seq == (1 if use_cache else prompt + step)
        if use_cache:
            assert delta.abs().max() == 0
        else:  # the whole sequence again: the same two absolute positions
            assert torch.allclose(delta[:, [0, 2]], vector.expand(len(texts), 2, -1), atol=1e-6)


@pytest.mark.parametrize("arch", ["qwen2", "mistral"])
def test_generated_position_is_steered_once_with_a_cache(arch):
    model, tokenizer, kind = tiny_lm(arch)
    loaded = wrap_model(model, tokenizer, kind=kind)
    probe = steering_deltas(loaded, "model.layers.0", [10**6], SENTENCES[:2], True)
    prompt = probe[2]
    deltas, vector, _ = steering_deltas(loaded, "model.layers.0", [prompt + 1], SENTENCES[:2], True)
    hits = [(step, int(pos)) for step, d in enumerate(deltas) for pos in torch.nonzero(d.abs().amax((0, 2)))]
    assert hits == [(2, 0)]  # pass 2 is the one whose single token sits at position prompt + 1
    assert torch.allclose(deltas[2][:, 0], vector.expand(2, -1), atol=1e-6)


def test_offset_is_read_from_a_cache_under_any_keyword():
    class Cache:
        def get_seq_length(self):
            return 7

    ids = torch.zeros(1, 1, dtype=torch.long)
    assert forward_offset((), {"input_ids": ids, "some_new_name": Cache()}) == 7
    assert forward_offset((), {"input_ids": ids, "attention_mask": torch.ones(1, 5)}) == 4
    assert forward_offset((), {"input_ids": ids, "cache_position": torch.tensor([3])}) == 3


def test_hook_point_names_steer_and_record():
    model, tokenizer, kind = tiny_lm("llama")
    ids = tokenizer(SENTENCES[:1], return_tensors="pt")["input_ids"]
    vector = torch.ones(model.config.hidden_size)
    with ActivationRecorder(model, ["blocks.1.resid_post"]) as rec:
        base = rec.run(input_ids=ids)["blocks.1.resid_post"]
    with steer(model, {"blocks.1.resid_post": vector}):
        with ActivationRecorder(model, ["model.layers.1"]) as rec:
            steered = rec.run(input_ids=ids)["model.layers.1"]
    assert torch.allclose(steered - base, vector.expand_as(base), atol=1e-6)


def test_glob_in_steer_is_a_clear_error():
    model, _, _ = tiny_lm("llama")
    with pytest.raises(ProbekitError, match="pattern matching 2 modules"):
        steer(model, {"model.layers.*": torch.ones(model.config.hidden_size)})


def test_reentering_an_active_recorder_is_refused():
    model, _, _ = tiny_lm("llama")
    recorder = ActivationRecorder(model, ["model.layers.0"])
    with recorder:
        with pytest.raises(ProbekitError, match="already active"):
            recorder.__enter__()
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()) == 0
