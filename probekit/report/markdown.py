"""A short Markdown report of a probe run."""

from __future__ import annotations

from pathlib import Path


def write_report(rows: list[dict], config: dict, path: Path, facts: dict) -> None:
    """Write ``report.md``: what was probed, the best layer, and the full table.

    Parameters
    ----------
    rows:
        Results rows (see :mod:`probekit.report.tables`).
    config:
        The run configuration (saved verbatim at the end).
    facts:
        Extra lines (model source, data set size, timings, chance level, ...).
    """
    metric = rows[0]["metric"] if rows else "score"
    best = max(rows, key=lambda r: r["score"]) if rows else None
    lines = [f"# Probe report: {config.get('model')} on {config.get('dataset')}", ""]
    for key, value in facts.items():
        lines.append(f"- **{key}**: {value}")
    if best:
        lines += ["", f"**Best hook point**: `{best['module']}` (layer {best['layer']}): held-out "
                  f"{metric} {best['score']:.3f} ± {best['score_std']:.3f}, control "
                  f"{best['control_score']:.3f}, selectivity {best['selectivity']:.3f}.", ""]
    lines += ["| hook point | layer | " + metric + " | ± | control | selectivity |",
              "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| `{r['module']}` | {r['layer']} | {r['score']:.3f} | {r['score_std']:.3f} | "
                     f"{r['control_score']:.3f} | {r['selectivity']:.3f} |")
    lines += ["", "Scores are means over group-split outer folds (a group, e.g. a statement and its "
              "false twin, never spans train and test). The control is "
              f"{rows[0]['control'] if rows else 'n/a'}; selectivity = score − control.",
              "", "![probe scores](probe_scores.png)", ""]
    Path(path).write_text("\n".join(lines))
