"""A real extraction killed by SIGKILL and re-run equals an uninterrupted one."""

import signal
import subprocess
import sys
import textwrap

import numpy as np

from probekit.store import ActivationStore

SCRIPT = textwrap.dedent("""
    import os, signal, sys
    from probekit.concepts import load_concept_dataset
    from probekit.extract.runner import ExtractionConfig, extract
    from probekit.models import load_model
    from probekit.store import writer as writer_module

    model_dir, data, out, kill_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    original = writer_module.StoreWriter._write_shard
    def write_then_maybe_die(self, *args):
        original(self, *args)
        if len(self.manifest["shards"]) == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    writer_module.StoreWriter._write_shard = write_then_maybe_die
    dataset = load_concept_dataset(data, text_column="sentence", label_column="truth", group_column="pair")
    loaded = load_model(model_dir)
    config = ExtractionConfig(modules=["resid", "mlp"], batch_size=3, shard_examples=6, token_selection="all")
    extract(loaded, dataset, config, out, progress=False)
""")


def test_killed_extraction_resumes_to_identical_store(tmp_path, tiny_model_dir, tiny_csv):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    clean, resumed = tmp_path / "clean", tmp_path / "resumed"
    args = [sys.executable, str(script), str(tiny_model_dir), str(tiny_csv)]
    assert subprocess.run(args + [str(clean), "-1"]).returncode == 0
    assert subprocess.run(args + [str(resumed), "2"]).returncode == -signal.SIGKILL
    assert subprocess.run(args + [str(resumed), "-1"]).returncode == 0
    a, b = ActivationStore(clean), ActivationStore(resumed)
    assert a.modules == b.modules and a.n_samples == b.n_samples > 20
    for module in a.modules:
        np.testing.assert_array_equal(a.numpy(module), b.numpy(module))
    np.testing.assert_array_equal(a.positions(), b.positions())
    for shard in a.manifest["shards"]:
        assert (clean / shard["file"]).read_bytes() == (resumed / shard["file"]).read_bytes()
