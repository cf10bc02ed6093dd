"""Shard layout: byte limits on example boundaries, bytes identical to safetensors' own
writer, and stores from before checksums / byte limits read and resume identically."""

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from probekit.store import ActivationStore, StoreWriter, verify_store
from probekit.store.manifest import identity_hash


def _token_stream(n_examples=23, batch=4, d=6, seed=0):
    """Batches like all-token extraction: 1-5 rows per example, two modules."""
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 6, (n_examples,), generator=gen)
    batches = []
    for first in range(0, n_examples, batch):
        examples = torch.cat([torch.full((int(lengths[e]),), e) for e in range(first, min(first + batch, n_examples))])
        positions = torch.cat([torch.arange(int(lengths[e])) for e in range(first, min(first + batch, n_examples))])
        rows = torch.randn(len(examples), d, generator=gen)
        batches.append(({"a": rows, "b": -rows[:, :3]}, examples, positions))
    return batches, n_examples


def _write(directory, batches, n, **kwargs):
    writer = StoreWriter(directory, {"x": 1}, **kwargs)
    for rows, examples, positions in batches[writer.examples_done and _batch_at(batches, writer.examples_done):]:
        writer.append(rows, examples, positions)
    writer.finish(n)
    return ActivationStore(directory)


def _batch_at(batches, example):
    return next(i for i, b in enumerate(batches) if int(b[1][0]) == example)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_shards_are_the_bytes_save_file_writes(tmp_path, dtype):
    batches, n = _token_stream()
    store = _write(tmp_path, batches, n, dtype=dtype, shard_examples=8)
    examples = torch.cat([b[1] for b in batches])
    assert [s["end_example"] for s in store.manifest["shards"]] == [8, 16, 23]
    for shard in store.manifest["shards"]:
        keep = (examples >= shard["first_example"]) & (examples < shard["end_example"])
        expected = {k: torch.cat([b[0][k] for b in batches])[keep].to(getattr(torch, dtype)) for k in ("a", "b")}
        expected["_example_index"] = examples[keep]
        expected["_position"] = torch.cat([b[2] for b in batches])[keep]
        save_file(expected, str(tmp_path / "reference.safetensors"))
        assert (tmp_path / shard["file"]).read_bytes() == (tmp_path / "reference.safetensors").read_bytes()


def test_byte_limit_cuts_between_batches_and_bounds_shards(tmp_path):
    batches, n = _token_stream()
    row_bytes = (6 + 3) * 4 + 16
    batch_bytes = [len(b[1]) * row_bytes for b in batches]
    limit = 2 * max(batch_bytes)
    store = _write(tmp_path, batches, n, shard_examples=1000, shard_bytes=limit)
    shards = store.manifest["shards"]
    assert len(shards) >= 2
    batch_starts = {int(b[1][0]) for b in batches}
    for shard in shards:
        assert shard["first_example"] in batch_starts
        assert shard["rows"] * row_bytes <= limit
        payload = sum(batch_bytes[i] for i, b in enumerate(batches)
                      if shard["first_example"] <= int(b[1][0]) < shard["end_example"])
        assert payload == shard["rows"] * row_bytes  # whole batches only
    # no example straddles two shards, and the rows read back in order
    index = store.example_index()
    np.testing.assert_array_equal(index, torch.cat([b[1] for b in batches]).numpy())
    np.testing.assert_array_equal(store.numpy("a"), torch.cat([b[0]["a"] for b in batches]).numpy())
    for left, right in zip(shards, shards[1:]):
        assert left["end_example"] == right["first_example"]


def test_a_batch_larger_than_the_byte_limit_is_one_shard(tmp_path):
    batches, n = _token_stream(n_examples=12, batch=4)
    store = _write(tmp_path, batches, n, shard_bytes=1)
    assert [s["first_example"] for s in store.manifest["shards"]] == [0, 4, 8]
    assert store.n_samples == sum(len(b[1]) for b in batches)


def test_killed_byte_limited_store_resumes_identically(tmp_path):
    batches, n = _token_stream()
    clean = _write(tmp_path / "clean", batches, n, shard_bytes=1500)
    assert len(clean.manifest["shards"]) >= 3 and any(s["end_example"] - s["first_example"] > 4
                                                      for s in clean.manifest["shards"])
    writer = StoreWriter(tmp_path / "resumed", {"x": 1}, shard_bytes=1500)
    for rows, examples, positions in batches[:4]:
        writer.append(rows, examples, positions)
    written = len(writer.manifest["shards"])
    writer.close()  # as if killed: pending rows are lost, listed shards stay
    assert 0 < written < len(clean.manifest["shards"])
    resumed = _write(tmp_path / "resumed", batches, n, shard_bytes=1500)
    for a, b in zip(clean.manifest["shards"], resumed.manifest["shards"], strict=True):
        assert (tmp_path / "clean" / a["file"]).read_bytes() == (tmp_path / "resumed" / b["file"]).read_bytes()


def _old_format_store(directory, data, shard_examples, n_shards_written=None, identity=None):
    """A store as probekit wrote it before sizes, checksums and byte limits: save_file
    shards and a manifest without them."""
    directory.mkdir(parents=True)
    identity = dict(identity or {"x": 1}, dtype="float32", shard_examples=shard_examples)
    shards, n = [], len(data)
    starts = list(range(0, n, shard_examples))[:n_shards_written]
    for i, start in enumerate(starts):
        end = min(start + shard_examples, n)
        name = f"shard-{i:05d}.safetensors"
        save_file({"a": data[start:end], "_example_index": torch.arange(start, end),
                   "_position": torch.full((end - start,), -1)}, str(directory / name))
        shards.append({"file": name, "rows": end - start, "first_example": start, "end_example": end})
    done = shards[-1]["end_example"] if shards else 0
    manifest = {"format_version": 1, "identity": identity, "identity_hash": identity_hash(identity),
                "complete": done == n, "shards": shards, "modules": {"a": {"row_shape": [3], "dtype": "float32"}},
                "n_rows": done, "n_examples": done, "created": "then", "info": {}}
    (directory / "manifest.json").write_text(json.dumps(manifest))


def test_old_format_store_reads_the_same_and_resumes(tmp_path):
    data = torch.randn(10, 3, generator=torch.Generator().manual_seed(1))
    _old_format_store(tmp_path / "old", data, 4)
    old = ActivationStore(tmp_path / "old")
    np.testing.assert_array_equal(old.numpy("a"), data.numpy())
    np.testing.assert_array_equal(old.example_index(), np.arange(10))
    report = verify_store(tmp_path / "old")
    assert report.ok and len(report.unchecksummed) == 3
    # a complete old store is accepted as it is by today's writer (default byte limit)
    assert StoreWriter(tmp_path / "old", {"x": 1}, shard_examples=4).complete
    # an unfinished old store resumes with the old layout, into the same bytes
    _old_format_store(tmp_path / "half", data, 4, n_shards_written=1)
    writer = StoreWriter(tmp_path / "half", {"x": 1}, shard_examples=4)
    assert writer.examples_done == 4 and writer.shard_bytes is None
    for start in range(4, 10, 2):
        writer.append({"a": data[start:start + 2]}, torch.arange(start, start + 2), torch.full((2,), -1))
    writer.finish(10)
    for shard in old.manifest["shards"]:
        assert (tmp_path / "old" / shard["file"]).read_bytes() == (tmp_path / "half" / shard["file"]).read_bytes()
    assert verify_store(tmp_path / "half").ok


def test_append_rejects_inconsistent_batches(tmp_path):
    writer = StoreWriter(tmp_path, {"x": 1}, shard_examples=4)
    writer.append({"a": torch.ones(2, 3)}, torch.arange(2), torch.zeros(2))
    with pytest.raises(ValueError, match="do not match"):
        writer.append({"a": torch.ones(2, 4)}, torch.arange(2, 4), torch.zeros(2))
    with pytest.raises(ValueError, match="non-decreasing"):
        writer.append({"a": torch.ones(2, 3)}, torch.tensor([1, 2]), torch.zeros(2))
    with pytest.raises(ValueError, match="rows"):
        writer.append({"a": torch.ones(3, 3)}, torch.arange(2, 4), torch.zeros(2))
