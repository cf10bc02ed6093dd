"""The CLI end to end on a tiny model, and every bad input of the main job."""

import csv
import json

import pytest

from probekit.cli import main


def test_probe_writes_results_plot_and_report(tmp_path, tiny_model_dir, tiny_csv, capsys):
    out = tmp_path / "run"
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column",
                 "sentence", "--label-column", "truth", "--group-column", "pair", "--n-splits", "3",
                 "--out", str(out), "--quiet"])
    assert code == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert [r["hook_point"] for r in rows] == ["embed", "blocks.0.resid_post", "blocks.1.resid_post", "blocks.2.resid_post"]
    for column in ("hook_point", "layer", "score", "score_std", "control_score", "selectivity", "metric",
                   "n_train", "n_test"):
        assert column in rows[0]
    assert all(0 <= float(r["score"]) <= 1 for r in rows)
    payload = json.loads((out / "results.json").read_text())
    assert payload["config"]["dataset"]["label_column"] == "truth" and len(payload["results"]) == 4
    assert (out / "probe_scores.png").stat().st_size > 10_000
    assert "Best hook point" in (out / "report.md").read_text()
    assert json.loads((out / "activations" / "manifest.json").read_text())["complete"] is True
    # the same config again reuses the finished store
    mtime = (out / "activations" / "shard-00000.safetensors").stat().st_mtime_ns
    assert main(["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column",
                 "sentence", "--label-column", "truth", "--group-column", "pair", "--n-splits", "3",
                 "--out", str(out), "--quiet"]) == 0
    assert (out / "activations" / "shard-00000.safetensors").stat().st_mtime_ns == mtime


def _assert_failed_cleanly(code, out, capsys, *needles):
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:")
    for needle in needles:
        assert needle in err
    assert not (out / "results.csv").exists() and not (out / "results.json").exists()
    manifest = out / "activations" / "manifest.json"
    assert not manifest.exists() or json.loads(manifest.read_text())["complete"] is False


@pytest.mark.parametrize("extra,needles", [
    (["--model", "no-such-model"], ["could not load", "no-such-model", "smollm2-135m"]),  # a plain hub id, offline
    (["--model", "./missing/folder"], ["unknown model"]),
    (["--modules", "model.layer.*"], ["matches no module", "model.layers"]),
    (["--label-column", "truthiness"], ["available columns", "truth"]),
])
def test_bad_model_module_column(tmp_path, tiny_model_dir, tiny_csv, capsys, extra, needles):
    out = tmp_path / "run"
    options = {"--model": str(tiny_model_dir), "--dataset": str(tiny_csv), "--text-column": "sentence",
               "--label-column": "truth", "--out": str(out)}
    options.update(dict(zip(extra[::2], extra[1::2])))
    code = main(["probe", "--quiet"] + [x for kv in options.items() for x in kv])
    _assert_failed_cleanly(code, out, capsys, *needles)


@pytest.mark.parametrize("content,needle", [
    ("text,label\n", "empty"),
    ("text,label\na,1\nb,\nc,0\n", "NaN"),
    ("text,label\na,1\nb,1\n", "single class"),
])
def test_bad_labels(tmp_path, tiny_model_dir, capsys, content, needle):
    data = tmp_path / "d.csv"
    data.write_text(content)
    out = tmp_path / "run"
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(data), "--out", str(out), "--quiet"])
    _assert_failed_cleanly(code, out, capsys, needle)


def test_unwritable_output(tmp_path, tiny_model_dir, tiny_csv, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column", "sentence",
                 "--label-column", "truth", "--out", str(blocker / "run"), "--quiet"])
    assert code == 2 and "cannot write" in capsys.readouterr().err


def test_list_modules_and_extract(tmp_path, tiny_model_dir, tiny_csv, capsys):
    assert main(["list-modules", "--model", str(tiny_model_dir)]) == 0
    text = capsys.readouterr().out
    assert "blocks.2.resid_post" in text and "model.layers.0" in text and "(1, " in text
    out = tmp_path / "acts"
    assert main(["extract", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column",
                 "sentence", "--label-column", "truth", "--modules", "model.layers.*", "--out", str(out),
                 "--quiet"]) == 0
    from probekit.store import ActivationStore

    store = ActivationStore(out)
    assert store.modules == ["blocks.0.resid_post", "blocks.1.resid_post", "blocks.2.resid_post"]
    assert store.numpy("blocks.0.resid_post").shape == (20, 32)
    assert json.loads((out / "config.json").read_text())["extraction"]["modules"] == ["model.layers.*"]


def test_probe_statistics_options_reach_the_results(tmp_path, tiny_model_dir, tiny_csv):
    out = tmp_path / "run"
    assert main(["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column",
                 "sentence", "--label-column", "truth", "--group-column", "pair", "--n-splits", "3",
                 "--n-controls", "3", "--seeds", "2", "--probe-device", "cpu", "--out", str(out), "--quiet"]) == 0
    payload = json.loads((out / "results.json").read_text())
    assert payload["config"]["probe"] == {"n_splits": 3, "seed": 0, "seeds": 2, "n_controls": 3, "device": "cpu",
                                          "dtype": "float32"}
    row = payload["results"][1]
    assert row["n_controls"] == 3 and row["n_seeds"] == 2


@pytest.mark.parametrize("flag, value, needle", [("--n-controls", "0", "n_controls"), ("--seeds", "0", "seeds")])
def test_bad_probe_statistics_option_exits_2(tmp_path, tiny_model_dir, tiny_csv, capsys, flag, value, needle):
    code = main(["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column", "sentence",
                 "--label-column", "truth", flag, value, "--out", str(tmp_path / "r"), "--quiet"])
    assert code == 2
    assert needle in capsys.readouterr().err
