"""Run records: what ran, where, with which versions and configuration, so a run can be repeated.

Every ``probekit probe`` run stores its record as ``run`` in ``results.json``; every
``probekit extract`` run writes it as ``run.json`` in the store folder (next to
``config.json``). ``probekit rerun DIR`` reads it back (:func:`read_run_record`) and
repeats the run from ``record["config"]``.

A record is a plain JSON-able dict::

    {"probekit": "0.1.0", "git_commit": "3f2c...", "git_dirty": False,
     "command": "probe", "argv": ["probekit", "probe", "--model", ...],
     "started": "2026-12-01T16:11:38.123456+00:00", "ended": "...",
     "versions": {"python": "3.11.9", "torch": "2.5.1", "transformers": ..., "sklearn": ..., "numpy": ...},
     "device": {"model": "cpu", "probe": "cpu"}, "config": {...}}
"""

from __future__ import annotations

import dataclasses
import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from probekit.errors import ProbekitError

#: Distributions whose versions every record names (import name -> distribution name).
PACKAGES = {"torch": "torch", "transformers": "transformers", "sklearn": "scikit-learn", "numpy": "numpy"}

#: File a run record lives in, per command (``probe`` keeps it inside results.json).
#: ``{command: (file name, key of the record in it or None for the whole file)}``; other
#: commands (``audit``) add theirs.
RECORD_FILES = {"probe": ("results.json", "run"), "extract": ("run.json", None), "audit": ("audit.json", "run")}


def now_utc() -> str:
    """The current time as ISO 8601 in UTC, e.g. ``2026-12-01T16:11:38.123456+00:00``."""
    return datetime.now(timezone.utc).isoformat()


def package_versions() -> dict[str, str | None]:
    """Versions of python, torch, transformers, sklearn and numpy (``None`` when one is not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name, dist in PACKAGES.items():
        module = sys.modules.get(name)  # the imported one's own version (e.g. torch's 2.5.1+cu124)
        try:
            versions[name] = getattr(module, "__version__", None) or metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> tuple[str | None, bool | None]:
    """Commit (and whether the work tree has uncommitted changes) of the probekit checkout in use.

    Returns
    -------
    (str or None, bool or None)
        The full commit hash and the dirty flag when probekit is imported from a git
        checkout (its ``probekit/`` folder is the one in the repository's top level);
        ``(None, None)`` otherwise (an installed wheel, no git, any git failure).
    """
    package = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(package), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if not top or Path(top).resolve() / "probekit" != package:  # e.g. a venv inside some other repository
        return None, None
    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, (bool(status) if status is not None and commit else None)


def config_dict(config) -> dict:
    """A config as a plain nested dict: dataclasses through :func:`dataclasses.asdict`, dicts copied.

    Parameters
    ----------
    config : dataclass instance or dict
        The config (a dict's values JSON cannot hold become strings).

    Returns
    -------
    dict

    Raises
    ------
    TypeError
        Neither a dataclass instance nor a dict.
    """
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return json.loads(json.dumps(config, default=str))
    raise TypeError(f"config must be a dataclass instance or a dict, not {type(config).__name__}")


def run_record(config, command: str, started: str, ended: str | None = None, device=None,
               argv: list[str] | None = None, extra: dict | None = None) -> dict:
    """Build the record of one run.

    Parameters
    ----------
    config:
        The resolved configuration: a config dataclass (e.g. :class:`probekit.config.RunConfig`)
        or a plain dict; stored as a plain nested dict under ``config``.
    command:
        The sub-command that ran (``probe``, ``extract``, ``audit``, ...); ``rerun`` uses it.
    started, ended:
        ISO 8601 UTC times (:func:`now_utc`); ``ended`` defaults to now.
    device:
        Where the run computed: a string or a JSON-able dict such as
        ``{"model": "cuda:0", "probe": "cuda:0"}``; ``None`` records ``None``.
    argv:
        The command line (default ``sys.argv``).
    extra:
        More JSON-able entries for the record (e.g. ``{"shard": "0/2"}`` for ``extract``).

    Returns
    -------
    dict
        Keys ``probekit``, ``git_commit``, ``git_dirty``, ``command``, ``argv``, ``started``,
        ``ended``, ``versions`` (python, torch, transformers, sklearn, numpy), ``device``,
        ``config``; JSON-able.
    """
    from probekit import __version__

    commit, dirty = git_commit()
    return {
        "probekit": __version__, "git_commit": commit, "git_dirty": dirty, "command": command,
        "argv": list(sys.argv if argv is None else argv), "started": started, "ended": ended or now_utc(),
        "versions": package_versions(), "device": device, "config": config_dict(config), **(extra or {}),
    }


def write_run_record(path, record: dict) -> None:
    """Write ``record`` as JSON at ``path`` (through a temporary file, so a crash leaves no half record).

    Parameters
    ----------
    path : path-like
        The JSON file (its folder must exist).
    record : dict
        The run record (values JSON cannot hold are written with ``str``).
    """
    import os

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    os.replace(tmp, path)


def read_run_record(directory) -> dict:
    """The run record of a finished ``probe`` run folder or ``extract`` store folder.

    Parameters
    ----------
    directory:
        A ``probekit probe`` output folder (record in ``results.json`` under ``run``), a
        ``probekit extract`` store folder (``run.json``), or any folder with a file of
        :data:`RECORD_FILES`.

    Raises
    ------
    ProbekitError
        No such folder, no record in it, or an unreadable one.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ProbekitError(f"{str(directory)!r} is not a folder; give a probe run folder or an extract store folder")
    for name, key in RECORD_FILES.values():
        path = directory / name
        if not path.is_file():
            continue
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise ProbekitError(f"cannot read the run record {str(path)!r}: {e}") from None
        record = payload.get(key) if key and isinstance(payload, dict) else payload
        if isinstance(record, dict) and "config" in record and "command" in record:
            return record
    raise ProbekitError(
        f"no run record in {str(directory)!r}: expected results.json with a 'run' entry (probekit probe) or "
        "run.json (probekit extract), written by probekit 0.1 or later"
    )
