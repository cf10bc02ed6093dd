"""Partial stores: one contiguous slice of a data set's examples, to be merged later.

A job array (``probekit extract --shard i/N``) or one rank of a ``torchrun`` job writes
the examples ``[start, end)`` of the data set into a store of its own. Its identity is
the single-process store's identity plus ``"slice": [start, end]`` (so a part of
another slice is never resumed into it), its example indices are global, and it is
complete once ``end`` is reached. :func:`probekit.store.merge_stores` joins parts that
tile ``0..n`` into the store a single process would have written.
"""

from __future__ import annotations

import re

from probekit.errors import ProbekitError
from probekit.store.manifest import write_manifest
from probekit.store.writer import StoreWriter

__all__ = ["PartWriter", "parse_shard", "slice_bounds"]

SLICE_KEY = "slice"


def parse_shard(text) -> tuple[int, int]:
    """``"1/4"`` -> ``(1, 4)``: part ``i`` (0-based) of ``N``; a tuple passes through checked.

    Parameters
    ----------
    text : str or (int, int)
        ``"i/N"`` or ``(i, N)``.

    Returns
    -------
    (int, int)
        ``(i, N)``.

    Raises
    ------
    ProbekitError
        Not ``i/N`` with integers ``0 <= i < N``.
    """
    if isinstance(text, (tuple, list)) and len(text) == 2:
        i, n = text
    else:
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
        if not match:
            raise ProbekitError(f"shard {text!r} is not i/N (e.g. 0/4: the first of 4 parts, counted from 0)")
        i, n = int(match.group(1)), int(match.group(2))
    if isinstance(i, bool) or isinstance(n, bool) or not isinstance(i, int) or not isinstance(n, int) \
            or n < 1 or not 0 <= i < n:
        raise ProbekitError(f"shard {text!r}: need 0 <= i < N with N >= 1 (parts are counted from 0), "
                            f"e.g. 0/{max(n, 2) if isinstance(n, int) else 2}")
    return i, n


def slice_bounds(n_examples: int, batch_size: int, shard: tuple[int, int]) -> tuple[int, int]:
    """The examples ``[start, end)`` of part ``i`` of ``N``.

    Whole batches are dealt out contiguously (part ``i`` gets batches
    ``i*B//N .. (i+1)*B//N`` of the ``B = ceil(n/batch_size)``), so every part runs the
    very batches a single process runs and their values are the same. Parts may be
    empty when ``N > B``.

    Parameters
    ----------
    n_examples : int
        Examples in the whole extraction.
    batch_size : int
        Examples per forward pass (``>= 1``).
    shard : (int, int)
        ``(i, N)``, as from :func:`parse_shard`.

    Returns
    -------
    (int, int)
        ``0 <= start <= end <= n_examples``; the parts of ``0..N-1`` tile ``0..n_examples``.
    """
    i, n = shard
    batches = -(-n_examples // batch_size)
    start = (i * batches // n) * batch_size
    end = ((i + 1) * batches // n) * batch_size
    return min(start, n_examples), min(end, n_examples)


class PartWriter(StoreWriter):
    """A :class:`StoreWriter` for examples ``[start, end)`` of one part of an extraction.

    A fresh part begins at ``start`` (its first shard's ``first_example``), resumes like
    any store, and :meth:`finish` takes ``end``.

    Parameters
    ----------
    directory : path-like
        The part's store folder.
    identity : dict
        As for :class:`StoreWriter`; must hold ``"slice": [start, end]``.
    **kwargs
        The other arguments of :class:`StoreWriter`.

    Raises
    ------
    ValueError
        ``identity`` has no valid ``"slice"`` (a programming error: the runner sets it).
    ProbekitError
        As :class:`StoreWriter`.
    """

    def __init__(self, directory, identity: dict, **kwargs):
        bounds = identity.get(SLICE_KEY)
        if not (isinstance(bounds, (list, tuple)) and len(bounds) == 2 and 0 <= bounds[0] <= bounds[1]):
            raise ValueError(f"a part's identity needs 'slice': [start, end], got {bounds!r}")
        self.start = int(bounds[0])
        super().__init__(directory, identity, **kwargs)

    def _open(self, overwrite: bool, info: dict) -> None:
        super()._open(overwrite, info)  # a damaged first shard leaves n_examples at 0
        self._start_at_slice()

    def _start_at_slice(self) -> None:
        """A part with no shard yet has done every example before its slice."""
        if not self.manifest["shards"] and self.manifest["n_examples"] != self.start:
            self.manifest["n_examples"] = self.start
            write_manifest(self.directory, self.manifest)
