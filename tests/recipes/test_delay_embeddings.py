import importlib.util
import json
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "delay_embeddings.py"


def _load():
    spec = importlib.util.spec_from_file_location("delay_embeddings_recipe", RECIPE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tiny_recipe_runs_and_writes_outputs(tmp_path, capsys):
    recipe = _load()
    assert recipe.main(["--tiny", "--out", str(tmp_path), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "Takens" in printed and "lru" in printed and "gpt" in printed and "paper" in printed
    for name in ("results.csv", "history.csv", "results.json", "decoding_vs_step.png", "mase_vs_params.png",
                 "delta_mase_noise.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    res = json.loads((tmp_path / "results.json").read_text())
    rows = res["rows"]
    assert {(r["model"], r["sigma"], r["phase"]) for r in rows} == {
        (m, s, p) for m in ("gpt", "lru") for s in (0.0, 0.05) for p in ("init", "trained")}
    for r in rows:
        assert -1.5 < r["r2_linear"] <= 1 and 0 <= r["overlap"] <= 1 and r["mase"] > 0
    assert {h["step"] for h in res["history"]} == {0, 12, 24}
    assert len(res["delta_mase"]) == 2
    assert res["baselines"]["0.0"]["m"] >= 2


def test_bad_width_is_reported(tmp_path, capsys):
    recipe = _load()
    assert recipe.main(["--tiny", "--out", str(tmp_path), "--d", "0", "--no-progress"]) == 2
    assert "--d" in capsys.readouterr().err
