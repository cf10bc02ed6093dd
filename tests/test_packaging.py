"""A wheel built from the repository ships its built-in data sets and runs from anywhere.

The wheel is built from a copy of the sources (so the worktree gets no ``build/`` or
``*.egg-info``), installed with ``pip install --no-deps --target T`` and run with
``PYTHONPATH=T`` from an empty folder, using this interpreter so the dependencies
resolve: the ``probekit`` imported there must be the one in ``T``, not the checkout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_FILES = ("cities.csv", "cities.md", "world_places.csv", "world_places.md", "number_agreement.csv",
              "number_agreement.md")


def _pip(*args: str, cwd: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """``T``: the folder a wheel of the repository was installed into (``pip --target``)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    shutil.copytree(REPO / "probekit", src / "probekit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(root / "dist"), str(src), cwd=root)
    (wheel,) = (root / "dist").glob("probekit-*.whl")
    target = root / "T"
    _pip("install", "--no-deps", "--no-index", "--target", str(target), str(wheel), cwd=root)
    return target


def _run(args: list[str], target: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(target), OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def test_wheel_holds_the_data_files_and_cards(installed):
    data = installed / "probekit" / "concepts" / "data"
    for name in DATA_FILES:
        assert (data / name).read_bytes() == (REPO / "probekit" / "concepts" / "data" / name).read_bytes(), name


def test_installed_wheel_loads_builtin_data_and_runs_probe_from_an_empty_folder(installed, tmp_path,
                                                                                 tiny_model_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = empty / "run"
    probe = ["probe", "--model", str(tiny_model_dir), "--dataset", "cities", "--limit", "40", "--n-splits", "2",
             "--no-baselines", "--quiet", "--out", str(out)]
    # one interpreter (torch imports once): where probekit and the data come from, then the CLI
    code = (
        "import json, sys, probekit\n"
        "from probekit.concepts import load_concept_dataset\n"
        "d = load_concept_dataset('cities')\n"
        "print(json.dumps({'file': probekit.__file__, 'n': len(d.inputs), 'labels': int(d.labels.sum()),\n"
        "                  'source': d.metadata['source'], 'card': d.metadata['card']}), flush=True)\n"
        "from probekit.cli import main\n"
        f"sys.exit(main({probe!r}))\n"
    )
    proc = _run([sys.executable, "-c", code], installed, empty)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[0])
    assert Path(info["file"]).resolve().is_relative_to(installed.resolve())
    assert Path(info["source"]).resolve().is_relative_to(installed.resolve())
    assert Path(info["card"]).name == "cities.md" and Path(info["card"]).is_file()
    assert info["n"] == 808 and info["labels"] == 404  # one true and one false statement per city
    payload = json.loads((out / "results.json").read_text())
    assert len(payload["results"]) == 4  # embed + three blocks of the tiny Llama
    assert payload["config"]["dataset"]["name"] == "cities"
    assert sorted(p.name for p in empty.iterdir()) == ["run"]
    # the wheel's console script is the same entry point
    script = (installed / "bin" / "probekit").read_text()
    assert "from probekit.cli import main" in script


def test_build_script_writes_into_the_package_data_folder():
    spec = importlib.util.spec_from_file_location("probekit_data_build", REPO / "data" / "build_datasets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.PACKAGE_DATA_DIR.resolve() == (REPO / "probekit" / "concepts" / "data").resolve()
    assert set(mod.OUTPUT_FILES) <= set(DATA_FILES)
