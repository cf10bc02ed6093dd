"""The one interface every model source returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import nn

#: What each kind of model takes as input (its modality). The built-in kinds are listed
#: here; :func:`probekit.extract.modalities.register_modality` adds the kinds of a new
#: modality, whose adapter says how its inputs are fed.
KIND_MODALITY = {"causal-lm": "text", "encoder": "text", "encoder-decoder": "text", "image-classifier": "image",
                 "sequence": "sequence"}
#: The built-in model kinds (registered ones are in :data:`KIND_MODALITY`).
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
        A key of :data:`KIND_MODALITY` (:data:`MODEL_KINDS` or a registered kind); its
        modality chooses the :attr:`adapter` that encodes the inputs.
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
        if self.kind not in KIND_MODALITY:
            raise ValueError(f"kind {self.kind!r} is not one of {tuple(KIND_MODALITY)}")

    @property
    def modality(self) -> str:
        """What the model takes: ``"text"``, ``"image"``, ``"sequence"`` or a registered
        modality (:data:`KIND_MODALITY`)."""
        return KIND_MODALITY[self.kind]

    @property
    def adapter(self):
        """The :class:`~probekit.extract.modalities.ModalityAdapter` of :attr:`modality`:
        encodes a batch of inputs, makes a sample input, says which extraction options
        apply.

        Raises
        ------
        probekit.errors.ProbekitError
            No adapter is registered for the modality.
        """
        from probekit.extract.modalities import adapter_for  # the adapters feed models: they live in extract

        return adapter_for(self.modality)
