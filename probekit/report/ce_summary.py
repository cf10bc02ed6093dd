"""Seed summaries and tables of the cross-entropy identifiability runs (recipe P2).

:func:`summarize_ce_runs` groups per-seed run records by row, method and budget (runs
at different budgets are never pooled) and gives every metric's mean, 95 % Student-t
half-width (:func:`probekit.report.tables.mean_ci`) and n; :func:`format_mean_ci` writes
one table cell, and never an interval for a single seed.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from probekit.errors import ProbekitError
from probekit.report.tables import group_rows, mean_ci, mean_std

__all__ = ["BUDGET_KEYS", "CE_METRICS", "FINAL_KEYS", "TABLE_HEADER", "budget_label", "ce_run_record",
           "ce_synthetic_table", "format_mean_ci", "load_ce_runs", "summarize_ce_runs"]

#: Run-record columns that define a budget: runs differing in any of them are summarised apart.
BUDGET_KEYS = ("budget", "steps", "batch_size", "lr", "lr_schedule", "n_instances")
#: Per-run metrics summarised over seeds.
CE_METRICS = ("affine_r2", "linear_r2", "sv_mae", "sv_deviation", "head_r2", "head_sv_mae", "init_affine_r2",
              "init_linear_r2", "seconds")


def format_mean_ci(mean, half=None, n: int | None = None, scale: float = 100.0, digits: int = 1,
                   missing: str = "—") -> str:
    """One table cell: ``"98.2 ± 0.7"`` (95 % half-width), ``"98.2 (n = 1, no interval)"`` for one run.

    Parameters
    ----------
    mean : float or None
        ``None`` gives ``missing``.
    half : float or None
        Half-width of the interval; ``None`` with ``n >= 2`` gives the mean alone.
    n : int, optional
        Number of runs; 1 writes ``"(n = 1, no interval)"`` (never ``± 0.0``).
    scale : float
        Multiplier (100 for percent).
    digits : int
        Decimals after scaling.
    missing : str
        What a ``None`` mean prints as.

    Returns
    -------
    str
    """
    if mean is None:
        return missing
    text = f"{mean * scale:.{digits}f}"
    if n == 1:
        return text + " (n = 1, no interval)"
    return text if half is None else f"{text} ± {half * scale:.{digits}f}"


def budget_label(run: dict) -> str:
    """``"cpu: 2000 steps, batch 1024, cosine Adam 0.003, N = 1000"`` from a run record's budget keys.

    Parameters
    ----------
    run : dict
        A per-seed run record holding every key of :data:`BUDGET_KEYS`.

    Returns
    -------
    str

    Raises
    ------
    ProbekitError
        A budget key is missing from ``run`` (the message lists the keys it has).
    """
    missing = [k for k in BUDGET_KEYS if k not in run]
    if missing:
        raise ProbekitError(f"run record lacks budget field(s) {missing}; it has {sorted(run)}")
    return (f"{run['budget']}: {run['steps']} steps, batch {run['batch_size']}, {run['lr_schedule']} Adam "
            f"{run['lr']:g}, N = {run['n_instances']}")


def summarize_ce_runs(runs: list[dict], metrics=CE_METRICS, level: float = 0.95) -> list[dict]:
    """One row per (row, method, budget): mean, std, CI half-width and n of every metric.

    Parameters
    ----------
    runs : list of dict
        Per-seed records with ``row``, ``method``, ``seed``, the :data:`BUDGET_KEYS` and the
        metrics (a missing or ``None`` metric is left out of its mean).
    metrics : sequence of str
    level : float
        Confidence level of :func:`probekit.report.tables.mean_ci`.

    Returns
    -------
    list of dict
        ``row``, ``method``, the budget keys, ``budget_label``, ``n_seeds``, ``seeds`` and for
        each metric ``<m>_mean``, ``<m>_std``, ``<m>_ci`` (``None`` below 2 seeds), ``<m>_n``;
        groups in first-seen order.

    Raises
    ------
    ProbekitError
        A run missing ``row``/``method``/``seed`` or a budget key; the same seed twice in one group.
    """
    keys = ("row", "method", *BUDGET_KEYS)
    for r in runs:
        if any(k not in r for k in (*keys, "seed")):
            raise ProbekitError(f"run record lacks one of {[*keys, 'seed']}; it has {sorted(r)}")
    out = []
    for group, rows in group_rows(runs, keys).items():
        seeds = [r["seed"] for r in rows]
        if len(set(seeds)) != len(seeds):
            raise ProbekitError(f"seed listed twice for {dict(zip(keys, group))}: seeds {seeds}")
        entry = dict(zip(keys, group), budget_label=budget_label(rows[0]), n_seeds=len(rows), seeds=seeds)
        for m in metrics:
            vals = [r.get(m) for r in rows]
            entry[f"{m}_mean"], entry[f"{m}_ci"], entry[f"{m}_n"] = mean_ci(vals, level)
            entry[f"{m}_std"] = mean_std(vals)[1]
        out.append(entry)
    return out


def _cell(value: str):
    """A CSV cell back as int / float / str; empty -> ``None``."""
    if value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def load_ce_runs(folders) -> tuple[list[dict], list[dict]]:
    """The run records (``results.json``) and R² curves (``history.csv``) saved in each folder.

    Parameters
    ----------
    folders : iterable of str or Path
        Output folders of ``ce_identifiability.py synthetic`` (``OUT/synthetic``).

    Returns
    -------
    runs, history : list of dict, list of dict
        Concatenated in folder order; a folder without ``history.csv`` adds no curve.

    Raises
    ------
    ProbekitError
        A folder without ``results.json``, or one whose ``results.json`` has no ``runs``.
    """
    runs: list[dict] = []
    history: list[dict] = []
    for folder in folders:
        path = Path(folder) / "results.json"
        if not path.is_file():
            raise ProbekitError(f"{str(path)!r} does not exist; run the synthetic sub-command with that --out first")
        saved = json.loads(path.read_text())
        if not isinstance(saved.get("runs"), list):
            raise ProbekitError(f"{str(path)!r} has no 'runs' list; not a synthetic results file")
        runs += saved["runs"]
        hpath = path.with_name("history.csv")
        if hpath.is_file():
            with open(hpath, newline="") as f:
                history += [{k: _cell(v) for k, v in row.items()} for row in csv.DictReader(f)]
    return runs, history


#: Final metrics copied from a trainer's last evaluation into the run record.
FINAL_KEYS = ("affine_r2", "linear_r2", "sv_deviation", "sv_mae", "head_r2", "head_sv_mae")


def ce_run_record(result, meta: dict, seconds: float, generator=None) -> tuple[dict, list[dict]]:
    """A run's record (``meta``, final metrics, wall time) and its R²-vs-steps rows.

    Parameters
    ----------
    result : probekit.train.cross_entropy.CrossEntropyResult
        ``history[0]`` is the untrained encoder (step 0), ``final`` the last evaluation.
    meta : dict
        Identifies the run: ``row``, ``method``, ``seed`` and the :data:`BUDGET_KEYS`.
    seconds : float
        Wall time of the run.
    generator : probekit.synthetic.generators.InvertibleMLP, optional
        Its largest per-layer condition number is recorded.

    Returns
    -------
    run : dict
        ``meta`` + ``seconds``, ``final_loss``, :data:`FINAL_KEYS`, ``init_affine_r2``,
        ``init_linear_r2`` (and ``generator_max_condition``).
    history : list of dict
        One row per evaluation: ``meta`` + the evaluation, singular values as a
        ``;``-separated string (one CSV cell).
    """
    init = result.history[0]
    run = {**meta, "seconds": round(float(seconds), 1), "final_loss": result.final["loss"],
           **{k: result.final.get(k) for k in FINAL_KEYS},
           "init_affine_r2": init["affine_r2"], "init_linear_r2": init["linear_r2"]}
    if generator is not None:
        run["generator_max_condition"] = float(max(generator.condition_numbers))
    history = [{**meta, **{k: v for k, v in h.items() if k != "singular_values"},
                "singular_values": ";".join(f"{v:.6g}" for v in h.get("singular_values") or [])}
               for h in result.history]
    return run, history


#: Columns of :func:`ce_synthetic_table`.
TABLE_HEADER = ["row", "model", "budget", "n seeds", "ours: affine R² z~→z (%)", "ours: no-intercept R² (%)",
                "ours: SV MAE to 1/κ", "ours: w→v R² (%)", "untrained enc. affine R² (%)", "paper: R² z~→z (%)",
                "paper: w→v (%)", "s / run"]


def ce_synthetic_table(summary: list[dict]) -> str:
    """Markdown table of :func:`summarize_ce_runs` rows that also carry ``setting``, ``paper_r2_z``, ``paper_r2_w``.

    Every measured cell is ``mean ± 95 % half-width`` (or ``(n = 1, no interval)``); R² in
    percent, the singular-value MAE as a plain number; ``s / run`` is the mean wall time.

    Parameters
    ----------
    summary : list of dict
        Rows of :func:`summarize_ce_runs` with ``setting``, ``paper_r2_z`` and ``paper_r2_w`` added.

    Returns
    -------
    str
        The table, one line per row, with :data:`TABLE_HEADER` as its header.
    """
    from probekit.report.tables import format_table

    def cell(r, m, scale=100.0, digits=1):
        return format_mean_ci(r[f"{m}_mean"], r[f"{m}_ci"], r[f"{m}_n"], scale, digits)

    return format_table(TABLE_HEADER, [
        [r["setting"], r["method"], r["budget_label"], r["n_seeds"], cell(r, "affine_r2"), cell(r, "linear_r2"),
         cell(r, "sv_mae", 1.0, 3), cell(r, "head_r2"), cell(r, "init_affine_r2"), format_mean_ci(r["paper_r2_z"]),
         format_mean_ci(r["paper_r2_w"]), format_mean_ci(r["seconds_mean"], scale=1.0, digits=0)]
        for r in summary])
