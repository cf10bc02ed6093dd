"""Audit config files: TOML / YAML parsed into typed configs; every bad input one clear error (exit 2)."""

from __future__ import annotations

import pytest

from probekit.audit.config import load_audit_config
from probekit.errors import ProbekitError

GOOD = """
[[models]]
name = "smollm2-135m"
random_init = true
[models.extraction]
token_selection = "mean"
[[models]]
name = "minilm-l6"
[[datasets]]
name = "cities"
limit = 50
[[datasets]]
name = "data/statements.csv"
text_column = "statement"
[extraction]
modules = ["resid", "mlp"]
batch_size = 4
[probe]
n_splits = 4
seeds = 2
[audit]
transfer = false
"""


def _write(tmp_path, text, name="audit.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toml_config_resolves_defaults_overrides_and_relative_paths(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "statements.csv").write_text("statement,label\na,1\nb,0\n")
    config = load_audit_config(_write(tmp_path, GOOD))
    assert [m.name for m in config.models] == ["smollm2-135m", "minilm-l6"]
    assert [m.variants() for m in config.models] == [["pretrained", "random-init"], ["pretrained"]]
    assert config.datasets[0].name == "cities" and config.datasets[0].limit == 50
    assert config.datasets[1].name == str(tmp_path / "data" / "statements.csv")  # next to the config file
    assert config.extraction.modules == ["resid", "mlp"] and config.extraction.batch_size == 4
    first, second = (config.model_extraction(m) for m in config.models)
    assert (first.token_selection, first.modules, first.batch_size) == ("mean", ["resid", "mlp"], 4)
    assert second.token_selection is None
    assert (config.probe.n_splits, config.probe.seeds, config.probe.n_controls) == (4, 2, 5)
    assert config.transfer is False
    assert config.to_dict()["models"][0]["random_init"] is True


def test_yaml_config_reads_the_same(tmp_path):
    text = ("models:\n  - name: minilm-l6\n    random_init: true\ndatasets:\n  - name: cities\n    limit: 10\n"
            "probe:\n  n_splits: 3\n")
    config = load_audit_config(_write(tmp_path, text, "audit.yaml"))
    assert config.models[0].random_init and config.datasets[0].limit == 10 and config.probe.n_splits == 3


@pytest.mark.parametrize("text, needles", [
    (GOOD.replace("n_splits = 4", "n_split = 4"), ["unknown key 'n_split' in [probe]", "n_splits", "n_controls"]),
    (GOOD.replace("random_init = true", "random-init = true"),
     ["unknown key 'random-init' in [[models]] #1", "random_init"]),
    (GOOD.replace("limit = 50", "limt = 50"), ["unknown key 'limt' in [[datasets]] #1", "limit", "text_column"]),
    (GOOD.replace("batch_size = 4", "batchsize = 4"), ["unknown key 'batchsize' in [extraction]", "batch_size"]),
    (GOOD.replace('token_selection = "mean"', "tokens = 1"), ["unknown key 'tokens'", "token_selection"]),
    (GOOD + "\n[report]\ntitle = 'x'\n", ["unknown section 'report'", "models", "datasets", "probe"]),
    (GOOD.replace("transfer = false", "transfers = false"), ["unknown key 'transfers' in [audit]", "transfer"]),
    ("[[datasets]]\nname = 'cities'\n", ["lists no models"]),
    ("models = []\n[[datasets]]\nname = 'cities'\n", ["lists no models"]),
    ("[[models]]\nname = 'minilm-l6'\n", ["lists no data sets"]),
    ("[[models]]\nrandom_init = true\n[[datasets]]\nname = 'cities'\n", ["[[models]] #1 needs the key 'name'"]),
    ("[[models]]\nname = 'minilm-l6'\n[[datasets]]\nlimit = 3\n", ["[[datasets]] #1 needs the key 'name'"]),
    (GOOD.replace("n_splits = 4", "n_splits = 'four'"), ["n_splits must be int", "'four'"]),
    (GOOD.replace("random_init = true", "random_init = 'yes'"), ["random_init must be bool"]),
    (GOOD.replace("n_splits = 4", "n_splits = 1"), ["n_splits must be at least 2"]),
    (GOOD.replace("limit = 50", "limit = 0"), ["limit must be a positive number"]),
    (GOOD.replace('name = "minilm-l6"', 'name = "smollm2-135m"'), ["two models share the name"]),
    ("models = 'smollm2-135m'\n", ["models must be a list of tables"]),
    ("[[models]\nname = 'x'\n", ["is not valid TOML"]),
])
def test_bad_config_is_one_clear_error(tmp_path, text, needles):
    (tmp_path / "data").mkdir()
    with pytest.raises(ProbekitError) as info:
        load_audit_config(_write(tmp_path, text))
    for needle in needles:
        assert needle in str(info.value)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(ProbekitError, match="does not exist"):
        load_audit_config(tmp_path / "nope.toml")
    with pytest.raises(ProbekitError, match="unknown format '.ini'"):
        load_audit_config(_write(tmp_path, "x", "audit.ini"))


@pytest.mark.parametrize("text, needle", [
    (GOOD.replace("n_splits = 4", "n_split = 4"), "unknown key 'n_split'"),
    ("models = []\n[[datasets]]\nname = 'cities'\n", "lists no models"),
])
def test_cli_bad_config_exits_2(tmp_path, capsys, text, needle):
    from probekit.cli import main

    (tmp_path / "data").mkdir()
    code = main(["audit", "--config", str(_write(tmp_path, text)), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and needle in err
    assert not (tmp_path / "out" / "results.csv").exists()


def test_cli_unknown_dataset_fails_before_any_model_loads(tmp_path, capsys, monkeypatch):
    import probekit.models

    from probekit.cli import main

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded before the data sets were checked")

    monkeypatch.setattr(probekit.models, "load_model", no_loading)
    path = _write(tmp_path, "[[models]]\nname = 'smollm2-135m'\n[[datasets]]\nname = 'citties'\n")
    assert main(["audit", "--config", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "citties" in capsys.readouterr().err


def test_pretrained_results_do_not_depend_on_the_random_init_settings(tmp_path):
    """Adding random_init (or changing its seed) must not redo the finished pretrained combinations."""
    from dataclasses import replace

    from probekit.audit.runner import LoadedData, _key
    from probekit.concepts.dataset import ConceptDataset

    (tmp_path / "data").mkdir()
    config = load_audit_config(_write(tmp_path, GOOD))
    data = LoadedData(config.datasets[0], ConceptDataset(["a", "b"], [0, 1], "binary", name="x"), "x")
    model = config.models[0]
    other = replace(model, random_init=False, seed=5, label="another label")
    assert _key(config, model, "pretrained", data) == _key(config, other, "pretrained", data)
    assert _key(config, model, "random-init", data) != _key(config, replace(model, seed=5), "random-init", data)
    assert _key(config, model, "pretrained", data) != _key(config, replace(model, dtype="float16"), "pretrained", data)
