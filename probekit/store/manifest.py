"""The JSON manifest that describes an activation store and says whether it is complete."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from probekit.errors import ProbekitError

__all__ = ["STORE_DTYPES", "read_manifest", "write_manifest", "identity_hash", "shard_name", "is_store_file",
           "new_manifest", "utc_now"]

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
STORE_DTYPES = ("float32", "float16", "bfloat16")
LOCK_NAME = ".store.lock"
_REQUIRED = {"format_version": int, "identity": dict, "identity_hash": str, "complete": bool,
             "shards": list, "modules": dict, "n_rows": int, "n_examples": int}
# Every file a store creates (and so the only files it may remove): shards, their
# temporary files, the manifest's temporary file and the writability probe.
_STORE_FILE = re.compile(r"shard-\d{5}\.safetensors(\.tmp)?|manifest\.json\.tmp|\.write-test")


def utc_now() -> str:
    """The current time, ISO 8601 in UTC to the second (``2026-12-01T16:11:38+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_manifest(identity: dict, info: dict) -> dict:
    """The manifest of an empty, incomplete store.

    Parameters
    ----------
    identity : dict
        What the store's rows depend on (model hash, data hash, configuration).
    info : dict
        Free-form facts recorded with the store (not part of its identity).

    Returns
    -------
    dict
        ``format_version``, ``identity``, ``identity_hash``, ``complete=False``, no
        shards or modules, zero rows and examples, ``created`` (now, UTC), ``info``.
    """
    return {"format_version": FORMAT_VERSION, "identity": identity, "identity_hash": identity_hash(identity),
            "complete": False, "shards": [], "modules": {}, "n_rows": 0, "n_examples": 0,
            "created": utc_now(), "info": info}


def identity_hash(identity: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of ``identity`` (sorted keys).

    Parameters
    ----------
    identity : dict
        JSON-able store identity (values JSON cannot hold are written with ``str``).

    Returns
    -------
    str
        64 hex digits.
    """
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def shard_name(index: int) -> str:
    """File name of shard ``index`` (``shard-00003.safetensors``).

    Parameters
    ----------
    index : int
        The shard's number, from 0.

    Returns
    -------
    str
    """
    return f"shard-{index:05d}.safetensors"


def is_store_file(name: str) -> bool:
    """True for names only a store writer creates (shards and temporaries, not ``manifest.json``).

    Parameters
    ----------
    name : str
        A file name (no folder).

    Returns
    -------
    bool
    """
    return _STORE_FILE.fullmatch(name) is not None


def read_manifest(directory: Path) -> dict | None:
    """The manifest in ``directory``, or ``None`` when there is none.

    Parameters
    ----------
    directory : path-like
        A store folder.

    Returns
    -------
    dict or None
        The parsed ``manifest.json``.

    Raises
    ------
    ProbekitError
        ``manifest.json`` is not valid JSON, lacks a field, or was written by a newer
        probekit (format version above :data:`FORMAT_VERSION`).
    """
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProbekitError(f"{str(path)!r} is not a readable activation store manifest ({e}); "
                            "pass overwrite (--overwrite) to replace the store") from None
    problem = _manifest_problem(manifest)
    if problem:
        raise ProbekitError(f"{str(path)!r} is not a valid activation store manifest: {problem}; "
                            "pass overwrite (--overwrite) to replace the store")
    if manifest["format_version"] > FORMAT_VERSION:
        raise ProbekitError(f"the activation store in {str(directory)!r} has format version "
                            f"{manifest['format_version']}; this probekit reads up to {FORMAT_VERSION} (upgrade it)")
    return manifest


def _manifest_problem(manifest) -> str | None:
    """What is structurally wrong with a parsed manifest, or ``None``."""
    if not isinstance(manifest, dict):
        return f"expected a JSON object, found {type(manifest).__name__}"
    for key, kind in _REQUIRED.items():
        if not isinstance(manifest.get(key), kind):
            return f"field {key!r} is missing or not a {kind.__name__}"
    for i, shard in enumerate(manifest["shards"]):
        if not isinstance(shard, dict) or not all(
                isinstance(shard.get(k), t) for k, t in (("file", str), ("rows", int), ("first_example", int),
                                                         ("end_example", int))):
            return f"shard entry {i} lacks file/rows/first_example/end_example"
        if not re.fullmatch(r"shard-\d{5}\.safetensors", shard["file"]):
            return f"shard entry {i} names {shard['file']!r}, not a shard file"
    return None


def write_manifest(directory: Path, manifest: dict) -> None:
    """Write the manifest atomically (temporary file, fsync, rename).

    Parameters
    ----------
    directory : path-like
        The store folder (must exist).
    manifest : dict
        JSON-able manifest (values JSON cannot hold are written with ``str``).
    """
    path = Path(directory) / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
