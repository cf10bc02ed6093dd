"""Where the shared real data lives (ImageNet photos, true/false statements, TruthfulQA).

probekit never copies these files: code takes a path, and when none is given looks in
one place, the *shared data folder*: the environment variable ``PROBEKIT_SHARED_DATA``
when set, else ``../shared/data`` beside the repository checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

from probekit.errors import ProbekitError

__all__ = ["SHARED_DATA_VARIABLE", "default_shared_data_dir", "shared_data_path"]

#: The one environment variable naming the shared data folder.
SHARED_DATA_VARIABLE = "PROBEKIT_SHARED_DATA"


def _candidates() -> list[Path]:
    if os.environ.get(SHARED_DATA_VARIABLE):
        return [Path(os.environ[SHARED_DATA_VARIABLE])]
    return [Path(__file__).resolve().parents[2].parent / "shared" / "data"]


def default_shared_data_dir() -> Path | None:
    """The shared data folder, if it exists.

    Returns
    -------
    pathlib.Path or None
        ``$PROBEKIT_SHARED_DATA`` when that variable is set (``None`` if it names no
        folder), else ``<repository>/../shared/data`` when it exists, else ``None``.
    """
    folder = _candidates()[0]
    return folder if folder.is_dir() else None


def shared_data_path(relative: str | Path, what: str = "file") -> Path:
    """``<shared data folder>/relative``, checked to exist.

    Parameters
    ----------
    relative : str or pathlib.Path
        Path inside the shared data folder, e.g. ``"truthfulqa/TruthfulQA.csv"``.
    what : str
        What the path is, for the error message (``"file"``, ``"image folder"``, ...).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ProbekitError
        When it does not exist; the message names the path looked at and how to point
        probekit elsewhere (a path argument, or ``PROBEKIT_SHARED_DATA``).
    """
    path = _candidates()[0] / relative
    if not path.exists():
        raise ProbekitError(f"{what} {str(path)!r} not found: pass its path, or set {SHARED_DATA_VARIABLE} to the "
                            f"folder that holds {Path(relative).as_posix()}")
    return path
