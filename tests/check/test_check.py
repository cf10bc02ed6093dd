"""probekit check, the automatic cheap check in extract(), wrap_model and text validation."""

from __future__ import annotations

import warnings

import pytest
import torch

from probekit.check import check_model
from probekit.cli import main
from probekit.concepts.dataset import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.runner import ExtractionConfig, extract
from probekit.models import load_model, wrap_model
from tests.architectures.tiny_lms import SENTENCES, save_tiny_lm, tiny_lm


def _data(texts=SENTENCES):
    return ConceptDataset(inputs=list(texts), labels=[i % 2 for i in range(len(texts))], task="binary",
                          name="t")


def test_check_table_lists_every_check_and_passes_on_llama():
    model, tokenizer, kind = tiny_lm("llama")
    report = check_model(wrap_model(model, tokenizer, kind=kind), sentences=tuple(SENTENCES))
    assert report.passed
    assert [r.name for r in report.results] == ["hidden_states", "padding-right", "padding-left",
                                                "sublayer-sums", "steering"]
    assert "pass" in report.table() and "FAIL" not in report.table()


def test_check_detects_a_wrong_hook_point(monkeypatch):
    """A discovery bug (a resid point on the wrong module) must fail hidden_states."""
    import importlib

    import probekit.check as check

    hp = importlib.import_module("probekit.extract.hook_points")

    model, tokenizer, kind = tiny_lm("llama")
    loaded = wrap_model(model, tokenizer, kind=kind)
    real = hp.hook_points

    def shifted(m):
        points = real(m)
        return [hp.HookPoint(p.name, p.module.replace("layers.1", "layers.0"), p.layer, p.kind) for p in points]

    monkeypatch.setattr(check, "hook_points", shifted)
    result = check.check_hidden_states(loaded, tuple(SENTENCES))
    assert result.passed is False and result.value > 1e-2


def test_cli_check_exits_0_with_table(tmp_path, capsys):
    save_tiny_lm("gpt2", tmp_path / "gpt2")
    assert main(["check", "--model", str(tmp_path / "gpt2"), "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "hidden_states" in out and "steering" in out
    assert '"passed": true' in (tmp_path / "c.json").read_text()


def test_cli_check_exits_2_naming_the_failed_check(tmp_path, capsys):
    save_tiny_lm("convbert", tmp_path / "convbert")  # its span convolution reads the pads
    assert main(["check", "--model", str(tmp_path / "convbert")]) == 2
    err = capsys.readouterr().err
    assert "padding-right" in err and "Traceback" not in err


def test_extract_refuses_a_failing_model_unless_no_check(tmp_path, monkeypatch):
    import importlib

    import probekit.check as check

    hp = importlib.import_module("probekit.extract.hook_points")
    model, tokenizer, kind = tiny_lm("llama")
    loaded = wrap_model(model, tokenizer, kind=kind)
    real = hp.hook_points
    monkeypatch.setattr(check, "hook_points", lambda m: [
        hp.HookPoint(p.name, p.module.replace("layers.1", "layers.0"), p.layer, p.kind) for p in real(m)])
    with pytest.raises(ProbekitError, match="probekit check failed.*hidden_states"):
        extract(loaded, _data(), ExtractionConfig(batch_size=4), tmp_path / "a", progress=False)
    store, _ = extract(loaded, _data(), ExtractionConfig(batch_size=4, check=False), tmp_path / "b",
                       progress=False)
    assert store.manifest["info"]["checked"] is False


@pytest.mark.parametrize("arch, side", [("convbert", "right"), ("rwkv", "left")])
def test_models_that_padding_changes_run_unpadded(arch, side, tmp_path):
    """Where no padding is invariant, every text runs alone: values equal the unpadded run."""
    from probekit.extract.recorder import ActivationRecorder
    from probekit.extract.text_inputs import encode_text

    model, tokenizer, kind = tiny_lm(arch)
    loaded = wrap_model(model, tokenizer, kind=kind, padding_side=side)
    with pytest.warns(UserWarning, match="running each text alone"):
        store, points = extract(loaded, _data(), ExtractionConfig(batch_size=4), tmp_path / "s",
                                progress=False)
    assert store.manifest["identity"]["unpadded"] is True
    last = points[-1]
    for row, text in enumerate(SENTENCES):
        with ActivationRecorder(model, [last.module]) as rec:
            alone = rec.run(**encode_text(loaded, [text], 64))[last.module][0]
        expected = alone[-1] if kind == "causal-lm" else alone.mean(0)
        assert torch.allclose(torch.from_numpy(store.numpy(last.name)[row].copy()), expected, atol=1e-5)


def test_wrap_model_hashes_weights_so_other_weights_never_reuse_a_store(tmp_path):
    model, tokenizer, kind = tiny_lm("llama")
    first = wrap_model(model, tokenizer, kind=kind)
    extract(first, _data(), ExtractionConfig(batch_size=4), tmp_path / "s", progress=False)
    with torch.no_grad():
        model.model.layers[0].mlp.down_proj.weight.add_(1.0)
    second = wrap_model(model, tokenizer, kind=kind)
    assert first.weights_hash != second.weights_hash
    with pytest.raises(ProbekitError):
        extract(second, _data(), ExtractionConfig(batch_size=4), tmp_path / "s", progress=False)


def test_hand_built_loaded_model_without_hash_is_hashed(tmp_path):
    from probekit.models.base import LoadedModel

    model, tokenizer, kind = tiny_lm("gpt2")
    loaded = LoadedModel(model=model, name="m", kind=kind, tokenizer=tokenizer)
    store, _ = extract(loaded, _data(), ExtractionConfig(batch_size=4), tmp_path / "s", progress=False)
    assert len(store.manifest["identity"]["weights_hash"]) == 16


def test_zero_token_example_is_an_error_naming_its_row(tmp_path):
    model, tokenizer, kind = tiny_lm("gpt2")
    loaded = wrap_model(model, tokenizer, kind=kind)
    data = _data(["the cat sat on the mat", "", "birds sing", "the old man"])
    with pytest.raises(ProbekitError, match=r"no tokens \(rows 1\)"):
        extract(loaded, data, ExtractionConfig(batch_size=4), tmp_path / "s", progress=False)


def test_truncation_is_counted_and_recorded(tmp_path):
    model, tokenizer, kind = tiny_lm("gpt2")
    loaded = wrap_model(model, tokenizer, kind=kind)
    with pytest.warns(UserWarning, match="2 of 4 examples are longer than max_length=6"):
        store, _ = extract(loaded, _data(), ExtractionConfig(batch_size=4, max_length=6), tmp_path / "s",
                           progress=False)
    assert store.manifest["info"]["n_truncated"] == 2
    assert store.manifest["info"]["truncated_examples"] == [1, 3]


def test_encoders_default_to_mean_and_causal_models_to_last(tmp_path):
    for arch, method in (("bert", "mean"), ("llama", "last")):
        model, tokenizer, kind = tiny_lm(arch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            store, _ = extract(wrap_model(model, tokenizer, kind=kind), _data(), ExtractionConfig(batch_size=4),
                               tmp_path / arch, progress=False)
        assert store.manifest["info"]["token_selection"] == method


def test_folder_of_a_seq2seq_model_loads_as_encoder_decoder(tmp_path):
    save_tiny_lm("t5", tmp_path / "t5")
    loaded = load_model(str(tmp_path / "t5"))
    assert loaded.kind == "encoder-decoder"
    store, points = extract(loaded, _data(), ExtractionConfig(batch_size=4), tmp_path / "s", progress=False)
    assert any(p.name.startswith("decoder.blocks.") for p in points)
    assert store.numpy("decoder.blocks.0.resid_post").shape[0] == len(SENTENCES)


def test_seq2seq_lists_modules_and_runs_without_early_stop(tmp_path, capsys):
    save_tiny_lm("t5", tmp_path / "t5")
    assert main(["list-modules", "--model", str(tmp_path / "t5")]) == 0
    out = capsys.readouterr().out
    assert "encoder.blocks.1.resid_post" in out and "decoder.blocks.1.resid_post" in out
    loaded = load_model(str(tmp_path / "t5"))
    store, _ = extract(loaded, _data(), ExtractionConfig(batch_size=2, stop_early=False), tmp_path / "s",
                       progress=False)
    assert store.n_samples == len(SENTENCES)


def test_misspelt_hook_point_suggests_the_hook_point(tmp_path):
    from probekit.extract.hook_points import resolve_hook_points

    model, _, _ = tiny_lm("llama")
    with pytest.raises(ProbekitError, match=r"closest hook points: blocks\.1\.resid_post"):
        resolve_hook_points(model, ["blocks.1.resid_pots"])
