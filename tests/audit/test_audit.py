"""`probekit audit`: every output of a 2-model × 3-data-set audit, checked against independent
runs (`probekit probe`, scikit-learn), and an interrupted audit resumed without redoing work."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from tests.audit.conftest import read_json

MODELS = ["tiny-llama", "tiny-bert"]
DATASETS = ["cities", "number-agreement", "facts"]
HOOKS = ["embed", "blocks.0.resid_post", "blocks.1.resid_post", "blocks.2.resid_post"]


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_interrupted_audit_resumes_without_redoing_finished_work(audit_run):
    assert audit_run.interrupted_code == 130
    # three combinations had finished (tiny-llama pretrained × 3 data sets); nothing looked complete
    assert audit_run.finished_before == [f"finished/tiny-llama/pretrained/{d}.json" for d in
                                         ("cities", "facts", "number-agreement")]
    assert len(audit_run.store_mtimes_before) == 4  # the fourth store was extracted before the interruption
    assert audit_run.code == 0
    assert audit_run.calls_after == [("tiny-llama", "random-init", d) for d in DATASETS] + \
        [("tiny-bert", "pretrained", d) for d in DATASETS]
    now = {str(p.relative_to(audit_run.out)): p.stat().st_mtime_ns
           for p in (audit_run.out / "stores").rglob("*.safetensors")}
    assert all(now[k] == v for k, v in audit_run.store_mtimes_before.items())  # finished stores not redone
    assert len(now) == 9
    assert not list(audit_run.out.glob(".*tmp*"))


def test_results_csv_has_one_row_per_model_variant_dataset_hook_point(audit_run):
    rows = _rows(audit_run.out / "results.csv")
    for column in ("model", "variant", "dataset", "hook_point", "layer", "score", "ci_low", "ci_high",
                   "control_score", "selectivity", "metric"):
        assert column in rows[0]
    keys = [(r["model"], r["variant"], r["dataset"], r["hook_point"]) for r in rows]
    expected = [(m, v, d, h) for m, variants in (("tiny-llama", ["pretrained", "random-init"]),
                                                  ("tiny-bert", ["pretrained"]))
                for v in variants for d in DATASETS for h in HOOKS]
    assert keys == expected
    for r in rows:
        assert float(r["ci_low"]) <= float(r["score"]) + 1e-9 and float(r["score"]) <= float(r["ci_high"]) + 1e-9
        assert float(r["selectivity"]) == pytest.approx(float(r["score"]) - float(r["control_score"]), abs=2e-6)
        assert r["metric"] == "accuracy"
    # the random-init baseline is other weights, and probes differently
    hashes = {(r["model"], r["variant"]): r["weights_hash"] for r in rows}
    assert len(set(hashes.values())) == 3
    pre = [float(r["score"]) for r in rows if r["variant"] == "pretrained" and r["model"] == "tiny-llama"]
    rnd = [float(r["score"]) for r in rows if r["variant"] == "random-init"]
    assert pre != rnd


def test_audit_rows_equal_an_independent_probe_run(audit_run, tmp_path):
    """The audit's tiny-llama × facts rows are what `probekit probe` computes for that model and data."""
    from probekit.cli import main

    out = tmp_path / "probe"
    assert main(["probe", "--model", str(audit_run.models["llama"]), "--dataset",
                 str(audit_run.folder / "facts.csv"), "--text-column", "sentence", "--label-column", "truth",
                 "--group-column", "pair", "--n-splits", "3", "--n-controls", "2", "--batch-size", "8",
                 "--out", str(out), "--quiet"]) == 0
    probe = _rows(out / "results.csv")
    audit = [r for r in _rows(audit_run.out / "results.csv")
             if (r["model"], r["variant"], r["dataset"]) == ("tiny-llama", "pretrained", "facts")]
    for column in ("hook_point", "layer", "score", "ci_low", "ci_high", "control_score", "selectivity", "p_value"):
        assert [r[column] for r in audit] == [r[column] for r in probe], column
    # compare reads a probe run (model and data set from its results.json) next to the audit
    assert main(["compare", str(audit_run.out), str(out), "--out", str(tmp_path / "cmp"), "--quiet"]) == 0
    summary = _rows(tmp_path / "cmp" / "compare.csv")
    assert len(summary) == 9 + 1
    mine = next(s for s in summary if s["run"] == str(out))
    assert (mine["model"], mine["dataset"], mine["variant"]) == (str(audit_run.models["llama"]), "facts",
                                                                 "pretrained")
    assert float(mine["best_score"]) == pytest.approx(max(float(r["score"]) for r in probe), abs=1e-6)


def test_transfer_matrix(audit_run):
    from probekit.concepts import load_concept_dataset
    from probekit.probes.linear import LogisticProbe
    from probekit.store import ActivationStore

    transfer = _rows(audit_run.out / "transfer.csv")
    results = _rows(audit_run.out / "results.csv")
    # all three data sets are binary: a full 3 × 3 matrix per model variant
    assert len(transfer) == 3 * 9
    for t in transfer:
        own = [r for r in results if (r["model"], r["variant"], r["dataset"]) ==
               (t["model"], t["variant"], t["train_dataset"])]
        best = max(own, key=lambda r: float(r["score"]))
        assert t["hook_point"] == best["hook_point"]  # trained at the training data set's best hook point
        if t["train_dataset"] == t["test_dataset"]:
            assert t["evaluation"] == "cross-validated" and t["score"] == best["score"]
        else:
            assert t["evaluation"] == "transfer"
    # one off-diagonal cell against scikit-learn's LogisticRegressionCV (the sklearn backend)
    cell = next(t for t in transfer if (t["model"], t["variant"], t["train_dataset"], t["test_dataset"]) ==
                ("tiny-bert", "pretrained", "number-agreement", "cities"))
    stores = audit_run.out / "stores" / "tiny-bert" / "pretrained"
    train = load_concept_dataset("number-agreement", limit=40)
    test = load_concept_dataset("cities", limit=40)
    X_train = ActivationStore(stores / "number-agreement").numpy(cell["hook_point"])
    X_test = ActivationStore(stores / "cities").numpy(cell["hook_point"])
    probe = LogisticProbe(backend="sklearn").fit(X_train, train.labels, groups=train.groups)
    reference = float(np.mean(probe.predict(X_test) == test.labels))
    assert float(cell["score"]) == pytest.approx(reference, abs=1 / 40 + 1e-9)  # at most one of 40 rows differs


def test_report_html_is_self_contained_and_complete(audit_run):
    html = (audit_run.out / "report.html").read_text()
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", html)  # every image inline
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', html)
    assert len(images) == 3 * 2  # heatmap, layer curves, transfer per model
    for needle in ("Score per data set × layer", "Best layer per data set", "Pretrained vs random-init",
                   "Transfer matrix", "Run record", *MODELS, *DATASETS):
        assert needle in html, needle
    for name in ("heatmap-tiny-llama.png", "curves-tiny-bert.png", "transfer-tiny-llama.png"):
        assert (audit_run.out / name).stat().st_size > 5_000


def test_audit_json_holds_the_resolved_config_and_run_record(audit_run):
    payload = read_json(audit_run.out / "audit.json")
    config = payload["config"]
    assert [m["name"] for m in config["models"]] == [str(audit_run.models["llama"]), str(audit_run.models["bert"])]
    assert [m["label"] for m in config["models"]] == MODELS and config["models"][0]["seed"] == 1
    assert config["models"][0]["random_init"] is True and config["probe"]["n_splits"] == 3
    assert config["datasets"][2]["name"] == str(audit_run.folder / "facts.csv")  # relative to the config file
    run = payload["run"]
    assert run["argv"] == ["probekit", "audit", "--config", str(audit_run.folder / "audit.toml"), "--out",
                           str(audit_run.out), "--quiet"]
    assert run["started"] <= run["ended"] and run["command"] == "audit" and run["config"] == config
    assert run["probekit"]
    for package in ("python", "torch", "transformers", "sklearn"):
        assert run["versions"][package]
    assert set(payload["models"]) == set(MODELS) and [d["name"] for d in payload["datasets"]] == DATASETS


def test_compare_overlays_audit_and_probe_runs(audit_run, tmp_path, capsys):
    from probekit.cli import main

    out = tmp_path / "cmp"
    assert main(["compare", str(audit_run.out), "--out", str(out)]) == 0
    summary = _rows(out / "compare.csv")
    results = _rows(audit_run.out / "results.csv")
    assert len(summary) == 9  # one curve per model × variant × data set
    for s in summary:
        own = [float(r["score"]) for r in results if (r["model"], r["variant"], r["dataset"]) ==
               (s["model"], s["variant"], s["dataset"])]
        assert float(s["best_score"]) == pytest.approx(max(own), abs=1e-6)
    assert (out / "compare.png").stat().st_size > 10_000
    html = (out / "compare.html").read_text()
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html
    assert "tiny-llama / cities (random-init)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["compare", "no/such/run"], "does not exist"),
    (["audit", "--config", "no/such/audit.toml", "--out", "x"], "does not exist"),
])
def test_missing_inputs_exit_2(tmp_path, monkeypatch, capsys, argv, needle):
    from probekit.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and needle in err
