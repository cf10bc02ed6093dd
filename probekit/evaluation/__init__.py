"""probekit.evaluation: benchmark evaluations of (steered) models."""

from probekit.evaluation.head_probes import HeadProbes, fit_head_probes, top_k_heads
from probekit.evaluation.paired import PairedGain, paired_gain
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
