"""User-facing errors.

Every error a user can cause by bad input is a :class:`ProbekitError` (a
``ValueError``), whose message names the bad value and what would be valid.
The CLI prints the message (no traceback) and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ProbekitError(ValueError):
    """Bad input: the message says what was wrong and what would be valid."""


def closest(name: str, candidates: Iterable[str], n: int = 5) -> list[str]:
    """Return up to ``n`` candidates closest to ``name`` (difflib ratio), best first.

    Falls back to candidates sharing a prefix or substring when difflib finds none, then
    to the first ``n`` candidates, so a user always sees some valid names.

    Parameters
    ----------
    name : str
        The unknown name (a glob's part before ``*`` is used for the fallback).
    candidates : iterable of str
        The valid names.
    n : int
        Most names returned.

    Returns
    -------
    list of str
    """
    candidates = list(candidates)
    found = difflib.get_close_matches(name, candidates, n=n, cutoff=0.4)
    if not found:
        stem = name.split("*")[0].rstrip(".")
        found = [c for c in candidates if stem and (c.startswith(stem) or stem in c)][:n]
    if not found:
        found = candidates[:n]
    return found


def did_you_mean(name: str, candidates: Iterable[str], what: str = "name") -> str:
    """Format ``unknown {what} '{name}'; closest valid: 'a', 'b', 'c'``.

    Parameters
    ----------
    name : str
        The unknown name.
    candidates : iterable of str
        The valid names (see :func:`closest`).
    what : str
        What kind of name it is, for the message.

    Returns
    -------
    str
        The message for a :class:`ProbekitError`.
    """
    options = closest(name, candidates)
    hint = ", ".join(repr(o) for o in options) if options else "(none available)"
    return f"unknown {what} {name!r}; closest valid: {hint}"


def run_command(action) -> int:
    """Run ``action()`` as a command (the CLI's and recipes' convention).

    Parameters
    ----------
    action : callable
        Called with no arguments; its return value is ignored.

    Returns
    -------
    int
        0 on success; 2 after a :class:`ProbekitError`, printed as one ``error: ...``
        line to stderr. Other exceptions propagate.
    """
    import sys

    try:
        action()
    except ProbekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
