"""The one recipe loader: ``recipe`` is the module of ``recipes/<name>.py`` for ``test_<name>.py``."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import pytest

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@functools.lru_cache(maxsize=None)
def load_recipe(name: str):
    """Import ``recipes/<name>.py`` (a script, not a package) as a module, once per session."""
    spec = importlib.util.spec_from_file_location(f"{name}_recipe", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def recipe(request):
    """The recipe module this test file is about (``test_<name>.py`` -> ``recipes/<name>.py``)."""
    return load_recipe(Path(str(request.fspath)).stem.removeprefix("test_"))
