"""The CLI built from the config dataclasses: groups, help and defaults, --config files, run
records, ``probekit rerun``, --version, --quiet, plain hub ids, split errors."""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pytest

from probekit.cli import build_parser, main
from probekit.cliargs import config_from_args, docstring_params
from probekit.config import ModelConfig, ProbeConfig, RunConfig, config_from_dict
from probekit.errors import ProbekitError
from probekit.extract.runner import ExtractionConfig

#: Every option `probe` had before the options were generated (README documents them).
PROBE_FLAGS = """--model --weights --dtype --device --device-map --trust-remote-code --padding-side --dataset
--text-column --label-column --group-column --word-type-column --task --limit --concept --modules
--token-selection --pooling --batch-size --max-length --store-dtype --shard-size --no-stop-early --no-check
--overwrite --quiet --n-splits --seed --seeds --n-controls --probe-device --probe-dtype --out --no-baselines""".split()


def _subparsers(parser):
    """``{name: sub-parser}``, nested ones as ``store verify``."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in _subparsers(sub).items()})
    return found


def _options(parser):
    return [a for a in parser._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]


def test_probe_help_groups_options_each_with_help_and_default(capsys):
    subs = _subparsers(build_parser())
    probe = subs["probe"]
    flags = {s for a in _options(probe) for s in a.option_strings}
    assert set(PROBE_FLAGS) <= flags, set(PROBE_FLAGS) - flags
    for name in ("probe", "extract", "list-modules", "check", "predict", "rerun", "store verify", "store merge"):
        for action in _options(subs[name]):
            shown = "(required)" in action.help if action.required else "(default: " in action.help
            assert action.help and shown, (name, action.option_strings, action.help)
        assert "--quiet" in {s for a in _options(subs[name]) for s in a.option_strings}, name
    with pytest.raises(SystemExit) as stop:
        main(["probe", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    titles = re.findall(r"^(\w+):$", text, re.M)
    assert titles == ["options", "model", "data", "extraction", "probe", "output"]
    model_part = text.split("\nmodel:\n")[1].split("\ndata:\n")[0]
    assert "--model" in model_part and "--padding-side" in model_part and "--n-splits" not in model_part
    assert "--n-splits" in text.split("\nprobe:\n")[1] and "(default: 5)" in text.split("\nprobe:\n")[1]
    # the field's docstring is its help; its default is the dataclass default
    n_controls = next(a for a in _options(probe) if "--n-controls" in a.option_strings)
    assert docstring_params(ProbeConfig)["n_controls"].split(";")[0] in n_controls.help
    assert n_controls.help.endswith(f"(default: {ProbeConfig().n_controls})")
    # every help is a real description (a docstring entry or metadata), not the field name
    for action in _options(probe):
        if action.dest.startswith("cfg:"):
            name = action.dest.split(".")[-1].removeprefix("cfg:")
            assert not action.help.startswith(name.replace("_", " ") + " (default"), action.option_strings
    # extract has no probe options
    assert "--n-splits" not in {s for a in _options(subs["extract"]) for s in a.option_strings}


@dataclass
class MyProbe(ProbeConfig):
    """Probe settings plus one (a field added without touching cli.py).

    Parameters
    ----------
    l2_strength:
        Ridge penalty of the new probe.
    """

    l2_strength: float = 1.0


@dataclass
class MyRun(RunConfig):
    probe: MyProbe = field(default_factory=MyProbe, metadata={"group": "probe"})


def test_a_new_config_field_appears_on_the_cli():
    parser = build_parser(MyRun)
    action = next(a for a in _options(_subparsers(parser)["probe"]) if "--l2-strength" in a.option_strings)
    assert action.help == "Ridge penalty of the new probe. (default: 1.0)"
    args = parser.parse_args(["probe", "--l2-strength", "0.25", "--n-splits", "3"])
    config = config_from_args(MyRun, args)
    assert isinstance(config.probe, MyProbe) and config.probe.l2_strength == 0.25 and config.probe.n_splits == 3
    assert config_from_args(MyRun, parser.parse_args(["probe"])).probe.l2_strength == 1.0


@dataclass
class Suite:
    """Several models in one config (as an audit's [[models]] tables).

    Parameters
    ----------
    models:
        The models.
    probe:
        Shared probe settings.
    """

    models: list[ModelConfig] = field(default_factory=list)
    probe: ProbeConfig = field(default_factory=ProbeConfig)


def test_lists_of_config_tables():
    suite = config_from_dict(Suite, {"models": [{"name": "a"}, {"name": "b", "dtype": "float16"}],
                                     "probe": {"seeds": 2}})
    assert suite == Suite(models=[ModelConfig(name="a"), ModelConfig(name="b", dtype="float16")],
                          probe=ProbeConfig(seeds=2))
    for data, needle in [({"models": [{"name": "a"}, {"nme": "b"}]}, "'models[1].nme'"),
                         ({"models": {"name": "a"}}, "[[models]]")]:
        with pytest.raises(ProbekitError, match=re.escape(needle)):
            config_from_dict(Suite, data)
    parser = argparse.ArgumentParser()
    from probekit.cliargs import add_config_options

    add_config_options(parser, Suite)  # the list stays off the command line, the rest is there
    flags = {s for a in _options(parser) for s in a.option_strings}
    assert "--n-splits" in flags and not any("models" in f for f in flags)


def test_run_config_round_trip_and_bad_keys():
    config = RunConfig(model=ModelConfig(name="minilm-l6", dtype="bfloat16", trust_remote_code=True),
                       extraction=ExtractionConfig(modules=["attn", "mlp"], batch_size=3, shard_size=4096,
                                                   check=False),
                       probe=ProbeConfig(n_splits=3, seeds=2, device="cpu", dtype="float64"),
                       out="x/y", overwrite=True, baselines=False)
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.to_dict() == config.to_dict()
    assert RunConfig.from_dict({}) == RunConfig()
    assert RunConfig.from_dict({"probe": {"seed": 7}}).probe == ProbeConfig(seed=7)
    cases = [({"probe": {"nsplits": 3}}, ["'probe.nsplits'", "n_splits", "n_controls"]),
             ({"model_name": "x"}, ["'model_name'", "model, dataset, extraction, probe, out"]),
             ({"probe": {"n_splits": "3"}}, ["'probe.n_splits'", "int"]),
             ({"probe": {"n_splits": 1}}, ["n_splits must be at least 2"]),
             ({"model": {"dtype": "float8"}}, ["'model.dtype'", "bfloat16"]),
             ({"extraction": {"store_dtype": "int8"}}, ["'extraction.store_dtype'", "float16"]),
             ({"overwrite": "yes"}, ["'overwrite'", "bool"]),
             ({"dataset": ["cities"]}, ["'dataset'", "table"])]
    for data, needles in cases:
        with pytest.raises(ProbekitError) as err:
            RunConfig.from_dict(data)
        for needle in needles:
            assert needle in str(err.value), (needle, str(err.value))
    assert config_from_dict(ExtractionConfig, {"modules": "resid,attn"}).modules == ["resid", "attn"]


def test_config_file_with_flag_overrides(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text('out = "runs/from-file"\noverwrite = true\n[model]\nname = "minilm-l6"\n'
                    '[dataset]\nname = "my.csv"\ntext_column = "statement"\n'
                    '[extraction]\nmodules = ["attn", "mlp"]\nbatch_size = 4\n[probe]\nn_splits = 3\nseeds = 2\n')
    parser = build_parser()
    args = parser.parse_args(["probe", "--config", str(path), "--n-splits", "4", "--modules", "resid",
                              "--dataset", "cities"])
    config = config_from_args(RunConfig, args)
    assert config.probe == ProbeConfig(n_splits=4, seeds=2)  # flag wins, file value kept, default elsewhere
    assert config.extraction.modules == ["resid"] and config.extraction.batch_size == 4
    assert config.dataset.name == "cities" and config.dataset.text_column == "statement"
    assert config.model.name == "minilm-l6" and config.out == "runs/from-file" and config.overwrite is True
    assert config.progress is True and config.extraction.check is True
    assert config_from_args(RunConfig, parser.parse_args(["probe", "--config", str(path), "--quiet"])).progress is False
    # bad files are one-line errors
    bad = tmp_path / "bad.toml"
    for content, needles in [("[probe]\nn_split = 3\n", ["'probe.n_split'", "n_splits"]),
                             ("[probe\n", ["not valid TOML", "line 1"])]:
        bad.write_text(content)
        assert main(["probe", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error:") and all(n in err[0] for n in needles), err
    assert main(["extract", "--config", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "r")]) == 2
    assert "does not exist" in capsys.readouterr().err


def _check_record(record, command):
    assert record["command"] == command and record["probekit"] == __import__("probekit").__version__
    assert record["git_commit"] is None or re.fullmatch(r"[0-9a-f]{40}", record["git_commit"])
    started, ended = (datetime.fromisoformat(record[k]) for k in ("started", "ended"))
    assert started.utcoffset().total_seconds() == 0 and started <= ended
    import sklearn
    import torch
    import transformers

    assert record["versions"]["torch"] == torch.__version__ and record["versions"]["sklearn"] == sklearn.__version__
    assert record["versions"]["transformers"] == transformers.__version__
    assert record["versions"]["numpy"] == np.__version__
    assert isinstance(record["argv"], list)


def test_rerun_of_a_probe_run_reproduces_results_csv(tmp_path, tiny_model_dir, tiny_csv):
    path = tmp_path / "run.toml"
    path.write_text(f'[dataset]\nname = "{tiny_csv}"\ntext_column = "sentence"\nlabel_column = "truth"\n'
                    '[probe]\nn_splits = 3\nn_controls = 1\n[extraction]\n'
                    'modules = ["blocks.0.resid_post", "blocks.2.resid_post"]\n')
    out = tmp_path / "run"
    assert main(["probe", "--config", str(path), "--model", str(tiny_model_dir), "--group-column", "pair",
                 "--out", str(out), "--quiet"]) == 0
    payload = json.loads((out / "results.json").read_text())
    record = payload["run"]
    _check_record(record, "probe")
    assert record["device"] == {"model": "cpu", "probe": record["device"]["probe"]}
    config = RunConfig.from_dict(record["config"])
    assert config.model.name == str(tiny_model_dir) and config.dataset.group_column == "pair"
    assert config.probe.n_splits == 3 and config.probe.n_controls == 1 and config.out == str(out)
    assert [r["hook_point"] for r in payload["results"]] == ["blocks.0.resid_post", "blocks.2.resid_post"]

    again = tmp_path / "again"
    assert main(["rerun", str(out), "--out", str(again), "--quiet"]) == 0
    assert (again / "results.csv").read_bytes() == (out / "results.csv").read_bytes()
    assert (again / "activations" / "manifest.json").exists()  # extracted anew, not reused
    assert RunConfig.from_dict(json.loads((again / "results.json").read_text())["run"]["config"]).out == str(again)
    first = (out / "results.csv").read_bytes()
    assert main(["rerun", str(out), "--quiet"]) == 0  # into its own folder
    assert (out / "results.csv").read_bytes() == first


def test_extract_writes_a_run_record_and_reruns(tmp_path, tiny_model_dir, tiny_csv, capsys):
    from probekit.store import ActivationStore

    path = tmp_path / "extract.toml"
    path.write_text(f'[model]\nname = "{tiny_model_dir}"\n[dataset]\nname = "{tiny_csv}"\ntext_column = "sentence"\n'
                    'label_column = "truth"\n[extraction]\nmodules = ["model.layers.*"]\nbatch_size = 2\n')
    out = tmp_path / "acts"
    assert main(["extract", "--config", str(path), "--batch-size", "5", "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "run.json").read_text())
    _check_record(record, "extract")
    assert record["config"]["extraction"]["batch_size"] == 5 and record["shard"] is None
    again = tmp_path / "again"
    assert main(["rerun", str(out), "--out", str(again), "--quiet"]) == 0
    a, b = ActivationStore(out), ActivationStore(again)
    assert a.modules == b.modules == ["blocks.0.resid_post", "blocks.1.resid_post", "blocks.2.resid_post"]
    for name in a.modules:
        np.testing.assert_array_equal(a.numpy(name), b.numpy(name))
    capsys.readouterr()
    assert main(["rerun", str(tmp_path)]) == 2
    assert "no run record" in capsys.readouterr().err


def test_run_record_outside_a_git_checkout(monkeypatch):
    import subprocess

    from probekit import runs

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    monkeypatch.setattr(subprocess, "run", no_git)
    record = runs.run_record({"a": {"b": 1}}, "probe", runs.now_utc(), device="cpu", argv=["probekit", "probe"])
    assert record["git_commit"] is None and record["git_dirty"] is None
    assert record["config"] == {"a": {"b": 1}} and record["argv"] == ["probekit", "probe"]
    json.dumps(record)


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"probekit {__import__('probekit').__version__}"


def test_quiet_silences_the_load_bars(tiny_model_dir, capsys):
    import transformers

    try:
        transformers.utils.logging.enable_progress_bar()
        assert main(["list-modules", "--model", str(tiny_model_dir), "--quiet"]) == 0
        assert "Loading weights" not in capsys.readouterr().err
        transformers.utils.logging.enable_progress_bar()
        assert main(["list-modules", "--model", str(tiny_model_dir)]) == 0
        assert "Loading weights" in capsys.readouterr().err  # what --quiet removed
    finally:
        transformers.utils.logging.disable_progress_bar()


def test_plain_hub_id_is_a_model_name(capsys):
    assert main(["list-modules", "--model", "gpt2", "--quiet"]) == 2  # offline in the tests
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: could not load") and "'gpt2'" in err and "unknown model" not in err


def test_too_few_examples_per_class_is_a_one_line_error(tmp_path, tiny_model_dir, capsys):
    data = tmp_path / "few.csv"
    data.write_text("text,label\n" + "".join(f"sentence number {i},{i % 3 if i < 9 else 3}\n" for i in range(10)))
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(data), "--n-splits", "5",
                 "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: cannot split") and "n_splits=5" in last and "--n-splits" in last


def test_random_init_baseline_for_a_language_model(tmp_path, tiny_model_dir, tiny_csv):
    """``--random-init`` adds a random-init variant for a language model, on the same hook points
    (the weights themselves are tested in tests/models/test_random_init_lm.py)."""
    import csv

    from probekit.cli import main

    out = tmp_path / "run"
    assert main(["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column", "sentence",
                 "--label-column", "truth", "--group-column", "pair", "--n-splits", "3", "--out", str(out),
                 "--quiet", "--random-init"]) == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    pre = [r for r in rows if r["variant"] == "pretrained"]
    rand = [r for r in rows if r["variant"] == "random-init"]
    assert len(pre) == len(rand) == 4 and [r["hook_point"] for r in pre] == [r["hook_point"] for r in rand]
    assert (out / "activations-random-init" / "manifest.json").is_file()
