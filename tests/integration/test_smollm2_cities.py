"""The real embedded SmolLM2-135M on the built-in cities set: the main job's claim."""

import csv

import pytest

from probekit.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cities_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smollm2-cities")
    assert main(["probe", "--out", str(out), "--quiet"]) == 0
    return out, list(csv.DictReader(open(out / "results.csv")))


def test_truth_is_linearly_decodable_in_middle_layers(cities_run):
    _, rows = cities_run
    assert len(rows) == 31  # embeddings + 30 blocks
    scores = {int(r["layer"]): float(r["score"]) for r in rows}
    assert max(scores.values()) >= 0.85
    assert scores[0] <= 0.65
    assert all(float(r["control_score"]) <= 0.60 for r in rows)


def test_report_and_plot_written(cities_run):
    out, _ = cities_run
    report = (out / "report.md").read_text()
    assert "smollm2-135m" in report and "Best hook point" in report
    assert (out / "probe_scores.png").stat().st_size > 20_000


def test_hooks_match_hidden_states_on_real_model():
    import torch

    from probekit.extract.hook_points import residual_stream
    from probekit.extract.recorder import ActivationRecorder
    from probekit.models import load_model

    for side in ("left", "right"):
        loaded = load_model("smollm2-135m", padding_side=side)
        batch = loaded.tokenizer(["The city of Oslo is in Norway.", "Hi."], padding=True, return_tensors="pt")
        with torch.no_grad():
            reference = loaded.model(**batch, output_hidden_states=True).hidden_states
        points = residual_stream(loaded.model)
        with ActivationRecorder(loaded.model, [p.module for p in points]) as rec:
            acts = rec.run(**batch)
        mask = batch["attention_mask"].bool()
        for p in points[:-1]:
            assert torch.allclose(acts[p.module][mask], reference[p.layer][mask], atol=1e-5)
        last = loaded.model.model.norm(acts[points[-1].module])
        assert torch.allclose(last[mask], reference[-1][mask], atol=1e-5)
