"""Self-contained HTML reports: one file, inline CSS, figures as ``data:`` URIs, no network fetches.

:func:`audit_report_html` renders an audit (heatmaps, best-layer table with CIs and
selectivity, pretrained vs random-init, transfer matrices, run record);
:func:`compare_report_html` renders ``probekit compare``. Every text from the data (model,
data set and hook point names) is HTML-escaped.
"""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path

__all__ = ["audit_report_html", "baseline_table", "best_layer_table", "compare_report_html", "data_uri", "html_page",
           "html_table", "score_colour", "transfer_tables"]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px;
       color: #1b1b1b; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; border-bottom: 1px solid #ccc; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; margin-top: 1.5rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; }
th, td { border: 1px solid #d0d0d0; padding: 0.25rem 0.55rem; text-align: right; }
th { background: #f2f2f2; } td.name, th.name { text-align: left; }
img { max-width: 100%; border: 1px solid #e3e3e3; margin: 0.4rem 0; }
.side { display: flex; gap: 1rem; flex-wrap: wrap; } .side > div { flex: 1 1 480px; }
pre { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.78rem; }
.note { color: #555; font-size: 0.85rem; }
"""


def data_uri(path) -> str:
    """A PNG (or SVG) file as a ``data:`` URI, for an ``<img src=...>`` that needs no file or network.

    Parameters
    ----------
    path : path-like
        The image; a ``.svg`` suffix gives ``image/svg+xml``, anything else ``image/png``.

    Returns
    -------
    str
        ``data:<mime>;base64,...``.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    path = Path(path)
    mime = "image/svg+xml" if path.suffix == ".svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def score_colour(value, low: float = 0.0, high: float = 1.0) -> str:
    """A light background colour for a score cell: white at ``low`` to green at ``high`` (clipped).

    Parameters
    ----------
    value : float or None
        The score (``None``: no colour).
    low, high : float
        Scores mapped to the palest and the deepest green.

    Returns
    -------
    str
        An inline CSS declaration, ``""`` for ``None``.
    """
    if value is None:
        return ""
    t = min(1.0, max(0.0, (float(value) - low) / (high - low) if high > low else 0.0))
    return f"background: hsl(130, 55%, {int(97 - 40 * t)}%)"


def _cell(value, fmt: str = ".3f") -> str:
    if value is None or value == "":
        return ""
    return format(value, fmt) if isinstance(value, float) else escape(str(value))


def html_table(headers: list[str], rows: list[list], styles: list[list[str]] | None = None,
               name_columns: int = 1) -> str:
    """An HTML table; cells are escaped (floats as ``.3f``).

    Parameters
    ----------
    headers : list of str
        Column headers.
    rows : list of list
        Cell values, one list per row.
    styles : list of list of str, optional
        An inline CSS string per cell, same shape as ``rows``.
    name_columns : int
        The first ``name_columns`` columns are left-aligned (names, not numbers).

    Returns
    -------
    str
        The ``<table>`` element.
    """
    head = "".join(f'<th class="name">{escape(h)}</th>' if i < name_columns else f"<th>{escape(h)}</th>"
                   for i, h in enumerate(headers))
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, value in enumerate(row):
            style = styles[i][j] if styles else ""
            attrs = (' class="name"' if j < name_columns else "") + (f' style="{style}"' if style else "")
            cells.append(f"<td{attrs}>{_cell(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def html_page(title: str, body: str) -> str:
    """A complete HTML document with the inline stylesheet.

    Parameters
    ----------
    title : str
        The page title (escaped).
    body : str
        HTML of the body (inserted as is).

    Returns
    -------
    str
    """
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


def _img(path, alt: str) -> str:
    return f'<img src="{data_uri(path)}" alt="{escape(alt)}">'


def _fmt_ci(row: dict) -> str:
    if row.get("ci_low") is None:
        return f"{row['score']:.3f}"
    return f"{row['score']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"


def _best(rows: list[dict], model: str, variant: str, dataset: str) -> dict | None:
    items = [r for r in rows if (r["model"], r["variant"], r["dataset"]) == (model, variant, dataset)]
    return max(items, key=lambda r: r["score"]) if items else None


def best_layer_table(rows: list[dict], model: str, variants: list[str], datasets: list[str]) -> str:
    """Best hook point per variant × data set: score with its 95 % CI, control, selectivity, p-value.

    Parameters
    ----------
    rows : list of dict
        Audit results rows.
    model : str
        The model whose rows are shown (``model`` column).
    variants, datasets : list of str
        Table order; combinations without rows are left out.

    Returns
    -------
    str
        The ``<table>`` element.
    """
    table = []
    for variant in variants:
        for dataset in datasets:
            b = _best(rows, model, variant, dataset)
            if b is not None:
                table.append([variant, dataset, b["hook_point"], b["layer"], b["metric"], _fmt_ci(b),
                              b["control_score"], b["selectivity"], b.get("p_value")])
    return html_table(["variant", "data set", "best hook point", "layer", "metric", "score [95% CI]", "control",
                       "selectivity", "p"], table, name_columns=3)


def baseline_table(rows: list[dict], model: str, datasets: list[str]) -> str:
    """Pretrained vs random-init, side by side: best score [CI] (layer) of each and their difference.

    Parameters
    ----------
    rows : list of dict
        Audit results rows.
    model : str
        The model whose rows are shown.
    datasets : list of str
        Table order; a data set without both variants is left out.

    Returns
    -------
    str
        The ``<table>`` element.
    """
    table = []
    for dataset in datasets:
        p, r = (_best(rows, model, v, dataset) for v in ("pretrained", "random-init"))
        if p is None or r is None:
            continue
        table.append([dataset, p["metric"], f"{_fmt_ci(p)} (layer {p['layer']})",
                      f"{_fmt_ci(r)} (layer {r['layer']})", p["score"] - r["score"]])
    return html_table(["data set", "metric", "pretrained: best [95% CI]", "random-init: best [95% CI]",
                       "pretrained − random-init"], table, name_columns=2)


def transfer_tables(transfer: list[dict], model: str, variants: list[str]) -> str:
    """One train × test grid per variant; cells coloured by score.

    Parameters
    ----------
    transfer : list of dict
        Transfer rows (``model``, ``variant``, ``train_dataset``, ``test_dataset``,
        ``hook_point``, ``layer``, ``score``).
    model : str
        The model whose rows are shown.
    variants : list of str
        One grid each, in order (a variant without rows is left out).

    Returns
    -------
    str
        HTML: an ``<h4>`` and a ``<table>`` per variant.
    """
    parts = []
    for variant in variants:
        items = [t for t in transfer if t["model"] == model and t["variant"] == variant]
        if not items:
            continue
        trains = list(dict.fromkeys(t["train_dataset"] for t in items))
        tests = list(dict.fromkeys(t["test_dataset"] for t in items))
        cell = {(t["train_dataset"], t["test_dataset"]): t for t in items}
        table, styles = [], []
        for a in trains:
            hook = next(t for t in items if t["train_dataset"] == a)
            values = [cell[(a, b)]["score"] if (a, b) in cell else None for b in tests]
            table.append([a, f"{hook['hook_point']} (layer {hook['layer']})", *values])
            styles.append(["", "", *[score_colour(v) for v in values]])
        parts.append(f"<h4>{escape(variant)}</h4>" + html_table(
            ["trained on ↓ / scored on →", "trained at", *tests], table, styles, name_columns=2))
    return "".join(parts)


def audit_report_html(result: dict, images: dict, path) -> None:
    """Write the audit report to ``path``.

    Parameters
    ----------
    result:
        ``rows`` (results rows), ``transfer`` (transfer rows), ``models``
        (``{model: {variant: facts}}``), ``datasets`` (data set facts), ``record``
        (the run record), ``timings``.
    images:
        ``{model: {"heatmap": png, "curves": png, "transfer": png or None}}``.
    path:
        The HTML file written (self-contained: images as data URIs).
    """
    rows, transfer = result["rows"], result["transfer"]
    datasets = [d["name"] for d in result["datasets"]]
    body = ["<h1>probekit audit</h1>",
            f'<p class="note">{len(result["models"])} model(s) × {len(datasets)} data set(s); '
            f'{len(rows)} probed hook points. Scores are held-out (group-split cross-validation): accuracy for '
            "classification, R² for continuous targets; the control is the same protocol on control labels "
            "(selectivity = score − control).</p>",
            "<h2>Data sets</h2>",
            html_table(["data set", "task", "rows", "groups", "chance", "source"],
                       [[d["name"], d["task"], d["n_samples"], d["n_groups"], d["chance"], d["source"]]
                        for d in result["datasets"]], name_columns=2)]
    for model, variants_facts in result["models"].items():
        variants = list(variants_facts)
        body.append(f"<h2>Model: {escape(model)}</h2>")
        body.append(html_table(["variant", "architecture", "parameters", "weights hash", "source"],
                               [[v, f.get("architecture"), f.get("n_parameters"), f.get("weights_hash"),
                                 f.get("source")] for v, f in variants_facts.items()], name_columns=2))
        img = images.get(model, {})
        body.append("<h3>Score per data set × layer</h3>" + _img(img["heatmap"], f"heatmap of {model}"))
        body.append("<h3>Best layer per data set</h3>" + best_layer_table(rows, model, variants, datasets))
        if "random-init" in variants:
            body.append("<h3>Pretrained vs random-init</h3>" + baseline_table(rows, model, datasets))
        body.append("<h3>Layer curves</h3>" + _img(img["curves"], f"layer curves of {model}"))
        if transfer:
            body.append("<h3>Transfer matrix</h3><p class=\"note\">A probe trained on one data set at its best "
                        "hook point, scored on every row of another at the same hook point (diagonal: "
                        "cross-validated score). Only data sets of the same task type are paired.</p>"
                        + transfer_tables(transfer, model, variants)
                        + (_img(img["transfer"], f"transfer matrix of {model}") if img.get("transfer") else ""))
    record = {k: v for k, v in result["record"].items() if k != "config"}
    body.append("<h2>Run record</h2>" + html_table(["", ""], [[k, json.dumps(v) if isinstance(v, (dict, list))
                                                                else v] for k, v in record.items()], name_columns=2))
    body.append("<h3>Resolved configuration</h3><pre>"
                + escape(json.dumps(result["record"].get("config"), indent=2, default=str)) + "</pre>")
    Path(path).write_text(html_page("probekit audit", "\n".join(body)), encoding="utf-8")


def compare_report_html(summary: list[dict], image, path, sources: list[str]) -> None:
    """Write the ``probekit compare`` page: the overlaid layer curves and the table of best layers.

    Parameters
    ----------
    summary : list of dict
        One entry per curve (``label``, ``model``, ``variant``, ``dataset``, ``metric``,
        ``best_hook_point``, ``best_layer``, ``best_score``, optional ``ci_low``,
        ``ci_high``, ``selectivity``).
    image : path-like
        The PNG of the curves (embedded as a data URI).
    path : path-like
        The HTML file written.
    sources : list of str
        The run folders, listed on the page.
    """
    table = [[s["label"], s["model"], s["variant"], s["dataset"], s["metric"], s["best_hook_point"],
              s["best_layer"], _fmt_ci({"score": s["best_score"], "ci_low": s.get("ci_low"),
                                        "ci_high": s.get("ci_high")}), s.get("selectivity")] for s in summary]
    body = ("<h1>probekit compare</h1><p class=\"note\">Runs: " + ", ".join(escape(s) for s in sources) + "</p>"
            + _img(image, "overlaid layer curves")
            + html_table(["curve", "model", "variant", "data set", "metric", "best hook point", "layer",
                          "score [95% CI]", "selectivity"], table, name_columns=6))
    Path(path).write_text(html_page("probekit compare", body), encoding="utf-8")
