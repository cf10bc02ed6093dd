"""Audit figures: score heatmaps (data set × layer), layer curves and transfer matrices, as PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_heatmaps", "plot_layer_curves", "plot_transfer", "score_grid"]


def _figure(width: float, height: float):
    """A matplotlib Figure on its own Agg canvas (pyplot and the session's backend untouched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def score_grid(rows: list[dict], datasets: list[str]) -> tuple[np.ndarray, list[str], list[int]]:
    """Scores as a data set × hook point grid.

    Parameters
    ----------
    rows : list of dict
        Results rows (``dataset``, ``hook_point``, ``layer``, ``score``).
    datasets : list of str
        The grid's rows, in order; rows of other data sets are left out.

    Returns
    -------
    (ndarray, list of str, list of int)
        float64 ``(n_datasets, n_hook_points)`` scores (NaN where missing), and the hook
        point names and layers of the columns, in the order the rows list them.
    """
    hooks = list(dict.fromkeys(r["hook_point"] for r in rows))
    layer = {r["hook_point"]: r["layer"] for r in rows}
    grid = np.full((len(datasets), len(hooks)), np.nan)
    for r in rows:
        if r["dataset"] in datasets:
            grid[datasets.index(r["dataset"]), hooks.index(r["hook_point"])] = r["score"]
    return grid, hooks, [layer[h] for h in hooks]


def _column_labels(hooks: list[str], layers: list[int]) -> list[str]:
    """Layer numbers when each layer has one hook point, else the hook point names."""
    return [str(x) for x in layers] if len(set(layers)) == len(layers) else hooks


def plot_heatmaps(rows: list[dict], datasets: list[str], variants: list[str], path: Path, title: str) -> None:
    """Held-out score per data set (rows) × hook point (columns), one panel per variant.

    Panels are stacked (same columns one above the other, so pretrained and random-init
    compare layer by layer). Colours span 0..1 (scores below 0, e.g. a negative R², show
    as 0); every cell is annotated with its value when the grid is small enough to read.

    Parameters
    ----------
    rows : list of dict
        Results rows (``variant``, ``dataset``, ``hook_point``, ``layer``, ``score``).
    datasets : list of str
        Data sets, top to bottom.
    variants : list of str
        One panel each, in order.
    path : pathlib.Path
        The PNG written.
    title : str
        The figure's title.
    """
    n_hooks = len({r["hook_point"] for r in rows})
    fig = _figure(min(3.5 + 0.42 * n_hooks, 18), len(variants) * (0.9 + 0.42 * len(datasets)) + 0.6)
    axes = fig.subplots(len(variants), 1, squeeze=False, gridspec_kw={"hspace": 0.5})[:, 0]
    image = None
    for k, (ax, variant) in enumerate(zip(axes, variants)):
        grid, hooks, layers = score_grid([r for r in rows if r["variant"] == variant], datasets)
        image = ax.imshow(np.clip(grid, 0, 1), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        labels = _column_labels(hooks, layers)
        step = max(1, len(labels) // 40)
        ax.set_xticks(range(0, len(labels), step), labels[::step], fontsize=7,
                      rotation=0 if labels is not hooks else 90)
        ax.set_yticks(range(len(datasets)), datasets, fontsize=8)
        if k == len(variants) - 1:
            ax.set_xlabel("layer (0 = embeddings)")
        ax.set_title(variant, fontsize=9, loc="left")
        if grid.shape[1] <= 48:
            for (i, j), value in np.ndenumerate(grid):
                if np.isfinite(value):
                    ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                            color="white" if value < 0.6 else "black")
    fig.colorbar(image, ax=list(axes), fraction=0.025, pad=0.01, label="held-out score (accuracy or R²)")
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, bbox_inches="tight")


def plot_layer_curves(series: dict[str, list[dict]], path: Path, title: str,
                      styles: dict[str, dict] | None = None) -> None:
    """Score against layer for several labelled series, with shaded 95 % CIs where the rows have them.

    Parameters
    ----------
    series:
        ``{label: rows}``; each row has ``layer``, ``score`` and optionally ``ci_low``/``ci_high``
        and ``metric``. Series of different metrics go on separate panels.
    path:
        The PNG written.
    title:
        The figure's title.
    styles:
        Optional matplotlib keyword arguments per label (``ls``, ``color``).
    """
    from probekit.report.plots import draw_ci_band

    metrics = list(dict.fromkeys((rows[0].get("metric") or "score") for rows in series.values() if rows))
    outside = len(series) > 4  # many curves: the legend goes right of the axes, off the data
    fig = _figure(7.5 * max(1, len(metrics)) + (3.5 if outside else 0), 4.5)
    axes = fig.subplots(1, max(1, len(metrics)), squeeze=False)[0]
    for label, rows in series.items():
        if not rows:
            continue
        rows = sorted(rows, key=lambda r: r["layer"])
        ax = axes[metrics.index(rows[0].get("metric") or "score")]
        x = [r["layer"] for r in rows]
        (line,) = ax.plot(x, [r["score"] for r in rows], marker="o", ms=3, label=label, **(styles or {}).get(label, {}))
        draw_ci_band(ax, x, rows, line.get_color())
    from matplotlib.ticker import MaxNLocator

    for ax, metric in zip(axes, metrics):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("layer (0 = embeddings)")
        ax.set_ylabel(f"held-out {metric}")
        ax.grid(alpha=0.3)
        if outside:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        else:
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")


def plot_transfer(transfer: list[dict], variants: list[str], path: Path, title: str) -> None:
    """Transfer matrices (train data set × test data set), one panel per variant.

    Parameters
    ----------
    transfer : list of dict
        Transfer rows (``variant``, ``train_dataset``, ``test_dataset``, ``score``).
    variants : list of str
        One panel each, in order.
    path : pathlib.Path
        The PNG written.
    title : str
        The figure's title.
    """
    fig = _figure(4.5 * len(variants) + 1, 4)
    axes = fig.subplots(1, len(variants), squeeze=False)[0]
    image = None
    for ax, variant in zip(axes, variants):
        items = [t for t in transfer if t["variant"] == variant]
        names = list(dict.fromkeys([t["train_dataset"] for t in items] + [t["test_dataset"] for t in items]))
        grid = np.full((len(names), len(names)), np.nan)
        for t in items:
            grid[names.index(t["train_dataset"]), names.index(t["test_dataset"])] = t["score"]
        image = ax.imshow(np.clip(grid, 0, 1), vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(names)), names, fontsize=7, rotation=30, ha="right")
        ax.set_yticks(range(len(names)), names if ax is axes[0] else [], fontsize=7)
        ax.set_xlabel("scored on")
        if ax is axes[0]:
            ax.set_ylabel("trained on")
        ax.set_title(variant, fontsize=9)
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if value < 0.6 else "black")
    if image is not None:
        fig.colorbar(image, ax=list(axes), fraction=0.04, pad=0.03)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, bbox_inches="tight")
