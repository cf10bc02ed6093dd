"""Lazy, memory-mapped reading of a store: StoredRows and ActivationStore.features."""

import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.store import ActivationStore, StoreWriter


def _write(directory, n=11, shard_examples=4, dtype="float32"):
    writer = StoreWriter(directory, {"x": 1}, dtype=dtype, shard_examples=shard_examples)
    data = torch.randn(n, 5, generator=torch.Generator().manual_seed(0))
    for start in range(0, n, 3):
        rows = data[start:start + 3]
        writer.append({"a": rows, "b": -rows}, torch.arange(start, start + len(rows)), torch.full((len(rows),), -1))
    writer.finish(n)
    return data.to(getattr(torch, dtype)).float().numpy()  # the values as stored


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_stored_rows_read_what_was_written(tmp_path, dtype):
    expected = _write(tmp_path, dtype=dtype)
    store = ActivationStore(tmp_path)
    assert len(store.manifest["shards"]) == 3
    rows = store.features()["b"]
    assert rows.shape == (11, 5) and len(rows) == 11 and rows.ndim == 2
    assert rows.dtype == (np.float16 if dtype == "float16" else np.float32)
    np.testing.assert_array_equal(np.asarray(rows, dtype=np.float32), -expected)  # exact: same bits
    np.testing.assert_array_equal(rows[3:9].astype(np.float32), -expected[3:9])  # crosses two shard borders
    index = np.array([10, 0, 4, 4, 7])
    np.testing.assert_array_equal(rows[index].astype(np.float32), -expected[index])
    mask = np.arange(11) % 3 == 0
    np.testing.assert_array_equal(rows[mask].astype(np.float32), -expected[mask])
    np.testing.assert_array_equal(store.numpy("b").astype(np.float32), -expected)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_one_shard_torch_is_memory_mapped_in_the_stored_dtype(tmp_path, dtype):
    expected = _write(tmp_path, n=6, shard_examples=8, dtype=dtype)
    tensor = ActivationStore(tmp_path).torch("a")
    assert tensor.dtype == getattr(torch, dtype)
    np.testing.assert_array_equal(tensor.float().numpy(), expected)
    assert isinstance(ActivationStore(tmp_path).rows("a")._parts[0], np.memmap)


def test_features_is_lazy_and_refuses_unknown_modules(tmp_path):
    _write(tmp_path)
    store = ActivationStore(tmp_path)
    features = store.features(["b"])
    assert list(features) == ["b"] and len(features) == 1
    with pytest.raises(KeyError):
        features["a"]
    with pytest.raises(ProbekitError, match="module"):
        store.features(["c"])
