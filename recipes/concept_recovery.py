"""Recipe: concepts recovered from concept-conditioned data, and used to steer an LLM.

Reproduces the two experiments of Rajendran, Buchholz, Aragam, Schölkopf & Ravikumar
(2024), "From Causal to Concept-Based Representation Learning", NeurIPS (arXiv 2402.09236):

``synthetic``
    Settings S1–S3, linear and nonlinear (random MLP) mixing, 5 seeds. Data: a base set and
    n + 1 concept-conditioned sets, sampled exactly (:mod:`probekit.synthetic.concept_conditioned`).
    Estimator: :mod:`probekit.estimators.contrastive_concepts` (linear / MLP encoder). Metrics on
    5000 fresh base samples: MCC-out (headline: matching on 2500, score on the other 2500),
    MCC-in, R² of a linear regression h(x) → Z·Aᵀ (in-sample, as the reference code) and held out.
    Baselines that know nothing of the concepts: PCA and FastICA (n components, base set).

``steer``
    Inference-time intervention on SmolLM2-135M-Instruct (embedded) for TruthfulQA, 2-fold
    cross-validation by question. Per-head activations (input of ``o_proj``) at the last
    token of each question + answer, a logistic probe per head, top-K heads by validation
    accuracy (20 % of each training fold). Directions per head: mass-mean shift, probe
    weight, random (same norm as the mass-mean vector; ``--random-draws`` draws, averaged per
    question), steering matrix ``W = Σ_q (μ⁺_q − μ⁻_q) e(q)ᵀ`` with MiniLM question embeddings
    (direction ``W e(prompt)``). Intervention ``α σ θ`` on each selected head, last prompt token
    and answer tokens. Metrics: MC1, MC2, CE and KL to the unsteered model on held-out text.
    Paired tests on held-out per-question MC2 (:func:`probekit.evaluation.steering_comparisons`):
    each method vs the unsteered model, vs the uniform-answer MC2, and between methods, per fold
    and pooled, 95 % paired bootstrap intervals, two-sided paired t-test (+ Wilcoxon), Holm.
    Per-head activations are cached in an activation store under ``OUT/steer_cache/``.

Both sub-commands take ``--budget {tiny,cpu,reference}`` (default cpu; ``--tiny`` = ``--budget tiny``;
presets and their sources in :mod:`probekit.evaluation.concept_recovery_presets`); options given
explicitly override the preset; every run's JSON records the budget name and its settings.

Commands::

    python recipes/concept_recovery.py synthetic --out results/p4              # cpu: 5 seeds, 237 s on 2 CPU cores
    python recipes/concept_recovery.py synthetic --tiny --out /tmp/p4          # seconds (tests)
    python recipes/concept_recovery.py synthetic --budget reference            # authors' code: seeds 3-7
    python recipes/concept_recovery.py steer --out results/p4                  # cpu: 400 questions, ~45 min
    python recipes/concept_recovery.py steer --budget reference --out DIR      # ITI: 817 q, K = 48, alpha 15 (GPU)
    python recipes/concept_recovery.py steer --summarize DIR [DIR2 ...] [--out OTHER]  # tables, no model

Outputs: ``synthetic_runs.csv`` (setting/mixing/seed/method), ``synthetic_summary.csv``,
``synthetic_table.md``, ``synthetic.json``, ``synthetic.png``; ``steer_runs.csv`` (fold × method ×
draw × α), ``steer_per_question.csv``, ``steer_summary.csv``, ``steer_tests.csv`` (every paired
test), ``steer_table.md``, ``steer.json``, ``mc2_vs_alpha.png``.

Dtypes: synthetic data float64, training float32; LLM activations cached as float16.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from probekit.errors import ProbekitError, run_command
from probekit.evaluation.heldout_texts import load_heldout_texts
from probekit.metrics.recovery import (concept_recovery_markdown, concept_recovery_scores,
                                       read_concept_recovery_runs, summarise_concept_recovery)
from probekit.evaluation.activation_cache import cached_rows
from probekit.evaluation.budgets import add_budget_arguments, budget_record, resolve_budget
from probekit.evaluation.concept_recovery_presets import (ITI_REFERENCE, STEER_BUDGETS, SYNTHETIC_BUDGETS,
                                                          steer_budget_label, synthetic_budget_label)
from probekit.evaluation.concept_recovery_presets import SYNTHETIC_REFERENCE as REFERENCE
from probekit.evaluation.steering_merge import merge_steering_runs
from probekit.evaluation.steering_summary import (answer_counts, check_uniform_rows, format_steering_folds,
                                                  mc2_levels, read_steering_run, steering_comparisons,
                                                  steering_markdown_table, summarise_steering)
from probekit.steering.head_methods import STEER_METHODS, head_directions, head_intervention_factory
from probekit.report.recipe_figures import concept_recovery_figure, steering_figure
from probekit.report.tables import write_rows_csv

# ============================================================================ synthetic
def run_synthetic(args) -> dict:
    from sklearn.decomposition import PCA, FastICA

    from probekit.estimators.contrastive_concepts import ContrastiveConceptEstimator
    from probekit.synthetic.concept_conditioned import make_concept_conditioned_data

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    combos = [(s, m) for s in args.settings for m in args.mixings]
    t_all = time.time()
    for setting, mixing in combos:
        for seed in args.seeds:
            t0 = time.time()
            data = make_concept_conditioned_data(setting, mixing, n_per_env=args.n_per_env, seed=seed)
            gen_s = time.time() - t0
            z_eval, x_eval = data.sample_base(args.n_eval, np.random.default_rng(10_000 + seed))
            v = data.valuations(z_eval)
            t1 = time.time()
            est = ContrastiveConceptEstimator(
                encoder="linear" if mixing == "linear" else "mlp", max_epochs=args.epochs, batch_size=args.batch_size,
                lr_encoder=args.lr_encoder, lr_logits=args.lr_logits, l1_lambda=args.l1_lambda, random_state=seed,
                verbose=args.progress,
            ).fit(data.base_x, data.env_x, data.env_concepts)
            fit_s = time.time() - t1
            common = {"setting": setting, "mixing": mixing, "seed": seed, "gen_seconds": round(gen_s, 3)}
            rows.append({**common, "method": "contrastive", "fit_seconds": round(fit_s, 2),
                         "best_epoch": est.best_epoch_, **concept_recovery_scores(est.transform(x_eval), v, seed)})
            n = data.setting.n_concepts
            for name, model in (("pca", PCA(n_components=n, random_state=seed)),
                                ("ica", FastICA(n_components=n, random_state=seed, max_iter=1000))):
                model.fit(data.base_x)
                rows.append({**common, "method": name, "fit_seconds": None, "best_epoch": None,
                             **concept_recovery_scores(model.transform(x_eval), v, seed)})
            r = rows[-3]
            print(f"[{setting} {mixing} seed {seed}] gen {gen_s:.2f}s fit {fit_s:.1f}s  R2 {r['r2']:.3f}  "
                  f"MCC-in {r['mcc_in']:.3f}  MCC-out {r['mcc_out']:.3f}  | PCA MCC-out {rows[-2]['mcc_out']:.3f}",
                  flush=True)
    write_rows_csv(rows, out / "synthetic_runs.csv")
    summary = _synthetic_tables(rows, out, synthetic_budget_label(args.budget, args.budget_settings))
    result = {**budget_record(args), "config": {k: v for k, v in vars(args).items() if not callable(v)},
              "runs": rows, "summary": summary,
              "reference": {f"{s} {m}": v for (s, m), v in REFERENCE.items()},
              "reference_note": "authors' released code, 4 seeds, mean ± sd (design/papers.md P4); not measured here",
              "seconds": round(time.time() - t_all, 1)}
    (out / "synthetic.json").write_text(json.dumps(result, indent=2))
    concept_recovery_figure(summary, out / "synthetic.png", REFERENCE)
    return result


def _synthetic_tables(rows: list[dict], out: Path, budget: str) -> list[dict]:
    """Summary over seeds (95 % t-intervals, paired gaps to PCA / ICA), written and printed."""
    summary = summarise_concept_recovery(rows, REFERENCE)
    write_rows_csv(summary, out / "synthetic_summary.csv")
    table = concept_recovery_markdown(summary, budget)
    (out / "synthetic_table.md").write_text(table + "\n")
    print("\nConcept recovery, MCC-out first (mean ± 95 % t-interval half-width over seeds; contrastive − PCA/ICA: "
          "paired by seed)\n'ref.' = reference: authors' code, 4 seeds, NOT measured here\n" + table)
    return summary


def summarize_synthetic(args) -> list[dict]:
    """--summarize: the tables again from DIR/synthetic_runs.csv (budget from DIR/synthetic.json if there)."""
    folder = Path(args.summarize)
    rows = read_concept_recovery_runs(folder / "synthetic_runs.csv")
    run = json.loads((folder / "synthetic.json").read_text()) if (folder / "synthetic.json").is_file() else {}
    cfg = run.get("budget_settings", run.get("config", args.budget_settings))  # older runs: no budget name
    Path(args.out).mkdir(parents=True, exist_ok=True)
    return _synthetic_tables(rows, Path(args.out), synthetic_budget_label(run.get("budget"), cfg))


# ============================================================================ steer
def _extract(args, scorer, sites, items, embedder, out: Path) -> dict:
    """Baseline MC pass + per-head activations at the last answer token, kept in a store (float16)."""
    identity = {"kind": "truthfulqa-head-activations", "model": args.model, "template": args.template,
                "embedder": args.embedder, "questions": [[i.index, i.question] for i in items]}
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]

    def compute():
        t0 = time.time()
        res = scorer.evaluate(items, record=[s.recorder_key for s in sites], desc="baseline + activations")
        acts = np.stack([res.activations[s.recorder_key] for s in sites], axis=1)  # (n_ans, L, H*D)
        acts = acts.reshape(acts.shape[0], len(sites), sites[0].n_heads, sites[0].head_dim)
        pos = {int(i.index): p for p, i in enumerate(items)}
        pq = res.per_question
        info = {"labels": res.labels.tolist(), "question_of": res.question_of.tolist(),
                "q_index": [i.index for i in items], "mc1": [q.mc.mc1 for q in pq], "mc2": [q.mc.mc2 for q in pq],
                "mc3": [q.mc.mc3 for q in pq], "n_true": [q.scores_true.size for q in pq],
                "n_false": [q.scores_false.size for q in pq], "seconds": time.time() - t0,
                "embeddings": embedder.encode([i.question for i in items]).astype(np.float32).tolist()}
        print(f"extracted {acts.shape} in {time.time() - t0:.0f}s", flush=True)
        return acts, [pos[int(q)] for q in res.question_of], info

    folder = out / "steer_cache" / f"activations_{key}"
    acts, _, info, cached = cached_rows(folder, identity, compute, dtype="float16", refresh=args.no_cache)
    if cached:
        print(f"loaded cached activations {folder}", flush=True)
    data = {k: np.asarray(v) for k, v in info.items()}
    data["embeddings"] = data["embeddings"].astype(np.float32)
    return {**data, "acts": acts}


def _fold_probes(args, data: dict, fold: int, train_pos):
    """Per-head probes on the fold's training questions (20 % held out for validation) and the top-K heads."""
    from probekit.evaluation.head_probes import fit_head_probes, top_k_heads
    from probekit.evaluation.truthfulqa import train_validation_split

    acts, labels, q_of = data["acts"], data["labels"], data["question_of"]
    tr_pos, va_pos = train_validation_split(train_pos, 0.2, seed=args.seed + fold)
    tr_q = {int(data["q_index"][p]) for p in tr_pos}
    va_q = {int(data["q_index"][p]) for p in va_pos}
    m_tr, m_va = np.isin(q_of, list(tr_q)), np.isin(q_of, list(va_q))
    probes = fit_head_probes(acts[m_tr].astype(np.float32), labels[m_tr], acts[m_va].astype(np.float32),
                             labels[m_va], seed=args.seed, progress=args.progress)
    heads = top_k_heads(probes.val_accuracy, args.top_k)
    print(f"[fold {fold}] train {len(tr_q)} / val {len(va_q)} / test {len(data['q_index']) - len(train_pos)} "
          f"questions; top-{args.top_k} heads {heads[:6]}... val acc {probes.val_accuracy[heads[0]]:.3f}.."
          f"{probes.val_accuracy[heads[-1]]:.3f}", flush=True)
    return probes, heads, np.isin(q_of, list(tr_q | va_q))


def _baseline_rows(data: dict, fold: int, test_pos, ce0: float):
    """The unsteered row, the all-answers-equally-likely row and the per-question baseline MC2 of a fold."""
    base = {"fold": fold, "method": "baseline", "alpha": 0.0, "n_test": len(test_pos),
            "MC1": float(np.mean(data["mc1"][test_pos])), "MC2": float(np.mean(data["mc2"][test_pos])),
            "MC3": float(np.mean(data["mc3"][test_pos])), "CE": ce0, "KL": 0.0, "seconds": 0.0}
    per_q = [{"fold": fold, "method": "baseline", "draw": 0, "alpha": 0.0, "question": int(data["q_index"][p]),
              "MC2": float(data["mc2"][p])} for p in test_pos]
    # MC2 if every answer had the same probability: the level non-specific perturbations drift towards
    chance = float(np.mean(data["n_true"][test_pos] / (data["n_true"][test_pos] + data["n_false"][test_pos])))
    return [base, {**base, "method": "uniform_answers", "MC1": 0.0, "MC2": chance, "MC3": 0.0, "CE": float("nan"),
                   "KL": float("nan")}], per_q


def run_steer(args) -> dict:
    from probekit.evaluation.truthfulqa import (TruthfulQAScorer, language_model_side_effects, load_truthfulqa,
                                                question_folds)
    from probekit.models import load_model
    from probekit.steering.heads import attention_head_sites
    from probekit.steering.sentence import SentenceEmbedder

    for m in args.methods:
        if m not in STEER_METHODS:
            raise ProbekitError(f"--methods: unknown method {m!r}; valid: {', '.join(STEER_METHODS)}")
    if any(a <= 0 for a in args.alphas):
        raise ProbekitError(f"--alphas must be positive (alpha = 0 is the baseline row); got {args.alphas}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_all = time.time()
    items = load_truthfulqa(args.truthfulqa, limit=args.limit or None, seed=args.seed if args.limit else None)
    print(f"{len(items)} TruthfulQA questions; loading {args.model}", flush=True)
    lm = load_model(args.model)
    model, tok = lm.model, lm.tokenizer
    sites = attention_head_sites(model)
    if args.top_k > sum(site.n_heads for site in sites):
        raise ProbekitError(f"--top-k {args.top_k} exceeds the {sum(site.n_heads for site in sites)} attention heads "
                            f"of {args.model} (budget {args.budget}); pass a smaller --top-k")
    scorer = TruthfulQAScorer(model, tok, template=args.template, progress=args.progress)
    embedder = SentenceEmbedder(args.embedder)
    data = _extract(args, scorer, sites, items, embedder, out)
    acts = data["acts"]
    labels, q_of = data["labels"], data["question_of"]
    emb_by_q = {int(q): data["embeddings"][p] for p, q in enumerate(data["q_index"])}

    texts = load_heldout_texts(args.heldout, args.n_heldout)
    text_emb = embedder.encode(texts) if "steering_matrix" in args.methods else None
    ce0, _, ref = language_model_side_effects(model, tok, texts)
    print(f"held-out text: {len(texts)} texts, unsteered CE {ce0:.3f} nats/token", flush=True)

    rows, per_question = [], []
    folds = question_folds(len(items), n_folds=args.folds, seed=args.seed)
    for fold, (train_pos, test_pos) in enumerate(folds):
        probes, heads, m_fold = _fold_probes(args, data, fold, train_pos)
        test_items = [items[p] for p in test_pos]
        base_rows, base_q = _baseline_rows(data, fold, test_pos, ce0)
        rows += base_rows
        per_question += base_q
        base_row = base_rows[0]
        rng = np.random.default_rng(args.seed * 100 + fold)
        x_fold, y_fold, q_fold = acts[m_fold], labels[m_fold], q_of[m_fold]
        jobs = [(m, d) for m in args.methods for d in range(args.random_draws if m == "random" else 1)]
        for method, draw in jobs:
            dirs = head_directions(method, heads, x_fold, y_fold, q_fold, probes.coef, emb_by_q, rng)
            for alpha in args.alphas:
                t0 = time.time()
                fac = head_intervention_factory(method, dirs, alpha, sites, lambda i, text: emb_by_q[i])
                res = scorer.evaluate(test_items, interventions=fac, desc=f"fold {fold} {method} a={alpha}")
                t_fac = head_intervention_factory(method, dirs, alpha, sites, lambda i, text: text_emb[i])
                ce, kl, _ = language_model_side_effects(model, tok, texts, interventions=t_fac, reference=ref)
                row = {"fold": fold, "method": method, "draw": draw, "alpha": alpha, "n_test": len(test_items),
                       "MC1": res.mc1, "MC2": res.mc2, "MC3": res.mc3, "CE": ce, "KL": kl,
                       "seconds": round(time.time() - t0, 1)}
                rows.append(row)
                per_question += [{"fold": fold, "method": method, "draw": draw, "alpha": alpha, "question": q.index,
                                  "MC2": float(q.mc.mc2)} for q in res.per_question]
                label = f"{method} #{draw}" if method == "random" else method
                print(f"[fold {fold}] {label:16s} alpha {alpha:5.1f}  MC1 {res.mc1:.3f}  MC2 {res.mc2:.3f} "
                      f"(baseline {base_row['MC2']:.3f})  CE {ce:.3f}  KL {kl:.4f}  ({row['seconds']:.0f}s)",
                      flush=True)
                write_rows_csv(rows, out / "steer_runs.csv")  # partial results survive an interrupted run
                write_rows_csv(per_question, out / "steer_per_question.csv")
    label = steer_budget_label(args.budget, len(items), args.folds, args.budget_settings)
    summary, tests = _steer_tables(rows, per_question, answer_counts(items), out, label)
    cfg = {k: v for k, v in vars(args).items() if not callable(v)}
    result = {**budget_record(args), "config": cfg, "n_questions": len(items), "runs": rows, "summary": summary,
              "extraction_seconds": float(data["seconds"]), "seconds": round(time.time() - t_all, 1),
              "iti_reference_llama7b": ITI_REFERENCE,
              "iti_reference_note": "LLaMA-7B, Li et al. 2023 Table 3 (True*Info, True, MC1, CE, KL); "
                                    "orderings only are comparable, not measured here"}
    (out / "steer.json").write_text(json.dumps({**result, "tests": tests}, indent=2))
    steering_figure(rows, out / "mc2_vs_alpha.png", args.methods, args.alphas,
                    f"Steering {args.model} toward truthfulness (TruthfulQA, {args.folds}-fold, top-{args.top_k} heads)")
    return result


def _steer_tables(rows, per_question, counts, out: Path, budget: str) -> tuple[list[dict], list[dict]]:
    """Summary per (method, α), paired tests (per fold and pooled, Holm), written and printed."""
    summary = summarise_steering(rows, per_question)
    tests = steering_comparisons(per_question, counts)
    write_rows_csv(summary, out / "steer_summary.csv")
    write_rows_csv(tests, out / "steer_tests.csv")
    table = steering_markdown_table(summary, tests, budget, mc2_levels(per_question, counts))
    (out / "steer_table.md").write_text(table + "\n")
    print(format_steering_folds(summary) + "\n\nPooled over folds (held-out questions; gains = paired "
          "differences of per-question MC2, 95 % paired bootstrap interval, two-sided paired t-test, Holm over "
          "every comparison of the scope; steer_tests.csv has each fold too)\n" + table)
    print("ITI reference (LLaMA-7B, not measured here; True*Info/True/MC1/CE/KL): "
          + "; ".join(f"{k} {v}" for k, v in ITI_REFERENCE.items()))
    return summary, tests


def summarize_steer(args) -> list[dict]:
    """--summarize: the tables again from DIR/steer_runs.csv + steer_per_question.csv (no model)."""
    from probekit.evaluation.truthfulqa import load_truthfulqa

    rows, per_question = merge_steering_runs([read_steering_run(d) for d in args.summarize])
    counts = answer_counts(load_truthfulqa(args.truthfulqa))
    check_uniform_rows(rows, per_question, counts)
    runs = [json.loads((Path(d) / "steer.json").read_text()) if (Path(d) / "steer.json").is_file() else {}
            for d in args.summarize]
    names = {r.get("budget") for r in runs}  # older runs recorded no budget name: none is printed
    base_q = [r for r in per_question if r["method"] == "baseline"]
    label = steer_budget_label(names.pop() if len(names) == 1 else None, len(base_q),
                               len({r["fold"] for r in base_q}), runs[0].get("config"))
    Path(args.out).mkdir(parents=True, exist_ok=True)
    return _steer_tables(rows, per_question, counts, Path(args.out), label)[1]


# ============================================================================ CLI

def parse_args(argv=None) -> argparse.Namespace:
    """Arguments with the ``--budget`` preset filled in (options given explicitly win)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    cpu_s, cpu_t = SYNTHETIC_BUDGETS["cpu"], STEER_BUDGETS["cpu"]

    s = sub.add_parser("synthetic", help="concept recovery on synthetic concept-conditioned data")
    s.add_argument("--settings", nargs="+", default=["S1", "S2", "S3"], choices=["S1", "S2", "S3"])
    s.add_argument("--mixings", nargs="+", default=["linear", "mlp"], choices=["linear", "mlp"])
    s.add_argument("--seeds", nargs="+", type=int, help=f"default: the budget's (cpu {cpu_s['seeds']})")
    s.add_argument("--n-per-env", type=int, help="samples per conditional data set (paper and cpu: 5000)")
    s.add_argument("--n-eval", type=int, help="fresh base samples for the metrics (cpu: 5000)")
    s.add_argument("--epochs", type=int, help="cpu: 100")
    s.add_argument("--batch-size", type=int, help="cpu: 2048")
    s.add_argument("--progress", action="store_true")

    t = sub.add_parser("steer", help="steer an LLM toward truthfulness (TruthfulQA MC)")
    t.add_argument("--model", default="smollm2-135m")
    t.add_argument("--embedder", default="minilm-l6", help="sentence encoder for the steering matrix")
    t.add_argument("--truthfulqa", default=None, help="TruthfulQA.csv (default: $PROBEKIT_SHARED_DATA/truthfulqa)")
    t.add_argument("--limit", type=int, help="random subset of questions (0 = all 817; cpu 400, reference 0)")
    t.add_argument("--heldout", default=None, help="held-out text for CE/KL (CSV with 'statement' or .txt)")
    t.add_argument("--n-heldout", type=int, help="held-out texts for CE/KL (cpu 40, reference 100)")
    t.add_argument("--template", default="Q: {question}\nA:")
    t.add_argument("--folds", type=int, help="cross-validation folds by question (2)")
    t.add_argument("--top-k", type=int, help="heads steered, of n_layers * n_heads (cpu 16, reference 48)")
    t.add_argument("--alphas", nargs="+", type=float, help="steering strengths, in units of the activations' std "
                   f"along the direction (cpu {cpu_t['alphas']}, reference 15)")
    t.add_argument("--methods", nargs="+", help=f"cpu: {' '.join(cpu_t['methods'])}; also concept")
    t.add_argument("--random-draws", type=int,
                   help="independent random directions per fold and alpha (the random row is their mean; 3)")
    t.add_argument("--seed", type=int, help="question subset, folds, validation split (cpu 0, reference 42)")
    t.add_argument("--no-cache", action="store_true", help="recompute the cached activations")
    t.add_argument("--progress", action="store_true")
    for sp, run, summarize, n in ((s, run_synthetic, summarize_synthetic, None), (t, run_steer, summarize_steer, "+")):
        add_budget_arguments(sp)
        sp.add_argument("--out", default=None, help="output folder (default results/concept_recovery; DIR with "
                        "--summarize)")
        sp.add_argument("--summarize", metavar="DIR", nargs=n, help="only recompute the tables from DIR's CSVs "
                        "(no model)" + ("; several DIRs: runs of other methods on the same questions, merged"
                                        if n else ""))
        sp.set_defaults(func=run, summarize_func=summarize)
    args = p.parse_args(argv)
    first = args.summarize[0] if isinstance(args.summarize, list) else args.summarize
    args.out = args.out or first or "results/concept_recovery"
    if args.summarize:
        args.func = args.summarize_func
    resolve_budget(args, SYNTHETIC_BUDGETS if args.command == "synthetic" else STEER_BUDGETS)
    if args.command == "synthetic":
        for name in ("n_per_env", "n_eval", "epochs", "batch_size"):
            if getattr(args, name) < 1:
                raise ProbekitError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    elif args.limit < 0 or args.top_k < 1 or args.n_heldout < 1 or args.random_draws < 1 or args.folds < 2:
        raise ProbekitError("--limit must be >= 0; --top-k, --n-heldout and --random-draws >= 1; --folds >= 2; got "
                            f"{args.limit}, {args.top_k}, {args.n_heldout}, {args.random_draws}, {args.folds}")
    return args


def main(argv=None) -> int:
    def action():
        args = parse_args(argv)
        if "OMP_NUM_THREADS" not in os.environ:
            torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        args.func(args)

    return run_command(action)


if __name__ == "__main__":
    sys.exit(main())
