"""probekit.train: small trainers for the synthetic studies and their checkpoints.

Cross-entropy (DIET / supervised) encoders, classifiers, multi-task Boolean-world
networks (the extrapolation task is :mod:`probekit.synthetic.extrapolation`), next-step sequence models, and resumable checkpoint folders.

``save_checkpoint`` / ``load_checkpoint`` here are the generic folder checkpoints of
:mod:`probekit.train.checkpoint`; the sequence trainer's model+optimizer checkpoints of
the same names stay at :mod:`probekit.train.sequence`.
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
)
from probekit.train.sequence import (
    SequenceTrainConfig,
    TrainResult,
    cosine_warmup_factor,
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
    "mlp_encoder",
    "optimizer_from_flat",
    "optimizer_to_flat",
    "save_checkpoint",
    "to_jsonable",
    "train_classifier",
    "train_cross_entropy",
    "train_multitask",
    "train_sequence_model",
]
