"""The embedded EfficientNet-Lite0 on the shared ImageNet photos (real model, real data)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
import torch

from probekit.cli import main
from probekit.extract.recorder import ActivationRecorder
from probekit.models import load_model
from probekit.models.predict import classify, predict, top_k_accuracy

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PHOTOS = Path(os.environ.get("PROBEKIT_SHARED_DATA", REPO.parent / "shared" / "data")) / "imagenet-sample"


@pytest.fixture(scope="module")
def lite0():
    return load_model("efficientnet-lite0")


def test_top1_on_a_spread_subset_and_hooks_change_no_logit(lite0):
    paths = sorted(PHOTOS.glob("*.JPEG"))
    assert len(paths) == 1000
    subset = paths[::8]  # 125 photos spread over all classes; label = sorted index
    labels = list(range(0, 1000, 8))
    assert top_k_accuracy(predict(lite0, subset, progress=False), labels, k=1) >= 0.8
    plain = classify(lite0, subset[:16], progress=False)
    with ActivationRecorder(lite0.model, ["_blocks.*", "_conv_head"]):
        hooked = classify(lite0, subset[:16], progress=False)
    assert torch.equal(plain, hooked)


def test_animal_concept_trained_beats_random_init_and_pixels(tmp_path):
    out = tmp_path / "animal"
    code = main(["probe", "--model", "efficientnet-lite0", "--dataset", f"imagefolder:{PHOTOS}",
                 "--concept", "animal", "--limit", "300", "--modules", "blocks.1[45].resid_post",
                 "--n-splits", "3", "--out", str(out), "--quiet"])
    assert code == 0
    rows = list(csv.DictReader(open(out / "results.csv")))
    score = {(r["variant"], r["hook_point"]): float(r["score"]) for r in rows}
    pixels = score[("pixel-projection", "projection")]
    for module in ("blocks.14.resid_post", "blocks.15.resid_post"):
        trained, random_init = score[("pretrained", module)], score[("random-init", module)]
        assert trained >= 0.85 and trained > random_init + 0.1 and trained > pixels + 0.1
    report = (out / "report.md").read_text()
    assert "random-init" in report and "Pixel baseline" in report


def test_cli_predict_and_list_modules(tmp_path, capsys):
    import shutil

    for name in ("n01440764_tench.JPEG", "n01530575_brambling.JPEG", "n01614925_bald_eagle.JPEG"):
        shutil.copy(PHOTOS / name, tmp_path / name)
    assert main(["predict", "--model", "efficientnet-lite0", "--images", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("n01440764_tench.JPEG: tench")
    assert "bald eagle" in out[2].split(",")[0]
    assert main(["list-modules", "--model", "efficientnet-lite0"]) == 0
    listing = capsys.readouterr().out
    assert "blocks.15.resid_post" in listing and "_conv_head" in listing and "(1, 1280, 7, 7)" in listing


def test_cli_predict_bad_folder(tmp_path, capsys):
    assert main(["predict", "--model", "efficientnet-lite0", "--images", str(tmp_path / "none")]) == 2
    assert "not a folder" in capsys.readouterr().err
