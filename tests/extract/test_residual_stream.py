"""Hooked residual-stream activations equal Hugging Face's output_hidden_states."""

import pytest
import torch

from probekit.extract.hook_points import residual_stream
from probekit.extract.recorder import ActivationRecorder
from probekit.models import load_model

TEXTS = ["The city of Paris is in France.", "Rome.", "A much longer sentence about Berlin and its rivers."]


@pytest.mark.parametrize("kind", ["llama", "gpt2", "gpt_neox", "bert"])
@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_hooks_equal_output_hidden_states(tiny_models, kind, padding_side):
    loaded = load_model(str(tiny_models[kind]), padding_side=padding_side)
    model, tok = loaded.model, loaded.tokenizer
    batch = tok(TEXTS, padding=True, return_tensors="pt")
    points = residual_stream(model)
    assert len(points) == model.config.num_hidden_layers + 1
    with torch.no_grad():
        reference = model(**batch, output_hidden_states=True).hidden_states
    with ActivationRecorder(model, [p.module for p in points]) as rec:
        acts = rec.run(**batch)
    mask = batch["attention_mask"].bool()
    final_norm = None
    for name in ("model.norm", "transformer.ln_f", "gpt_neox.final_layer_norm"):
        try:
            final_norm = model.get_submodule(name)
        except AttributeError:
            continue
    for p in points:
        got = acts[p.module]
        want = reference[p.layer]
        if p.layer == len(points) - 1 and final_norm is not None:
            got = final_norm(got)  # HF's last hidden state is after the final norm
        assert torch.allclose(got[mask], want[mask], atol=1e-5), (kind, p.name)


def test_hook_point_layers_and_names(tiny_models):
    loaded = load_model(str(tiny_models["llama"]))
    points = residual_stream(loaded.model)
    assert [p.name for p in points] == ["embed", "blocks.0.resid_post", "blocks.1.resid_post", "blocks.2.resid_post"]
    assert [p.layer for p in points] == [0, 1, 2, 3]
    assert points[1].module == "model.layers.0"


@pytest.mark.parametrize("kind", ["llama", "gpt2", "gpt_neox"])
def test_attn_and_mlp_out_are_the_residual_contributions(tiny_models, kind):
    from probekit.extract.hook_points import hook_points

    loaded = load_model(str(tiny_models[kind]))
    batch = loaded.tokenizer(TEXTS, padding=True, return_tensors="pt")
    points = {p.name: p.module for p in hook_points(loaded.model)}
    with ActivationRecorder(loaded.model, list(points.values())) as rec:
        raw = rec.run(**batch)
    acts = {name: raw[module] for name, module in points.items()}
    previous = acts["embed"]
    for i in range(3):
        total = previous + acts[f"blocks.{i}.attn_out"] + acts[f"blocks.{i}.mlp_out"]
        assert torch.allclose(total, acts[f"blocks.{i}.resid_post"], atol=1e-5)
        previous = acts[f"blocks.{i}.resid_post"]


def test_bert_contributions_have_model_width(tiny_models):
    from probekit.extract.hook_points import hook_points

    loaded = load_model(str(tiny_models["bert"]))
    names = {p.name: p.module for p in hook_points(loaded.model)}
    assert names["blocks.0.attn_out"].endswith("attention.output.dense")
    assert names["blocks.0.mlp_out"].endswith("layer.0.output.dense")
