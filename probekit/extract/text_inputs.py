"""Turn texts into the keyword arguments of a language model's forward pass.

Padding must not change any example's values. Right padding never changes a real
token's position; with left padding, models that take ``position_ids`` get them from the
attention mask where that makes the padded run equal the unpadded one, and models that
padding changes either way run one text per pass (decided numerically by
:func:`probekit.check.settle_padding`, remembered in ``loaded.info``). Encoder–decoder models get decoder inputs: the text
shifted right by one (teacher forcing), at the same positions as the encoder's tokens.
"""

from __future__ import annotations

import inspect

import torch

from probekit.devices import model_device
from probekit.errors import ProbekitError
from probekit.models.base import LoadedModel


def accepts(model: torch.nn.Module, argument: str) -> bool:
    """Whether ``model.forward`` takes ``argument`` by name.

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    argument : str
        A keyword argument name (``position_ids``, ...).

    Returns
    -------
    bool
        False also when the signature cannot be read.
    """
    try:
        return argument in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def is_encoder_decoder(model: torch.nn.Module) -> bool:
    """True for seq2seq models (``config.is_encoder_decoder``: T5, BART, ...).

    Parameters
    ----------
    model : torch.nn.Module
        The model (without a ``config``: False).

    Returns
    -------
    bool
    """
    return bool(getattr(getattr(model, "config", None), "is_encoder_decoder", False))


def position_ids_from_mask(mask: torch.Tensor) -> torch.Tensor:
    """``(batch, pos)`` positions counted over real tokens only (pads get 0).

    Parameters
    ----------
    mask : torch.Tensor of shape (batch, pos)
        Attention mask (1 = real token), any integer or bool dtype.

    Returns
    -------
    torch.Tensor of shape (batch, pos), int64
    """
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


def decoder_inputs(model: torch.nn.Module, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Decoder input ids for teacher forcing.

    Each example's tokens shifted right by one, the decoder start token at the example's
    first real position, pads left as they are.

    Parameters
    ----------
    model : torch.nn.Module
        An encoder–decoder model with a transformers ``config``.
    input_ids : torch.Tensor of shape (batch, pos), int64
        The encoder's token ids.
    mask : torch.Tensor of shape (batch, pos)
        Their attention mask (1 = real token).

    Returns
    -------
    torch.Tensor, shape (batch, pos), int64

    Raises
    ------
    ProbekitError
        When the config names no decoder start token (nor a pad token).
    """
    config = model.config
    start = getattr(config, "decoder_start_token_id", None)
    start = getattr(config, "pad_token_id", None) if start is None else start
    if start is None:
        raise ProbekitError(f"{type(model).__name__}: config has no decoder_start_token_id or pad_token_id; "
                            "cannot build decoder inputs")
    decoder = torch.roll(input_ids, 1, dims=1)
    first = mask.long().argmax(dim=1)
    decoder[torch.arange(len(decoder)), first] = int(start)
    return torch.where(mask.bool(), decoder, input_ids)


def encode_text(loaded: LoadedModel, texts: list[str], max_length: int) -> dict[str, torch.Tensor]:
    """Tokenize a batch with padding and return the model's forward keyword arguments.

    Parameters
    ----------
    loaded:
        A text model (``causal-lm``, ``encoder`` or ``encoder-decoder``).
    texts:
        The batch.
    max_length:
        Longer texts are truncated to this many tokens (see :func:`token_counts`).

    Returns
    -------
    dict of str to torch.Tensor
        ``input_ids`` and ``attention_mask`` ``(batch, pos)`` (and whatever else the
        tokenizer gives), ``position_ids`` where :func:`probekit.check.settle_padding`
        found them needed, ``decoder_input_ids`` / ``decoder_attention_mask`` for
        encoder–decoder models; on the model's device.
    """
    batch = loaded.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                             return_tensors="pt")
    inputs = dict(batch)
    if "token_type_ids" in inputs and not accepts(loaded.model, "token_type_ids"):
        del inputs["token_type_ids"]  # a tokenizer borrowed from BERT; generate() refuses it
    mask = inputs["attention_mask"]
    if loaded.info.get("position_ids") and loaded.tokenizer.padding_side == "left":
        inputs["position_ids"] = position_ids_from_mask(mask)
    if is_encoder_decoder(loaded.model):
        inputs["decoder_input_ids"] = decoder_inputs(loaded.model, inputs["input_ids"], mask)
        inputs["decoder_attention_mask"] = mask
    device = model_device(loaded.model)
    return {k: v.to(device) for k, v in inputs.items()}


def token_counts(loaded: LoadedModel, texts: list[str]) -> list[int]:
    """Tokens of each text as the model sees it (special tokens included, no truncation).

    Parameters
    ----------
    loaded : LoadedModel
        A model with a tokenizer.
    texts : list of str
        The texts.

    Returns
    -------
    list of int
        One count per text.
    """
    encoded = loaded.tokenizer(list(texts), truncation=False, padding=False)
    return [len(ids) for ids in encoded["input_ids"]]


def validate_token_counts(loaded: LoadedModel, texts: list[str], max_length: int) -> list[int]:
    """Refuse texts with no tokens; return the indices of texts longer than ``max_length``.

    Parameters
    ----------
    loaded : LoadedModel
        A model with a tokenizer.
    texts : list of str
        The texts.
    max_length : int
        Token limit per text.

    Returns
    -------
    list of int
        Indices of the texts that will be truncated to ``max_length`` tokens (their last
        token is then not the text's last token).

    Raises
    ------
    ProbekitError
        Texts that tokenize to 0 tokens (an all-padding row would be silently zero);
        the message lists their indices.
    """
    counts = token_counts(loaded, texts)
    empty = [i for i, n in enumerate(counts) if n == 0]
    if empty:
        shown = ", ".join(str(i) for i in empty[:20]) + (" ..." if len(empty) > 20 else "")
        raise ProbekitError(f"{len(empty)} example(s) have no tokens (rows {shown}); remove or fill them")
    return [i for i, n in enumerate(counts) if n > max_length]


def default_token_selection(loaded: LoadedModel) -> str:
    """The default token selection of a model kind.

    ``last`` for causal language models; ``mean`` over real tokens for encoders and
    encoder–decoders (whose last token is a separator such as ``[SEP]`` or ``</s>``).

    Parameters
    ----------
    loaded : LoadedModel
        The model (its ``kind``).

    Returns
    -------
    str
        ``"last"`` or ``"mean"``.
    """
    return "last" if loaded.kind == "causal-lm" else "mean"


#: The sentence :func:`probekit.extract.modalities.sample_inputs` gives text models.
SAMPLE_TEXT = "The city of Paris is in France."
