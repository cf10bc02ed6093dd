"""Plots a person can read: probe score and control vs layer."""

from __future__ import annotations

from pathlib import Path

__all__ = ["plot_probe_scores", "pyplot"]


def pyplot():
    """``matplotlib.pyplot`` switched to the non-interactive Agg backend, for scripts.

    Importing :mod:`probekit.report` does not touch matplotlib; the backend is set here,
    when a script asks for ``pyplot``. (:func:`plot_probe_scores` does not use pyplot at
    all: it draws on its own Agg figure and leaves the session's backend alone.)
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _kind(hook_point: str) -> str:
    return hook_point.rsplit(".", 1)[-1] if hook_point.startswith("blocks.") else "resid_post"


def draw_ci_band(ax, x, items: list[dict], color) -> None:
    """Shade the 95 % CI (``ci_low``..``ci_high``) of a score line, when the rows carry one.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : sequence of int, length n_points
        Layer indices of the line.
    items : list of dict, length n_points
        Result rows (``ci_low``, ``ci_high`` in score units); nothing is drawn when any
        row lacks ``ci_low``.
    color : matplotlib colour
    """
    if items and all(r.get("ci_low") is not None for r in items):
        _band(ax, x, [r["ci_low"] for r in items], [r["ci_high"] for r in items], color, 0.18,
              "95% CI (bootstrap over groups)")


def draw_control_band(ax, x, items: list[dict], color) -> None:
    """Shade control mean ± sd over the K draws, when the rows carry ``control_sd``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : sequence of int, length n_points
        Layer indices of the line.
    items : list of dict, length n_points
        Result rows: ``control_score``, ``control_sd`` (score units) and ``n_controls``;
        nothing is drawn when any row lacks ``control_sd``.
    color : matplotlib colour
    """
    if items and all(r.get("control_sd") is not None for r in items):
        mean_sd = [(r["control_score"], r["control_sd"]) for r in items]
        _band(ax, x, [m - s for m, s in mean_sd], [m + s for m, s in mean_sd], color, 0.15, f"control ± sd ({items[0].get('n_controls', '?')} draws)")


def _band(ax, x, low, high, color, alpha: float, label: str) -> None:
    ax.fill_between(x, low, high, color=color, alpha=alpha, lw=0, label=_once(ax, label))


def _once(ax, label: str) -> str:
    """``label``, or matplotlib's no-legend label when the axes already show it."""
    return "_nolegend_" if label in ax.get_legend_handles_labels()[1] else label


def plot_probe_scores(rows: list[dict], path: Path, title: str, chance: float | None = None) -> None:
    """Probe score (± std over folds, shaded 95 % CI) and control score (shaded ± sd over draws) against layer.

    One line per model variant (``pretrained``, ``random-init``) and hook point kind
    (``resid_post``, ``attn_out``, ``mlp_out``); the control (dashed) is drawn for the
    pretrained model; a single-point baseline (``pixel-projection``) is a horizontal line.

    Parameters
    ----------
    rows:
        Results rows with ``variant``, ``layer``, ``score``, ``score_std``,
        ``control_score``, ``metric``, ``hook_point``, ``control``.
    path:
        PNG file to write.
    title:
        Plot title (model and data set).
    chance:
        Horizontal reference line (majority-class accuracy); omitted if ``None``.

    Notes
    -----
    The figure is a :class:`matplotlib.figure.Figure` rendered by the Agg canvas, not a
    pyplot figure, so the session's backend and open figures are left as they were.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    lines: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        lines.setdefault((row.get("variant", "pretrained"), _kind(row["hook_point"])), []).append(row)
    several_kinds = len({k for _, k in lines}) > 1
    for (variant, kind), items in lines.items():
        items = sorted(items, key=lambda r: r["layer"])
        label = variant + (f" ({kind})" if several_kinds else "")
        if len(items) == 1 and len(lines) > 1:
            ax.axhline(items[0]["score"], ls="-.", lw=1.2, color="tab:purple", label=f"{label}: {items[0]['hook_point']}")
            continue
        x = [r["layer"] for r in items]
        bar = ax.errorbar(x, [r["score"] for r in items], yerr=[r["score_std"] for r in items], marker="o", ms=3,
                          capsize=2, label=label)
        draw_ci_band(ax, x, items, bar.lines[0].get_color())
        if variant == "pretrained":
            (control,) = ax.plot(x, [r["control_score"] for r in items], ls="--", marker=".",
                                 label=f"control: {items[0].get('control', '')}" + (f" ({kind})" if several_kinds else ""))
            draw_control_band(ax, x, items, control.get_color())
    if chance is not None:
        ax.axhline(chance, color="grey", lw=0.8, ls=":", label=f"chance ({chance:.2f})")
    metric = rows[0]["metric"] if rows else "score"
    ax.set_xlabel("layer (0 = embeddings / first stage)")
    ax.set_ylabel(f"held-out {metric}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
