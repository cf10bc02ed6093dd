"""A minimal run record (placeholder: to be replaced by the project's common run-record function)."""

from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from importlib import metadata

__all__ = ["now", "run_record"]


def now() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_record(config: dict, started: str, argv: list[str] | None = None) -> dict:
    """What ran, when and with which versions.

    Parameters
    ----------
    config:
        The resolved configuration (JSON-able).
    started:
        Start time (:func:`now` when the run began).
    argv:
        The command line (default ``sys.argv``).

    Returns
    -------
    dict
        ``command``, ``started``, ``finished``, ``versions`` (python, probekit, torch,
        transformers, scikit-learn, numpy), ``platform`` and ``config``.
    """
    versions = {"python": platform.python_version()}
    for package in ("probekit", "torch", "transformers", "scikit-learn", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"command": list(sys.argv if argv is None else argv), "started": started, "finished": now(),
            "versions": versions, "platform": platform.platform(), "config": config}
