"""The public API: a curated, lazily imported top level and subpackages that re-export
their modules' public names."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import probekit

REPO = Path(__file__).resolve().parents[1]

#: Subpackages whose ``__init__`` re-exports every public name of its modules.
#: (probekit.extract, probekit.store and probekit.steering join this list once their
#: ``__init__`` re-exports theirs.)
SUBPACKAGES = ("audit", "concepts", "estimators", "evaluation", "extract", "metrics", "models", "probes", "report",
               "steering", "store", "synthetic", "train")

#: ``module.name`` entries deliberately not re-exported, with the reason.
NOT_REEXPORTED = {
    "probekit.models.predict.predict": "would hide the module probekit.models.predict (README cites it by path)",
}

#: Submodules whose attribute on the package is a re-exported function of the same name.
SHADOWED_MODULES = {
    "probekit.extract.hook_points": "the function hook_points (public API since the start) shadows the module",
    "probekit.metrics.dci": "the function dci (public API since the start) shadows the module; "
                            "reach the module with importlib.import_module('probekit.metrics.dci')",
}

#: Top-level name -> the subpackage that also exports it.
TOP_LEVEL = {
    "load_model": "models", "LoadedModel": "models", "load_concept_dataset": "concepts",
    "ConceptDataset": "concepts", "ExtractionConfig": "extract", "ActivationRecorder": "extract",
    "hook_points": "extract", "ActivationStore": "store", "LogisticProbe": "probes", "RidgeProbe": "probes",
    "layer_sweep": "probes", "ProbeResult": "probes", "LeaceEraser": "estimators", "steer": "steering",
    "Intervention": "steering", "check_model": "check",
}


def _subprocess(code: str, **env) -> dict:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=full_env,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _public_names(module) -> list[str]:
    """``__all__``, else the functions and classes the module defines without a leading underscore."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [n for n, v in vars(module).items() if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v))
            and v.__module__ == module.__name__]


def test_import_probekit_loads_no_heavy_dependency():
    loaded = _subprocess(
        "import json, sys, probekit\n"
        "print(json.dumps({m: m in sys.modules for m in ('torch', 'sklearn', 'numpy', 'transformers', "
        "'matplotlib', 'probekit.models', 'probekit.extract')}))"
    )
    assert loaded == dict.fromkeys(loaded, False)


def test_top_level_names_are_the_subpackage_objects():
    assert set(TOP_LEVEL) | {"ProbekitError", "__version__"} == set(probekit.__all__)
    assert set(probekit.__all__) <= set(dir(probekit))
    for name, package in TOP_LEVEL.items():
        assert getattr(probekit, name) is getattr(importlib.import_module(f"probekit.{package}"), name), name
    with pytest.raises(AttributeError, match="no attribute 'LogisticProb'"):
        probekit.LogisticProb  # noqa: B018


def test_star_import_gives_every_top_level_name():
    namespace: dict = {}
    exec("from probekit import *", namespace)
    assert set(probekit.__all__) <= set(namespace)
    assert namespace["LogisticProbe"].__module__ == "probekit.probes.linear"


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_subpackage_reexports_the_public_names_of_its_modules(package):
    pkg = importlib.import_module(f"probekit.{package}")
    assert len(pkg.__all__) == len(set(pkg.__all__)), "duplicate names in __all__"
    missing = [n for n in pkg.__all__ if not hasattr(pkg, n)]
    assert not missing, f"probekit.{package}.__all__ names what it does not define: {missing}"
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"probekit.{package}.{info.name}")
        assert getattr(pkg, info.name) is module or module.__name__ in SHADOWED_MODULES, (
            f"probekit.{package}.{info.name} is shadowed by a re-exported name")
        for name in _public_names(module):
            if f"{module.__name__}.{name}" in NOT_REEXPORTED:
                assert getattr(pkg, name, None) is not getattr(module, name)
                continue
            assert name in pkg.__all__, f"{module.__name__}.{name} is not in probekit.{package}.__all__"
            assert getattr(pkg, name) is getattr(module, name), f"probekit.{package}.{name}"


def test_readme_imports_resolve():
    from probekit.estimators import LeaceEraser
    from probekit.models.predict import predict

    assert LeaceEraser.__module__ == "probekit.estimators.directions"
    assert callable(predict) and predict.__module__ == "probekit.models.predict"


def test_report_import_leaves_matplotlib_alone_and_plot_keeps_the_backend(tmp_path):
    png = tmp_path / "scores.png"
    result = _subprocess(
        "import json, sys\n"
        "import probekit.report as report\n"
        "before = 'matplotlib' in sys.modules\n"
        "rows = [dict(variant='pretrained', hook_point=m, layer=i, score=s, score_std=0.01, control_score=0.5,\n"
        "             metric='accuracy', control='shuffled') for i, (m, s) in\n"
        "        enumerate([('embed', 0.6), ('blocks.0.resid_post', 0.8), ('blocks.1.resid_post', 0.9)])]\n"
        f"report.plot_probe_scores(rows, {str(png)!r}, 'tiny', chance=0.5)\n"
        "import matplotlib\n"
        "print(json.dumps({'matplotlib_at_import': before, 'backend': matplotlib.get_backend(),\n"
        "                  'pyplot': 'matplotlib.pyplot' in sys.modules}))",
        MPLBACKEND="svg",
    )
    assert result == {"matplotlib_at_import": False, "backend": "svg", "pyplot": False}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
