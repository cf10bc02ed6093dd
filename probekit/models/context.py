"""How many tokens a text model can take: its context length."""

from __future__ import annotations

from probekit.errors import ProbekitError
from probekit.models.base import LoadedModel

#: Config attributes naming the number of positions a model has embeddings for.
POSITION_ATTRIBUTES = ("max_position_embeddings", "n_positions", "n_ctx", "max_sequence_length", "seq_length")
#: Tokenizers without a limit set ``model_max_length`` to ``int(1e30)``; above this it means "none".
UNSET_TOKENIZER_LIMIT = 10**8


def context_limits(loaded: LoadedModel) -> dict[str, int]:
    """The limits a text model declares, by where they come from.

    Parameters
    ----------
    loaded:
        Any :class:`LoadedModel`.

    Returns
    -------
    dict of str to int
        ``{"config.<attr>": n}`` for the first of :data:`POSITION_ATTRIBUTES` the model
        config sets, and ``{"tokenizer.model_max_length": n}`` when the tokenizer sets a
        real limit. Empty for image models and models that declare none.
    """
    if loaded.modality != "text":
        return {}
    limits = {}
    config = getattr(loaded.model, "config", None)
    for attr in POSITION_ATTRIBUTES:
        value = getattr(config, attr, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            limits[f"config.{attr}"] = value
            break
    value = getattr(loaded.tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < UNSET_TOKENIZER_LIMIT:
        limits["tokenizer.model_max_length"] = value
    return limits


def context_length(loaded: LoadedModel) -> int | None:
    """Most tokens one input may have: the smallest of :func:`context_limits`.

    Parameters
    ----------
    loaded : LoadedModel
        The model.

    Returns
    -------
    int or None
        ``None`` for image models and text models that declare no limit.
    """
    limits = context_limits(loaded)
    return min(limits.values()) if limits else None


def check_max_length(loaded: LoadedModel, max_length: int, default: int | None = None) -> int:
    """The ``max_length`` (tokens) to extract with, checked against the model's context.

    Parameters
    ----------
    loaded:
        The model.
    max_length:
        Requested tokens per input.
    default:
        The configuration's default value. A request equal to it that exceeds the
        context is capped at the context (a ``UserWarning`` says so), so a default
        never fails on a short-context model; any other request above the context is
        an error.

    Returns
    -------
    int
        ``max_length``, or the context length when a default request was capped.

    Raises
    ------
    ProbekitError
        ``max_length < 1``, or ``max_length`` larger than the model's context (the
        limits and where they come from are named).
    """
    if int(max_length) < 1:
        raise ProbekitError(f"--max-length must be at least 1 token, not {max_length}")
    limits = context_limits(loaded)
    if not limits or max_length <= min(limits.values()):
        return int(max_length)
    context = min(limits.values())
    sources = ", ".join(f"{k} {v}" for k, v in limits.items())
    if default is not None and max_length == default:
        import warnings

        warnings.warn(f"default --max-length {max_length} is longer than the context of {loaded.name!r} "
                      f"({sources}); using {context}", UserWarning, stacklevel=2)
        return context
    raise ProbekitError(
        f"--max-length {max_length} is longer than the context of model {loaded.name!r}: {context} tokens "
        f"({sources}); use --max-length {context} or less"
    )
