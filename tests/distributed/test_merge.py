"""Job arrays: `--shard i/N` partial stores merged with `store merge` equal the single-process store."""

import numpy as np
import pytest
import torch

from probekit.cli import main
from probekit.concepts.dataset import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract import runner
from probekit.extract.runner import ExtractionConfig, extract
from probekit.models import wrap_model
from probekit.store import ActivationStore, merge_stores, parse_shard, read_manifest, slice_bounds, verify_store
from probekit.store.manifest import write_manifest
from tests.architectures.tiny_lms import SENTENCES, tiny_lm

WORDS = "the cat dog bird sat runs on in mat park river city king queen red blue big small".split()


def _texts(n: int) -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 9)))) for _ in range(n)] + SENTENCES


@pytest.fixture(scope="module")
def loaded():
    model, tokenizer, kind = tiny_lm("llama")
    return wrap_model(model, tokenizer, kind=kind)


@pytest.fixture(scope="module")
def dataset():
    texts = _texts(13)  # 17 examples: with batches of 2, parts are uneven and end mid-shard
    return ConceptDataset(inputs=texts, labels=np.arange(len(texts)) % 2, task="binary", name="words")


CONFIG = ExtractionConfig(modules=["resid", "mlp"], token_selection="all", batch_size=2, shard_examples=4,
                          check=False)


@pytest.fixture(scope="module")
def single(loaded, dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("single")
    return extract(loaded, dataset, CONFIG, out, progress=False)[0]


def _parts(loaded, dataset, root, n, config=CONFIG):
    paths = []
    for i in range(n):
        store, _ = extract(loaded, dataset, config, root / f"part-{i}-of-{n}", progress=False, shard=(i, n))
        paths.append(store.directory)
    return paths


def assert_same_store(a: ActivationStore, b: ActivationStore) -> None:
    """Same modules, rows in the same order, bit-equal tensors, example indices and positions."""
    assert a.modules == b.modules and a.n_samples == b.n_samples > 0
    for module in a.modules:
        np.testing.assert_array_equal(a.numpy(module), b.numpy(module))
    np.testing.assert_array_equal(a.example_index(), b.example_index())
    np.testing.assert_array_equal(a.positions(), b.positions())
    assert a.manifest["identity_hash"] == b.manifest["identity_hash"]
    assert a.manifest["n_examples"] == b.manifest["n_examples"] and b.manifest["complete"]


def test_slices_deal_whole_batches_and_tile():
    for n, batch, parts in [(17, 2, 2), (17, 2, 3), (20, 3, 3), (2, 3, 3), (5, 1, 5), (0, 4, 2)]:
        bounds = [slice_bounds(n, batch, (i, parts)) for i in range(parts)]
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
        assert all(s % batch == 0 and (e % batch == 0 or e == n) for s, e in bounds)
    assert [slice_bounds(17, 2, (i, 3)) for i in range(3)] == [(0, 6), (6, 12), (12, 17)]
    assert parse_shard("1/4") == (1, 4) and parse_shard((0, 1)) == (0, 1)
    for bad in ("4/4", "-1/2", "1/0", "a/b", "1", (2, 2)):
        with pytest.raises(ProbekitError, match="i/N|0 <= i < N"):
            parse_shard(bad)


@pytest.mark.parametrize("n_parts", [2, 3])
def test_merged_parts_equal_the_single_process_store(loaded, dataset, single, tmp_path, n_parts, monkeypatch):
    parts = _parts(loaded, dataset, tmp_path, n_parts)
    first = ActivationStore(parts[0])
    assert first.manifest["identity"]["slice"] == list(slice_bounds(len(dataset), 2, (0, n_parts)))
    assert first.manifest["identity"]["data_fingerprint"] == dataset.fingerprint
    assert set(first.example_index()) == set(range(*first.manifest["identity"]["slice"]))
    merged = merge_stores(tmp_path / "merged", reversed(parts))  # any order
    assert_same_store(single, merged)
    assert verify_store(merged.directory).ok
    # the merged store is the single-process store: extracting into it again computes nothing
    monkeypatch.setattr(runner, "_write_batches", lambda *a, **k: pytest.fail("recomputed a merged store"))
    again, _ = extract(loaded, dataset, CONFIG, merged.directory, progress=False)
    assert again.n_samples == single.n_samples


def test_killed_part_resumes_from_its_own_slice(loaded, dataset, single, tmp_path, monkeypatch):
    """A part interrupted after its first shard resumes inside its slice, not at example 0."""
    part = tmp_path / "part-1-of-2"
    original, calls = runner.StoreWriter.append, []

    def append_then_fail(self, rows, example, position):
        original(self, rows, example, position)
        calls.append(int(example.min()))
        if len(self.manifest["shards"]) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(runner.StoreWriter, "append", append_then_fail)
    with pytest.raises(KeyboardInterrupt):
        extract(loaded, dataset, CONFIG, part, progress=False, shard=(1, 2))
    manifest = read_manifest(part)
    assert not manifest["complete"] and manifest["shards"][0]["first_example"] == 8
    monkeypatch.setattr(runner.StoreWriter, "append", original)
    calls.clear()
    monkeypatch.setattr(runner.StoreWriter, "append", lambda self, rows, ex, pos: (
        calls.append(int(ex.min())), original(self, rows, ex, pos)))
    extract(loaded, dataset, CONFIG, part, progress=False, shard=(1, 2))
    assert calls and min(calls) == 12  # the first shard (examples 8..11) was not redone
    monkeypatch.undo()
    first = _parts(loaded, dataset, tmp_path, 2)[0]
    assert_same_store(single, merge_stores(tmp_path / "merged", [first, part]))


def test_mismatched_parts_are_clear_errors(loaded, dataset, tmp_path):
    p0, p1, p2 = _parts(loaded, dataset, tmp_path, 3)
    out = tmp_path / "merged"
    with pytest.raises(ProbekitError, match=r"examples 6\.\.12 are in no part"):
        merge_stores(out, [p0, p2])
    with pytest.raises(ProbekitError, match=r"examples 12\.\.17 are in no part"):
        merge_stores(out, [p0, p1])
    with pytest.raises(ProbekitError, match=r"examples 6\.\.12 are in both"):
        merge_stores(out, [p0, p1, p1, p2])
    half = _parts(loaded, dataset, tmp_path / "halves", 2)  # examples 0..8 and 8..17
    with pytest.raises(ProbekitError, match=r"examples 6\.\.8 are in both"):
        merge_stores(out, [half[0], p1, p2])
    with pytest.raises(ProbekitError, match="no parts"):
        merge_stores(out, [])
    with pytest.raises(ProbekitError, match="holds no activation store"):
        merge_stores(out, [p0, p1, tmp_path / "nowhere"])
    with pytest.raises(ProbekitError, match="also a part"):
        merge_stores(p0, [p0, p1, p2])
    other_data = ConceptDataset(inputs=list(dataset.inputs), labels=1 - dataset.labels, task="binary", name="words")
    with pytest.raises(ProbekitError, match="other data"):
        merge_stores(out, [p0, p1, _parts(loaded, other_data, tmp_path / "other-data", 3)[2]])
    model, tokenizer, kind = tiny_lm("llama")
    with torch.no_grad():
        model.lm_head.weight.add_(1.0)
    other_weights = wrap_model(model, tokenizer, kind=kind)
    extract(other_weights, dataset, CONFIG, tmp_path / "w", progress=False, shard=(2, 3))
    with pytest.raises(ProbekitError, match="other model weights"):
        merge_stores(out, [p0, p1, tmp_path / "w"])
    mean = ExtractionConfig(modules=["resid", "mlp"], token_selection="mean", batch_size=2, shard_examples=4,
                            check=False)
    with pytest.raises(ProbekitError, match="another configuration .token_selection"):
        merge_stores(out, [p0, p1, _parts(loaded, dataset, tmp_path / "mean", 3, mean)[2]])
    manifest = read_manifest(p1)
    write_manifest(p1, dict(manifest, complete=False))
    with pytest.raises(ProbekitError, match="incomplete"):
        merge_stores(out, [p0, p1, p2])
    write_manifest(p1, manifest)
    (p2 / manifest["shards"][0]["file"]).write_bytes(b"garbage")  # p2's first shard damaged
    with pytest.raises(ProbekitError, match="damaged"):
        merge_stores(out, [p0, p1, p2])
    assert read_manifest(out) is None or not read_manifest(out)["complete"]  # nothing looks merged


def test_merge_replaces_only_a_store_of_its_own_identity(loaded, dataset, single, tmp_path):
    parts = _parts(loaded, dataset, tmp_path, 2)
    other = tmp_path / "other"
    extract(loaded, dataset, ExtractionConfig(modules=["resid"], batch_size=2, check=False), other, progress=False)
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ProbekitError, match="another configuration"):
        merge_stores(other, parts)
    assert_same_store(single, merge_stores(other, parts, overwrite=True))
    assert (other / "notes.txt").read_text() == "mine"
    assert_same_store(single, merge_stores(other, parts))  # merging again (same identity) is fine
    assert [s["file"] for s in read_manifest(other)["shards"]] == sorted(
        f.name for f in other.glob("shard-*.safetensors"))


def _extract_cli(model_dir, csv, out, *extra):
    return main(["extract", "--model", str(model_dir), "--dataset", str(csv), "--text-column", "sentence",
                 "--label-column", "truth", "--modules", "resid", "--batch-size", "3", "--max-length", "32",
                 "--out", str(out),
                 "--quiet", "--no-check", *extra])


def test_cli_shards_and_store_merge(tiny_model_dir, tiny_csv, tmp_path, capsys):
    assert _extract_cli(tiny_model_dir, tiny_csv, tmp_path / "single") == 0
    for i in range(2):
        assert _extract_cli(tiny_model_dir, tiny_csv, tmp_path / f"p{i}", "--shard", f"{i}/2") == 0
    capsys.readouterr()
    assert main(["store", "merge", str(tmp_path / "merged"), str(tmp_path / "p1"), str(tmp_path / "p0")]) == 0
    assert "20 examples" in capsys.readouterr().out
    assert_same_store(ActivationStore(tmp_path / "single"), ActivationStore(tmp_path / "merged"))
    assert (tmp_path / "merged" / "config.json").is_file()
    assert main(["store", "merge", str(tmp_path / "bad"), str(tmp_path / "p0")]) == 2
    assert "examples 9..20 are in no part" in capsys.readouterr().err
    assert _extract_cli(tiny_model_dir, tiny_csv, tmp_path / "p9", "--shard", "2/2") == 2
    assert "0 <= i < N" in capsys.readouterr().err


def test_rank_merge_removes_parts_and_stale_parts_of_the_same_store_only(loaded, dataset, single, tmp_path):
    from probekit.extract.distributed import _merge

    out = tmp_path / "out"
    parts = [extract(loaded, dataset, CONFIG, out / f"rank-{i}-of-2", progress=False, shard=(i, 2))[0].directory
             for i in range(2)]
    extract(loaded, dataset, CONFIG, out / "rank-0-of-3", progress=False, shard=(0, 3))  # an earlier run's
    (out / "rank-9-of-9").mkdir()
    (out / "rank-9-of-9" / "mine.txt").write_text("mine")
    _merge(out, parts, overwrite=False)
    assert_same_store(single, ActivationStore(out))
    assert sorted(p.name for p in out.glob("rank-*")) == ["rank-9-of-9"]


def test_launcher_environment(monkeypatch):
    from probekit.extract.distributed import distributed_env, is_main_process, rank_device

    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert distributed_env() is None and is_main_process() and rank_device("cuda") == "cuda"
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed_env() == (3, 4, 1) and not is_main_process()
    assert rank_device("cuda") == "cuda:1" and rank_device("cuda:0") == "cuda:0" and rank_device(None) is None
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ProbekitError, match="RANK=4"):
        distributed_env()
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ProbekitError, match="WORLD_SIZE='two'"):
        distributed_env()


def test_shard_under_torchrun_is_refused_before_loading(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert _extract_cli(tmp_path / "no-model", tmp_path / "no.csv", tmp_path / "out", "--shard", "0/2") == 2
    assert "drop --shard" in capsys.readouterr().err


def test_a_failing_rank_stops_every_rank_with_its_error(tmp_path):
    import torch.multiprocessing as mp

    from tests.distributed.workers import together_worker

    mp.spawn(together_worker, args=(2, str(tmp_path / "rendezvous"), str(tmp_path)), nprocs=2, join=True)
    assert (tmp_path / "0.txt").read_text().splitlines() == [
        "7", "rank 1 of 2 failed: ProbekitError: bad module 'x'", "still in step"]
    assert (tmp_path / "1.txt").read_text().splitlines() == ["7", "bad module 'x'", "still in step"]


def test_a_finished_store_is_reused_and_another_is_refused(loaded, dataset, single, tmp_path, monkeypatch):
    from probekit.extract.distributed import _reuse_finished

    monkeypatch.setattr(runner, "_write_batches", lambda *a, **k: pytest.fail("recomputed a finished store"))
    for overwrite in (False, True):  # as in one process: a finished store of this configuration is kept
        assert _reuse_finished(loaded, dataset, CONFIG, single.directory, overwrite=overwrite)
    assert not _reuse_finished(loaded, dataset, CONFIG, tmp_path / "empty", overwrite=False)
    mean = ExtractionConfig(modules=["resid", "mlp"], token_selection="mean", batch_size=2, shard_examples=4,
                            check=False)
    with pytest.raises(ProbekitError, match="another configuration"):
        _reuse_finished(loaded, dataset, mean, single.directory, overwrite=False)
    assert not _reuse_finished(loaded, dataset, mean, single.directory, overwrite=True)  # the parts replace it
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "manifest.json").write_text("{")
    with pytest.raises(ProbekitError, match="not a readable"):
        _reuse_finished(loaded, dataset, CONFIG, garbage, overwrite=False)
    assert not _reuse_finished(loaded, dataset, CONFIG, garbage, overwrite=True)
    damaged = tmp_path / "damaged"
    merge_stores(damaged, [single.directory])  # a whole store merges as the part 0..n
    shard = damaged / read_manifest(damaged)["shards"][1]["file"]
    shard.unlink()
    shard.write_bytes(b"x" * 10)
    assert not _reuse_finished(loaded, dataset, CONFIG, damaged, overwrite=False)  # recomputed, not reused


def test_more_parts_than_batches_leaves_empty_parts_that_merge(loaded, dataset, tmp_path):
    three = dataset.subset(np.arange(3))  # 2 batches of 2 over 3 parts: examples 0..0, 0..2, 2..3
    single, _ = extract(loaded, three, CONFIG, tmp_path / "single", progress=False)
    parts = _parts(loaded, three, tmp_path, 3)
    stores = [ActivationStore(p) for p in parts]
    assert [s.manifest["identity"]["slice"] for s in stores] == [[0, 0], [0, 2], [2, 3]]
    assert stores[0].n_samples == 0 and stores[1].n_samples + stores[2].n_samples == single.n_samples
    assert_same_store(single, merge_stores(tmp_path / "merged", parts))
