import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

SHARED_IMAGES = Path(os.environ.get("PROBEKIT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"),
                     "imagenet-sample")



pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_synthetic_tiny_writes_table_csv_png(recipe, tmp_path, capsys):
    assert recipe.main(["synthetic", "--tiny", "--out", str(tmp_path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "paper" in printed and "diet-norm" in printed and "supervised" in printed
    assert "98.6" in printed and "99.8" in printed  # the paper's base-row figures, labelled as the paper's
    out = tmp_path / "synthetic"
    for name in ("runs.csv", "history.csv", "summary.csv", "results.json", "synthetic_r2.png", "r2_vs_steps.png"):
        assert (out / name).stat().st_size > 0, name
    runs = list(csv.DictReader(open(out / "runs.csv")))
    assert {r["method"] for r in runs} == {"diet-norm", "diet", "supervised"}
    for r in runs:
        assert -1 < float(r["affine_r2"]) <= 1 and float(r["final_loss"]) > 0 and float(r["sv_mae"]) >= 0
    assert [r["head_sv_mae"] != "" for r in runs] == [True, False, False]  # normalised head only
    res = json.loads((out / "results.json").read_text())
    assert res["summary"][0]["paper_r2_z"] == pytest.approx(0.986)


def test_synthetic_training_beats_the_untrained_encoder(recipe, tmp_path):
    """Tables 2-3's claim at tiny scale: cross-entropy training raises the affine R² z~ -> z above init."""
    assert recipe.main(["synthetic", "--tiny", "--out", str(tmp_path), "--no-progress", "--methods", "supervised",
                        "--steps", "300", "--eval-every", "300", "--lr", "3e-3", "--lr-schedule", "cosine"]) == 0
    run = json.loads((tmp_path / "synthetic" / "results.json").read_text())["runs"][0]
    assert run["affine_r2"] > run["init_affine_r2"] + 0.05  # measured: 0.686 vs 0.565
    assert run["linear_r2"] > run["init_linear_r2"]


def test_synthetic_concentrated_clusters_lower_the_r2(recipe, tmp_path):
    """Table 2's kappa = 50 row at tiny scale: too concentrated clusters give a lower R² than the base row
    (and, as at the cpu budget, below the untrained encoder)."""
    assert recipe.main(["synthetic", "--tiny", "--out", str(tmp_path), "--no-progress", "--methods", "supervised",
                        "--rows", "base", "kappa50", "--steps", "300", "--eval-every", "300", "--lr", "3e-3",
                        "--lr-schedule", "cosine"]) == 0
    runs = {r["row"]: r for r in json.loads((tmp_path / "synthetic" / "results.json").read_text())["runs"]}
    assert runs["kappa50"]["affine_r2"] < runs["base"]["affine_r2"] - 0.1  # measured: 0.323 vs 0.686
    assert runs["kappa50"]["affine_r2"] < runs["kappa50"]["init_affine_r2"]  # measured: 0.323 vs 0.579


def test_dsprites_tiny_probes_every_factor(recipe, tmp_path, capsys):
    assert recipe.main(["dsprites", "--tiny", "--out", str(tmp_path), "--no-progress", "--n-images", "600",
                        "--encoders", "pixels", "mlp"]) == 0
    printed = capsys.readouterr().out
    assert "posX" in printed and "paper" in printed
    res = json.loads((tmp_path / "dsprites" / "results.json").read_text())
    pix = next(r for r in res["runs"] if r["encoder"] == "pixels")
    assert pix["probe"] == "ridge-cv" and pix["posX"] == pix["posX_ridge_cv"] and pix["posX_ridge_alpha"] > 0
    # 480 training images, 4096 pixels: the unpenalised probe interpolates, ridge with CV does not
    assert pix["posX_ridge_cv"] > pix["posX_lstsq"] + 0.03  # measured: 0.922 vs 0.865
    # raw pixels decode position well but shape poorly (Table 4's pattern)
    assert pix["posX"] > 0.8 and pix["posY"] > 0.8
    assert pix["shape"] < pix["posX"]
    # the encoder trained to classify shape decodes shape better than raw pixels with the paper's probe
    # (measured: 0.20 vs 0.05; ridge-CV: 0.12 vs 0.12 after this one epoch)
    mlp = next(r for r in res["runs"] if r["encoder"] == "mlp")
    assert mlp["shape_lstsq"] > pix["shape_lstsq"] + 0.1
    assert mlp["val_accuracy_shape"] > 1 / 3  # above chance on the 3 shapes
    assert (tmp_path / "dsprites" / "dsprites_pearson.png").stat().st_size > 0


def test_imagenet_tiny_runs(recipe, tmp_path, capsys):
    assert recipe.main(["imagenet", "--tiny", "--out", str(tmp_path), "--no-progress",
                        "--data", str(SHARED_IMAGES), "--limit", "40"]) == 0
    printed = capsys.readouterr().out
    assert "trained" in printed and "pixel-projection" in printed
    res = json.loads((tmp_path / "imagenet" / "results.json").read_text())
    assert {r["model"] for r in res["rows"]} == {"trained", "random-init", "pixel-projection"}
    assert all(0 <= r["accuracy_mean"] <= 1 for r in res["rows"])
    assert res["feature_dims"]["trained"] == 1280
    assert (tmp_path / "imagenet" / "imagenet_probes.png").stat().st_size > 0


def test_bad_arguments_are_reported(recipe, tmp_path, capsys):
    assert recipe.main(["synthetic", "--tiny", "--out", str(tmp_path), "--rows", "bogus", "--no-progress"]) == 2
    assert "closest valid" in capsys.readouterr().err
    assert recipe.main(["synthetic", "--tiny", "--out", str(tmp_path), "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err
    assert recipe.main(["imagenet", "--tiny", "--out", str(tmp_path), "--data", str(tmp_path / "nope")]) == 2
    assert "--data" in capsys.readouterr().err


def test_synthetic_cpu_default_reference_preset_and_lr_schedule_option(recipe):
    args = recipe.parse_args(["synthetic"])
    s = args.settings
    assert args.preset == "cpu"
    assert (s["steps"], s["batch_size"], s["lr"], s["lr_schedule"]) == (2000, 1024, 3e-3, "cosine")
    assert s["rows"] == ["base", "kappa50"] and s["seeds"] == [0, 1, 2]
    assert s["methods"] == ["diet-norm", "diet", "supervised"]  # Table 2's normalised-head column by default
    assert (s["n_pool"], s["cond_quantile"]) == (25000, 0.0)  # the reference generator selection
    ref = recipe.parse_args(["synthetic", "--budget", "reference"]).settings
    # klindtlab/csi main_diet.py defaults: 50000 epochs x (10240 // 1024) steps, constant Adam 1e-3
    assert (ref["steps"], ref["lr"], ref["lr_schedule"], ref["n_instances"]) == (500000, 1e-3, "constant", 10240)
    assert (ref["eval_every"], ref["eval_samples"], ref["n_pool"], ref["cond_quantile"]) == (1000, 8192, 25000, 0.0)
    assert recipe.parse_args(["synthetic", "--lr-schedule", "constant"]).settings["lr_schedule"] == "constant"
    assert recipe.parse_args(["dsprites"]).settings["probe"] == "ridge-cv"
    with pytest.raises(SystemExit):
        recipe.parse_args(["synthetic", "--lr-schedule", "linear"])
    with pytest.raises(SystemExit):
        recipe.parse_args(["synthetic", "--budget", "full"])


def test_synthetic_tables_state_budget_and_n_and_curves_are_saved(recipe, tmp_path, capsys):
    """One seed prints 'n = 1, no interval' (never '± 0.0'); --summarize pools seeds into a t-interval."""
    for seed in (0, 1):
        assert recipe.main(["synthetic", "--tiny", "--out", str(tmp_path / f"s{seed}"), "--no-progress",
                            "--methods", "supervised", "--seeds", str(seed)]) == 0
    printed = capsys.readouterr().out
    assert "n = 1, no interval" in printed and "± 0.0" not in printed
    assert "tiny: 40 steps, batch 128, constant Adam 0.001, N = 1000" in printed
    out = tmp_path / "s0" / "synthetic"
    hist = list(csv.DictReader(open(out / "history.csv")))
    assert [int(h["step"]) for h in hist] == [0, 20, 40]  # the R²-vs-steps curve of the run
    assert all(h["budget"] == "tiny" and h["singular_values"].count(";") == 4 for h in hist)
    assert (out / "r2_vs_steps.png").stat().st_size > 0
    assert recipe.main(["synthetic", "--summarize", str(tmp_path / "s0"), str(tmp_path / "s1"),
                        "--out", str(tmp_path / "both")]) == 0
    summary = json.loads((tmp_path / "both" / "synthetic" / "results.json").read_text())["summary"]
    assert len(summary) == 1 and summary[0]["n_seeds"] == 2 and summary[0]["seeds"] == [0, 1]
    runs = [json.loads((tmp_path / f"s{k}" / "synthetic" / "results.json").read_text())["runs"][0] for k in (0, 1)]
    from scipy import stats

    vals = [r["affine_r2"] for r in runs]
    lo, hi = stats.t.interval(0.95, 1, loc=np.mean(vals), scale=stats.sem(vals))
    assert summary[0]["affine_r2_ci"] == pytest.approx((hi - lo) / 2)
    assert "± " in capsys.readouterr().out
    assert recipe.main(["synthetic", "--summarize", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
