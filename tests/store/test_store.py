import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.store import ActivationStore, StoreWriter


def _write(directory, n=10, shard_examples=4, dtype="float32", identity=None):
    writer = StoreWriter(directory, identity or {"x": 1}, dtype=dtype, shard_examples=shard_examples)
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(n, 3, generator=gen)
    for start in range(0, n, 2):
        rows = data[start:start + 2]
        writer.append({"a": rows, "b": rows * 2}, torch.arange(start, start + len(rows)),
                      torch.full((len(rows),), -1))
    writer.finish(n)
    return data


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_roundtrip_numpy_torch_dataset(tmp_path, dtype):
    data = _write(tmp_path, dtype=dtype)
    store = ActivationStore(tmp_path)
    assert store.n_samples == 10 and store.modules == ["a", "b"]
    assert len(store.manifest["shards"]) == 3  # 4 + 4 + 2 examples
    tol = 1e-6 if dtype == "float32" else 1e-2
    np.testing.assert_allclose(store.numpy("b"), (data * 2).numpy(), atol=tol * 4)
    assert store.torch("a").dtype == getattr(torch, dtype)
    np.testing.assert_array_equal(store.example_index(), np.arange(10))
    ds = store.to_dataset()
    assert ds.num_rows == 10 and np.allclose(np.array(ds["a"]), data.numpy(), atol=tol * 2)


def test_single_shard_is_memory_mapped(tmp_path):
    _write(tmp_path, n=4, shard_examples=8)
    assert isinstance(ActivationStore(tmp_path).numpy("a"), np.memmap)


def test_incomplete_and_foreign_stores_are_refused(tmp_path):
    writer = StoreWriter(tmp_path, {"x": 1}, shard_examples=2)
    writer.append({"a": torch.ones(2, 3)}, torch.arange(2), torch.zeros(2))
    with pytest.raises(ProbekitError, match="incomplete"):
        ActivationStore(tmp_path)
    assert ActivationStore(tmp_path, allow_incomplete=True).n_samples == 2
    with pytest.raises(ProbekitError, match="another configuration"):
        StoreWriter(tmp_path, {"x": 2})
    with pytest.raises(ProbekitError, match="unknown module|closest"):
        ActivationStore(tmp_path, allow_incomplete=True).numpy("c")


def test_unwritable_directory(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    os.chmod(target, 0o500)
    try:
        if os.access(target, os.W_OK):  # running as root: use a path under a file instead
            target = tmp_path / "file"
            target.write_text("x")
            target = target / "sub"
        with pytest.raises(ProbekitError, match="cannot write"):
            StoreWriter(target, {"x": 1})
    finally:
        os.chmod(tmp_path / "ro", 0o700)


SCRIPT = textwrap.dedent("""
    import os, signal, sys, torch
    from probekit.store import StoreWriter
    directory, kill_after = sys.argv[1], int(sys.argv[2])
    writer = StoreWriter(directory, {"x": 1}, shard_examples=4)
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(30, 5, generator=gen)
    for start in range(writer.examples_done, 30, 2):
        if start == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        rows = data[start:start + 2]
        writer.append({"a": rows}, torch.arange(start, start + 2), torch.arange(2))
    writer.finish(30)
""")


def test_sigkill_and_resume_gives_identical_store(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(SCRIPT)
    clean, resumed = tmp_path / "clean", tmp_path / "resumed"
    assert subprocess.run([sys.executable, str(script), str(clean), "-1"]).returncode == 0
    killed = subprocess.run([sys.executable, str(script), str(resumed), "18"])
    assert killed.returncode == -signal.SIGKILL
    manifest = json.loads((resumed / "manifest.json").read_text())
    assert manifest["complete"] is False and 0 < manifest["n_examples"] < 30
    with pytest.raises(ProbekitError, match="incomplete"):
        ActivationStore(resumed)
    assert subprocess.run([sys.executable, str(script), str(resumed), "-1"]).returncode == 0
    a, b = ActivationStore(clean), ActivationStore(resumed)
    assert a.n_samples == b.n_samples == 30
    np.testing.assert_array_equal(a.numpy("a"), b.numpy("a"))
    np.testing.assert_array_equal(a.example_index(), b.example_index())
    for shard in a.manifest["shards"]:
        assert (clean / shard["file"]).read_bytes() == (resumed / shard["file"]).read_bytes()
