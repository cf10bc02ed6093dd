"""report.html in a real browser: headless Chromium renders it (screenshot not blank) and its page
text names every model and data set. `.ci/run` installs Chromium (Debian package `chromium`)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

from tests.audit.test_audit import DATASETS, MODELS

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                  "--no-first-run", "--disable-extensions", "--disable-background-networking"]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert found, "this test needs Chromium: apt-get install -y chromium (.ci/run installs it)"
    return found


def _run(args: list[str], tmp_path) -> subprocess.CompletedProcess:
    # a fresh profile folder per run; no network is needed (the report is one self-contained file)
    return subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def test_report_renders_in_headless_chromium(audit_run, tmp_path):
    from PIL import Image

    report = (audit_run.out / "report.html").resolve()
    shot = tmp_path / "report.png"
    done = _run([f"--screenshot={shot}", "--window-size=1280,2400", report.as_uri()], tmp_path)
    assert shot.is_file(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert pixels.shape == (2400, 1280)
    assert pixels.std() > 20  # not a blank page: text, tables and figures
    # the embedded figures rendered: many pixels are neither white nor text-black (colour maps)
    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    colourful = (rgb.max(axis=2) - rgb.min(axis=2)) > 60
    assert colourful.mean() > 0.02

    dom = _run(["--dump-dom", report.as_uri()], tmp_path).stdout
    assert "<table" in dom and "Transfer matrix" in dom
    for name in (*MODELS, *DATASETS):
        assert name in dom, name
