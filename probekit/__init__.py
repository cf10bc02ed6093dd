"""probekit: read what a pretrained model knows.

Data flows one way: ``models`` -> ``extract`` (hooks) -> ``store`` (disk) ->
``probes`` / ``estimators`` / ``metrics`` -> ``report``.

Dimension names used in every public docstring
-----------------------------------------------
``batch``      examples in one forward pass
``pos``        token positions in a (padded) sequence
``d_model``    width of the residual stream / a module's output features
``n_samples``  rows of a feature matrix (examples, or tokens for token-level stores)
``n_features`` columns of a generic feature matrix
``n_latents``  dimensions of a ground-truth latent vector

The curated top level below names the main path through the library; everything else
lives in its subpackage (``probekit.metrics``, ``probekit.estimators``, ...), whose
``__init__`` re-exports its public names. The top-level names are imported on first use
(PEP 562), so ``import probekit`` stays cheap (no torch, no sklearn). The extraction
function stays ``probekit.extract.extract``: ``probekit.extract`` is the subpackage.
"""

from __future__ import annotations

import importlib
import os

from probekit.errors import ProbekitError

# OpenMP threads that spin while waiting make torch's CPU ops 10-15x slower on a machine
# whose cores other processes share (measured: the probe engine, 2 threads, load 6);
# sleeping waits cost nothing measurable. Read when torch loads, so set before it does.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

#: Top-level name -> module that defines it (imported on first attribute access).
_LAZY = {
    "load_model": "probekit.models",
    "LoadedModel": "probekit.models.base",
    "load_concept_dataset": "probekit.concepts.loaders",
    "ConceptDataset": "probekit.concepts.dataset",
    "ExtractionConfig": "probekit.extract.runner",
    "ActivationRecorder": "probekit.extract.recorder",
    "hook_points": "probekit.extract.hook_points",
    "ActivationStore": "probekit.store.reader",
    "LogisticProbe": "probekit.probes.linear",
    "RidgeProbe": "probekit.probes.linear",
    "layer_sweep": "probekit.probes.sweep",
    "ProbeResult": "probekit.probes.sweep",
    "LeaceEraser": "probekit.estimators.directions",
    "steer": "probekit.steering.hooks",
    "Intervention": "probekit.steering.hooks",
    "check_model": "probekit.check",
}

__all__ = ["ProbekitError", "__version__", *_LAZY]

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load lazily
    from probekit.check import check_model
    from probekit.concepts.dataset import ConceptDataset
    from probekit.concepts.loaders import load_concept_dataset
    from probekit.estimators.directions import LeaceEraser
    from probekit.extract.hook_points import hook_points
    from probekit.extract.recorder import ActivationRecorder
    from probekit.extract.runner import ExtractionConfig
    from probekit.models import load_model
    from probekit.models.base import LoadedModel
    from probekit.probes.linear import LogisticProbe, RidgeProbe
    from probekit.probes.sweep import ProbeResult, layer_sweep
    from probekit.steering.hooks import Intervention, steer
    from probekit.store.reader import ActivationStore


def __getattr__(name: str):
    """Import a curated top-level name on first use (PEP 562) and keep it."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'probekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
