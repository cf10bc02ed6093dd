"""The audit configuration: models × data sets × one extraction and probe setting, from TOML (or YAML).

Schema (every key optional except ``models`` and ``datasets``)::

    [[models]]
    name = "smollm2-135m"        # anything --model takes
    random_init = true           # also probe the same architecture at random initialisation
    [models.extraction]          # per-model overrides of [extraction] (e.g. modules)
    token_selection = "last"
    [[models]]
    name = "minilm-l6"
    [[datasets]]
    name = "cities"              # anything --dataset takes
    limit = 200
    [[datasets]]
    name = "statements.csv"      # relative paths are read from the config file's folder
    text_column = "statement"
    label_column = "label"
    [extraction]                 # ExtractionConfig fields, for every model
    modules = ["resid"]
    [probe]                      # ProbeConfig fields
    n_splits = 5
    [audit]
    transfer = true              # the transfer matrix (probe trained on A, scored on B)
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from probekit.config import DatasetConfig, ModelConfig, ProbeConfig, slug
from probekit.errors import ProbekitError
from probekit.extract.runner import ExtractionConfig

__all__ = ["AuditConfig", "AuditDataset", "AuditModel", "load_audit_config", "parse_audit_config"]

SECTIONS = ("models", "datasets", "extraction", "probe", "audit")


@dataclass
class AuditModel(ModelConfig):
    """One model of an audit: :class:`~probekit.config.ModelConfig`'s fields, plus

    Attributes
    ----------
    random_init:
        Also probe the same architecture at random initialisation (variant ``random-init``).
    seed:
        Seed of that random initialisation.
    label:
        Name in tables and the report (default ``name``).
    extraction:
        Overrides of the audit's ``[extraction]`` for this model (ExtractionConfig fields).
    """

    random_init: bool = False
    seed: int = 0
    label: str | None = None
    extraction: dict = field(default_factory=dict)

    @property
    def display(self) -> str:
        """The name shown in results and the report: ``label`` when given, else ``name``."""
        return self.label or self.name

    def variants(self) -> list[str]:
        """``["pretrained"]``, plus ``"random-init"`` when asked."""
        return ["pretrained"] + (["random-init"] if self.random_init else [])


@dataclass
class AuditDataset(DatasetConfig):
    """One data set of an audit: :class:`~probekit.config.DatasetConfig`'s fields, plus
    ``label``: its name in tables and the report (default: the loaded data set's name)."""

    label: str | None = None


@dataclass
class AuditConfig:
    """A whole audit: every model × variant × data set, probed at every hook point.

    Attributes
    ----------
    models, datasets:
        At least one of each.
    extraction:
        Defaults for every model (a model's ``extraction`` table overrides them).
    probe:
        How probes are scored (one setting for the whole audit).
    transfer:
        Compute the transfer matrix.
    source:
        The config file (relative data set and model paths are read from its folder).
    """

    models: list[AuditModel]
    datasets: list[AuditDataset]
    extraction: ExtractionConfig = field(default_factory=ExtractionConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    transfer: bool = True
    source: str | None = None

    def __post_init__(self) -> None:
        if not self.models:
            raise ProbekitError("the audit config lists no models; add at least one [[models]] table with a name")
        if not self.datasets:
            raise ProbekitError("the audit config lists no data sets; add at least one [[datasets]] table with a name")
        keys = [slug(m.display) for m in self.models]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ProbekitError(f"two models share the name {dup[0]!r}; give one of them a distinct label "
                                "(label = \"...\" in its [[models]] table)")

    def model_extraction(self, model: AuditModel) -> ExtractionConfig:
        """The extraction settings of ``model``: ``[extraction]`` with the model's overrides.

        Parameters
        ----------
        model : AuditModel
            One of :attr:`models`.

        Returns
        -------
        ExtractionConfig

        Raises
        ------
        ProbekitError
            An override that is not an extraction setting, or an invalid value.
        """
        base = asdict(self.extraction)
        return _build(ExtractionConfig, {**base, **model.extraction}, f"[models.extraction] of {model.name!r}")

    def to_dict(self) -> dict:
        """The resolved configuration as plain nested dicts (JSON-able)."""
        return json.loads(json.dumps(asdict(self), default=str))


def _build(cls, values: dict, where: str, required: tuple = ()):
    """``cls(**values)`` after checking every key is a field of ``cls`` (error names the key and valid ones)
    and that the fields without defaults, and ``required``, are given."""
    if not isinstance(values, dict):
        raise ProbekitError(f"{where} must be a table of keys, not {type(values).__name__} {values!r}")
    valid = [f.name for f in fields(cls) if f.init]
    unknown = [k for k in values if k not in valid]
    if unknown:
        raise ProbekitError(f"unknown key {unknown[0]!r} in {where}; valid keys: {', '.join(valid)}")
    required = [f.name for f in fields(cls) if f.init and f.default is MISSING and f.default_factory is MISSING
                or f.name in required]
    missing = [k for k in required if k not in values]
    if missing:
        raise ProbekitError(f"{where} needs the key {missing[0]!r}")
    _check_types(cls, values, where)
    try:
        return cls(**values)
    except TypeError as e:  # a wrong type the dataclass itself trips over
        raise ProbekitError(f"bad value in {where}: {e}") from None


_TYPES = {"str": str, "bool": bool, "int": int, "dict": dict}


def _check_types(cls, values: dict, where: str) -> None:
    """Plain type checks for simple annotated fields (``str``, ``int``, ``bool``, optional ones)."""
    for f in fields(cls):
        if f.name not in values:
            continue
        value, names = values[f.name], str(f.type).replace(" ", "").split("|")
        if value is None and "None" in names:
            continue
        types = [_TYPES[n] for n in names if n in _TYPES]
        if not types or len(types) != len([n for n in names if n != "None"]):
            continue  # a type we do not check here (lists, unions with other types)
        ok = any(isinstance(value, t) and not (t is int and isinstance(value, bool)) for t in types)
        if not ok:
            raise ProbekitError(f"{where}: {f.name} must be {' or '.join(names)}, not {value!r}")


def _resolve_path(name: str, base: Path | None) -> str:
    """A relative path that exists next to the config file is read from there; anything else is kept."""
    if base is None or Path(name).is_absolute():
        return name
    candidate = base / name
    return str(candidate) if candidate.exists() else name


def parse_audit_config(data: dict, base: Path | None = None, source: str | None = None) -> AuditConfig:
    """An :class:`AuditConfig` from parsed TOML/YAML.

    Parameters
    ----------
    data:
        The file's top-level table.
    base:
        Folder that relative model and data set paths are resolved against (when they
        exist there).
    source:
        Where ``data`` came from (the file's path), named in error messages and kept
        as :attr:`AuditConfig.source`.

    Raises
    ------
    ProbekitError
        Unknown sections or keys (the valid ones are named), missing names, wrong types,
        an empty models or datasets list, bad field values.
    """
    where = source or "the audit config"
    if not isinstance(data, dict):
        raise ProbekitError(f"{where} must hold a table of sections ({', '.join(SECTIONS)})")
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise ProbekitError(f"unknown section {unknown[0]!r} in {where}; valid sections: {', '.join(SECTIONS)}")
    models, datasets = data.get("models", []), data.get("datasets", [])
    for key, items in (("models", models), ("datasets", datasets)):
        if not isinstance(items, list):
            raise ProbekitError(f"{key} must be a list of tables ([[{key}]] in TOML), not {type(items).__name__}")
    parsed_models = []
    for i, m in enumerate(models):
        model = _build(AuditModel, m, f"[[models]] #{i + 1}", required=("name",))
        model.label = model.label or model.name  # tables show the name as written, not the resolved path
        model.name = _resolve_path(model.name, base)
        parsed_models.append(model)
    parsed_data = []
    for i, d in enumerate(datasets):
        dataset = _build(AuditDataset, d, f"[[datasets]] #{i + 1}", required=("name",))
        dataset.name = _resolve_path(dataset.name, base)
        parsed_data.append(dataset)
    audit = data.get("audit", {})
    _build(_AuditSection, audit, "[audit]")
    config = AuditConfig(
        models=parsed_models, datasets=parsed_data,
        extraction=_build(ExtractionConfig, data.get("extraction", {}), "[extraction]"),
        probe=_build(ProbeConfig, data.get("probe", {}), "[probe]"),
        transfer=audit.get("transfer", True), source=source,
    )
    for model in config.models:
        config.model_extraction(model)  # a bad per-model override fails now, before anything loads
    return config


@dataclass
class _AuditSection:
    """Keys of the ``[audit]`` section."""

    transfer: bool = True


def load_audit_config(path) -> AuditConfig:
    """Read an audit config file: ``.toml`` (``tomllib``), or ``.yaml`` / ``.yml`` / ``.json``.

    Parameters
    ----------
    path : path-like
        The config file; relative paths inside it are taken from its folder.

    Returns
    -------
    AuditConfig

    Raises
    ------
    ProbekitError
        Missing or unreadable file, a syntax error (line named), an unknown suffix, or
        any error of :func:`parse_audit_config`.
    """
    from probekit.config import CONFIG_FORMATS, read_config_file

    path = Path(path)
    if not path.is_file():
        raise ProbekitError(f"audit config {str(path)!r} does not exist (give a .toml file; see `probekit audit -h`)")
    if path.suffix.lower() not in CONFIG_FORMATS:
        raise ProbekitError(f"audit config {str(path)!r}: unknown format {path.suffix.lower() or '(no suffix)'!r}; "
                            "give a .toml, .yaml, .yml or .json file")
    data = read_config_file(path, what="audit config")
    return parse_audit_config(data, base=path.resolve().parent, source=str(path))
