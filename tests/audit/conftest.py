"""One small audit, run once for the audit tests: 2 tiny models (one with random_init) × 3 data
sets (two built-in, one CSV), interrupted after its third finished combination, then rerun."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import build_tiny_model, write_facts_csv

CONFIG = """
[[models]]
name = "{llama}"
label = "tiny-llama"
random_init = true
seed = 1
[[models]]
name = "{bert}"
label = "tiny-bert"
[[datasets]]
name = "cities"
limit = 40
[[datasets]]
name = "number-agreement"
limit = 40
[[datasets]]
name = "facts.csv"
text_column = "sentence"
label_column = "truth"
group_column = "pair"
[extraction]
modules = ["resid"]
batch_size = 8
[probe]
n_splits = 3
n_controls = 2
"""


@dataclass
class AuditRun:
    folder: Path                      # holds the config and the CSV
    models: dict                      # kind -> model folder
    out: Path                         # the audit's output folder
    interrupted_code: int
    finished_before: list             # finished-results files after the interruption
    store_mtimes_before: dict         # shard file -> mtime_ns after the interruption
    calls_after: list = field(default_factory=list)   # combinations computed by the rerun
    code: int = -1


def _shards(out: Path) -> dict:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in (out / "stores").rglob("*.safetensors")}


@pytest.fixture(scope="session")
def audit_run(tmp_path_factory, tiny_model_dir):
    """Run the audit via the CLI, interrupt it (KeyboardInterrupt) in the probing of its fourth
    combination, record what was on disk, then rerun it to completion."""
    import probekit.audit.runner as runner
    from probekit.cli import main

    folder = tmp_path_factory.mktemp("audit")
    # the tiny models' "pretrained" weights were drawn with seed 0; the random-init baseline uses seed 1
    write_facts_csv(folder / "facts.csv")
    models = {"llama": tiny_model_dir, "bert": build_tiny_model("bert", folder / "tiny-bert")}
    (folder / "audit.toml").write_text(CONFIG.format(**models))
    out = folder / "out"
    argv = ["audit", "--config", str(folder / "audit.toml"), "--out", str(out), "--quiet"]

    original, calls = runner.probe_combination, []

    def interrupted(config, model, variant, data, *args, **kwargs):
        calls.append((model.display, variant, data.name))
        if len(calls) == 4:  # the store is extracted, then the probing is interrupted
            from probekit.extract.runner import extract
            from probekit.pipeline import check_inputs

            loaded, store_dir = args[0], args[1]
            extract(loaded, data.dataset, check_inputs(loaded, data.dataset, config.model_extraction(model)),
                    store_dir, progress=False)
            raise KeyboardInterrupt
        return original(config, model, variant, data, *args, **kwargs)

    # tiny problems: one torch thread (two threads on a busy machine make the probe engine ~10x slower)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    runner.probe_combination = interrupted
    try:
        code = main(argv)
    finally:
        runner.probe_combination = original
    run = AuditRun(folder, models, out, code, sorted(str(p.relative_to(out)) for p in (out / "finished").rglob("*.json")),
                   _shards(out))

    def counted(config, model, variant, data, *args, **kwargs):
        run.calls_after.append((model.display, variant, data.name))
        return original(config, model, variant, data, *args, **kwargs)

    runner.probe_combination = counted
    try:
        run.code = main(argv)
    finally:
        runner.probe_combination = original
        torch.set_num_threads(threads)
    return run


@pytest.fixture(autouse=True)
def _audit_one_torch_thread(one_torch_thread):
    """The audit tests' problems are tiny: one torch thread is fastest."""


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())
