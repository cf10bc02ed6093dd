"""Typed run configurations: filled by the CLI (or a TOML file), validated here, saved with every run.

The dataclasses are the one source of the ``probe`` / ``extract`` options: each field's
description comes from the class's numpy ``Parameters`` section and its CLI spelling
(flag name, choices, group) from ``field(metadata=...)``; :mod:`probekit.cliargs`
turns them into argparse options, :func:`config_from_dict` builds them back from the
plain dicts of ``to_dict`` / ``results.json`` / a ``--config`` file.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from probekit.cliargs import EXTRA_METADATA, field_metadata
from probekit.errors import ProbekitError
from probekit.extract.runner import ExtractionConfig
from probekit.store.manifest import STORE_DTYPES

DTYPE_CHOICES = ("auto", "float32", "float16", "bfloat16")

# CLI spelling of ExtractionConfig's fields (defined in probekit.extract.runner; help comes from its docstring)
EXTRA_METADATA[ExtractionConfig] = {
    "token_selection": {"help": "last | mean | all | positions:0,-1 (text models)",
                        "default_text": "last for causal language models, mean over real tokens for encoders"},
    "max_length": {"help": "tokens per text; longer texts are truncated (capped at the model's context; a larger "
                           "explicit value is an error)"},
    "store_dtype": {"choices": tuple(STORE_DTYPES)},
    "stop_early": {"flag_help": "run the full forward pass"},
    "check": {"flag_help": "skip the self-check (hidden states and padding; see `probekit check`) run first"},
    "max_tokens_per_batch": {"help": "text models: batch by padded tokens per forward pass (length-sorted windows; "
                                     "rows kept in data order) instead of --batch-size examples",
                             "default_text": "fixed batches of --batch-size"},
    "num_workers": {"help": "image models: DataLoader worker processes decoding images"},
}


@dataclass
class ModelConfig:
    """Which model and how to load it (see :func:`probekit.models.load_model`).

    Parameters
    ----------
    name:
        Embedded name (smollm2-135m, minilm-l6, efficientnet-lite0), local folder, .gguf
        file, torchvision:NAME, or hub id (gpt2, owner/name).
    dtype:
        Model dtype (``None``: float32).
    device:
        Torch device, e.g. cpu or cuda:0 (``None``: cpu).
    device_map:
        Accelerate device_map, e.g. auto.
    trust_remote_code:
        Allow model code from the hub folder.
    padding_side:
        Tokenizer padding side; extraction is correct with both.
    weights:
        Vision models: state-dict file or torchvision Weights name.
    """

    name: str = field(default="smollm2-135m", metadata={"flag": "--model"})
    dtype: str | None = field(default=None, metadata={"choices": DTYPE_CHOICES, "default_text": "float32"})
    device: str | None = field(default=None, metadata={"default_text": "cpu"})
    device_map: str | None = None
    trust_remote_code: bool = False
    padding_side: str = field(default="right", metadata={"choices": ("left", "right")})
    weights: str | None = None

    def __post_init__(self) -> None:
        if self.padding_side not in ("left", "right"):
            raise ProbekitError(f"padding_side must be 'left' or 'right', not {self.padding_side!r}")


@dataclass
class DatasetConfig:
    """Which concept data set (see :func:`probekit.concepts.load_concept_dataset`).

    Parameters
    ----------
    name:
        Built-in (cities, world-places-lat, world-places-lon, number-agreement), a
        .csv/.jsonl/.parquet file, imagefolder:DIR, a datasets save_to_disk folder
        (DIR:SPLIT for a DatasetDict), or a hub data set id.
    text_column:
        Column holding the texts (``None``: the first of statement, text, sentence, input, prompt).
    label_column:
        Column holding the labels (``None``: the first of label, labels, target, y).
    group_column:
        Rows sharing a group never straddle train/test.
    word_type_column:
        Word types for Hewitt & Liang control tasks.
    task:
        Probe task (``None``: inferred from the labels).
    limit:
        Use only the first N rows.
    concept:
        Image data: animal, brightness, class, ...
    """

    name: str = field(default="cities", metadata={"flag": "--dataset"})
    text_column: str | None = None
    label_column: str | None = None
    group_column: str | None = None
    word_type_column: str | None = None
    task: str | None = field(default=None, metadata={"choices": ("binary", "multiclass", "continuous"),
                                                      "default_text": "inferred from the labels"})
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
    device: str = field(default="auto", metadata={"flag": "--probe-device"})
    dtype: str = field(default="float32", metadata={"flag": "--probe-dtype", "choices": ("float32", "float64")})

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
    """A whole ``probekit probe`` (or ``extract``) run; saved as ``config`` in ``results.json``.

    Parameters
    ----------
    model, dataset, extraction, probe:
        The nested configs (CLI groups model / data / extraction / probe).
    out:
        Output folder (probe) or store folder (extract).
    overwrite:
        Replace a store of another configuration.
    progress:
        Progress bars (and the libraries' load bars); ``--quiet`` turns them off.
    baselines:
        Image models: also probe the random-init and pixel-projection baselines.
    random_init:
        Also probe the same architecture at random initialisation (seed 0), for any
        model (image models get it with ``baselines`` already); rows say ``random-init``.
    """

    model: ModelConfig = field(default_factory=ModelConfig, metadata={"group": "model"})
    dataset: DatasetConfig = field(default_factory=DatasetConfig, metadata={"group": "data"})
    extraction: ExtractionConfig = field(default_factory=ExtractionConfig, metadata={"group": "extraction"})
    probe: ProbeConfig = field(default_factory=ProbeConfig, metadata={"group": "probe"})
    out: str | None = field(default=None, metadata={
        "group": "output", "default_text": "probe: runs/<model>_<dataset>; extract: required"})
    overwrite: bool = field(default=False, metadata={"group": "output"})
    progress: bool = field(default=True, metadata={"group": "output", "flag": "--quiet",
                                                   "flag_help": "no progress bars (nor the libraries' load bars)"})
    baselines: bool = field(default=True, metadata={
        "group": "output", "flag_help": "image models: skip the random-init and pixel-projection baselines"})
    random_init: bool = field(default=False, metadata={
        "group": "output", "flag_help": "also probe the architecture at random init (language models too)"})

    def output_dir(self) -> str:
        """``out`` if given, else ``runs/<model>_<dataset>[_<concept>]``."""
        if self.out:
            return self.out
        parts = [self.model.name, self.dataset.name] + ([self.dataset.concept] if self.dataset.concept else [])
        return "runs/" + "_".join(slug(p) for p in parts)

    def to_dict(self) -> dict:
        """The configuration as plain nested dicts (JSON-able); :meth:`from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfig:
        """The config of ``data`` (as from :meth:`to_dict`, a run record or a ``--config`` file).

        Missing keys take their defaults; nested dicts become the nested configs.

        Parameters
        ----------
        data : dict
            Plain nested dict of settings.

        Returns
        -------
        RunConfig

        Raises
        ------
        ProbekitError
            An unknown key (named, with the valid ones), a value of the wrong type, or a
            value the config refuses (e.g. ``probe.n_splits = 1``).
        """
        return config_from_dict(cls, data)


def slug(text: str) -> str:
    """File-name-safe form of a model or data set name.

    Parameters
    ----------
    text : str
        The name.

    Returns
    -------
    str
        Runs of characters other than letters, digits, ``.`` and ``-`` become ``-``,
        leading and trailing ``-`` / ``.`` are dropped, then at most 60 characters are
        kept; ``"x"`` when nothing is left.
    """
    return re.sub(r"[^A-Za-z0-9.-]+", "-", str(text)).strip("-.")[:60] or "x"


# -- plain dicts <-> config dataclasses -------------------------------------------------------

def field_types(cls) -> dict[str, object]:
    """Resolved type hints of a config dataclass's fields (annotations may be strings)."""
    return typing.get_type_hints(cls)


def unwrap_optional(hint) -> tuple[object, bool]:
    """``(X, True)`` for ``X | None``, ``(hint, False)`` otherwise.

    Parameters
    ----------
    hint : type hint
        A field's resolved type.

    Returns
    -------
    (object, bool)
        The hint without ``None`` (a ``Union`` when several types remain) and whether
        ``None`` was allowed.
    """
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) < len(args):
            return (rest[0] if len(rest) == 1 else typing.Union[rest]), True
    return hint, False


def _type_ok(value, hint) -> bool:
    """Whether a plain (JSON / TOML) value fits a field's type hint."""
    hint, optional = unwrap_optional(hint)
    if value is None:
        return optional
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, types.UnionType) or origin is typing.Union:
        return any(_type_ok(value, a) for a in args)
    if origin is list:
        item = args[0] if args else object
        # a comma-separated string is accepted for list[str] (the configs split it)
        return isinstance(value, str) or (isinstance(value, list) and all(_type_ok(v, item) for v in value))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is object or hint is typing.Any:
        return True
    return isinstance(value, hint) if isinstance(hint, type) else True


def _dataclass_items(hint):
    """The item class of a ``list[SomeConfig]`` (or ``list[SomeConfig] | None``) field, else ``None``."""
    hint, _ = unwrap_optional(hint)
    args = typing.get_args(hint)
    return args[0] if typing.get_origin(hint) is list and args and dataclasses.is_dataclass(args[0]) else None


def _type_name(hint) -> str:
    hint, optional = unwrap_optional(hint)
    name = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
    return f"{name} or none" if optional else name


def config_from_dict(cls, data: dict, where: str = ""):
    """Build config dataclass ``cls`` from a plain nested dict, checking every key and type.

    Parameters
    ----------
    cls:
        A config dataclass (:class:`RunConfig`, :class:`ModelConfig`, :class:`ExtractionConfig`, ...).
    data:
        ``{field: value}``; nested dataclass fields take dicts, ``list[SomeConfig]`` fields
        lists of dicts. Missing keys keep the field defaults.
    where:
        Prefix for messages (``"probe."`` for a nested section).

    Raises
    ------
    ProbekitError
        ``data`` not a dict, an unknown key (named with the valid ones), a value of the
        wrong type (named with the expected type), or a value the class's own checks refuse.
    """
    section = where.rstrip(".") or cls.__name__
    if not isinstance(data, dict):
        raise ProbekitError(f"config section {section!r} must be a table of keys, not {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = field_types(cls)
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ProbekitError(f"unknown config key {where + str(unknown[0])!r}; valid keys"
                            f"{' in [' + section + ']' if where else ''}: {', '.join(fields)}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        item = _dataclass_items(hint)
        if dataclasses.is_dataclass(hint):
            kwargs[key] = config_from_dict(hint, value, f"{where}{key}.")
        elif item is not None:  # e.g. an audit's [[models]]: a list of tables
            if not isinstance(value, list):
                raise ProbekitError(f"config key {where + key!r} must be a list of tables ([[{key}]]), not {value!r}")
            kwargs[key] = [config_from_dict(item, v, f"{where}{key}[{i}].") for i, v in enumerate(value)]
        elif not _type_ok(value, hint):
            raise ProbekitError(f"config key {where + key!r} must be {_type_name(hint)}, not {value!r}")
        elif value is not None and value not in field_metadata(cls, fields[key]).get("choices", (value,)):
            raise ProbekitError(f"config key {where + key!r} must be one of "
                                f"{', '.join(field_metadata(cls, fields[key])['choices'])}, not {value!r}")
        else:
            kwargs[key] = value
    return cls(**kwargs)


def merge_dicts(base: dict, override: dict) -> dict:
    """``base`` with ``override`` laid over it, nested dicts merged key by key (new dict).

    Parameters
    ----------
    base, override : dict
        Plain nested dicts; neither is modified (nested dicts of ``base`` that
        ``override`` does not touch are shared, not copied).

    Returns
    -------
    dict
    """
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_dicts(merged[key], value)
        else:
            merged[key] = value
    return merged


#: Config file formats by suffix (anything else is read as TOML).
CONFIG_FORMATS = {".toml": "TOML", ".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}


def read_config_file(path, what: str = "config file") -> dict:
    """Read a config file (``--config FILE``, an audit config) as a plain nested dict.

    Layout for ``probe`` / ``extract``: top-level keys of :class:`RunConfig` (``out``,
    ``overwrite``, ...) and the sections ``[model]``, ``[dataset]``, ``[extraction]``,
    ``[probe]``::

        out = "runs/cities"
        [model]
        name = "smollm2-135m"
        [extraction]
        modules = ["resid"]
        [probe]
        n_splits = 5

    TOML (``tomllib``) by default; a ``.json`` file (e.g. a saved ``config``) as JSON and a
    ``.yaml`` / ``.yml`` file as YAML (PyYAML).

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the file is, for messages.

    Raises
    ------
    ProbekitError
        A missing or unreadable file, one that is not valid in its format (with the
        parser's line and column), or one that does not hold a table of keys.
    """
    import json
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise ProbekitError(f"{what} {str(path)!r} does not exist")
    kind = CONFIG_FORMATS.get(path.suffix.lower(), "TOML")
    try:
        text = path.read_text(encoding="utf-8")
        if kind == "JSON":
            data = json.loads(text)
        elif kind == "YAML":
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except ImportError:
        raise ProbekitError(f"{what} {str(path)!r} is YAML, which needs PyYAML (pip install pyyaml); "
                            "or give a .toml file") from None
    except OSError as e:
        raise ProbekitError(f"cannot read {what} {str(path)!r}: {e}") from None
    except Exception as e:  # noqa: BLE001 - each parser's own error type (TOML, JSON, YAML, decoding)
        detail = str(e).splitlines()[0] if kind == "YAML" else str(e)
        raise ProbekitError(f"{what} {str(path)!r} is not valid {kind}: {detail}") from None
    if not isinstance(data, dict):
        raise ProbekitError(f"{what} {str(path)!r} must hold a table of keys, not {type(data).__name__}")
    return data
