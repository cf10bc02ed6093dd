"""The JSON manifest that describes an activation store and says whether it is complete."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
STORE_DTYPES = ("float32", "float16", "bfloat16")


def identity_hash(identity: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of ``identity`` (sorted keys)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def read_manifest(directory: Path) -> dict | None:
    """The manifest in ``directory``, or ``None`` when there is none."""
    path = Path(directory) / MANIFEST_NAME
    if not path.exists():
        return None
    with open(path) as f:
        return json.load(f)


def write_manifest(directory: Path, manifest: dict) -> None:
    """Write the manifest atomically (temporary file, fsync, rename)."""
    path = Path(directory) / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
