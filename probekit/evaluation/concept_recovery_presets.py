"""Budgets and reference figures of the P4 recipe (``recipes/concept_recovery.py``).

Rajendran, Buchholz, Aragam, Schölkopf & Ravikumar (2024), "From Causal to Concept-Based
Representation Learning", NeurIPS (arXiv 2402.09236); steering after Li et al. (2023),
"Inference-Time Intervention" (ITI), NeurIPS. ``tiny`` / ``cpu`` / ``reference`` as
:mod:`probekit.evaluation.budgets`. Each preset maps option names of the sub-command to values.
"""

from __future__ import annotations

__all__ = ["ITI_REFERENCE", "STEER_BUDGETS", "STEER_METHODS_DEFAULT", "SYNTHETIC_BUDGETS", "SYNTHETIC_REFERENCE",
           "steer_budget_label", "synthetic_budget_label"]

# Estimator settings of the authors' code (causal_to_concept/synthetic/settings/settings*_*.yaml of
# github CrowdDynamicsLab/causal_unlearn_llm at commit 8433463; design/papers.md P4): Adam,
# lr_nonparametric 0.005 (encoder), lr_parametric 0.05 (alpha, beta, lambda), eta 1e-4 (L1 on lambda).
_ESTIMATOR = {"lr_encoder": 0.005, "lr_logits": 0.05, "l1_lambda": 1e-4}

SYNTHETIC_BUDGETS = {
    "tiny": {"seeds": [1, 2], "n_per_env": 400, "n_eval": 1000, "epochs": 3, "batch_size": 256, **_ESTIMATOR},
    # 2 CPU cores: the reference's sizes (237 s for S1-S3 x 2 mixings x 5 seeds), seeds 1-5.
    "cpu": {"seeds": [1, 2, 3, 4, 5], "n_per_env": 5000, "n_eval": 5000, "epochs": 100, "batch_size": 2048,
            **_ESTIMATOR},
    # The authors' code: run_experiments.sh runs seeds 3..7 (`for i in {3..7}`); settings*.yaml:
    # num_samps 5000 per environment, batch_size 2048, epochs 100, restarts 0; evaluation.py scores
    # samples_for_evaluation = 5000 base samples (theirs: the first 5000 training ones; here fresh ones).
    "reference": {"seeds": [3, 4, 5, 6, 7], "n_per_env": 5000, "n_eval": 5000, "epochs": 100, "batch_size": 2048,
                  **_ESTIMATOR},
}

STEER_METHODS_DEFAULT = ["random", "probe", "mass_mean", "steering_matrix"]
_ALL_METHODS = [*STEER_METHODS_DEFAULT, "concept"]

STEER_BUDGETS = {
    "tiny": {"limit": 24, "folds": 2, "top_k": 4, "alphas": [4.0], "methods": _ALL_METHODS, "random_draws": 2,
             "n_heldout": 8, "seed": 0},
    # 2 CPU cores, ~45 min: 400 random questions, top-16 of SmolLM2's 270 heads, alpha 2 and 4.
    "cpu": {"limit": 400, "folds": 2, "top_k": 16, "alphas": [2.0, 4.0], "methods": STEER_METHODS_DEFAULT,
            "random_draws": 3, "n_heldout": 40, "seed": 0},
    # ITI's protocol, github likenneth/honest_llama validation/validate_2fold.py defaults: all 817
    # questions, --num_fold 2, --val_ratio 0.2 (the recipe's fixed 20 %), --num_heads 48, --alpha 15,
    # --seed 42; CE / KL on num_samples=100 texts (utils.run_ce_loss / run_kl_wrt_orig: OpenWebText,
    # 128 tokens; here 100 held-out true statements). ITI Table 3 compares random, probe and mass-mean;
    # the paper adds the steering matrix; concept = the contrastive estimator's direction. Departure:
    # ITI runs one random direction (--use_random_dir); 3 draws averaged here, as in the cpu budget.
    "reference": {"limit": 0, "folds": 2, "top_k": 48, "alphas": [15.0], "methods": _ALL_METHODS,
                  "random_draws": 3, "n_heldout": 100, "seed": 42},
}

#: R² / MCC-out of the authors' released code (causal_to_concept/synthetic at commit 8433463)
#: run on a CPU machine, 4 seeds, mean ± sd (see design/papers.md P4). Reference, not measured here.
SYNTHETIC_REFERENCE = {
    ("S1", "linear"): {"r2": 0.986, "r2_sd": 0.010, "mcc_out": 0.973},
    ("S1", "mlp"): {"r2": 0.923, "r2_sd": 0.064, "mcc_out": 0.951},
    ("S2", "linear"): {"r2": 0.983, "r2_sd": 0.009, "mcc_out": 0.880},
    ("S3", "linear"): {"r2": 0.972, "r2_sd": 0.014, "mcc_out": 0.841},
    ("S3", "mlp"): {"r2": 0.940, "r2_sd": 0.030, "mcc_out": 0.883},
}

#: ITI on LLaMA-7B, 2-fold (Li et al. 2023, Table 3): True*Info / True / MC1 / CE / KL. Reference only.
ITI_REFERENCE = {
    "baseline": (30.5, 31.6, 25.7, 2.16, 0.0),
    "random": (31.2, 32.3, 25.8, 2.19, 0.02),
    "probe": (34.8, 36.3, 27.0, 2.21, 0.06),
    "mass_mean": (42.3, 45.1, 28.8, 2.41, 0.27),
}


def synthetic_budget_label(budget: str | None, settings: dict) -> str:
    """Table cell of a synthetic run, e.g. ``"cpu: 100 ep, 5000/env"`` (no name if unrecorded).

    Parameters
    ----------
    budget : str or None
        Budget name (``tiny`` / ``cpu`` / ``reference``); ``None`` for runs that did not record one.
    settings : dict
        The run's settings; ``epochs`` and ``n_per_env`` (samples per conditional data set) are read.

    Returns
    -------
    str
    """
    size = f"{settings['epochs']} ep, {settings['n_per_env']}/env"
    return f"{budget}: {size}" if budget else size


def steer_budget_label(budget: str | None, n_questions: int, n_folds: int, settings: dict | None = None) -> str:
    """Table cell of a steering run, e.g. ``"cpu: 400 q, 2 folds, top-16"`` (no name / K if unrecorded).

    Parameters
    ----------
    budget : str or None
        Budget name; ``None`` for runs that did not record one.
    n_questions, n_folds : int
        TruthfulQA questions scored and cross-validation folds over them.
    settings : dict or None
        The run's settings; ``top_k`` (heads steered) is read when present.

    Returns
    -------
    str
    """
    size = f"{n_questions} q, {n_folds} fold{'s' if n_folds > 1 else ''}"
    if settings and settings.get("top_k"):
        size += f", top-{settings['top_k']}"
    return f"{budget}: {size}" if budget else size
