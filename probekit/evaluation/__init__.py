"""probekit.evaluation: benchmark evaluations of (steered) models."""

from probekit.evaluation.head_probes import HeadProbes, fit_head_probes, top_k_heads
from probekit.evaluation.paired import PairedDifference, PairedGain, holm, paired_difference, paired_gain
from probekit.evaluation.truthfulqa import (
    DEFAULT_TEMPLATE,
    MCResult,
    MCScores,
    QuestionScores,
    TruthfulQAItem,
    TruthfulQAScorer,
    close_answer,
    default_truthfulqa_path,
    language_model_side_effects,
    load_truthfulqa,
    mc_scores,
    question_folds,
    train_validation_split,
)
from probekit.evaluation.activation_cache import INFO_NAME, cached_rows
from probekit.evaluation.balanced_probes import above_chance, balance_classes, balanced_probe_accuracies
from probekit.evaluation.delay_probes import HiddenStateEvaluator, delay_baselines, positional_component
from probekit.evaluation.heldout_texts import DEFAULT_HELDOUT, load_heldout_texts
from probekit.evaluation.steering_summary import (answer_counts, check_uniform_rows, format_steering_folds,
                                                  mc2_levels, read_steering_run, steering_comparisons,
                                                  steering_markdown_table, summarise_steering, uniform_answer_mc2)

__all__ = [
    "DEFAULT_TEMPLATE",
    "HeadProbes",
    "MCResult",
    "MCScores",
    "PairedGain",
    "QuestionScores",
    "TruthfulQAItem",
    "TruthfulQAScorer",
    "close_answer",
    "default_truthfulqa_path",
    "fit_head_probes",
    "language_model_side_effects",
    "load_truthfulqa",
    "mc_scores",
    "paired_gain",
    "question_folds",
    "top_k_heads",
    "train_validation_split",
]

__all__ += ["INFO_NAME", "cached_rows", "above_chance", "balance_classes", "balanced_probe_accuracies",
            "HiddenStateEvaluator", "delay_baselines", "positional_component", "DEFAULT_HELDOUT", "load_heldout_texts",
            "summarise_steering"]
__all__ += ["PairedDifference", "holm", "paired_difference", "answer_counts", "check_uniform_rows",
            "read_steering_run", "steering_comparisons", "steering_markdown_table", "uniform_answer_mc2",
            "format_steering_folds", "mc2_levels"]

from probekit.evaluation.budgets import (BUDGETS, DEFAULT_BUDGET, add_budget_arguments, apply_overrides, budget_record,
                                        resolve_budget)
from probekit.evaluation.concept_recovery_presets import (ITI_REFERENCE, STEER_BUDGETS, STEER_METHODS_DEFAULT,
                                                          SYNTHETIC_BUDGETS, SYNTHETIC_REFERENCE, steer_budget_label,
                                                          synthetic_budget_label)
from probekit.evaluation.steering_merge import merge_steering_runs

__all__ += ["BUDGETS", "DEFAULT_BUDGET", "add_budget_arguments", "apply_overrides", "budget_record", "resolve_budget",
            "merge_steering_runs", "ITI_REFERENCE", "STEER_BUDGETS", "STEER_METHODS_DEFAULT",
            "SYNTHETIC_BUDGETS", "SYNTHETIC_REFERENCE", "steer_budget_label", "synthetic_budget_label"]
