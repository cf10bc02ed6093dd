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

    Falls back to candidates sharing a prefix or substring when difflib finds none,
    so a user always sees some valid names.
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
    """Format ``unknown {what} '{name}'; closest: a, b, c``."""
    options = closest(name, candidates)
    hint = ", ".join(repr(o) for o in options) if options else "(none available)"
    return f"unknown {what} {name!r}; closest valid: {hint}"


def run_command(action) -> int:
    """Run ``action()`` as a command: 0 on success; a :class:`ProbekitError` prints one
    ``error: ...`` line to stderr and gives exit status 2 (the CLI's and recipes' convention)."""
    import sys

    try:
        action()
    except ProbekitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
