"""The main job records its timings and reads the store lazily (a second run reuses it)."""

import json

from probekit.cli import main


def test_results_json_carries_timings(tmp_path, tiny_model_dir, tiny_csv):
    out = tmp_path / "run"
    args = ["probe", "--model", str(tiny_model_dir), "--dataset", str(tiny_csv), "--text-column", "sentence",
            "--label-column", "truth", "--group-column", "pair", "--n-splits", "3", "--out", str(out), "--quiet"]
    assert main(args) == 0
    first = json.loads((out / "results.json").read_text())
    assert main(args) == 0  # the store is reused: no extraction work the second time
    second = json.loads((out / "results.json").read_text())
    for payload in (first, second):
        timings = payload["timings"]
        assert set(timings) == {"load_s", "extract_s", "probe_s"}
        assert all(isinstance(v, float) and v >= 0 for v in timings.values())
        assert timings["probe_s"] > 0
    assert second["results"] == first["results"]
