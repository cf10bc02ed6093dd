"""Load concept data sets from files, ``datasets.Dataset`` objects, hub names or built-ins."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from probekit.concepts.dataset import TASKS, ConceptDataset, group_identical_inputs
from probekit.errors import ProbekitError, closest

#: Package whose ``data/`` folder holds the built-in data files and their data cards
#: (``probekit/concepts/data/``, shipped in every install; built by ``data/build_datasets.py``).
DATA_PACKAGE = "probekit.concepts"
FILE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")


@dataclass(frozen=True)
class BuiltinDataset:
    """A data set the project ships in ``probekit/concepts/data/`` (see its data card)."""

    file: str
    text_column: str
    label_column: str
    task: str
    group_column: str | None = None
    word_type_column: str | None = None
    card: str = ""


BUILTIN_DATASETS = {
    "cities": BuiltinDataset("cities.csv", "statement", "label", "binary", "group", None, "cities.md"),
    "world-places-lat": BuiltinDataset("world_places.csv", "text", "latitude", "continuous", "group",
                                       None, "world_places.md"),
    "world-places-lon": BuiltinDataset("world_places.csv", "text", "longitude", "continuous", "group",
                                       None, "world_places.md"),
    "number-agreement": BuiltinDataset("number_agreement.csv", "text", "label", "binary", "group",
                                       "word_type", "number_agreement.md"),
}


def builtin_resource(file: str):
    """The packaged file ``file`` of ``probekit/concepts/data/`` (a built-in data set or its card).

    Parameters
    ----------
    file : str
        A file name (e.g. ``cities.csv``); existence is not checked.

    Returns
    -------
    importlib.resources.abc.Traversable
        A ``pathlib.Path`` for an ordinary (editable, wheel or ``pip install .``)
        install; read it through :func:`importlib.resources.as_file` to get a path in
        every case.
    """
    return resources.files(DATA_PACKAGE).joinpath("data", file)


def load_concept_dataset(
    spec,
    text_column: str | None = None,
    label_column: str | None = None,
    group_column: str | None = None,
    word_type_column: str | None = None,
    task: str | None = None,
    split: str = "train",
    limit: int | None = None,
    concept: str | None = None,
    progress: bool = True,
) -> ConceptDataset:
    """Load a concept data set.

    Parameters
    ----------
    spec:
        A built-in name (``cities``, ``world-places-lat``, ``world-places-lon``,
        ``number-agreement``), a file (``.csv``, ``.tsv``, ``.jsonl``, ``.json``,
        ``.parquet``), ``imagefolder:DIR`` (image data; see ``concept``), a folder
        written by ``datasets.Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``
        (``DIR:SPLIT`` picks a split; a bare ``DatasetDict`` folder uses ``split``), a
        ``datasets.Dataset``, or a hub data set name (needs network).
    text_column, label_column:
        Column names of the inputs and labels. Defaults: the built-in's columns, else
        the first of ``statement``/``text``/``sentence``/``input`` and of ``label``/``labels``/``target``.
    group_column:
        Rows with the same group are never split between train and test.
    word_type_column:
        Word type per row, for Hewitt & Liang control tasks.
    task:
        ``binary``, ``multiclass`` or ``continuous``; inferred from the labels if omitted
        (floats with more than 10 distinct values -> continuous).
    split:
        Split of a hub data set, or of a saved ``DatasetDict`` folder given without ``:SPLIT``.
    limit:
        Keep the first ``limit`` rows (after loading).
    concept:
        For ``imagefolder:`` data: which concept to label (``animal``, ``brightness``, ...).
        Giving one for text data is an error.
    progress:
        Show a progress bar while reading images.

    Returns
    -------
    ConceptDataset
        For text data, rows with identical texts (whitespace collapsed) share one group,
        merged with ``group_column``'s groups (see
        :func:`probekit.concepts.dataset.group_identical_inputs`); ``metadata`` holds
        ``modality="text"``, ``duplicates`` (the counts) and ``label_mapping`` (text
        labels that had several spellings, e.g. ``{"yes": [" yes", "Yes"]}``; a
        ``UserWarning`` lists it too). Text labels are stripped and case-folded.

    Raises
    ------
    ProbekitError
        Unknown name, missing file, unreadable format, missing column (available
        columns listed), empty data, empty text cells (rows named), missing, NaN or
        infinite labels (rows named), a single class, ``binary`` with more than two
        classes (classes named), ``concept`` with text data, a split a saved
        ``DatasetDict`` lacks (its splits listed).
    """
    if isinstance(spec, str) and spec.startswith("imagefolder:"):
        from probekit.concepts.images import image_folder

        return image_folder(spec.split(":", 1)[1], concept=concept or "class", limit=limit,
                            progress=progress)
    if concept is not None:
        raise ProbekitError(
            f"--concept {concept!r} applies to image data (imagefolder:DIR) only; {str(spec)!r} is a text "
            "data set, whose labels come from --label-column"
        )
    table, source, name, builtin = _read_table(spec, split)
    if builtin is not None:  # the built-in's columns and task, unless given
        text_column = text_column or builtin.text_column
        label_column = label_column or builtin.label_column
        group_column = group_column or builtin.group_column
        word_type_column = word_type_column or builtin.word_type_column
        task = task or builtin.task
    columns = list(table)
    text_column = text_column or _first_present(columns, ("statement", "text", "sentence", "input", "prompt"), "text")
    label_column = label_column or _first_present(columns, ("label", "labels", "target", "y"), "label")
    for role, column in (("text", text_column), ("label", label_column), ("group", group_column),
                         ("word type", word_type_column)):
        if column is not None and column not in table:
            raise ProbekitError(
                f"{role} column {column!r} is not in the data set; available columns: {', '.join(columns)}"
                f" (closest: {', '.join(closest(column, columns, n=3))})"
            )
    n = len(table[text_column])
    stop = n if limit is None else min(limit, n)
    texts = _texts(list(table[text_column][:stop]), text_column, name)
    labels, task, label_names, mapping = _labels(np.asarray(table[label_column][:stop], dtype=object), task, name)
    groups = np.asarray(table[group_column][:stop]).astype(str) if group_column else None
    groups, duplicates = group_identical_inputs(texts, groups)
    word_types = np.asarray(table[word_type_column][:stop]).astype(str) if word_type_column else None
    return ConceptDataset(
        inputs=texts, labels=labels, task=task, name=name, groups=groups, word_types=word_types,
        label_names=label_names,
        metadata={"source": source, "modality": "text", "text_column": text_column, "label_column": label_column,
                  "group_column": group_column, "word_type_column": word_type_column,
                  "card": str(builtin_resource(builtin.card)) if builtin else None,
                  "duplicates": duplicates, "label_mapping": mapping},
    )


def _read_table(spec, split: str):
    """The columns of a text data set: ``(table, source, name, builtin)``.

    ``table`` maps column names to sequences; ``source`` says where it was read from;
    ``builtin`` is the :data:`BUILTIN_DATASETS` entry of a built-in name, else ``None``.

    Raises
    ------
    ProbekitError
        A missing file, a folder that is not a saved data set, an unreadable format.
    """
    if isinstance(spec, str) and spec in BUILTIN_DATASETS:
        builtin = BUILTIN_DATASETS[spec]
        resource = builtin_resource(builtin.file)
        with resources.as_file(resource) as path:
            return _read_file(path), str(resource), spec, builtin
    if isinstance(spec, (str, Path)) and _saved_dataset_folder(spec) is not None:
        return (*_from_saved(*_saved_dataset_folder(spec), split), None)
    if isinstance(spec, (str, Path)) and (Path(spec).suffix.lower() in FILE_SUFFIXES or Path(spec).exists()):
        path = Path(spec).expanduser()
        if not path.exists():
            raise ProbekitError(f"data file {str(path)!r} does not exist")
        if path.is_dir():
            raise ProbekitError(f"data set {str(path)!r} is a folder; for images use imagefolder:{path}, "
                                f"for text a file ({', '.join(FILE_SUFFIXES)}) or a folder written by "
                                "datasets' save_to_disk")
        return _read_file(path), str(path.resolve()), path.stem, None
    if isinstance(spec, str):
        return _from_hub(spec, split), spec, spec.split("/")[-1], None
    table = _from_datasets(spec)
    return table, "datasets.Dataset", getattr(spec, "info", None) and spec.info.dataset_name or "dataset", None


def _rows(rows: list[int], limit: int = 5) -> str:
    """``rows 3, 7, 9 (and 4 more)``: 0-based data rows (header excluded)."""
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more} (counting data rows from 0)"


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (
        isinstance(value, str) and not value.strip())


def _texts(raw: list, column: str, name: str) -> list[str]:
    """The text column as strings; an empty cell (NaN, None, blank) is an error naming its rows."""
    missing = [i for i, v in enumerate(raw) if _is_missing(v)]
    if missing:
        raise ProbekitError(
            f"data set {name!r}: {len(missing)} empty text cell(s) in column {column!r} at {_rows(missing)}; "
            "fill or drop those rows"
        )
    return [str(t) for t in raw]


def _first_present(columns: list[str], options: tuple[str, ...], role: str) -> str:
    for option in options:
        if option in columns:
            return option
    raise ProbekitError(
        f"no {role} column found (looked for {', '.join(options)}); available columns: "
        f"{', '.join(columns)}; name one with --{role}-column"
    )


def _labels(raw: np.ndarray, task: str | None, name: str):
    """Convert raw label values to numbers and infer the task.

    Text labels are normalised (surrounding whitespace stripped, case-folded), so
    ``"Yes"``, ``" yes"`` and ``"yes"`` are one class; when that joins different
    spellings a ``UserWarning`` lists the mapping. Numbers written as text (``" 1"``,
    ``"1.0"``) are numbers.

    Returns
    -------
    (numpy.ndarray, str, list of str or None, dict)
        Labels (int64 classes or float64 values), task, class names, and the
        normalisation mapping ``{normalised: [raw spellings]}`` of classes that had more
        than one spelling (empty when none).

    Raises
    ------
    ProbekitError
        Unknown task; missing, NaN or infinite labels (rows named); text labels for a
        continuous task; ``binary`` with more than two classes (classes named).
    """
    if task is not None and task not in TASKS:
        raise ProbekitError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    missing = [i for i, v in enumerate(raw) if _is_missing(v)]
    if missing:
        raise ProbekitError(f"data set {name!r}: {len(missing)} label(s) are missing or NaN at {_rows(missing)}")
    values = list(raw)
    numbers = _as_numbers(values)
    if numbers is None:
        return _text_labels(values, task, name)
    bad = np.flatnonzero(~np.isfinite(numbers)).tolist()
    if bad:
        raise ProbekitError(
            f"data set {name!r}: {len(bad)} label(s) are infinite or NaN at {_rows(bad)} "
            f"({', '.join(repr(values[i]) for i in bad[:3])}); fix or drop those rows"
        )
    if task is None:
        integral = np.all(numbers == np.round(numbers))
        distinct = len(np.unique(numbers))
        task = "continuous" if (not integral and distinct > 10) or distinct > 50 else (
            "binary" if distinct == 2 else "multiclass")
    if task == "continuous":
        return numbers, task, None, {}
    classes = np.unique(numbers)
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        label_names = [str(bool(c)).lower() for c in classes]
    else:
        label_names = [str(int(c)) if c == int(c) else str(c) for c in classes]
    _check_binary(task, label_names, name)
    index = {v: i for i, v in enumerate(classes)}
    return np.array([index[v] for v in numbers], dtype=np.int64), task, label_names, {}


def _as_numbers(values: list) -> np.ndarray | None:
    """``float64`` array of ``values`` if every one is a number (or a number written as text)."""
    try:
        return np.array([float(v.strip()) if isinstance(v, str) else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _text_labels(values: list, task: str | None, name: str):
    """Class labels from text: normalised (stripped, case-folded), sorted class names."""
    if task == "continuous":
        raise ProbekitError(
            f"data set {name!r}: task 'continuous' but labels are text ({', '.join(map(repr, values[:3]))}, ...), "
            "not numbers"
        )
    normal = [str(v).strip().casefold() for v in values]
    spellings: dict[str, set] = {}
    for raw, key in zip(values, normal):
        spellings.setdefault(key, set()).add(str(raw))
    mapping = {k: sorted(v) for k, v in spellings.items() if len(v) > 1}
    names = sorted(spellings)
    if mapping:
        import warnings

        shown = "; ".join(f"{' | '.join(map(repr, v))} -> {k!r}" for k, v in sorted(mapping.items()))
        warnings.warn(f"data set {name!r}: labels normalised (whitespace stripped, case-folded): {shown}",
                      UserWarning, stacklevel=3)
    task = task or ("binary" if len(names) == 2 else "multiclass")
    _check_binary(task, names, name)
    index = {v: i for i, v in enumerate(names)}
    return np.array([index[v] for v in normal], dtype=np.int64), task, names, mapping


def _check_binary(task: str, names: list[str], name: str) -> None:
    if task == "binary" and len(names) > 2:
        shown = ", ".join(map(repr, names[:10])) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        raise ProbekitError(
            f"data set {name!r}: task 'binary' but the labels have {len(names)} classes ({shown}); "
            "use --task multiclass or fix the labels"
        )


def _read_file(path: Path) -> dict:
    import pandas as pd

    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path)
        elif suffix == ".tsv":
            frame = pd.read_csv(path, sep="\t")
        elif suffix == ".jsonl":
            frame = pd.read_json(path, lines=True)
        elif suffix == ".json":
            frame = pd.read_json(path)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise ProbekitError(f"unsupported data file {str(path)!r}; use one of {', '.join(FILE_SUFFIXES)}")
    except (ValueError, OSError) as e:
        if isinstance(e, ProbekitError):
            raise
        raise ProbekitError(f"could not read {str(path)!r}: {e}") from None
    return {c: frame[c].tolist() for c in frame.columns}


def _from_datasets(dataset) -> dict:
    try:
        return {c: list(dataset[c]) for c in dataset.column_names}
    except AttributeError:
        raise ProbekitError(
            f"cannot load a concept data set from {type(dataset).__name__}; give a built-in name "
            f"({', '.join(BUILTIN_DATASETS)}), a file path or a datasets.Dataset"
        ) from None


def _saved_dataset_folder(spec) -> tuple[Path, str | None] | None:
    """``(folder, split)`` when ``spec`` names a folder written by ``save_to_disk`` (a
    ``Dataset``: ``state.json``; a ``DatasetDict``: ``dataset_dict.json``), optionally
    as ``DIR:SPLIT``; else ``None``."""
    def saved(path: Path) -> bool:
        return path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file())

    path = Path(spec).expanduser()
    if saved(path):
        return path, None
    folder, sep, split = str(spec).rpartition(":")
    if sep and folder and split and saved(Path(folder).expanduser()):
        return Path(folder).expanduser(), split
    return None


def _from_saved(folder: Path, split: str | None, default_split: str) -> tuple[dict, str, str]:
    """Columns, source and name of a ``save_to_disk`` folder (a split of a ``DatasetDict``).

    Raises
    ------
    ProbekitError
        The split is not in the ``DatasetDict`` (its splits listed), a split is named
        for a single ``Dataset``, or the folder cannot be read.
    """
    import datasets

    try:
        saved = datasets.load_from_disk(str(folder))
    except Exception as e:  # noqa: BLE001 - datasets raises many types for damaged folders
        raise ProbekitError(f"could not read the saved data set {str(folder)!r} ({type(e).__name__}: "
                            f"{str(e).splitlines()[0][:200] if str(e) else ''})") from None
    if isinstance(saved, datasets.DatasetDict):
        name = split or default_split
        if name not in saved:
            how = f"split {split!r} is" if split else f"no split was named and {default_split!r} is"
            raise ProbekitError(f"{how} not in the DatasetDict saved in {str(folder)!r}; its splits: "
                                f"{', '.join(saved)} (name one as {folder}:SPLIT)")
        return _from_datasets(saved[name]), f"{folder.resolve()}:{name}", f"{folder.name}-{name}"
    if split is not None:
        raise ProbekitError(f"{str(folder)!r} holds a single Dataset, not a DatasetDict with splits; drop "
                            f"':{split}'")
    return _from_datasets(saved), str(folder.resolve()), folder.name


def _from_hub(name: str, split: str) -> dict:
    if "/" not in name:
        raise ProbekitError(
            f"unknown data set {name!r}: not a built-in ({', '.join(BUILTIN_DATASETS)}; closest: "
            f"{', '.join(closest(name, list(BUILTIN_DATASETS), n=2))}), not an existing file, "
            "and not a hub data set id (owner/name)"
        )
    try:
        import datasets

        return _from_datasets(datasets.load_dataset(name, split=split))
    except Exception as e:  # noqa: BLE001 - any hub failure is reported the same way
        raise ProbekitError(
            f"could not load hub data set {name!r} ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
            "offline, use a local file or a built-in data set"
        ) from None
