"""probekit.train: small trainers for the synthetic studies and their checkpoints.

Cross-entropy (DIET / supervised) encoders, classifiers, multi-task Boolean-world
networks (the extrapolation task is :mod:`probekit.synthetic.extrapolation`), next-step sequence models, and resumable checkpoint folders.

``save_checkpoint`` / ``load_checkpoint`` write and read one checkpoint folder
(:mod:`probekit.train.checkpoint`); ``save_step_checkpoint`` / ``load_step_checkpoint``
keep a run folder of per-step checkpoints with ``latest.json`` (the sequence trainer's).
"""

from probekit.train.checkpoint import (
    has_checkpoint,
    load_checkpoint,
    optimizer_from_flat,
    optimizer_to_flat,
    save_checkpoint,
    to_jsonable,
)
from probekit.train.cross_entropy import (
    LR_SCHEDULES,
    TASKS,
    ClassifierConfig,
    ClassifierResult,
    CrossEntropyConfig,
    CrossEntropyResult,
    LinearHead,
    evaluate_identifiability,
    head_identifiability,
    mlp_encoder,
    train_classifier,
    train_cross_entropy,
)
from probekit.train.multitask import (
    ARCHITECTURES,
    MultiTaskConfig,
    MultiTaskNet,
    MultiTaskResult,
    apply_input_map,
    head_influence,
    train_multitask,
    untrained_multitask,
)
from probekit.train.sequence import (
    SequenceTrainConfig,
    TrainResult,
    cosine_warmup_factor,
    load_step_checkpoint,
    save_step_checkpoint,
    train_sequence_model,
)

__all__ = [
    "ARCHITECTURES",
    "LR_SCHEDULES",
    "TASKS",
    "ClassifierConfig",
    "ClassifierResult",
    "CrossEntropyConfig",
    "CrossEntropyResult",
    "LinearHead",
    "MultiTaskConfig",
    "MultiTaskNet",
    "MultiTaskResult",
    "SequenceTrainConfig",
    "TrainResult",
    "apply_input_map",
    "cosine_warmup_factor",
    "evaluate_identifiability",
    "has_checkpoint",
    "head_identifiability",
    "head_influence",
    "load_checkpoint",
    "load_step_checkpoint",
    "mlp_encoder",
    "optimizer_from_flat",
    "optimizer_to_flat",
    "save_checkpoint",
    "save_step_checkpoint",
    "to_jsonable",
    "train_classifier",
    "train_cross_entropy",
    "train_multitask",
    "train_sequence_model",
    "untrained_multitask",
]

from probekit.train.cross_entropy import head_singular_value_mae  # noqa: E402

__all__ += ["head_singular_value_mae"]

from probekit.train.settings_guard import guard_settings  # noqa: E402

__all__ += ["guard_settings"]
