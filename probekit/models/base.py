"""The one interface every model source returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

#: What each kind of model probekit knows how to feed takes as input: the one table a
#: new model family or modality adds itself to.
KIND_MODALITY = {"causal-lm": "text", "encoder": "text", "encoder-decoder": "text", "image-classifier": "image",
                 "sequence": "sequence"}
#: Kinds of model probekit knows how to feed.
MODEL_KINDS = tuple(KIND_MODALITY)


@dataclass
class LoadedModel:
    """A model ready for extraction.

    Attributes
    ----------
    model:
        The ``torch.nn.Module`` in eval mode.
    name:
        The identifier the user gave (``smollm2-135m``, a hub id, a path, ``torchvision:resnet50``).
    kind:
        One of :data:`MODEL_KINDS`; decides how inputs are encoded.
    tokenizer:
        Hugging Face tokenizer for text models, else ``None``.
    preprocess:
        For image models: a callable mapping a ``PIL.Image`` to a float tensor
        ``(3, height, width)`` (resize, crop, normalisation of that model). Else ``None``.
    weights_hash:
        Hex digest identifying the weights (files or parameters); part of every
        activation store's identity.
    source:
        Where the weights came from (path, hub id, package file).
    info:
        Free-form extra facts (architecture, dtype, number of layers, ...).
    """

    model: nn.Module
    name: str
    kind: str
    tokenizer: Any = None
    preprocess: Callable | None = None
    weights_hash: str = ""
    source: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {MODEL_KINDS}")

    @property
    def modality(self) -> str:
        """What the model takes: ``"text"``, ``"image"`` or ``"sequence"`` (:data:`KIND_MODALITY`)."""
        return KIND_MODALITY[self.kind]
