"""Check a whole activation store: every listed shard's size, checksum and header."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from probekit.errors import ProbekitError
from probekit.store.manifest import read_manifest
from probekit.store.shardfile import CHECKSUM, shard_problem


@dataclass
class StoreReport:
    """What :func:`verify_store` found.

    Attributes
    ----------
    directory : str
        The store folder.
    complete : bool
        Whether the manifest marks the run finished.
    n_examples, n_samples : int
        Examples and activation rows (one per example or per selected token) the
        manifest records.
    shards : list of (str, str or None)
        Each listed shard file with its problem (``None`` when intact).
    unchecksummed : list of str
        Shards written before checksums were recorded (their size is not recorded
        either; only their header and row counts are checked).
    """

    directory: str
    complete: bool
    n_examples: int
    n_samples: int
    shards: list = field(default_factory=list)
    unchecksummed: list = field(default_factory=list)

    @property
    def damaged(self) -> list[tuple[str, str]]:
        """``[(file, problem), ...]`` for every damaged shard."""
        return [(f, p) for f, p in self.shards if p is not None]

    @property
    def ok(self) -> bool:
        """True when no shard is damaged."""
        return not self.damaged

    def lines(self) -> list[str]:
        """A readable report, one shard per line, then a summary line."""
        out = [f"{f}: {'ok' if p is None else 'DAMAGED: ' + p}" for f, p in self.shards]
        state = "complete" if self.complete else "incomplete (resumable)"
        out.append(f"store {self.directory!r}: {state}, {len(self.shards)} shard(s), {self.n_examples} examples, "
                   f"{self.n_samples} rows; {len(self.damaged)} damaged")
        if self.unchecksummed:
            out.append(f"{len(self.unchecksummed)} shard(s) have no recorded checksum (older probekit): "
                       "only their headers were checked")
        return out

    def raise_if_damaged(self) -> None:
        """Raise when a shard is damaged.

        Raises
        ------
        ProbekitError
            Naming every damaged shard and how to recover.
        """
        if self.damaged:
            names = "; ".join(f"{f} {p}" for f, p in self.damaged)
            raise ProbekitError(f"the activation store in {self.directory!r} is damaged: {names}; re-run the "
                                "extraction that made it to recompute the damaged shards")


def verify_store(path) -> StoreReport:
    """Check every shard of the store in ``path``: exists, size and BLAKE2b checksum as
    recorded, header readable with the recorded rows.

    Parameters
    ----------
    path:
        Store folder.

    Returns
    -------
    StoreReport
        Per-shard findings (call :meth:`StoreReport.raise_if_damaged` to fail on damage).

    Raises
    ------
    ProbekitError
        No store in ``path``, or its manifest is unreadable.
    """
    directory = Path(path)
    manifest = read_manifest(directory)
    if manifest is None:
        raise ProbekitError(f"no activation store in {str(directory)!r} (no manifest.json)")
    report = StoreReport(str(directory), manifest["complete"], manifest["n_examples"], manifest["n_rows"])
    for entry in manifest["shards"]:
        report.shards.append((entry["file"], shard_problem(directory, entry, full=True)))
        if entry.get(CHECKSUM) is None:
            report.unchecksummed.append(entry["file"])
    return report
