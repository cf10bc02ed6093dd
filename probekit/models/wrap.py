"""Wrap a model that is already in memory as a :class:`LoadedModel`."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from probekit.errors import ProbekitError
from probekit.models.base import KIND_MODALITY, LoadedModel
from probekit.models.hashing import hash_parameters


def infer_kind(model: nn.Module, tokenizer=None, preprocess: Callable | None = None) -> str:
    """The ``kind`` of a model given as a module.

    ``encoder-decoder`` (``config.is_encoder_decoder``), ``causal-lm`` (a class with an
    LM head: ``*ForCausalLM``, ``*LMHeadModel``), ``encoder`` (other text models, given a
    tokenizer) or ``image-classifier`` (given ``preprocess``).

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    tokenizer : optional
        Its tokenizer (a text model).
    preprocess : callable, optional
        Its image preprocessing (an image model).

    Returns
    -------
    str

    Raises
    ------
    ProbekitError
        Neither a tokenizer nor ``preprocess``: the kind cannot be told.
    """
    config = getattr(model, "config", None)
    if getattr(config, "is_encoder_decoder", False):
        return "encoder-decoder"
    name = type(model).__name__
    if tokenizer is not None:
        return "causal-lm" if ("CausalLM" in name or "LMHead" in name) else "encoder"
    if preprocess is not None:
        return "image-classifier"
    raise ProbekitError(f"cannot tell what kind of model {name} is: pass tokenizer= for a text model, "
                        f"preprocess= for an image model, or kind= (one of {', '.join(KIND_MODALITY)})")


def wrap_model(model: nn.Module, tokenizer=None, name: str | None = None, kind: str | None = None,
               preprocess: Callable | None = None, padding_side: str | None = None) -> LoadedModel:
    """A :class:`LoadedModel` around an in-memory model, identified by its actual weights.

    Parameters
    ----------
    model:
        Any ``torch.nn.Module`` (put in eval mode).
    tokenizer:
        A Hugging Face tokenizer for text models (a pad token is set from EOS/UNK when
        missing).
    name:
        Shown in reports; default ``type(model).__name__``.
    kind:
        A key of :data:`probekit.models.base.KIND_MODALITY` (built-in or registered);
        default :func:`infer_kind`.
    preprocess:
        For image models: ``PIL.Image -> (3, H, W)`` float tensor.
    padding_side:
        ``left`` or ``right``; default: the tokenizer's.

    Returns
    -------
    LoadedModel
        ``weights_hash`` is a SHA-256 of every parameter and buffer, so a store written
        for other weights is never reused.

    Raises
    ------
    ProbekitError
        Unknown ``kind`` or ``padding_side``, or a kind that cannot be inferred.
    """
    kind = kind or infer_kind(model, tokenizer, preprocess)
    if kind not in KIND_MODALITY:
        raise ProbekitError(f"unknown model kind {kind!r}; valid: {', '.join(KIND_MODALITY)} (a new modality "
                            "registers its kinds with probekit.extract.modalities.register_modality)")
    if padding_side not in (None, "left", "right"):
        raise ProbekitError(f"padding_side must be 'left' or 'right', not {padding_side!r}")
    if tokenizer is not None:
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        if padding_side:
            tokenizer.padding_side = padding_side
    model.eval()
    config = getattr(model, "config", None)
    first = next(model.parameters(), None)
    info = {"architecture": type(model).__name__, "model_type": getattr(config, "model_type", None),
            "n_parameters": sum(p.numel() for p in model.parameters()),
            "dtype": str(first.dtype).replace("torch.", "") if first is not None else None}
    return LoadedModel(model=model, name=name or type(model).__name__, kind=kind, tokenizer=tokenizer,
                       preprocess=preprocess, weights_hash=hash_parameters(model), source="in memory",
                       info=info)
