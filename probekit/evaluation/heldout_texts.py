"""Held-out text for the side effects of steering (CE / KL to the unsteered model)."""

from __future__ import annotations

import csv
from pathlib import Path

from probekit.errors import ProbekitError

__all__ = ["DEFAULT_HELDOUT", "load_heldout_texts"]

#: Default file under the shared data folder: the true statements of geometry-of-truth's common claims.
DEFAULT_HELDOUT = Path("geometry-of-truth") / "common_claim_true_false.csv"


def load_heldout_texts(path=None, n: int = 40) -> list[str]:
    """The first ``n`` texts of ``path``: a CSV's ``statement`` column (rows with ``label`` 1 / true, or
    every row without a ``label`` column) or a ``.txt`` file's non-empty lines.

    ``path=None``: :data:`DEFAULT_HELDOUT` under
    :func:`probekit.concepts.shared_data_path` (the shared data folder).

    Raises
    ------
    ProbekitError
        The file does not exist, or a CSV has no ``statement`` column.
    """
    if path is None:
        from probekit.concepts.shared import shared_data_path

        path = shared_data_path(DEFAULT_HELDOUT, what="held-out text file")
    path = Path(path)
    if not path.is_file():
        raise ProbekitError(f"held-out text file {str(path)!r} not found; pass --heldout (a CSV with a "
                            "'statement' column, or a .txt file with one text per line)")
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if "statement" not in (reader.fieldnames or []):
                raise ProbekitError(f"{path} has no 'statement' column")
            texts = [r["statement"] for r in reader if str(r.get("label", "1")).strip() in ("1", "True", "true")]
    else:
        texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts[:n]
