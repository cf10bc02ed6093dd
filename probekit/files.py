"""Output folders: created, and checked writable before any work starts."""

from __future__ import annotations

from pathlib import Path

from probekit.errors import ProbekitError

__all__ = ["make_writable_dir"]


def make_writable_dir(directory: str | Path) -> Path:
    """Create ``directory`` (and parents) and check a file can be written in it.

    Parameters
    ----------
    directory : str or pathlib.Path

    Returns
    -------
    pathlib.Path
        The folder.

    Raises
    ------
    ProbekitError
        The folder cannot be created or written to (the message names it and the reason).
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".write-test"
        probe.write_text("")
        probe.unlink(missing_ok=True)  # ranks of one job may probe the same folder at once
    except OSError as e:
        raise ProbekitError(f"cannot write to output folder {str(directory)!r}: {e.strerror or e}") from None
    return directory
