"""Recipe: do low-degree multi-task learners recover Boolean latent variables?

First executable version of the claims of Zhang, Chen & Chen (2025), "When do neural
networks learn world models?" (ICML, arXiv 2502.09297; no public code or numbers).
Latents ``z ∈ {±1}^n``, observations ``x = psi(z)``, tasks ``h_i(z)`` seen as functions
of ``x``. Three measured experiments, each with a pass/fail line (details and measured
numbers: recipes/README_P1.md):

``search`` — the ideal low-degree learner (:class:`probekit.estimators.low_degree.LowDegreeSearch`):
does the set of minimizers of the total head degree equal the signed permutations of ``z``?
Recovery, truth-is-a-minimizer and coverage rates per setting, task family and count.

``train`` — neural multi-task learners (:mod:`probekit.synthetic.boolean_recovery`) in the
theory's setting: random-bijection and GF(2)-affine worlds, covering 1-junta tasks (the exact
search confirms z is the unique lowest-degree solution) and controls, MLP and transformer
under one budget, each scored against its untrained init; plus the input-basis experiment
(signed-permutation world seen through a random affine E: |corr| with z and with E(psi(z))).

``ood`` — extrapolation (paper Sec. 5, :mod:`probekit.synthetic.extrapolation`): a random
degree-3 polynomial fit on ``U[-1,1)^2``, tested on ``U[-2,2)^2`` by a ReLU MLP, a
transformer and a basis-matched model.

Budgets (``--budget {tiny,cpu,reference}``, default cpu; ``--tiny`` = ``--budget tiny``; ``--dry-run`` builds and
records the configs in ``OUT/plan.json`` without running)::

    python recipes/boolean_world_models.py all --tiny --out /tmp/bwm   # ~1 min, for tests
    python recipes/boolean_world_models.py all --out results/bwm       # cpu budget, ~50 min on 2 busy cores
    python recipes/boolean_world_models.py all --budget reference --out results/bwm-ref  # papers.md P1 set-up

Outputs in ``--out``: ``search_trials.csv``, ``search_summary.csv``, ``search_recovery.png``,
``train_runs.csv``, ``train_summary.csv``, ``train_recovery.png``, ``ood.csv``,
``ood_mse.png`` and ``results.json`` (budget name, config, network settings, summaries, checks).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from probekit.errors import ProbekitError, run_command
from probekit.evaluation.budgets import DEFAULT_BUDGET, add_budget_arguments, apply_overrides
from probekit.report.recipe_figures import extrapolation_figure, low_degree_search_figure, world_model_recovery_figure
from probekit.report.tables import (format_mean_std, format_table, format_value, mean_ci, nan_to_none,
                                    write_rows_csv)
from probekit.synthetic.boolean_search import SEARCH_FAMILIES, SEARCH_SETTINGS, search_pivot

ARCHS = ("mlp", "transformer")

_OOD_RANGES = dict(ood_train_range=1.0, ood_test_range=2.0)  # papers.md P1: train U[-1,1), test U[-2,2)
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(
        settings=["n3-affine", "n4-affine"], families=list(SEARCH_FAMILIES), search_counts=[1, 2, 10, 12],
        trials=3, criteria=["degree"],
        n=4, train_counts=[1, 8], seeds=2, worlds=["bijection", "affine"], archs=["mlp", "transformer"],
        steps=150, lr=1e-2, hidden=32, head_hidden=8,
        ood_seeds=1, ood_steps=80, ood_n_train=256, **_OOD_RANGES),
    "cpu": dict(  # sized for 2 CPU cores (~50 min); the tables of README_P1.md
        settings=["n3-bijection", "n3-affine", "n4-affine"], families=list(SEARCH_FAMILIES),
        search_counts=[1, 2, 3, 4, 6, 8, 10, 12, 16], trials=20, criteria=["degree", "influence"],
        n=5, train_counts=[1, 2, 5, 10], seeds=5, worlds=["bijection", "affine"],
        archs=["mlp", "transformer"], steps=1000, lr=3e-3, hidden=64, head_hidden=16,
        ood_seeds=3, ood_steps=1500, ood_n_train=1024, **_OOD_RANGES),
    # The source's set-up as ../shared/design/papers.md section P1 states it (Zhang, Chen & Chen 2025 have no
    # public code or numbers). papers.md fixes the kinds below and no number: where it is silent ("silent") the
    # cpu value is kept, so this preset has the cpu preset's values (README_P1.md, "Budgets").
    "reference": dict(
        settings=["n3-bijection", "n3-affine", "n4-affine"],  # "GF(2)-affine maps; all bijections for n <= 3"
        families=list(SEARCH_FAMILIES),  # "parities chi_S, random k-juntas, random degree-<=k functions"
        search_counts=[1, 2, 3, 4, 6, 8, 10, 12, 16], trials=20,  # "many / enough tasks": counts silent
        criteria=["degree", "influence"],  # "lowest Fourier-Walsh degree"; influence: silent (cpu)
        n=5, train_counts=[1, 2, 5, 10], seeds=5,  # silent (cpu; issue #17 asks >= 5 seeds)
        worlds=["bijection", "affine"],  # "a random bijection psi of the cube (or structured ones)"
        archs=["mlp", "transformer"],  # "shared trunk + per-task heads, ReLU MLP and a transformer"
        steps=1000, lr=3e-3, hidden=64, head_hidden=16,  # widths, steps, lr: silent (cpu)
        ood_seeds=3, ood_steps=1500, ood_n_train=1024,  # silent (cpu)
        **_OOD_RANGES),  # "train/val inputs U[-1,1), test U[-2,2)"
}


# ------------------------------------------------------------------------------ helpers
def _table(rows: list[dict], cols: list[str]) -> str:
    return format_table(cols, [[format_value(r.get(c), sci_below=1e-3) for c in cols] for r in rows], "plain")


def _above0(mean: float | None, half: float | None) -> bool:
    """Whether the 95% interval lies above 0 (with one seed there is no interval: the mean)."""
    return mean is not None and mean - (half or 0.0) > 0


def _check(name: str, passed: bool, detail: str) -> dict:
    print(f"[{'PASS' if passed else 'FAIL'}] {name}: {detail}")
    return {"check": name, "passed": bool(passed), "detail": detail}


# ------------------------------------------------------------------------------ search
def run_search(cfg: dict, progress: bool) -> tuple[list[dict], list[dict], list[dict]]:
    """Ideal low-degree learner over settings x criteria x families x task counts x trials."""
    from tqdm.auto import tqdm

    from probekit.synthetic.boolean_search import search_trial, summarize_search

    jobs = [(s, c, f, t) for s in cfg["settings"] for c in cfg["criteria"] for f in cfg["families"]
            for t in cfg["search_counts"]]
    trials_rows = [search_trial(*job, trial) for job in tqdm(jobs, disable=not progress, desc="search")
                   for trial in range(cfg["trials"])]
    summary = summarize_search(trials_rows, {k: cfg[k] for k in ("settings", "criteria", "families")})
    for s in summary:
        s["budget"] = f"{cfg['budget']}: exhaustive search, {cfg['trials']} trials"
    checks = []
    # coverage of every bit is necessary (README_P1); independent 1-juntas cover with P >= .96 from T = 16 at n <= 4
    big = [s for s in summary if s["family"] == "1-junta" and s["criterion"] == "degree" and s["n_tasks"] >= 16]
    for setting in cfg["settings"]:
        rows = [s for s in big if s["setting"] == setting]
        _, world_kind, space = SEARCH_SETTINGS[setting]
        if not rows or world_kind == "bijection" and space == "affine":
            continue
        worst = min(rows, key=lambda s: s["recovery_rate"])
        checks.append(_check(
            f"search {setting}: 1-junta, >= 16 tasks, recovery >= 90%",
            all(s["recovery_rate"] >= 0.9 for s in rows),
            ", ".join(f"T={s['n_tasks']}: {s['recovery_rate']:.2f} (coverage {s['coverage_rate']:.2f}, "
                      f"theory {s['theory_coverage_1junta']:.3f})" for s in rows)
            + f"; worst T={worst['n_tasks']}"))
    few = [s for s in summary if s["family"] == "1-junta" and s["criterion"] == "degree" and s["n_tasks"] <= 2]
    if few:
        checks.append(_check(
            "search: 1-junta, 1-2 tasks, no recovery", all(s["recovery_rate"] == 0 for s in few),
            ", ".join(f"{s['setting']} T={s['n_tasks']}: {s['recovery_rate']:.2f}" for s in few)))
    covered = [s for s in summary if s["family"] == "1-junta" and s["criterion"] == "degree"
               and not math.isnan(s["recovery_if_covered"])]
    if covered:
        checks.append(_check(
            "search: 1-junta recovery given coverage of every bit == 100%",
            all(s["recovery_if_covered"] == 1.0 for s in covered),
            f"min over settings/counts: {min(s['recovery_if_covered'] for s in covered):.2f}"))
    return trials_rows, summary, checks


# ------------------------------------------------------------------------------ train
def run_train(cfg: dict, progress: bool) -> tuple[list[dict], list[dict], list[dict]]:
    """Neural multi-task learners in the theory's setting, each with its untrained baseline."""
    from scipy.stats import spearmanr
    from tqdm.auto import tqdm

    from probekit.synthetic.boolean_recovery import (seed_paired_difference, recovery_design, recovery_run,
                                                     summarize_recovery)
    rows: list[dict] = []
    configs = model_configs(cfg)["train"]
    jobs = recovery_design(cfg["n"], cfg["train_counts"], cfg["seeds"], cfg["worlds"], cfg["archs"])
    for job in tqdm(jobs, disable=not progress, desc="train"):
        mc = replace(configs[job["arch"]], seed=job["seed"])  # one budget for every arch
        scores = recovery_run(job["world"], job["tasks"], mc, job["input_map"])
        rows.append({**{k: job[k] for k in ("experiment", "input_basis", "arch", "seed", "condition", "n_tasks")},
                     "world": job["world"].kind, "covers_all_bits": int(job["tasks"].covers_all),
                     **job["ident"], **scores})
    keys = ("experiment", "world", "input_basis", "arch", "condition", "n_tasks")
    summary = summarize_recovery(rows, keys)
    for s in summary:
        s["budget"] = (f"{cfg['budget']}: {cfg['steps']} steps, full batch {2 ** cfg['n']}, AdamW lr {cfg['lr']:g} "
                       f"constant, weight decay {configs[s['arch']].weight_decay:g}")
    checks, top = [], max(cfg["train_counts"])

    def cell(**sel: Any) -> dict:
        return next(s for s in summary if all(s[k] == v for k, v in sel.items()))

    th = [r for r in rows if r["experiment"] == "theory"]
    want = [(r["z_identified"], float(r["condition"] == "cover" and r["n_tasks"] >= cfg["n"])) for r in th]
    checks.append(_check(
        "exact search: z is the unique lowest-degree solution for covering 1-juntas, not for the controls",
        all(a == b for a, b in want) and not any(math.isnan(a) for a, _ in want),
        f"{th[0]['search_space']} search in the latent frame, {len(want)} task sets"))
    for world in cfg["worlds"]:
        for arch in cfg["archs"]:
            base = dict(experiment="theory", world=world, arch=arch)
            c = cell(**base, condition="cover", n_tasks=top)
            checks.append(_check(
                f"train {world}/{arch}: T={top} covering tasks, recovery above the untrained baseline",
                _above0(c["gain"], c["gain_ci"]),
                f"{c['recovery']:.3f} vs untrained {c['recovery_untrained']:.3f}, "
                f"gain {c['gain']:.3f} ± {c['gain_ci'] or 0:.3f} (95% t, n={c['n_runs']})"))
            m = [cell(**base, condition="cover", n_tasks=t) for t in cfg["train_counts"]]
            rec = [s["recovery"] for s in m]
            rho = float(spearmanr(cfg["train_counts"], rec).statistic) if np.std(rec) > 0 else float("nan")
            checks.append(_check(
                f"train {world}/{arch}: recovery rises with the number of covering tasks",
                rec[-1] > rec[0] and rho > 0, f"T={cfg['train_counts'][0]}: {rec[0]:.3f} -> T={top}: "
                f"{rec[-1]:.3f}, Spearman {rho:.2f}"))
            d, ci, k = seed_paired_difference(th, dict(world=world, arch=arch, condition="cover", n_tasks=top),
                                         dict(world=world, arch=arch, condition="uncovered"))
            checks.append(_check(
                f"train {world}/{arch}: covering every bit recovers more than leaving one bit uncovered",
                _above0(d, ci), f"paired difference {d:.3f} ± {ci or 0:.3f} (n={k})"))
            checks.append(_check(
                f"train {world}/{arch}: exact recovery (>= .95, the ideal learner's 1.0) at T={top}",
                c["recovery"] >= 0.95, f"{c['recovery']:.3f} ± {c['recovery_ci'] or 0:.3f}"))
    bs = [r for r in rows if r["experiment"] == "basis"]
    for arch in cfg["archs"]:
        a = cell(experiment="basis", arch=arch, input_basis="ablation")
        abl, mat = dict(arch=arch, input_basis="ablation"), dict(arch=arch, input_basis="matched")
        d, ci, k = seed_paired_difference(bs, abl, abl, "recovery_input", "recovery")
        checks.append(_check(
            f"train basis/{arch}: the mismatched-basis model is closer to the transformed latent E(psi(z)) than to z",
            _above0(d, ci), f"|corr| with E(psi(z)) {a['recovery_input']:.3f} (untrained "
            f"{a['recovery_input_untrained']:.3f}) vs with z {a['recovery']:.3f} (untrained "
            f"{a['recovery_untrained']:.3f}); paired difference {d:.3f} ± {ci or 0:.3f}"))
        d, ci, k = seed_paired_difference(bs, mat, abl)
        checks.append(_check(f"train basis/{arch}: the mismatched input basis lowers recovery of z", _above0(d, ci),
                             f"paired difference matched - ablation {d:.3f} ± {ci or 0:.3f} (n={k})"))
    return rows, summary, checks


# ------------------------------------------------------------------------------ ood
def run_ood(cfg: dict, progress: bool) -> tuple[list[dict], list[dict], list[dict]]:
    from probekit.synthetic.extrapolation import run_extrapolation

    rows, ec = [], replace(model_configs(cfg)["ood"], progress=progress)
    for seed in range(cfg["ood_seeds"]):
        rows += run_extrapolation(replace(ec, seed=seed))
    summary = []
    for model in ("mlp", "transformer", "polynomial"):
        rs = [r for r in rows if r["model"] == model]
        summary.append({"model": model, "seeds": len(rs), "n_params": rs[0]["n_params"], "budget": f"{cfg['budget']}: "
                        + (f"{ec.steps} Adam steps" if model != "polynomial" else "least squares"),
                        **{k: float(np.mean([r[k] for r in rs])) for k in ("train_mse", "id_mse", "ood_mse")},
                        "ood_mse_ci": mean_ci([r["ood_mse"] for r in rs])[1]})
    by = {s["model"]: s for s in summary}
    ratio_seeds = [r_m["ood_mse"] / max(r_p["ood_mse"], 1e-300) for r_m, r_p in
                   zip([r for r in rows if r["model"] == "mlp"], [r for r in rows if r["model"] == "polynomial"])]
    checks = [_check(
        "ood: basis-matched OOD MSE >= 10x lower than the ReLU MLP's",
        min(ratio_seeds) >= 10,
        f"OOD MSE mlp {by['mlp']['ood_mse']:.3g}, transformer {by['transformer']['ood_mse']:.3g}, "
        f"polynomial {by['polynomial']['ood_mse']:.3g}; per-seed mlp/polynomial ratio min {min(ratio_seeds):.3g}")]
    return rows, summary, checks


# ------------------------------------------------------------------------------ CLI
def _positive_ints(values: list[int] | None, name: str) -> None:
    if values is not None and any(v < 1 for v in values):
        raise ProbekitError(f"{name} must be integers >= 1; got {values}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("search", "train", "ood", "all"))
    p.add_argument("--out", required=True, type=Path, help="output directory")
    add_budget_arguments(p)  # --budget {tiny,cpu,reference} (reference: papers.md P1, cpu values where silent)
    p.add_argument("--dry-run", action="store_true", help="build and record the configs (OUT/plan.json), no runs")
    p.add_argument("--settings", nargs="+", choices=list(SEARCH_SETTINGS), help="search settings")
    p.add_argument("--families", nargs="+", choices=list(SEARCH_FAMILIES), help="search task families")
    p.add_argument("--search-counts", nargs="+", type=int, help="task counts for the search")
    p.add_argument("--trials", type=int, help="random trials per search cell")
    p.add_argument("--criteria", nargs="+", choices=("degree", "influence"))
    p.add_argument("--n", type=int, help="latent bits for the neural experiment")
    p.add_argument("--train-counts", nargs="+", type=int, help="task counts for the neural experiment")
    p.add_argument("--seeds", type=int, help="seeds per neural cell")
    p.add_argument("--worlds", nargs="+", choices=("bijection", "affine", "signed_permutation"))
    p.add_argument("--archs", nargs="+", choices=ARCHS)
    p.add_argument("--steps", type=int, help="training steps (the same for every architecture)")
    p.add_argument("--ood-seeds", type=int)
    p.add_argument("--ood-steps", type=int)
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return p.parse_args(argv)


def build_config(args: argparse.Namespace) -> dict[str, Any]:
    budget = args.budget or DEFAULT_BUDGET
    cfg, over = apply_overrides(PRESETS[budget], args, ("settings", "families", "search_counts", "trials", "criteria",
                                                        "n", "train_counts", "seeds", "worlds", "archs", "steps",
                                                        "ood_seeds", "ood_steps"))
    cfg.update(budget=budget, overrides=over)
    _positive_ints(cfg["search_counts"], "--search-counts")
    _positive_ints(cfg["train_counts"], "--train-counts")
    for key in ("trials", "seeds", "steps", "ood_seeds", "ood_steps"):
        if cfg[key] < 1:
            raise ProbekitError(f"--{key.replace('_', '-')}={cfg[key]}; expected an integer >= 1")
    if not 2 <= cfg["n"] <= 10:
        raise ProbekitError(f"--n={cfg['n']}; the neural experiment supports 2 <= n <= 10 latent bits")
    cfg["search_counts"], cfg["train_counts"] = sorted(set(cfg["search_counts"])), sorted(set(cfg["train_counts"]))
    return cfg


def model_configs(cfg: dict[str, Any]) -> dict[str, Any]:
    """The budget's network settings: a MultiTaskConfig per arch (seed 0) and the ExtrapolationConfig (seed 0)."""
    from probekit.synthetic.extrapolation import ExtrapolationConfig
    from probekit.train.multitask import MultiTaskConfig

    train = {a: MultiTaskConfig(arch=a, hidden=cfg["hidden"], head_hidden=cfg["head_hidden"], steps=cfg["steps"],
                                lr=cfg["lr"]) for a in cfg["archs"]}
    return {"train": train, "ood": ExtrapolationConfig(steps=cfg["ood_steps"], n_train=cfg["ood_n_train"],
                                                       train_range=cfg["ood_train_range"],
                                                       test_range=cfg["ood_test_range"])}


def _plan(cfg: dict[str, Any]) -> dict[str, Any]:
    """Sizes of each experiment (number of exact searches / trained networks), without running anything."""
    cells = len(cfg["settings"]) * len(cfg["criteria"]) * len(cfg["families"]) * len(cfg["search_counts"])
    per_seed = len(cfg["worlds"]) * (len(cfg["train_counts"]) + 1) + 2  # theory cells + basis matched / ablation
    return {"search_trials": cells * cfg["trials"], "train_runs": cfg["seeds"] * per_seed * len(cfg["archs"]),
            "ood_fits": cfg["ood_seeds"] * 3}  # MLP, transformer, polynomial per seed


def run(args: argparse.Namespace) -> dict[str, Any]:
    cfg = build_config(args)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    progress = not args.no_progress
    mcs = model_configs(cfg)  # validates every network setting before anything runs
    settings = {"train": {a: asdict(c) for a, c in mcs["train"].items()}, "ood": asdict(mcs["ood"])}
    results: dict[str, Any] = {"budget": cfg["budget"], "config": cfg, "settings": settings,
                               "paper": "Zhang, Chen & Chen (2025), arXiv 2502.09297; "
                               "no public numbers (targets are qualitative)", "checks": []}
    if args.dry_run:  # a plan, not results: nothing trained, no results.json
        plan = {k: v for k, v in results.items() if k != "checks"} | {"dry_run": True, "plan": _plan(cfg)}
        (out / "plan.json").write_text(json.dumps(nan_to_none(plan), indent=2))
        print(f"budget {cfg['budget']}: {plan['plan']}; configs in {out / 'plan.json'} (dry run, nothing trained)")
        return plan
    t_start = time.time()
    if args.command in ("search", "all"):
        t0 = time.time()
        trials, summary, checks = run_search(cfg, progress)
        write_rows_csv(trials, out / "search_trials.csv", float_format=".6g")
        write_rows_csv(summary, out / "search_summary.csv", float_format=".6g")
        low_degree_search_figure(summary, cfg, out / "search_recovery.png", SEARCH_FAMILIES, SEARCH_SETTINGS)
        print("\n== Ideal low-degree learner: recovery = (argmin total degree == signed perms of z) ==")
        print("   cell = recovery rate / rate at which the true latent is a minimizer / coverage rate "
              f"(over {cfg['trials']} trials); full table in search_summary.csv")
        counts = cfg["search_counts"]
        print(_table(search_pivot(summary, cfg["settings"], cfg["criteria"], cfg["families"], counts,
                                  f"{cfg['budget']} · {cfg['trials']} trials"),
                     ["setting", "criterion", "family", "budget"] + [f"T={t}" for t in counts]))
        results.update(search=summary, search_seconds=time.time() - t0, checks=results["checks"] + checks)
    if args.command in ("train", "all"):
        t0 = time.time()
        rows, summary, checks = run_train(cfg, progress)
        write_rows_csv(rows, out / "train_runs.csv", float_format=".6g")
        write_rows_csv(summary, out / "train_summary.csv", float_format=".6g")
        world_model_recovery_figure(summary, cfg, out / "train_recovery.png")
        print(f"\n== Neural multi-task learners (n={cfg['n']}, 1-junta tasks, {cfg['seeds']} seeds, "
              f"{summary[0]['budget']} for every arch): matched |corr| of the bottleneck with z, "
              "mean ± 95% t-interval; 'input' = with the network's input coordinates ==")
        cols = ["recovery", "recovery_untrained", "gain", "recovery_input", "recovery_input_untrained", "train_mse"]
        print(format_table(["experiment", "world", "basis", "arch", "condition", "T", "budget", "n", "z_identified"]
                           + cols, [[s["experiment"], s["world"], s["input_basis"], s["arch"], s["condition"],
                                     s["n_tasks"], f"{cfg['budget']} {cfg['steps']} st.", s["n_runs"],
                                     format_value(s["z_identified"], ".2f")]
                            + [format_mean_std(s[c], s[f"{c}_ci"], 1.0, 3) for c in cols] for s in summary], "plain"))
        results.update(train=summary, train_seconds=time.time() - t0, checks=results["checks"] + checks)
    if args.command in ("ood", "all"):
        t0 = time.time()
        rows, summary, checks = run_ood(cfg, progress)
        write_rows_csv(rows, out / "ood.csv", float_format=".6g")
        extrapolation_figure(summary, out / "ood_mse.png")
        a, b = cfg["ood_train_range"], cfg["ood_test_range"]
        print(f"\n== Extrapolation: degree-3 polynomial, train U[-{a:g},{a:g})^2, test U[-{b:g},{b:g})^2 ==")
        print(_table(summary, ["model", "budget", "seeds", "train_mse", "id_mse", "ood_mse", "ood_mse_ci", "n_params"]))
        results.update(ood=summary, ood_seconds=time.time() - t0, checks=results["checks"] + checks)
    results["seconds"] = time.time() - t_start
    with open(out / "results.json", "w") as f:
        json.dump(nan_to_none(results), f, indent=2)
    n_fail = sum(not c["passed"] for c in results["checks"])
    print(f"\n{len(results['checks']) - n_fail}/{len(results['checks'])} checks passed; "
          f"{results['seconds']:.0f} s; outputs in {out}")
    return results


def main(argv: list[str] | None = None) -> int:
    return run_command(lambda: run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
