"""Recipe smoke test: the tiny setting runs every sub-command and writes its outputs."""

import csv
import json




def test_tiny_all_runs_and_writes_outputs(recipe, tmp_path, capsys):
    args = ["all", "--tiny", "--out", str(tmp_path), "--no-progress", "--archs", "mlp", "--seeds", "2"]
    assert recipe.main(args) == 0
    printed = capsys.readouterr().out
    assert "Ideal low-degree learner" in printed and "Extrapolation" in printed
    assert "P(1-juntas cover)" in printed and "PASS" in printed
    for name in ("search_trials.csv", "search_summary.csv", "search_recovery.png", "train_runs.csv",
                 "train_summary.csv", "train_recovery.png", "ood.csv", "ood_mse.png", "results.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    res = json.loads((tmp_path / "results.json").read_text())
    search = {(r["setting"], r["family"], r["n_tasks"]): r for r in res["search"]}
    # every family and task count is reported
    assert {k[1] for k in search} == {"1-junta", "2-junta", "parity", "degree<=2"}
    # 1-juntas: never with 1-2 tasks; always when every bit is covered
    for setting in ("n3-affine", "n4-affine"):
        for t in (1, 2):
            assert search[(setting, "1-junta", t)]["recovery_rate"] == 0.0
        assert search[(setting, "1-junta", 12)]["recovery_if_covered"] in (1.0, None)
    assert search[("n3-affine", "1-junta", 12)]["recovery_rate"] == 1.0
    with open(tmp_path / "train_runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == 2 * 2 * 2  # bases x seeds x task counts
    assert all(0 <= float(r["recovery"]) <= 1 for r in runs)
    train = {(r["input_basis"], r["n_tasks"]): r for r in res["train"]}
    # more tasks -> better recovery (measured 0.43 -> 0.55); the scrambled input basis recovers less (0.41)
    assert train["matched", 8]["recovery_mean"] > train["matched", 1]["recovery_mean"]
    assert train["matched", 8]["recovery_mean"] > train["ablation", 8]["recovery_mean"]
    assert train["matched", 8]["probe_mean"] > train["ablation", 8]["probe_mean"]
    ood = {r["model"]: r for r in res["ood"]}
    assert ood["polynomial"]["ood_mse"] * 10 < ood["mlp"]["ood_mse"]
    assert any(c["check"].startswith("ood") and c["passed"] for c in res["checks"])


def test_bad_arguments_are_reported(recipe, tmp_path, capsys):
    assert recipe.main(["search", "--tiny", "--out", str(tmp_path), "--trials", "0", "--no-progress"]) == 2
    assert "--trials" in capsys.readouterr().err
