"""The audit's files: results.csv, transfer.csv, audit.json, PNGs and report.html, written all or nothing."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from probekit.config import slug

__all__ = ["AUDIT_COLUMNS", "TRANSFER_COLUMNS", "write_outputs"]

#: Columns of ``DIR/results.csv`` (one row per model × variant × data set × hook point).
AUDIT_COLUMNS = ("model", "variant", "dataset", "hook_point", "layer", "score", "ci_low", "ci_high", "control_score",
                 "selectivity", "metric", "task", "score_std", "p_value", "auroc", "control", "control_sd",
                 "shuffled_score", "control_task_score", "n_train", "n_test", "n_folds", "n_seeds", "n_controls",
                 "fold_scores", "control_scores", "weights_hash")
#: Columns of ``DIR/transfer.csv``.
TRANSFER_COLUMNS = ("model", "variant", "train_dataset", "test_dataset", "hook_point", "layer", "score", "metric",
                    "chance", "n_train", "n_test", "evaluation")


def _figures(result, folder: Path) -> dict:
    """Render every model's PNGs into ``folder``; returns ``{model: {kind: path}}``."""
    from probekit.audit.plots import plot_heatmaps, plot_layer_curves, plot_transfer

    datasets = [d["name"] for d in result.datasets]
    images = {}
    for model, variant_facts in result.models.items():
        variants, rows = list(variant_facts), [r for r in result.rows if r["model"] == model]
        name = slug(model)
        images[model] = {"heatmap": folder / f"heatmap-{name}.png", "curves": folder / f"curves-{name}.png"}
        plot_heatmaps(rows, datasets, variants, images[model]["heatmap"], f"{model}: held-out score per layer")
        series, styles = {}, {}
        for i, dataset in enumerate(datasets):
            for variant in variants:
                label = f"{dataset} ({variant})"
                series[label] = [r for r in rows if r["dataset"] == dataset and r["variant"] == variant]
                styles[label] = {"color": f"C{i % 10}", "ls": "-" if variant == "pretrained" else "--"}
        plot_layer_curves(series, images[model]["curves"], f"{model}: score vs layer (dashed: random-init)", styles)
        transfer = [t for t in result.transfer if t["model"] == model]
        if transfer:
            images[model]["transfer"] = folder / f"transfer-{name}.png"
            plot_transfer(transfer, variants, images[model]["transfer"], f"{model}: transfer matrix")
    return images


def write_outputs(result, config, out: Path, started: str, argv: list[str] | None) -> None:
    """Write results.csv, transfer.csv, the PNGs, audit.json and report.html into ``out``.

    Files are built under temporary names and renamed into place only when all are
    written (see :func:`probekit.pipeline.write_all_or_nothing`).

    Parameters
    ----------
    result : AuditResult
        The finished audit (its ``record`` is set here).
    config : AuditConfig
        The audit's config (saved in the run record).
    out : pathlib.Path
        Existing output folder.
    started : str
        UTC start time (ISO 8601), for the run record.
    argv : list of str, optional
        The command line, for the run record.
    """
    from probekit.runs import run_record
    from probekit.pipeline import write_all_or_nothing
    from probekit.report.html import audit_report_html
    from probekit.report.tables import write_results_csv

    result.record = run_record(config.to_dict(), "audit", started, argv=argv)
    result.record["timings"] = result.timings
    with tempfile.TemporaryDirectory(prefix=".audit-figures-", dir=out) as tmp:
        images = _figures(result, Path(tmp))
        payload = asdict(result)
        writers = {
            "results.csv": lambda p: write_results_csv(result.rows, p, AUDIT_COLUMNS),
            "transfer.csv": lambda p: write_results_csv(result.transfer, p, TRANSFER_COLUMNS),
            **{Path(png).name: (lambda p, src=png: shutil.copyfile(src, p))
               for kinds in images.values() for png in kinds.values()},
            "audit.json": lambda p: Path(p).write_text(json.dumps(
                {"config": result.record["config"], "run": result.record,
                 "models": result.models, "datasets": result.datasets, "n_results": len(result.rows),
                 "n_transfer": len(result.transfer)}, indent=2, default=str)),
            "report.html": lambda p: audit_report_html(payload, images, p),
        }
        write_all_or_nothing(out, writers)
