"""``probekit compare RUN_DIR...``: overlay the layer curves of several probe or audit runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from probekit.errors import ProbekitError

__all__ = ["compare_runs", "read_run"]

_NEEDED = ("hook_point", "layer", "score", "metric")
_DATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
_NUMBERS = ("score", "ci_low", "ci_high", "control_score", "selectivity")


def _number(value):
    return None if value in (None, "") else float(value)


def _hook_kind(hook_point: str) -> str:
    return hook_point.rsplit(".", 1)[-1] if hook_point.startswith("blocks.") else "resid_post"


def read_run(folder) -> list[dict]:
    """The results rows of a ``probekit probe`` or ``probekit audit`` output folder.

    Parameters
    ----------
    folder : path-like
        The run's ``--out`` folder.

    Returns
    -------
    list of dict
        Rows with ``run`` (the folder), ``model``, ``variant``, ``dataset``, ``hook_point``,
        ``layer`` (int), ``score``, ``ci_low``, ``ci_high``, ``control_score``,
        ``selectivity`` (floats or ``None``) and ``metric``. A probe run's model and data
        set come from its ``results.json``.

    Raises
    ------
    ProbekitError
        Missing folder, no ``results.csv``, a results file without the needed columns or rows.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ProbekitError(f"run folder {str(folder)!r} does not exist; give the --out folder of a "
                            "`probekit probe` or `probekit audit` run")
    path = folder / "results.csv"
    if not path.is_file():
        raise ProbekitError(f"{str(folder)!r} is not a probe or audit run folder: it has no results.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in _NEEDED if not rows or c not in rows[0]]
    if missing:
        raise ProbekitError(f"{str(path)!r} has no {'rows' if not rows else 'column ' + repr(missing[0])}; "
                            "it is not the results.csv of a probe or audit run")
    model = dataset = None
    if "model" not in rows[0]:  # a probe run: model and data set are in results.json
        try:
            config = json.loads((folder / "results.json").read_text()).get("config", {})
        except (OSError, ValueError):
            config = {}
        model = config.get("model_name") or config.get("model", {}).get("name") or folder.name
        dataset = str(config.get("dataset", {}).get("name") or "?")
        if Path(dataset).suffix.lower() in _DATA_SUFFIXES:  # a file: named by its stem, as the loaders do
            dataset = Path(dataset).stem
    out = []
    for r in rows:
        out.append({"run": str(folder), "model": r.get("model") or model, "dataset": r.get("dataset") or dataset,
                    "variant": r.get("variant") or "pretrained", "hook_point": r["hook_point"],
                    "layer": int(r["layer"]), "metric": r["metric"], **{k: _number(r.get(k)) for k in _NUMBERS}})
    return out


def _series(runs: list[list[dict]], folders: list[str]) -> dict[str, list[dict]]:
    """``{label: rows}``: one curve per run × model × variant × data set (× hook kind when a run has several)."""
    several = len(set(folders)) > 1
    series: dict[str, list[dict]] = {}
    for folder, rows in zip(folders, runs):
        kinds = {_hook_kind(r["hook_point"]) for r in rows}
        for r in rows:
            label = (f"{Path(folder).name}: " if several else "") + f"{r['model']} / {r['dataset']} ({r['variant']})"
            label += f" [{_hook_kind(r['hook_point'])}]" if len(kinds) > 1 else ""
            series.setdefault(label, []).append(r)
    return series


def compare_runs(folders: list[str], out) -> list[dict]:
    """Overlay the layer curves of several runs; write ``compare.png``, ``compare.csv`` and ``compare.html``.

    Parameters
    ----------
    folders:
        Output folders of ``probekit probe`` or ``probekit audit`` runs (one or more).
    out:
        Folder for the three files (created if needed).

    Returns
    -------
    list of dict
        One summary row per curve: ``label``, ``run``, ``model``, ``variant``, ``dataset``,
        ``metric``, ``best_hook_point``, ``best_layer``, ``best_score``, ``ci_low``,
        ``ci_high``, ``selectivity``, ``n_hook_points``.

    Raises
    ------
    ProbekitError
        No folders, or any error of :func:`read_run`, or an unwritable ``out``.
    """
    from probekit.report.tables import write_results_csv
    from probekit.audit.plots import plot_layer_curves
    from probekit.pipeline import write_all_or_nothing
    from probekit.report.html import compare_report_html
    from probekit.files import make_writable_dir

    if not folders:
        raise ProbekitError("give at least one run folder to compare")
    runs = [read_run(f) for f in folders]
    series = _series(runs, [str(f) for f in folders])
    summary = []
    for label, rows in series.items():
        best = max(rows, key=lambda r: r["score"])
        summary.append({"label": label, "run": best["run"], "model": best["model"], "variant": best["variant"],
                        "dataset": best["dataset"], "metric": best["metric"], "best_hook_point": best["hook_point"],
                        "best_layer": best["layer"], "best_score": best["score"], "ci_low": best["ci_low"],
                        "ci_high": best["ci_high"], "selectivity": best["selectivity"], "n_hook_points": len(rows)})
    out = Path(out)
    make_writable_dir(out)
    columns = tuple(summary[0])
    write_all_or_nothing(out, {
        "compare.png": lambda p: plot_layer_curves(series, p, "layer curves of " + ", ".join(
            Path(f).name for f in folders)),
        "compare.csv": lambda p: write_results_csv(summary, p, columns),
    })
    write_all_or_nothing(out, {"compare.html": lambda p: compare_report_html(summary, out / "compare.png", p,
                                                                             [str(f) for f in folders])})
    return summary
