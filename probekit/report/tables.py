"""Write probe results as CSV and JSON; format and summarise recipe tables."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from probekit.errors import ProbekitError

RESULT_COLUMNS = ("variant", "hook_point", "layer", "score", "score_std", "control_score", "selectivity", "metric",
                  "n_train", "n_test", "shuffled_score", "control_task_score", "control", "n_folds",
                  "control_sd", "p_value", "ci_low", "ci_high", "auroc", "fold_scores", "control_scores",
                  "n_seeds", "n_controls")


def write_results_csv(rows: list[dict], path: Path, columns: tuple = RESULT_COLUMNS) -> None:
    """One row per probed hook point with ``columns`` (default :data:`RESULT_COLUMNS`).

    Floats get 6 decimals, lists (``fold_scores``, ``control_scores``) are written as
    ``;``-separated numbers, ``None`` as an empty cell; keys not in ``columns`` are left out.
    """
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in columns})


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


# ------------------------------------------------------------------ recipe tables and summaries


def mean_std(values) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation (ddof 1) of the finite, non-``None`` values.

    Returns ``(None, None)`` when none is left and a std of 0.0 for a single value.
    """
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not vals:
        return None, None
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0


def mean_ci(values, level: float = 0.95) -> tuple[float | None, float | None, int]:
    """Mean and the half-width of its Student-t confidence interval over independent runs.

    Parameters
    ----------
    values : iterable of float
        One value per run (seed); ``None`` and non-finite values are left out.
    level : float
        Confidence level, in (0, 1).

    Returns
    -------
    (mean, half_width, n)
        ``mean ± half_width`` is the ``level`` interval ``t_{(1+level)/2, n-1} · s / √n``
        (``s`` the sample std, ddof 1); ``half_width`` is ``None`` for fewer than 2 values,
        and ``mean`` too when none is left.

    Raises
    ------
    ProbekitError
        ``level`` not in (0, 1).

    References
    ----------
    Student (1908), "The probable error of a mean", Biometrika 6(1); the interval as in
    ``scipy.stats.t.interval``.
    """
    from scipy.stats import t

    from probekit.errors import ProbekitError

    if not 0 < level < 1:
        raise ProbekitError(f"level must be in (0, 1), not {level}")
    vals = np.array([float(v) for v in values if v is not None and np.isfinite(v)])
    if vals.size == 0:
        return None, None, 0
    if vals.size == 1:
        return float(vals[0]), None, 1
    half = float(t.ppf((1 + level) / 2, vals.size - 1) * vals.std(ddof=1) / np.sqrt(vals.size))
    return float(vals.mean()), half, int(vals.size)


def summarize_runs(runs: list[list[dict]], keys: tuple[str, ...] | list[str], metrics: list[str],
                   level: float = 0.95) -> list[dict]:
    """One row per group over repeated runs (seeds): each metric's mean, CI half-width and n.

    Parameters
    ----------
    runs : list of list of dict
        The result rows of each run (one list per seed).
    keys : sequence of str
        Columns that identify a row across runs (e.g. ``("model", "d", "sigma", "phase")``).
    metrics : list of str
        Numeric columns to summarise.
    level : float
        Confidence level of :func:`mean_ci`.

    Returns
    -------
    list of dict
        ``keys`` plus ``<metric>``, ``<metric>_ci`` (half-width, ``None`` below 2 runs) and
        ``n_runs``, groups in first-seen order.
    """
    out = []
    for group, rows in group_rows([r for run in runs for r in run], keys).items():
        row = dict(zip(keys, group), n_runs=len(rows))
        for metric in metrics:
            row[metric], row[f"{metric}_ci"], _ = mean_ci([r.get(metric) for r in rows], level)
        out.append(row)
    return out


def format_value(value, spec: str = ".3f", sci_below: float | None = None, missing: str = "-") -> str:
    """A table cell: ``missing`` for ``None`` / NaN, ``format(value, spec)`` for numbers, else ``str``.

    ``sci_below``: non-zero floats with ``|value| < sci_below`` are written as ``.2e``.
    Integers (not bool) are written with ``str``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if isinstance(value, (bool, int, np.integer, str)):
        return str(value)
    if sci_below is not None and value != 0 and abs(value) < sci_below:
        return f"{value:.2e}"
    return format(value, spec)


def format_mean_std(mean, std=None, scale: float = 100.0, digits: int = 1, missing: str = "—") -> str:
    """``"mean ± std"`` scaled by ``scale`` (e.g. 100 for percent), ``missing`` when ``mean`` is None."""
    if mean is None:
        return missing
    if std is None:
        return f"{mean * scale:.{digits}f}"
    return f"{mean * scale:.{digits}f} ± {std * scale:.{digits}f}"


def format_table(header: list[str], rows: list[list], style: str = "markdown") -> str:
    """A text table of string cells.

    ``markdown``: ``| a | b |`` rows, left-aligned, with a ``|---|`` separator;
    ``plain``: right-aligned columns separated by two spaces under a dashed line.

    Raises
    ------
    ProbekitError
        An unknown ``style``.
    """
    if style not in ("markdown", "plain"):
        raise ProbekitError(f"unknown table style {style!r}; valid: markdown, plain")
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    if style == "plain":
        line = "  ".join(str(h).rjust(w) for h, w in zip(header, widths))
        return "\n".join([line, "-" * len(line), *["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]])

    def md(r):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([md(header), sep, *[md(r) for r in cells]])


def group_rows(rows: list[dict], keys: tuple[str, ...] | list[str]) -> dict[tuple, list[dict]]:
    """Rows grouped by the values of ``keys``, groups in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


def nan_to_none(obj):
    """A copy of nested dicts / lists with float NaN replaced by ``None`` (for strict JSON)."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [nan_to_none(v) for v in obj]
    return obj
