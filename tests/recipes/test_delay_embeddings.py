import json




def test_tiny_recipe_runs_and_writes_outputs(recipe, tmp_path, capsys, monkeypatch):
    import numpy as np

    made = []

    def recording(config, noise_stds):
        made.append(real(config, noise_stds))
        return made[-1]

    real = recipe.simulate_noise_levels
    monkeypatch.setattr(recipe, "simulate_noise_levels", recording)
    assert recipe.main(["--tiny", "--out", str(tmp_path), "--no-progress"]) == 0
    assert len(made) == 2  # train and validation: the same clean trajectories under both sigma
    for levels in made:
        np.testing.assert_array_equal(levels[0.0].states, levels[0.05].states)
        assert not np.array_equal(levels[0.0].observations, levels[0.05].observations)
    printed = capsys.readouterr().out
    assert "Takens" in printed and "lru" in printed and "gpt" in printed and "paper" in printed
    assert "budget tiny: 24 steps, lr 0.01, 12 traj × 200; n = 1 seed (seed 0)" in printed
    table = [line for line in printed.splitlines() if line.startswith(("gpt ", "lru "))]
    assert len(table) == 4 and all(line.split()[3:5] == ["tiny", "1"] for line in table)  # budget, n per row
    for name in ("results.csv", "history.csv", "results.json", "decoding_vs_step.png", "mase_vs_params.png",
                 "delta_mase_noise.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    res = json.loads((tmp_path / "results.json").read_text())
    assert (res["budget_name"], res["budget"]) == ("tiny", "tiny: 24 steps, lr 0.01, 12 traj × 200")
    assert res["settings"] == recipe.PRESETS["tiny"]
    rows = res["rows"]
    assert {(r["model"], r["sigma"], r["phase"]) for r in rows} == {
        (m, s, p) for m in ("gpt", "lru") for s in (0.0, 0.05) for p in ("init", "trained")}
    for r in rows:
        assert -1.5 < r["r2_linear"] <= 1 and 0 <= r["overlap"] <= 1 and r["mase"] > 0
    assert {h["step"] for h in res["history"]} == {0, 12, 24}
    assert len(res["delta_mase"]) == 2
    assert res["baselines"]["0.0"]["m"] >= 2
    by = {(r["model"], r["sigma"], r["phase"]): r for r in rows}
    for sigma in (0.0, 0.05):
        # the paper's claim at init: the LRU's state already holds a delay embedding, the GPT's does not
        # (measured: R² 0.89 vs 0.28, overlap 0.63 vs 0.07 at sigma 0)
        assert by["lru", sigma, "init"]["r2_linear"] > by["gpt", sigma, "init"]["r2_linear"] + 0.3
        # ... also with the paper's ElasticNet read-out (measured 0.78 vs 0.28)
        assert by["lru", sigma, "init"]["r2_elasticnet"] > by["gpt", sigma, "init"]["r2_elasticnet"] + 0.3
        assert by["lru", sigma, "init"]["overlap"] > by["gpt", sigma, "init"]["overlap"]
        # ElasticNet read-out beside ridge at init and trained; the GPT's overlap without its
        # positional component is higher (positions dominate its neighbourhoods), the LRU has none
        for model in ("gpt", "lru"):
            for phase in ("init", "trained"):
                assert -1.5 < by[model, sigma, phase]["r2_elasticnet"] <= 1
        assert by["lru", sigma, "init"]["overlap_no_pe"] is None
        assert by["gpt", sigma, "init"]["overlap_no_pe"] > by["gpt", sigma, "init"]["overlap"]
        for model in ("gpt", "lru"):  # training lowers the next-step error
            assert by[model, sigma, "trained"]["mase"] < by[model, sigma, "init"]["mase"]
        b = res["baselines"][str(sigma)]
        # README claim 3: the LRU wins with fewer parameters (measured: 641 vs 2257 at d = 8)
        assert by["lru", sigma, "init"]["n_params"] < by["gpt", sigma, "init"]["n_params"]
        # README claim 4: the LRU reaches the lower error (measured trained MASE 4.8 vs 8.4)
        assert by["lru", sigma, "trained"]["mase"] < by["gpt", sigma, "trained"]["mase"]
        # README claim 5 (LRU): trained, it decodes (y, z) above x alone (measured 0.86 vs 0.44, linear)
        assert by["lru", sigma, "trained"]["r2_linear"] > b["x_only_r2_linear"] + 0.2
        # delay vectors decode the unobserved coordinates better than x alone, and beat chance overlap
        assert b["takens_r2_linear"] > b["x_only_r2_linear"]
        assert b["takens_overlap"] > b["x_only_overlap"] > b["chance_overlap"]


def test_bad_width_is_reported(recipe, tmp_path, capsys):
    assert recipe.main(["--tiny", "--out", str(tmp_path), "--d", "0", "--no-progress"]) == 2
    assert "--d" in capsys.readouterr().err


def test_summarize_gives_mean_and_t_interval_over_seeds(recipe, tmp_path, capsys):
    import pytest
    from scipy import stats

    def run(folder, r2, preset="cpu"):
        rows = [{"model": "lru", "d": 8, "sigma": 0.0, "phase": phase, "r2_linear": r2 - (phase == "init") * 0.1,
                 "r2_mlp": None, "overlap": 0.3, "mase": 0.2} for phase in ("init", "trained")]
        base = {"0.0": {"x_only_r2_linear": 0.4, "x_only_r2_mlp": 0.5, "takens_r2_mlp": 0.9}}
        (tmp_path / folder).mkdir()
        settings = {"lr": 0.01, "n_train": 200, "n_steps": 250}
        (tmp_path / folder / "results.json").write_text(json.dumps({
            "rows": rows, "baselines": base, "settings": settings, "train_steps": 1000,
            "args": {"seed": folder, "preset": preset}}))
        return str(tmp_path / folder)

    # "budget" is the cpu preset's name in results.json written before --budget took a value
    dirs = [run("s0", 0.90), run("s1", 0.80, "budget"), run("s2", 0.85)]
    assert recipe.main(["--summarize", *dirs, "--out", str(tmp_path / "sum")]) == 0
    rows = [r for r in recipe.summarize(dirs, tmp_path / "sum") if r["phase"] == "trained"]
    low, high = stats.t.interval(0.95, 2, loc=0.85, scale=stats.sem([0.90, 0.80, 0.85]))
    assert rows[0]["n_runs"] == 3 and rows[0]["r2_linear"] == pytest.approx(0.85)
    assert rows[0]["r2_linear_ci"] == pytest.approx((high - low) / 2)
    assert rows[0]["r2_mlp"] is None
    assert (tmp_path / "sum" / "summary.csv").read_text().count("\n") == 4  # header, init, trained, baselines
    assert rows[0]["budget"] == "cpu: 1000 steps, lr 0.01, 200 traj × 250"
    printed = capsys.readouterr().out
    assert "0.850 ± " in printed and "| cpu: 1000 steps, lr 0.01, 200 traj × 250 | 3 " in printed
    assert recipe.main(["--summarize", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    # the same numbers under another budget's name are not merged
    other = run("s3", 0.85, "reference")
    assert recipe.main(["--summarize", *dirs, other, "--out", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err
    assert "different budgets" in err and "reference: 1000 steps" in err and "cpu: 1000 steps" in err


def test_summarize_merges_the_sigma_halves_of_one_seed_and_gives_delta_mase(recipe, tmp_path, capsys):
    import pytest

    def half(folder, seed, sigma, mase):
        rows = [{"model": "lru", "d": 8, "sigma": sigma, "phase": p, "r2_linear": 0.9, "mase": mase + (p == "init")}
                for p in ("init", "trained")]
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "results.json").write_text(json.dumps({
            "rows": rows, "baselines": {str(sigma): {"x_only_r2_mlp": 0.5}}, "args": {"seed": seed},
            "settings": {"lr": 0.01, "n_train": 200, "n_steps": 250}, "train_steps": 1000}))
        return str(tmp_path / folder)

    dirs = [half("a0", 0, 0.0, 0.10), half("b0", 0, 0.05, 0.30), half("a1", 1, 0.0, 0.10), half("b1", 1, 0.05, 0.20)]
    rows = recipe.summarize(dirs, tmp_path / "sum")
    assert {r["n_runs"] for r in rows} == {2}  # two seeds, each from two folders
    dm = (tmp_path / "sum" / "delta_mase.csv").read_text().splitlines()
    assert len(dm) == 2 and "lru" in dm[1]
    assert "0.150 ± " in capsys.readouterr().out  # mean of 0.20 and 0.10
    import csv

    row = next(csv.DictReader(open(tmp_path / "sum" / "delta_mase.csv")))
    assert float(row["delta_mase"]) == pytest.approx(0.15) and row["n_runs"] == "2"
    # the same cells twice for one seed is an error, not a silent extra run
    assert recipe.main(["--summarize", dirs[0], dirs[0], "--out", str(tmp_path / "x")]) == 2
    assert "repeats" in capsys.readouterr().err


def test_budget_flag_names_the_preset_and_rejects_bad_values(recipe, capsys):
    import pytest

    tiny = recipe.parse_args(["--tiny"])
    assert vars(tiny) == vars(recipe.parse_args(["--budget", "tiny"])) and tiny.preset == "tiny"
    default = recipe.parse_args([])
    assert default.preset == "cpu" and default.settings == recipe.PRESETS["cpu"] and not default.checkpoints
    assert recipe.parse_args(["--budget", "cpu"]).settings == default.settings
    for bad in (["--budget", "gpu"], ["--budget"], ["--budget", "full"], ["--full"], ["--tiny", "--budget", "cpu"]):
        with pytest.raises(SystemExit) as exc:
            recipe.main(bad)
        assert exc.value.code == 2, bad
        assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        recipe.main(["--budget", "gpu"])
    assert "invalid choice: 'gpu' (choose from 'tiny', 'cpu', 'reference')" in capsys.readouterr().err


def test_reference_preset_follows_the_paper_and_the_released_code(recipe):
    """Values as design/papers.md P3 "Set-up" states them; training length, warm-up and evaluation period
    (on which papers.md is silent) as mitchellostrow/nn_delay_embeddings conf/config.yaml + train.py."""
    args = recipe.parse_args(["--budget", "reference", "--out", "unused"])
    ref = args.settings
    # papers.md: 2000 + 2000 trajectories of 500 steps, batch 10, AdamW 1e-3, d in {10, 25, 50, 100},
    # GPT with and without positional encoding and the LRU, sigma in {0, 0.05}, 5-10 heads
    assert (ref["n_train"], ref["n_val"], ref["n_steps"], ref["batch_size"], ref["lr"]) == (2000, 2000, 500, 10, 1e-3)
    assert ref["d"] == [10, 25, 50, 100] and set(ref["models"]) == {"gpt", "lru", "gpt-nope"}
    assert ref["sigma"] == [0.0, 0.05] and 5 <= ref["n_heads"] <= 10 and ref["mlp_decoding"]
    # released code: train.epochs 2000, warm-up 100 epochs, evaluation every eval_nsteps = 100 epochs
    steps_per_epoch = ref["n_train"] // ref["batch_size"]
    assert ref["epochs"] == 2000 and recipe._steps(ref) == 2000 * steps_per_epoch == 400_000
    assert ref["warmup"] == ref["eval_every"] == 100 * steps_per_epoch
    assert args.checkpoints  # resumable by default: a reference run can span sessions
    assert recipe.PRESETS["cpu"]["lr"] == 1e-2 and recipe._steps(recipe.PRESETS["cpu"]) == 1000


def test_reference_preset_dry_start_builds_every_cell_and_takes_a_step(recipe, tmp_path):
    """No full run: every (model, d) of the reference sweep is built with its training config, and one
    optimiser step on a batch of reference-length trajectories runs and checkpoints."""
    import dataclasses

    import numpy as np

    args = recipe.parse_args(["--budget", "reference", "--out", str(tmp_path), "--no-progress"])
    rng = np.random.default_rng(0)
    data = recipe.NextStepDataset(np.cumsum(rng.normal(size=(10, 500, 1)), axis=1))
    for name in args.settings["models"]:
        for d in args.settings["d"]:
            model, cfg = recipe.build_run(args, name, d, 0.05)
            assert (cfg.steps, cfg.lr, cfg.batch_size, cfg.warmup_steps, cfg.eval_every) == (
                400_000, 1e-3, 10, 20_000, 20_000)
            assert cfg.checkpoint_dir == str(tmp_path / "checkpoints" / f"{name}_d{d}_sigma0.05")
            if name != "lru":
                assert model.config["n_heads"] == 5 and model.config["context_length"] == 500
                assert model.config["positional"] == ("none" if name == "gpt-nope" else "learned")
            if d == 10:  # one step (the schedule at step 0 of 400,000) and its checkpoint
                res = recipe.train_sequence_model(model, data, None, dataclasses.replace(cfg, steps=1, eval_every=1))
                assert [h["step"] for h in res.history] == [0, 1]
                assert np.isfinite(res.history[-1]["train_loss"])
                assert (tmp_path / "checkpoints" / f"{name}_d10_sigma0.05" / "latest.json").is_file()


def test_checkpoints_of_other_settings_are_not_resumed(recipe, tmp_path, capsys):
    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    settings = {**recipe.PRESETS["tiny"], "seed": 0, "system": "lorenz", "k": 20, "lr": 0.001}
    (ckpt / "settings.json").write_text(json.dumps(settings))
    assert recipe.main(["--tiny", "--checkpoints", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "lr=0.001 there, 0.01 now" in err and "--out" in err
    assert not (tmp_path / "results.json").exists()


def test_an_interrupted_checkpointed_run_resumes_to_the_same_results(recipe, tmp_path):
    """A run killed after step 12 of 24 (its last checkpoint removed) and started again with the same
    command ends with the rows and R²-vs-steps curve of the uninterrupted run."""
    cmd = ["--tiny", "--checkpoints", "--models", "lru", "--sigma", "0.0", "--out", str(tmp_path), "--no-progress"]
    assert recipe.main(cmd) == 0
    first = json.loads((tmp_path / "results.json").read_text())
    run_dir = tmp_path / "checkpoints" / "lru_d8_sigma0.0"
    assert json.loads((run_dir / "latest.json").read_text())["step"] == 24
    (run_dir / "latest.json").write_text(json.dumps({"step": 12, "folder": "step_0000012"}))
    for path in sorted((run_dir / "step_0000024").iterdir()):
        path.unlink()
    (run_dir / "step_0000024").rmdir()
    (tmp_path / "results.json").unlink()
    state = json.loads((run_dir / "step_0000012" / "state.json").read_text())
    state["history"][0]["marker"] = "from the checkpoint"  # shows the rerun resumed rather than restarted
    (run_dir / "step_0000012" / "state.json").write_text(json.dumps(state))
    assert recipe.main(cmd) == 0
    again = json.loads((tmp_path / "results.json").read_text())
    assert again["history"][0].pop("marker") == "from the checkpoint"
    assert again["history"] == first["history"] and [h["step"] for h in again["history"]] == [0, 12, 24]
    drop = ("train_seconds",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in again["rows"]] == \
        [{k: v for k, v in r.items() if k not in drop} for r in first["rows"]]
    assert json.loads((run_dir / "latest.json").read_text())["step"] == 24
