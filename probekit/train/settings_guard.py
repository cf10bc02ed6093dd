"""Tie a folder of resumable checkpoints to the settings of the run that writes it.

A long run (e.g. a recipe's reference budget) checkpoints every model under one folder and
resumes when the same command is run again. Resuming with other settings (another learning
rate, data size or seed) would silently mix two runs; :func:`guard_settings` makes that an
error instead: the first start writes ``settings.json`` into the folder, every later start
compares against it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from probekit.errors import ProbekitError

__all__ = ["guard_settings"]

SETTINGS_FILE = "settings.json"


def guard_settings(folder: str | os.PathLike, settings: dict, hint: str = "use another folder") -> bool:
    """Record ``settings`` in ``folder`` on the first call; on later calls require the same settings.

    Parameters
    ----------
    folder : str or os.PathLike
        The checkpoint folder (created if missing).
    settings : dict
        JSON-serialisable settings of the run (compared after a JSON round trip, so tuples
        and lists compare equal).
    hint : str
        What the user can do instead, appended to the error message.

    Returns
    -------
    bool
        ``True`` if the folder already held the same settings (a resume), ``False`` if they
        were written now (a first start).

    Raises
    ------
    ProbekitError
        ``folder`` holds settings that differ: the message names every differing key with
        its recorded and its new value; or ``settings`` is not JSON-serialisable.
    """
    folder = Path(folder)
    try:
        want = json.loads(json.dumps(settings))
    except TypeError as exc:
        raise ProbekitError(f"run settings are not JSON-serialisable: {exc}") from exc
    path = folder / SETTINGS_FILE
    if path.is_file():
        have = json.loads(path.read_text())
        diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
        if diff:
            changes = ", ".join(f"{k}={have.get(k)!r} there, {want.get(k)!r} now" for k in diff)
            raise ProbekitError(f"{str(folder)!r} holds checkpoints of a run with other settings ({changes}); {hint}")
        return True
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (SETTINGS_FILE + ".tmp")
    tmp.write_text(json.dumps(want, indent=1))
    tmp.replace(path)  # atomic: a killed start never leaves half a settings file
    return False
