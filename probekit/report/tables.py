"""Write probe results as CSV and JSON."""

from __future__ import annotations

import csv
import json
from pathlib import Path

RESULT_COLUMNS = ("variant", "hook_point", "layer", "score", "score_std", "control_score", "selectivity", "metric",
                  "n_train", "n_test", "shuffled_score", "control_task_score", "control", "n_folds",
                  "control_sd", "p_value", "ci_low", "ci_high", "auroc", "fold_scores", "control_scores",
                  "n_seeds", "n_controls")


def write_results_csv(rows: list[dict], path: Path) -> None:
    """One row per probed hook point with :data:`RESULT_COLUMNS`.

    Lists (``fold_scores``, ``control_scores``) are written as ``;``-separated numbers.
    """
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in RESULT_COLUMNS})


def write_rows_csv(rows: list[dict], path: Path, float_format: str | None = None) -> None:
    """Rows of any keys as CSV: the columns are the union of the keys, in first-seen order.

    ``None`` is written as an empty cell; floats with ``format(value, float_format)`` when
    given (e.g. ``".6g"``). Nothing is written for an empty ``rows``.
    """
    if not rows:
        return
    columns = list(dict.fromkeys(k for r in rows for k in r))

    def cell(value):
        if value is None:
            return ""
        return format(value, float_format) if float_format and isinstance(value, float) else value

    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: cell(row.get(k)) for k in columns})


def write_results_json(rows: list[dict], config: dict, path: Path, extra: dict | None = None) -> None:
    """Results plus the run configuration (the run record)."""
    payload = {"config": config, "results": rows, **(extra or {})}
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, default=str)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, (list, tuple)):
        return ";".join(f"{v:.6f}" if isinstance(v, float) else str(v) for v in value)
    return "" if value is None else value
