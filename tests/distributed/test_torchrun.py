"""`torchrun --nproc_per_node 2 -m probekit extract` writes the single-process store; a
killed rank resumes without redoing its finished shards."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from probekit.cli import main
from probekit.errors import ProbekitError
from probekit.store import ActivationStore, read_manifest, verify_store
from tests.architectures.tiny_lms import SENTENCES, save_tiny_lm

REPO = Path(__file__).resolve().parents[2]

# rank $KILL_RANK dies by SIGKILL right after writing its second shard; then the command runs as usual
KILLING_MAIN = """
import os, signal, sys
from probekit.store import writer
if os.environ.get("KILL_RANK") == os.environ.get("RANK"):
    original = writer.StoreWriter._write_shard
    def write_then_die(self, *args):
        original(self, *args)
        if len(self.manifest["shards"]) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
    writer.StoreWriter._write_shard = write_then_die
from probekit.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("torchrun")
    save_tiny_lm("llama", root / "model")
    extra = "cat dog bird red blue".split()
    with open(root / "data.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        for i in range(21):  # 21 examples, batches of 2: rank 0 gets 0..10, rank 1 gets 10..21
            writer.writerow([f"{SENTENCES[i % 4]} {' '.join(extra[: i % 5])}".strip(), i % 2])
    return root / "model", root / "data.csv"


def _args(model_and_data, out, *extra):
    model, data = model_and_data
    return ["extract", "--model", str(model), "--dataset", str(data), "--text-column", "text", "--label-column",
            "label", "--modules", "resid,mlp", "--token-selection", "last", "--batch-size", "2",
            "--shard-size", "1000", "--max-length", "32", "--out", str(out), "--quiet",
            *extra]  # 1000 bytes: one batch per shard


@pytest.fixture(scope="module")
def single(model_and_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "store"
    assert main(_args(model_and_data, out)) == 0
    return ActivationStore(out)


def _torchrun(argv, tmp_path, **env):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *argv]
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run(command, cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=300)


def assert_same(a: ActivationStore, b: ActivationStore) -> None:
    assert a.modules == b.modules and a.n_samples == b.n_samples == 21
    for module in a.modules:
        np.testing.assert_allclose(b.numpy(module), a.numpy(module), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(a.example_index(), b.example_index())
    np.testing.assert_array_equal(a.positions(), b.positions())
    assert a.manifest["identity_hash"] == b.manifest["identity_hash"] and b.manifest["complete"]


def test_two_ranks_write_the_single_process_store(model_and_data, single, tmp_path):
    out = tmp_path / "store"
    run = _torchrun(["-m", "probekit", *_args(model_and_data, out)], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("wrote 21 rows") == 1  # rank 0 reports, once
    merged = ActivationStore(out)
    assert_same(single, merged)
    assert [p[1:] for p in merged.manifest["info"]["merged_from"]] == [[0, 10], [10, 21]]
    assert not list(out.glob("rank-*")) and verify_store(out).ok
    assert (out / "config.json").is_file()


def test_killed_rank_resumes_its_part_and_the_store_completes_only_at_the_end(model_and_data, single, tmp_path):
    out = tmp_path / "store"
    (tmp_path / "killing_main.py").write_text(KILLING_MAIN)
    killed = _torchrun(["killing_main.py", *_args(model_and_data, out)], tmp_path, KILL_RANK="1")
    assert killed.returncode != 0
    part = out / "rank-1-of-2"
    manifest = read_manifest(part)
    assert not manifest["complete"] and len(manifest["shards"]) == 2  # examples 10..14 on disk
    assert read_manifest(out) is None  # nothing merged: the store does not look complete
    with pytest.raises(ProbekitError, match="no activation store"):
        ActivationStore(out)
    kept = [(part / s["file"]).stat().st_ino for s in manifest["shards"]]
    resumed = _torchrun(["-m", "probekit", *_args(model_and_data, out)], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    store = ActivationStore(out)
    assert_same(single, store)
    # rank 1's two finished shards were not recomputed: the merged store holds those very files
    merged = {s["first_example"]: (out / s["file"]).stat().st_ino for s in store.manifest["shards"]}
    assert [merged[10], merged[12]] == kept
    assert not list(out.glob("rank-*"))


def test_probe_under_torchrun_extracts_on_every_rank_and_probes_once(model_and_data, tmp_path):
    model, data = model_and_data
    args = ["probe", "--model", str(model), "--dataset", str(data), "--text-column", "text", "--label-column",
            "label", "--modules", "resid", "--batch-size", "2", "--max-length", "32", "--n-splits", "3",
            "--n-controls", "2", "--no-check", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "single")]) == 0
    run = _torchrun(["-m", "probekit", *args, "--out", str(tmp_path / "ranks")], tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("best:") == 1  # one probe, on rank 0
    single = ActivationStore(tmp_path / "single" / "activations")
    ranks = ActivationStore(tmp_path / "ranks" / "activations")
    assert [p[1:] for p in ranks.manifest["info"]["merged_from"]] == [[0, 10], [10, 21]]  # both ranks extracted
    a, b = (list(csv.DictReader(open(tmp_path / d / "results.csv"))) for d in ("single", "ranks"))
    assert len(a) == len(b) == len(single.modules) and [r["hook_point"] for r in a] == [r["hook_point"] for r in b]
    for x, y in zip(a, b):
        for key in x:
            try:
                np.testing.assert_allclose(float(y[key]), float(x[key]), rtol=0, atol=1e-6, err_msg=key)
            except ValueError:
                assert x[key] == y[key], key
