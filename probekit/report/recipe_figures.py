"""Figures of the paper reproductions in ``recipes/`` (P1-P4): one function per PNG they write.

Each takes the summary rows the recipe computed (and the constants it compares with) and
writes a readable PNG; nothing here computes a number that goes into a table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from probekit.report.plots import pyplot

__all__ = ["ce_dsprites_figure", "ce_imagenet_figure", "ce_synthetic_figure", "concept_recovery_figure",
           "ce_curve_figure", "delay_embedding_figures", "extrapolation_figure", "low_degree_search_figure",
           "steering_figure", "world_model_recovery_figure"]


def _save(plt, fig, path, dpi: int | None = 120) -> None:
    """Tight layout, write ``path`` (at ``dpi``; ``None``: the figure's own), close the figure."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi if dpi is not None else "figure")
    plt.close(fig)


def ce_synthetic_figure(summary: list[dict], path: Path) -> None:
    """P2 Tables 2-3: affine (and no-intercept) R² per row and method beside the paper's."""
    plt = pyplot()
    rows = list(dict.fromkeys(r["row"] for r in summary))
    methods = list(dict.fromkeys(r["method"] for r in summary))
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 3.6), squeeze=False, sharey=True)
    x = np.arange(len(rows))
    for ax, m in zip(axes[0], methods):
        sel = {r["row"]: r for r in summary if r["method"] == m}
        ours = [sel[r]["affine_r2_mean"] or 0 for r in rows]
        err = [sel[r]["affine_r2_std"] or 0 for r in rows]
        paper = [sel[r]["paper_r2_z"] for r in rows]
        init = [sel[r]["init_affine_r2_mean"] or 0 for r in rows]
        ax.bar(x - 0.27, ours, 0.27, yerr=err, label="ours (affine R²)", color="tab:blue")
        if m == "diet-norm":
            ax.bar(x, [sel[r]["linear_r2_mean"] or 0 for r in rows], 0.27, label="ours (no-intercept R²)",
                   color="tab:cyan")
        ax.bar(x + 0.27, paper, 0.27, label="paper (reported)", color="lightgray", edgecolor="k", hatch="//")
        ax.plot(x, init, "k_", markersize=18, label="untrained encoder")
        ax.set_xticks(x, [r for r in rows], rotation=30)
        ax.set_title(m)
        ax.set_ylim(0, 1.05)
        ax.axhline(0.95, color="r", lw=0.6, ls=":")
    axes[0][0].set_ylabel("R² z~ → z (held out)")
    axes[0][-1].legend(fontsize=7, loc="lower left")
    fig.suptitle("Cross-entropy recovers the latents up to a linear map (synthetic)")
    _save(plt, fig, path)


def ce_dsprites_figure(summary: list[dict], path: Path) -> None:
    """P2 Table 4: Pearson r per dSprites factor and encoder beside the paper's."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(summary))
    colors = {"pixels": "tab:gray", "mlp": "tab:orange", "cnn": "tab:blue"}
    for i, k in enumerate(("pixels", "mlp", "cnn")):
        vals = [e[f"{k}_mean"] if e[f"{k}_mean"] is not None else np.nan for e in summary]
        ax.bar(x + (i - 1) * 0.27, vals, 0.27, label=f"ours: {k}", color=colors[k])
        paper = [e[f"paper_{k}"] if e[f"paper_{k}"] is not None else np.nan for e in summary]
        ax.plot(x + (i - 1) * 0.27, paper, "k*", markersize=7, label="paper" if i == 0 else None)
    ax.set_xticks(x, [e["factor"] for e in summary])
    ax.set_ylabel("Pearson r (held out)")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7, ncol=4, loc="lower center")
    ax.set_title("dSprites: linear decodability of factors after shape classification")
    _save(plt, fig, path)


def ce_imagenet_figure(rows: list[dict], path: Path, concepts, models, kinds: dict) -> None:
    """P2 Fig. 3 substitute: balanced probe accuracy per factor and model (* p < 0.05)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = np.arange(len(concepts))
    colors = {"trained": "tab:blue", "random-init": "tab:orange", "pixel-projection": "tab:gray"}
    for i, m in enumerate(models):
        sel = [next(r for r in rows if r["concept"] == c and r["model"] == m) for c in concepts]
        ax.bar(x + (i - 1) * 0.27, [r["accuracy_mean"] for r in sel], 0.27, yerr=[r["accuracy_std"] for r in sel],
               label=m, color=colors[m])
        for xi, r in zip(x + (i - 1) * 0.27, sel):
            if r["p_value_vs_0.5"] < 0.05:
                ax.text(xi, r["accuracy_mean"] + r["accuracy_std"] + 0.01, "*", ha="center")
    ax.axhline(0.5, color="k", ls="--", lw=0.8, label="chance")
    ax.set_xticks(x, [f"{c}\n({kinds[c]})" for c in concepts])
    ax.set_ylabel("balanced test accuracy")
    ax.set_ylim(0.3, 1.05)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Linear decodability of binary factors (EfficientNet-Lite0; * p < 0.05)")
    _save(plt, fig, path)


def concept_recovery_figure(summary: list[dict], path: Path, reference: dict) -> None:
    """P4 synthetic: R² and MCC-out per setting and method, with the authors' reference marks."""
    plt = pyplot()

    groups = sorted({(r["setting"], r["mixing"]) for r in summary})
    methods = ["contrastive", "pca", "ica"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
    width = 0.8 / len(methods)
    for ax, key, title in ((axes[0], "r2", "R² (linear regression h(x) → Z·Aᵀ)"),
                           (axes[1], "mcc_out", "MCC-out")):
        for j, meth in enumerate(methods):
            vals = [next((r[key] for r in summary if (r["setting"], r["mixing"], r["method"]) == (*g, meth)),
                         np.nan) for g in groups]
            sds = [next((r[key + "_sd"] for r in summary if (r["setting"], r["mixing"], r["method"]) == (*g, meth)),
                        0) for g in groups]
            ax.bar(np.arange(len(groups)) + (j - 1) * width, vals, width, yerr=sds, capsize=2, label=meth)
        refs = [reference.get(g, {}).get("r2" if key == "r2" else "mcc_out", np.nan) for g in groups]
        ax.scatter(np.arange(len(groups)) - width, refs, marker="_", s=300, color="k", zorder=3,
                   label="reference (authors' code)")
        ax.set_xticks(np.arange(len(groups)), [f"{s}\n{m}" for s, m in groups])
        ax.set_ylim(0, 1.05)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[1].legend(fontsize=8, loc="lower left")
    fig.suptitle("Concept recovery from concept-conditioned data (mean ± sd over seeds)")
    _save(plt, fig, path, dpi=None)


def steering_figure(rows, path, methods, alphas, title: str):
    """P4 steering: held-out MC2 and CE against alpha per method."""
    plt = pyplot()

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
    base = np.mean([r["MC2"] for r in rows if r["method"] == "baseline"])
    base_ce = np.mean([r["CE"] for r in rows if r["method"] == "baseline"])
    xs = [0.0] + list(alphas)
    for method in methods:
        mc2 = [base] + [np.mean([r["MC2"] for r in rows if r["method"] == method and r["alpha"] == a])
                        for a in alphas]
        ce = [base_ce] + [np.mean([r["CE"] for r in rows if r["method"] == method and r["alpha"] == a])
                          for a in alphas]
        axes[0].plot(xs, mc2, marker="o", label=method)
        axes[1].plot(xs, ce, marker="o", label=method)
    axes[0].axhline(base, color="k", ls="--", lw=1, label="unsteered")
    chance = [r["MC2"] for r in rows if r["method"] == "uniform_answers"]
    if chance:
        axes[0].axhline(float(np.mean(chance)), color="grey", ls=":", lw=1, label="all answers equally likely")
    axes[0].set_xlabel("α (in units of σ per head)")
    axes[0].set_ylabel("MC2 (held-out questions, mean of folds)")
    axes[1].set_xlabel("α")
    axes[1].set_ylabel("CE on held-out text (nats/token)")
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    _save(plt, fig, path, dpi=None)


def low_degree_search_figure(summary: list[dict], cfg: dict, path: Path, families, settings_info: dict) -> None:
    """P1 search: exact recovery rate vs number of tasks per setting, family and criterion."""
    plt = pyplot()

    settings = cfg["settings"]
    fig, axes = plt.subplots(1, len(settings), figsize=(4.6 * len(settings), 3.8), squeeze=False)
    colors = dict(zip(families, ["C0", "C1", "C2", "C3"]))
    for ax, setting in zip(axes[0], settings):
        for crit, ls in (("degree", "-"), ("influence", "--")):
            for fam in cfg["families"]:
                rows = [s for s in summary if s["setting"] == setting and s["family"] == fam
                        and s["criterion"] == crit]
                if rows:
                    ax.plot([r["n_tasks"] for r in rows], [r["recovery_rate"] for r in rows], ls, marker="o",
                            color=colors[fam], label=f"{fam} ({crit})", ms=3)
        rows = [s for s in summary if s["setting"] == setting and s["family"] == "1-junta"
                and s["criterion"] == "degree"]
        if rows:
            ax.plot([r["n_tasks"] for r in rows], [r["theory_coverage_1junta"] for r in rows], ":", color="k",
                    label="P(1-juntas cover all bits)")
        n, world, space = settings_info[setting]
        ax.set_title(f"n={n}, world={world}, search={space}", fontsize=9)
        ax.set_xlabel("number of tasks")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("P(minimizers = signed perms of z)")
    axes[0][-1].legend(fontsize=6, loc="center right")
    fig.suptitle("Ideal minimum-degree learner: exact recovery rate", fontsize=10)
    _save(plt, fig, path)


def extrapolation_figure(summary: list[dict], path: Path) -> None:
    """P1 ood: in-distribution and OOD MSE per model (log scale)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    names = [s["model"] for s in summary]
    xs = np.arange(len(names))
    ax.bar(xs - 0.2, [s["id_mse"] for s in summary], 0.4, label="in-distribution U[-1,1)")
    ax.bar(xs + 0.2, [s["ood_mse"] for s in summary], 0.4, label="OOD U[-2,2)")
    ax.set_xticks(xs, names)
    ax.set_yscale("log")
    ax.set_ylabel("MSE (standardised target)")
    ax.set_title("Extrapolating a degree-3 polynomial", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    _save(plt, fig, path)


def delay_embedding_figures(out: Path, result: dict, history: list, paper_delta_mase: dict) -> None:
    """P3: decoding R² / overlap vs step, MASE vs parameters, and the noise-induced MASE increase."""
    plt = pyplot()

    colors = {"lru": "tab:blue", "gpt": "tab:orange", "gpt-nope": "tab:green"}
    sigmas = sorted({h["sigma"] for h in history})
    ds = sorted({h["d"] for h in history})
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name in dict.fromkeys(h["model"] for h in history):
        for d in ds:
            for sigma in sigmas:
                hs = [h for h in history if h["model"] == name and h["d"] == d and h["sigma"] == sigma]
                if not hs:
                    continue
                alpha = 0.35 + 0.65 * (ds.index(d) + 1) / len(ds)
                ls = "-" if sigma == sigmas[0] else "--"
                label = f"{name} d={d}" if sigma == sigmas[0] else None
                steps = [h["step"] for h in hs]
                axes[0].plot(steps, [h["r2_linear"] for h in hs], ls, color=colors.get(name), alpha=alpha,
                             marker="o", ms=3, label=label)
                axes[1].plot(steps, [h["overlap"] for h in hs], ls, color=colors.get(name), alpha=alpha,
                             marker="o", ms=3, label=label)
    b0 = result["baselines"].get(str(sigmas[0])) if sigmas else None
    if b0:
        axes[0].axhline(b0["takens_r2_linear"], color="k", lw=1, label="Takens delay vectors (linear)")
        axes[0].axhline(b0["x_only_r2_linear"], color="gray", lw=1, ls=":", label="x alone (linear)")
        axes[1].axhline(b0["takens_overlap"], color="k", lw=1, label="Takens delay vectors")
        axes[1].axhline(b0["chance_overlap"], color="gray", lw=1, ls=":", label="chance k/(n-1)")
    axes[0].set(xlabel="training step", ylabel="decoding R² of unobserved (y, z), linear",
                title="Decoding from hidden states (solid: σ=%g, dashed: σ=%g)" % (sigmas[0], sigmas[-1]))
    axes[1].set(xlabel="training step", ylabel=f"k-NN overlap with true state (k={result['args']['k']})",
                title="Neighbour overlap with the true state")
    axes[0].legend(fontsize=7, ncol=2)
    axes[1].legend(fontsize=7, ncol=2)
    _save(plt, fig, out / "decoding_vs_step.png")

    trained = [r for r in result["rows"] if r["phase"] == "trained"]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name in dict.fromkeys(r["model"] for r in trained):
        for sigma in sigmas:
            rs = sorted([r for r in trained if r["model"] == name and r["sigma"] == sigma], key=lambda r: r["n_params"])
            ax.plot([r["n_params"] for r in rs], [r["mase"] for r in rs], "-o" if sigma == sigmas[0] else "--s",
                    color=colors.get(name), label=f"{name}, σ={sigma:g}")
    ax.axhline(1.0, color="gray", ls=":", lw=1, label="persistence (MASE = 1)")
    ax.set_xscale("log")
    top = max([1.1] + [r["mase"] * 1.05 for r in trained])
    ax.set_ylim(0, top)
    ax.set(xlabel="trainable parameters", ylabel="validation MASE (next step)", title="MASE vs parameter count")
    ax.legend(fontsize=8)
    _save(plt, fig, out / "mase_vs_params.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    dm = result["delta_mase"]
    series = [(f"ours: {m}", {r["d"]: r["delta_mase"] for r in dm if r["model"] == m}, colors.get(m), None)
              for m in dict.fromkeys(r["model"] for r in dm)]
    series += [(f"paper (Ostrow et al. 2024): {m}", dict(zip(paper_delta_mase["d"], paper_delta_mase[m])),
                colors.get(m), "//") for m in ("lru", "gpt", "gpt-nope")]
    all_d = sorted({d for _, vals, _, _ in series for d in vals})
    width = 0.8 / max(1, len(series))
    for i, (label, vals, color, hatch) in enumerate(series):
        xs = [all_d.index(d) + (i - len(series) / 2 + 0.5) * width for d in vals]
        ax.bar(xs, list(vals.values()), width, color=color, alpha=0.45 if hatch else 0.9, hatch=hatch,
               edgecolor="k", lw=0.5, label=label)
    ax.set_xticks(range(len(all_d)), [str(d) for d in all_d])
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="d_model", ylabel="MASE(σ high) - MASE(σ low)",
           title="Increase in MASE under observation noise (hatched: the paper's numbers)")
    ax.legend(fontsize=7)
    _save(plt, fig, out / "delta_mase_noise.png")


def world_model_recovery_figure(summary: list[dict], cfg: dict, path: Path) -> None:
    """P1 train: recovery of z vs covering tasks (trained and untrained), and the input-basis experiment."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for (world, arch), color in zip([(w, a) for w in cfg["worlds"] for a in cfg["archs"]], ("C0", "C3", "C2", "C1")):
        rows = [s for s in summary if (s["experiment"], s["world"], s["arch"], s["condition"])
                == ("theory", world, arch, "cover")]
        t = [r["n_tasks"] for r in rows]
        for key, ls, lab in (("recovery", "-", "trained"), ("recovery_untrained", ":", "untrained")):
            axes[0].errorbar(t, [r[key] for r in rows], yerr=[r[f"{key}_ci"] or 0 for r in rows], ls=ls,
                             marker="o", color=color, capsize=3, ms=3, label=f"{world}/{arch} {lab}")
    basis = [s for s in summary if s["experiment"] == "basis"]
    xs = np.arange(len(basis))
    for off, key, lab in ((-0.3, "recovery", "z"), (-0.1, "recovery_untrained", "z, untrained"),
                          (0.1, "recovery_input", "input / E(ψ(z))"), (0.3, "recovery_input_untrained",
                                                                     "input, untrained")):
        axes[1].bar(xs + off, [s[key] for s in basis], 0.2, yerr=[s[f"{key}_ci"] or 0 for s in basis], label=lab)
    axes[1].set_xticks(xs, [f"{s['arch']}\n{s['input_basis']}" for s in basis], fontsize=8)
    axes[0].set_xlabel("number of covering 1-junta tasks")
    for ax, title in zip(axes, ("random-bijection / affine worlds", "signed-permutation world, input x or E(x)")):
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    axes[0].set_ylabel(f"matched |corr| (mean ± 95% t, {cfg['seeds']} seeds)")
    fig.suptitle(f"Multi-task networks, n={cfg['n']} latent bits, {cfg['steps']} steps for every arch", fontsize=10)
    _save(plt, fig, path)


def ce_curve_figure(history: list[dict], path: Path) -> None:
    """P2: held-out R² z~ → z against training step, one line per (row, method, seed) run.

    ``history`` rows carry ``row``, ``method``, ``seed``, ``step``, ``affine_r2`` and
    ``linear_r2``; a normalised-head run (``diet-norm``) is drawn with its no-intercept R²
    (Table 2's score for that column), every other run with the affine R².
    """
    plt = pyplot()
    runs: dict[tuple, list[dict]] = {}
    for h in history:
        runs.setdefault((h["row"], h["method"], h["seed"]), []).append(h)
    colors = {"supervised": "tab:blue", "diet": "tab:orange", "diet-norm": "tab:green"}
    rows = list(dict.fromkeys(k[0] for k in runs))
    fig, axes = plt.subplots(1, len(rows), figsize=(4.6 * len(rows), 3.6), squeeze=False)
    for ax, row in zip(axes[0], rows):
        for (r, method, seed), hs in runs.items():
            if r != row:
                continue
            key = "linear_r2" if method == "diet-norm" else "affine_r2"
            hs = sorted(hs, key=lambda h: h["step"])
            ax.plot([h["step"] for h in hs], [h[key] for h in hs], "-o", ms=2, color=colors.get(method),
                    alpha=0.8, label=f"{method} seed {seed}")
        ax.set(xlabel="training step", ylabel="held-out R² z~ → z", title=row, ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.suptitle("R² against steps (diet-norm: no-intercept R²; others: affine R²)", fontsize=10)
    _save(plt, fig, path)
