import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.steering import (
    Intervention,
    attention_head_sites,
    head_interventions,
    position_mask,
    split_heads,
    steer,
)

KINDS = ("llama", "gpt2", "gpt_neox")
EXPECTED_PROJ = {"llama": "model.layers.1.self_attn.o_proj", "gpt2": "transformer.h.1.attn.c_proj",
                 "gpt_neox": "gpt_neox.layers.1.attention.dense"}


@pytest.fixture(scope="module")
def models(tiny_models):
    from transformers import AutoModelForCausalLM

    out = {}
    for kind in KINDS:
        torch.manual_seed(0)
        out[kind] = AutoModelForCausalLM.from_pretrained(tiny_models[kind]).eval()
    return out


def _ids(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(100, 1000, (2, n), generator=g)


def _n_hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def _capture(module, store, inputs=False):
    if inputs:
        return module.register_forward_pre_hook(lambda m, a: store.append(a[0].detach().clone()))
    return module.register_forward_hook(lambda m, a, o: store.append((o[0] if isinstance(o, tuple) else o).detach().clone()))


@pytest.mark.parametrize("kind", KINDS)
def test_head_sites_are_the_attention_output_projections(models, kind):
    sites = attention_head_sites(models[kind])
    assert len(sites) == 3
    assert sites[1].module == EXPECTED_PROJ[kind]
    assert (sites[1].n_heads, sites[1].head_dim) == (4, 8)
    assert sites[1].recorder_key == EXPECTED_PROJ[kind] + ":input"


@pytest.mark.parametrize("kind", KINDS)
def test_head_steering_changes_only_chosen_head_and_positions(models, kind):
    model = models[kind]
    sites = attention_head_sites(model)
    proj = model.get_submodule(sites[1].module)
    ids = _ids()
    base_in, base_logits = [], None
    h = _capture(proj, base_in, inputs=True)
    with torch.no_grad():
        base_logits = model(input_ids=ids).logits
    h.remove()
    n_before = _n_hooks(model)
    vec = torch.arange(1.0, 9.0)
    ivs = head_interventions(sites, {(1, 2): vec}, positions=[3, 5])
    seen = []
    with steer(model, ivs):
        h = _capture(proj, seen, inputs=True)  # registered after the steering pre-hook: sees its result
        with torch.no_grad():
            logits = model(input_ids=ids).logits
        h.remove()
    delta = split_heads(seen[0] - base_in[0], 4)  # (batch, pos, head, head_dim)
    changed = delta.abs().amax(dim=-1) > 0
    expected = torch.zeros_like(changed)
    expected[:, [3, 5], 2] = True
    assert torch.equal(changed, expected)
    assert torch.allclose(delta[:, 3, 2], vec.expand(2, 8), atol=1e-6)
    # causal model: logits before the first steered position are untouched, later ones move
    assert torch.equal(logits[:, :3], base_logits[:, :3])
    assert (logits[:, 3:] - base_logits[:, 3:]).abs().max() > 0
    # removed on exit: same hook count, same outputs
    assert _n_hooks(model) == n_before
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, base_logits)


def test_hooks_are_removed_when_the_body_raises(models):
    model = models["llama"]
    n_before = _n_hooks(model)
    with pytest.raises(RuntimeError, match="boom"):
        with steer(model, {"model.layers.0": torch.ones(32)}):
            assert _n_hooks(model) > n_before
            raise RuntimeError("boom")
    assert _n_hooks(model) == n_before


def test_output_steering_with_mapping_and_per_example_vectors(models):
    model = models["gpt2"]
    block = model.get_submodule("transformer.h.0")
    ids = _ids()
    base, seen = [], []
    h = _capture(block, base)
    with torch.no_grad():
        model(input_ids=ids)
    h.remove()
    vecs = torch.stack([torch.full((32,), 1.0), torch.full((32,), -2.0)])
    with steer(model, {"transformer.h.0": vecs}, positions="last", scale=0.5):
        h = _capture(block, seen)
        with torch.no_grad():
            model(input_ids=ids)
        h.remove()
    delta = seen[0] - base[0]
    assert torch.allclose(delta[0, -1], torch.full((32,), 0.5))
    assert torch.allclose(delta[1, -1], torch.full((32,), -1.0))
    assert delta[:, :-1].abs().max() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_generate_with_kv_cache_steers_absolute_positions(models, kind):
    model = models[kind]
    name = {"llama": "model.layers.1", "gpt2": "transformer.h.1", "gpt_neox": "gpt_neox.layers.1"}[kind]
    block = model.get_submodule(name)
    ids = _ids(6)[:1]
    target = 7  # the 2nd generated token's position (prompt has 6 tokens)
    vec = torch.full((32,), 3.0)
    base, seen = [], []
    h = _capture(block, base)
    with torch.no_grad():
        g0 = model.generate(ids, max_new_tokens=4, do_sample=False, use_cache=True)
    h.remove()
    with steer(model, [Intervention(name, vec, positions=[target])]):
        h = _capture(block, seen)
        with torch.no_grad():
            model.generate(ids, max_new_tokens=4, do_sample=False, use_cache=True)
        h.remove()
    # forward calls: prompt (positions 0-5), then one token each: 6, 7, 8
    assert [t.shape[1] for t in seen[:4]] == [6, 1, 1, 1]
    assert torch.equal(seen[0], base[0]) and torch.equal(seen[1], base[1])  # positions 0..6 untouched
    assert torch.allclose(seen[2] - base[2], vec.view(1, 1, -1), atol=1e-5)  # position 7: exactly +vec
    assert g0.shape[1] == 10


def test_last_position_during_generation_is_every_new_token(models):
    model = models["llama"]
    block = model.get_submodule("model.layers.2")
    ids = _ids(5)[:1]
    seen = []
    with steer(model, {"model.layers.2": torch.ones(32)}, positions="last"):
        h = _capture(block, seen, inputs=False)
        with torch.no_grad():
            g = model.generate(ids, max_new_tokens=3, do_sample=False)
        h.remove()
    with torch.no_grad():  # unsteered recomputation of the same token sequence, no cache
        ref = []
        h = _capture(block, ref)
        model(input_ids=g[:, :-1])
        h.remove()
    full_ref = ref[0]
    assert torch.allclose(seen[0][0, :4], full_ref[0, :4], atol=1e-5)  # prompt tokens except the last
    assert torch.allclose(seen[0][0, 4] - full_ref[0, 4], torch.ones(32), atol=1e-4)


def test_position_mask_forms():
    assert position_mask("all", 0, 4, 2) is None
    m = position_mask(slice(5, None), 3, 4, 1)
    assert m.tolist() == [[False, False, True, True]]
    m = position_mask([-1, 0], 0, 4, 1)
    assert m.tolist() == [[True, False, False, True]]
    mask = torch.tensor([[True, False, True, True, False], [False] * 5])
    assert position_mask(mask, 2, 2, 2).tolist() == [[True, True], [False, False]]
    assert position_mask(mask, 4, 3, 2).tolist() == [[False, False, False], [False, False, False]]
    with pytest.raises(ProbekitError, match="positions"):
        position_mask("first", 0, 3, 1)


def test_bad_interventions_raise(models):
    model = models["llama"]
    with pytest.raises(ProbekitError, match="model.layers"):
        steer(model, {"model.layerz.0": torch.ones(32)})
    sites = attention_head_sites(model)
    with pytest.raises(ProbekitError, match="head 9"):
        head_interventions(sites, {(0, 9): np.ones(8)})
    with pytest.raises(ProbekitError, match="features"):
        with steer(model, {"model.layers.0": torch.ones(5)}):
            model(input_ids=_ids())
