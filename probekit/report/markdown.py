"""A short Markdown report of a probe run."""

from __future__ import annotations

from pathlib import Path

from probekit.probes.stats import CI_METHOD, P_VALUE_METHOD


def _num(value, fmt: str = ".3f") -> str:
    return "–" if value is None else format(value, fmt)


def _stats_cells(r: dict, binary: bool) -> str:
    """``| 95% CI | control ± sd | p | AUROC |`` cells of one row (– where absent)."""
    ci = f"{r['ci_low']:.3f}–{r['ci_high']:.3f}" if r.get("ci_low") is not None else "–"
    control = f"{r['control_score']:.3f} ± {_num(r.get('control_sd'))}"
    cells = f" {ci} | {control} | {_num(r.get('p_value'), '.2f')} |"
    return cells + (f" {_num(r.get('auroc'))} |" if binary else "")


def _statistics_note(main: list[dict]) -> list[str]:
    if not main or main[0].get("p_value") is None:
        return []
    r = main[0]
    return ["", f"Statistics: {r.get('n_folds')} outer folds × {r.get('n_seeds', 1)} seed(s) (± is the sd over "
            f"those folds); control over K = {r.get('n_controls')} independent draws (mean ± sd); p-value: "
            f"{P_VALUE_METHOD}; CI: {CI_METHOD}" + ("; AUROC: mean over folds of the held-out decision values."
                                                    if r.get("auroc") is not None else ".")]


def write_report(rows: list[dict], config: dict, path: Path, facts: dict) -> None:
    """Write ``report.md``: what was probed, the best layer, and the full table.

    With baseline variants (image models), the table shows the pretrained model, the
    random-init model and the pixel projection side by side.

    Parameters
    ----------
    rows:
        Results rows (see :mod:`probekit.report.tables`).
    config:
        ``{"model": ..., "dataset": ...}`` for the title.
    path:
        The Markdown file written.
    facts:
        Extra lines (model source, data set size, timings, chance level, ...).
    """
    metric = rows[0]["metric"] if rows else "score"
    main = [r for r in rows if r.get("variant", "pretrained") == "pretrained"]
    random_init = {r["hook_point"]: r for r in rows if r.get("variant") == "random-init"}
    pixels = [r for r in rows if r.get("variant") == "pixel-projection"]
    best = max(main, key=lambda r: r["score"]) if main else None
    binary = any(r.get("auroc") is not None for r in main)
    lines = [f"# Probe report: {config.get('model')} on {config.get('dataset')}", ""]
    lines += [f"- **{key}**: {value}" for key, value in facts.items()]
    if best:
        lines += ["", f"**Best hook point**: `{best['hook_point']}` (layer {best['layer']}): held-out "
                  f"{metric} {best['score']:.3f} ± {best['score_std']:.3f}, control "
                  f"{best['control_score']:.3f}, selectivity {best['selectivity']:.3f}"
                  + (f", 95% CI {best['ci_low']:.3f}–{best['ci_high']:.3f}, p = {best['p_value']:.2f}"
                     if best.get("ci_low") is not None else "") + ".", ""]
    if pixels:
        lines += [f"**Pixel baseline** (fixed random projection of pixels): {metric} "
                  f"{pixels[0]['score']:.3f} ± {pixels[0]['score_std']:.3f}.", ""]
    header = (f"| hook point | layer | {metric} | ± | selectivity | 95% CI | control ± sd | p |"
              + (" AUROC |" if binary else ""))
    rule = "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if binary else "")
    if random_init:
        header += f" random-init {metric} |" + (" pixels |" if pixels else "")
        rule += "---:|" + ("---:|" if pixels else "")
    lines += [header, rule]
    for r in main:
        line = (f"| `{r['hook_point']}` | {r['layer']} | {r['score']:.3f} | {r['score_std']:.3f} | "
                f"{r['selectivity']:.3f} |" + _stats_cells(r, binary))
        if random_init:
            other = random_init.get(r["hook_point"])
            line += f" {other['score']:.3f} |" if other else " – |"
            line += f" {pixels[0]['score']:.3f} |" if pixels else ""
        lines.append(line)
    lines += ["", "Scores are means over group-split outer folds (a group, e.g. a statement and its "
              "false twin, never spans train and test). The control is "
              f"{main[0]['control'] if main else 'n/a'}; selectivity = score − control."]
    lines += _statistics_note(main) + ["", "![probe scores](probe_scores.png)", ""]
    Path(path).write_text("\n".join(lines))
