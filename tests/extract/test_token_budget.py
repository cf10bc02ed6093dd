"""Token-budget batches (--max-tokens-per-batch) give the values of fixed batches, in the
data's order; their windows make sliced and resumed runs equal one uninterrupted run."""

import numpy as np
import pytest

from probekit.cli import main
from probekit.concepts import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract import modalities, runner
from probekit.extract.runner import ExtractionConfig, extract, token_budget_batches
from probekit.models import load_model
from probekit.store import ActivationStore, merge_stores

WORDS = "the old red fox ran far over a quiet green hill while seven small birds sang".split()


@pytest.fixture(scope="module")
def mixed():
    """30 texts of 1 to 16 words, in no order of length."""
    rng = np.random.default_rng(3)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 17)))) for _ in range(30)]
    return ConceptDataset(inputs=texts, labels=np.arange(30) % 2, task="binary", name="mixed")


@pytest.fixture(scope="module", params=["right", "left"])
def tiny(request, tiny_model_dir):
    return load_model(str(tiny_model_dir), padding_side=request.param)


def _extract(loaded, data, out, **options):
    config = ExtractionConfig(**{"modules": ["resid", "mlp"], "batch_size": 4, "max_length": 64, **options})
    return extract(loaded, data, config, out, progress=False)[0]


def _assert_same(a: ActivationStore, b: ActivationStore, atol: float) -> None:
    assert a.modules == b.modules and a.n_samples == b.n_samples
    for module in a.modules:
        np.testing.assert_allclose(b.numpy(module), a.numpy(module), rtol=0, atol=atol)
    np.testing.assert_array_equal(a.example_index(), b.example_index())
    np.testing.assert_array_equal(a.positions(), b.positions())


def test_batches_respect_the_budget_and_cover_every_example_once():
    lengths = np.array([5, 17, 3, 3, 9, 40, 1, 9, 12])
    batches = token_budget_batches(lengths, 20)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) * lengths[batch].max() <= 20 or len(batch) == 1
    assert [b.tolist() for b in batches][:3] == [[5], [1], [8]]  # longest first; 40 alone (over budget)
    flat = np.concatenate(batches)
    assert list(lengths[flat]) == sorted(lengths, reverse=True)
    assert flat[list(lengths[flat]).index(9)] == 4  # ties keep the data's order


@pytest.mark.parametrize("selection", ["last", "all"])
def test_token_budget_equals_fixed_batches_in_the_original_order(tiny, mixed, tmp_path, selection, monkeypatch):
    fixed = _extract(tiny, mixed, tmp_path / "fixed", token_selection=selection)
    passes, encode = [], modalities.encode_text  # the text adapter encodes every pass

    def recording(loaded, texts, max_length):
        batch = encode(loaded, texts, max_length)
        passes.append(tuple(batch["input_ids"].shape))
        return batch

    monkeypatch.setattr(modalities, "encode_text", recording)
    budget = _extract(tiny, mixed, tmp_path / "budget", token_selection=selection, max_tokens_per_batch=40)
    assert all(n * width <= 40 or n == 1 for n, width in passes) and max(n for n, _ in passes) > 4
    assert sum(n for n, _ in passes) == 30
    _assert_same(fixed, budget, atol=1e-5)
    assert budget.manifest["identity"]["max_tokens_per_batch"] == 40
    assert "max_tokens_per_batch" not in fixed.manifest["identity"]  # older fixed-batch stores keep their hash


def test_slices_and_a_resumed_window_equal_one_run_exactly(tiny_model_dir, mixed, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "SORT_WINDOW", 8)  # windows of 8 examples: slices cut 30 examples at 8, 16, 24
    loaded = load_model(str(tiny_model_dir))
    options = {"token_selection": "all", "max_tokens_per_batch": 30, "shard_size": 1000}  # ~one batch a shard
    whole = _extract(loaded, mixed, tmp_path / "whole", **options)
    config = ExtractionConfig(modules=["resid", "mlp"], batch_size=4, max_length=64, **options)
    parts = [extract(loaded, mixed, config, tmp_path / f"part{i}", progress=False, shard=(i, 2))[0]
             for i in range(2)]
    assert [p.manifest["identity"]["slice"] for p in parts] == [[0, 16], [16, 30]]
    _assert_same(whole, merge_stores(tmp_path / "merged", [p.directory for p in parts]), atol=0)

    from probekit.store import writer as writer_module

    original, calls = writer_module.StoreWriter._write_shard, []

    def write_then_fail(self, *args):
        original(self, *args)
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt

    monkeypatch.setattr(writer_module.StoreWriter, "_write_shard", write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        _extract(loaded, mixed, tmp_path / "resumed", **options)
    monkeypatch.setattr(writer_module.StoreWriter, "_write_shard", original)
    stopped = ActivationStore(tmp_path / "resumed", allow_incomplete=True).manifest["n_examples"]
    assert stopped % 8 != 0  # the run stopped inside a window
    _assert_same(whole, _extract(loaded, mixed, tmp_path / "resumed", **options), atol=0)


@pytest.mark.parametrize("options, message", [
    ({"max_tokens_per_batch": 0}, "max_tokens_per_batch must be a positive integer.*not 0"),
    ({"max_tokens_per_batch": "4096"}, "max_tokens_per_batch must be a positive integer.*'4096'"),
    ({"max_tokens_per_batch": True}, "max_tokens_per_batch.*not True"),
    ({"num_workers": -1}, "num_workers must be an integer >= 0.*not -1"),
    ({"num_workers": 1.5}, "num_workers must be an integer >= 0.*not 1.5"),
])
def test_bad_values_are_named(options, message):
    with pytest.raises(ProbekitError, match=message):
        ExtractionConfig(**options)


def test_num_workers_on_a_text_model_is_refused(tiny_model_dir, mixed, tmp_path):
    with pytest.raises(ProbekitError, match="num_workers=2 decodes images.*text model"):
        _extract(load_model(str(tiny_model_dir)), mixed, tmp_path / "s", num_workers=2)


def test_cli_flag_reaches_the_store_and_bad_values_exit_2(tiny_model_dir, tiny_csv, tmp_path, capsys):
    base = ["extract", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column", "sentence",
            "--label-column", "truth", "--max-length", "32", "--quiet", "--no-check"]
    assert main([*base, "--out", str(tmp_path / "bad"), "--max-tokens-per-batch", "-3"]) == 2
    assert "max_tokens_per_batch must be a positive integer" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "s"), "--max-tokens-per-batch", "64"]) == 0
    assert ActivationStore(tmp_path / "s").manifest["identity"]["max_tokens_per_batch"] == 64
