"""Plots a person can read: probe score and control vs layer."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_probe_scores(rows: list[dict], path: Path, title: str, chance: float | None = None) -> None:
    """Line plot of probe score (± std over folds) and control score against layer.

    Parameters
    ----------
    rows:
        Results rows with ``layer``, ``score``, ``score_std``, ``control_score``, ``metric``, ``module``.
    path:
        PNG file to write.
    title:
        Plot title (model and data set).
    chance:
        Horizontal reference line (e.g. majority-class accuracy); omitted if ``None``.
    """
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    groups: dict[str, list[dict]] = {}
    for row in rows:
        kind = row["module"].rsplit(".", 1)[-1] if row["module"].startswith("blocks.") else "resid_post"
        groups.setdefault(kind, []).append(row)
    for kind, items in groups.items():
        items = sorted(items, key=lambda r: r["layer"])
        x = [r["layer"] for r in items]
        y = [r["score"] for r in items]
        err = [r["score_std"] for r in items]
        label = "probe" if len(groups) == 1 else f"probe ({kind})"
        ax.errorbar(x, y, yerr=err, marker="o", ms=3, capsize=2, label=label)
        ax.plot(x, [r["control_score"] for r in items], ls="--", marker=".", label=f"control ({items[0].get('control', '')})" if len(groups) == 1 else f"control ({kind})")
    if chance is not None:
        ax.axhline(chance, color="grey", lw=0.8, ls=":", label=f"chance ({chance:.2f})")
    metric = rows[0]["metric"] if rows else "score"
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel(f"held-out {metric}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
