"""Typed run configurations: filled by the CLI, validated here, saved with every run."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from probekit.errors import ProbekitError
from probekit.extract.runner import ExtractionConfig


@dataclass
class ModelConfig:
    """Which model and how to load it (see :func:`probekit.models.load_model`)."""

    name: str = "smollm2-135m"
    dtype: str | None = None
    device: str | None = None
    device_map: str | None = None
    trust_remote_code: bool = False
    padding_side: str = "right"
    weights: str | None = None

    def __post_init__(self) -> None:
        if self.padding_side not in ("left", "right"):
            raise ProbekitError(f"padding_side must be 'left' or 'right', not {self.padding_side!r}")


@dataclass
class DatasetConfig:
    """Which concept data set (see :func:`probekit.concepts.load_concept_dataset`)."""

    name: str = "cities"
    text_column: str | None = None
    label_column: str | None = None
    group_column: str | None = None
    word_type_column: str | None = None
    task: str | None = None
    limit: int | None = None
    concept: str | None = None

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ProbekitError(f"limit must be a positive number of rows, not {self.limit}")


@dataclass
class ProbeConfig:
    """How probes are scored.

    Parameters
    ----------
    n_splits:
        Group-split outer folds.
    seed:
        Seed of the outer split (and of the control draws).
    seeds:
        Repeats of the outer split with seeds ``seed, seed + 1, ...``; scores are
        reported across them.
    n_controls:
        Independent control draws (shuffled labels or control tasks); the control is
        reported as mean ± sd and the p-value is ``(1 + #draws >= probe) / (1 + K)``.
    device:
        Probe engine device: ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
    dtype:
        Probe engine precision: ``float32`` or ``float64``.
    """

    n_splits: int = 5
    seed: int = 0
    seeds: int = 1
    n_controls: int = 5
    device: str = "auto"
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.n_splits < 2:
            raise ProbekitError(f"n_splits must be at least 2, not {self.n_splits}")
        if self.seeds < 1:
            raise ProbekitError(f"seeds must be at least 1, not {self.seeds}")
        if self.n_controls < 1:
            raise ProbekitError(f"n_controls must be at least 1, not {self.n_controls}")
        if self.dtype not in ("float32", "float64"):
            raise ProbekitError(f"probe dtype must be float32 or float64, not {self.dtype!r}")


@dataclass
class RunConfig:
    """A whole ``probekit probe`` run; saved as ``config`` in ``results.json``."""

    model: ModelConfig = field(default_factory=ModelConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    extraction: ExtractionConfig = field(default_factory=ExtractionConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    out: str | None = None
    overwrite: bool = False
    progress: bool = True
    baselines: bool = True

    def output_dir(self) -> str:
        """``out`` if given, else ``runs/<model>_<dataset>[_<concept>]``."""
        if self.out:
            return self.out
        parts = [self.model.name, self.dataset.name] + ([self.dataset.concept] if self.dataset.concept else [])
        return "runs/" + "_".join(slug(p) for p in parts)

    def to_dict(self) -> dict:
        """The run record as plain nested dicts (JSON-able)."""
        return asdict(self)


def slug(text: str) -> str:
    """File-name-safe form of a model or data set name."""
    return re.sub(r"[^A-Za-z0-9.-]+", "-", str(text)).strip("-.")[:60] or "x"
