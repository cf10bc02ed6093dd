"""Activation steering: add vectors to module outputs (or inputs) at chosen positions.

::

    with steer(model, [Intervention("model.layers.10", v, positions="last")]):
        model.generate(**batch)            # hooks active, also with a KV cache
    # hooks removed here (also when the body raised)

Positions refer to the **full sequence** as it stands at each forward pass: during
cached generation a forward pass that sees only the newest token knows its absolute
position (from ``cache_position``, the cache length or the attention-mask length, read
by a pre-hook on the root module), so ``positions=[5]`` steers token 5 exactly once
and ``positions="last"`` steers the last prompt token and then every generated token
(the inference-time-intervention scheme).

A module name with the suffix ``:input`` (``model.layers.3.self_attn.o_proj:input``)
steers the module's *input* (its first positional or ``hidden_states`` argument)
instead of its output. For per-attention-head steering the input of the attention
output projection is the concatenation of the heads' outputs; see
:mod:`probekit.steering.heads`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import torch
from torch import nn

from probekit.errors import ProbekitError
from probekit.hooks import HookSet
from probekit.extract.recorder import resolve_modules

__all__ = ["Intervention", "Steering", "steer", "position_mask", "forward_offset", "steering_site"]

PositionSpec = Union[str, int, Sequence[int], slice, torch.Tensor, None]


@dataclass
class Intervention:
    """One additive intervention ``h[..., p, :] += scale * vector`` at positions ``p``.

    Attributes
    ----------
    module : str
        Exact module name (suffix ``:input`` to act on the module's input) or hook point
        name (``blocks.3.resid_post``).
    vector : torch.Tensor, shape (d_model,) or (batch, d_model)
        The added vector; a 2-D tensor gives one vector per example (a prompt-dependent
        vector). Cast to the activation's dtype and device at use.
    positions : str, int, sequence of int, slice, torch.Tensor or None
        ``"all"``/``None`` (every position), ``"last"`` (last position of each forward
        pass), an int or ints (absolute positions in the full sequence; negative ints count
        from the end of the sequence as it stands at that forward pass), a ``slice`` of
        absolute positions (``slice(10, None)``: from token 10 on), or a boolean mask of
        shape ``(seq,)`` or ``(batch, seq)`` over absolute positions (positions beyond the
        mask are not steered).
    scale : float
        Multiplies ``vector``.
    """

    module: str
    vector: Any
    positions: PositionSpec = "all"
    scale: float = 1.0


def position_mask(spec: PositionSpec, offset: int, seq_len: int, batch: int,
                  device: torch.device | str = "cpu") -> torch.Tensor | None:
    """Boolean mask ``(batch, seq_len)`` of the steered positions of one forward pass.

    Parameters
    ----------
    spec : position specification (see :class:`Intervention`)
    offset : int
        Absolute position of the first token of this forward pass (cache length).
    seq_len : int
        Tokens in this forward pass.
    batch : int
    device : torch device

    Returns
    -------
    torch.Tensor of bool, shape (batch, seq_len), or None
        ``None`` means every position.

    Raises
    ------
    ProbekitError
        An unknown string or a mask with the wrong batch size.
    """
    if spec is None or (isinstance(spec, str) and spec == "all"):
        return None
    absolute = torch.arange(offset, offset + seq_len, device=device)
    total = offset + seq_len
    if isinstance(spec, str):
        if spec != "last":
            raise ProbekitError(f"positions={spec!r} is not a valid position keyword; use 'all', 'last', "
                                "an int, a list of ints, a slice or a boolean mask")
        row = absolute == total - 1
    elif isinstance(spec, slice):
        start, stop, step = spec.indices(total)
        row = torch.zeros(seq_len, dtype=torch.bool, device=device)
        wanted = torch.arange(start, stop, step, device=device)
        wanted = wanted[wanted >= offset] - offset
        row[wanted] = True
    elif isinstance(spec, torch.Tensor) and spec.dtype == torch.bool:
        mask = spec.to(device)
        if mask.dim() == 1:
            mask = mask.unsqueeze(0)
        if mask.dim() != 2 or mask.shape[0] not in (1, batch):
            raise ProbekitError(f"a boolean position mask must have shape (seq,) or (batch={batch}, seq); "
                                f"got {tuple(spec.shape)}")
        out = torch.zeros(mask.shape[0], seq_len, dtype=torch.bool, device=device)
        lo, hi = offset, min(total, mask.shape[1])
        if hi > lo:
            out[:, : hi - lo] = mask[:, lo:hi]
        return out.expand(batch, seq_len)
    else:
        ints = [spec] if isinstance(spec, int) else list(spec)
        if not all(isinstance(i, int) or (isinstance(i, torch.Tensor) and i.dim() == 0) for i in ints):
            raise ProbekitError(f"positions={spec!r}: expected ints; use 'all', 'last', ints, a slice or a bool mask")
        row = torch.zeros(seq_len, dtype=torch.bool, device=device)
        for i in ints:
            i = int(i)
            a = i + total if i < 0 else i
            if offset <= a < total:
                row[a - offset] = True
    return row.unsqueeze(0).expand(batch, seq_len)


def _cache_length(value) -> int | None:
    """Tokens held by a KV cache object (any class with ``get_seq_length``) or a legacy
    tuple-of-tuples cache; ``None`` for anything else."""
    if hasattr(value, "get_seq_length") and callable(value.get_seq_length):
        try:
            return int(value.get_seq_length())
        except (TypeError, ValueError, IndexError, AttributeError):
            return None
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], (tuple, list)) and value[0] \
            and isinstance(value[0][0], torch.Tensor) and value[0][0].dim() >= 3:
        return int(value[0][0].shape[-2])
    return None


def forward_offset(args: tuple, kwargs: dict) -> int:
    """Absolute position of the first token of one forward pass of a language model.

    Read from whatever the call carries, without relying on the names transformers gives
    its keyword arguments (they change between releases: ``past_key_values``,
    ``cache_position``, ``cache``, ...): a ``cache_position`` tensor if present; else the
    length of any KV-cache object among the arguments; else, when the attention mask is
    longer than the input, the difference; else 0.

    Parameters
    ----------
    args : tuple
        The positional arguments of the model's ``forward`` (``input_ids`` first, if any).
    kwargs : dict
        Its keyword arguments (``input_ids`` / ``inputs_embeds`` of shape ``(batch, pos)``
        / ``(batch, pos, d_model)``, ``attention_mask``, ``cache_position``, a cache).

    Returns
    -------
    int
        Number of tokens before this pass (0 for a pass over a whole sequence).
    """
    ids = kwargs.get("input_ids", args[0] if args and isinstance(args[0], torch.Tensor) else None)
    ref = ids if ids is not None else kwargs.get("inputs_embeds")
    seq_len = ref.shape[1] if isinstance(ref, torch.Tensor) and ref.dim() >= 2 else None
    cache_position = kwargs.get("cache_position")
    if isinstance(cache_position, torch.Tensor) and cache_position.numel():
        return int(cache_position.reshape(-1)[0])
    for value in list(kwargs.values()) + list(args[1:]):
        length = _cache_length(value)
        if length is not None:
            return length
    mask = kwargs.get("attention_mask")
    if isinstance(mask, torch.Tensor) and mask.dim() == 2 and seq_len is not None:
        return max(0, int(mask.shape[1]) - int(seq_len))
    return 0


def steering_site(model: nn.Module, name: str) -> str:
    """The module (or ``module:input``) that an intervention on ``name`` hooks.

    ``name`` is an exact module name (``model.layers.3``, ``...o_proj:input``) or a hook
    point name (``blocks.3.resid_post``, ``embed``; see
    :func:`probekit.extract.hook_points.hook_points`).

    Parameters
    ----------
    model : torch.nn.Module
        The model steered.
    name : str
        A module name or hook point name.

    Returns
    -------
    str
        The module name (with ``:input`` where the hook point reads a module's input).

    Raises
    ------
    ProbekitError
        A glob or unknown name (closest names listed), or a hook point on a layer that
        runs several times per forward pass (a shared layer: one call cannot be steered).
    """
    from probekit.extract.hook_points import hook_points
    from probekit.hooks import split_key

    base, is_input, call = split_key(name)
    lookup = dict(model.named_modules())
    if call is None and base in lookup:
        return name
    points = {p.name: p.module for p in hook_points(model)}
    if name in points:
        if split_key(points[name])[2] is not None:
            raise ProbekitError(f"hook point {name!r} is one call of a shared layer ({points[name]}); "
                                "steering adds to every call of a module, so it cannot steer one call")
        return points[name]
    if any(ch in name for ch in "*?["):
        matches = resolve_modules(model, name)
        raise ProbekitError(f"steering needs exact module or hook point names; {name!r} is a pattern "
                            f"matching {len(matches)} modules ({', '.join(matches[:4])}"
                            f"{', ...' if len(matches) > 4 else ''}): give one Intervention per module")
    resolve_modules(model, name)  # raises with the closest module names
    raise ProbekitError(f"cannot steer {name!r}")


class Steering(HookSet):
    """Context manager adding vectors to module outputs/inputs while active.

    Parameters
    ----------
    model : torch.nn.Module
        The model that is called (``model(...)`` or ``model.generate(...)``); a pre-hook on
        it tracks the absolute position of each forward pass.
    interventions : iterable of Intervention, or mapping ``{module: vector}``
        A mapping uses ``positions`` and ``scale`` below for every entry.
    positions, scale :
        Defaults for a mapping (see :class:`Intervention`).

    Notes
    -----
    Hooks are registered on ``__enter__`` and removed on ``__exit__`` (also on error); the
    model's parameters are never modified. Activations are 3-D ``(batch, seq, d)`` (or
    2-D ``(seq, d)``, treated as batch 1); the vector's last dimension must match ``d``.

    Raises
    ------
    ProbekitError
        No interventions, an item that is not an :class:`Intervention`, a vector not of
        shape ``(d,)`` or ``(batch, d)``, or a name that cannot be steered (see
        :func:`steering_site`).

    References
    ----------
    Turner et al. (2023), "Activation Addition: Steering Language Models Without
    Optimization", arXiv 2308.10248; Li, Patel, Viégas, Pfister & Wattenberg (2023),
    "Inference-Time Intervention: Eliciting Truthful Answers from a Language Model",
    NeurIPS, Sec. 3.3 (add ``α σ θ`` to selected heads at every generated position).
    """

    def __init__(self, model: nn.Module, interventions: Iterable[Intervention] | Mapping[str, Any],
                 positions: PositionSpec = "all", scale: float = 1.0) -> None:
        super().__init__()
        self.model = model
        if isinstance(interventions, Mapping):
            interventions = [Intervention(k, v, positions, scale) for k, v in interventions.items()]
        self.interventions = list(interventions)
        if not self.interventions:
            raise ProbekitError("Steering needs at least one intervention")
        for iv in self.interventions:
            if not isinstance(iv, Intervention):
                raise ProbekitError(f"expected Intervention objects, got {type(iv).__name__}")
            vec = torch.as_tensor(iv.vector)
            if vec.dim() not in (1, 2):
                raise ProbekitError(f"vector for {iv.module!r} must have shape (d,) or (batch, d); "
                                    f"got {tuple(vec.shape)}")
        # private copies with tensor vectors and module names (the caller's objects are left as given)
        self.interventions = [Intervention(steering_site(model, iv.module), torch.as_tensor(iv.vector),
                                           iv.positions, iv.scale) for iv in self.interventions]
        self._offset = 0

    # -- position tracking -------------------------------------------------
    def _root_pre_hook(self, module, args, kwargs):
        self._offset = forward_offset(args, kwargs)
        return None

    # -- the additive hook -------------------------------------------------
    def _add(self, iv: Intervention, h: torch.Tensor) -> torch.Tensor:
        squeeze = h.dim() == 2
        x = h.unsqueeze(0) if squeeze else h
        if x.dim() != 3:
            raise ProbekitError(f"module {iv.module!r} produced a {h.dim()}-D tensor; steering needs "
                                "(batch, seq, d) or (seq, d)")
        batch, seq_len, d = x.shape
        vec = iv.vector.to(device=x.device, dtype=x.dtype)
        if vec.shape[-1] != d:
            raise ProbekitError(f"vector for {iv.module!r} has {vec.shape[-1]} features but the activation "
                                f"has d={d}")
        if vec.dim() == 2:
            if vec.shape[0] != batch:
                if batch % vec.shape[0]:
                    raise ProbekitError(f"vector for {iv.module!r} has {vec.shape[0]} rows but the batch has "
                                        f"{batch} examples")
                vec = vec.repeat_interleave(batch // vec.shape[0], dim=0)
            vec = vec[:, None, :]
        delta = float(iv.scale) * vec
        mask = position_mask(iv.positions, self._offset, seq_len, batch, x.device)
        if mask is None:
            out = x + delta
        else:
            out = x + mask.unsqueeze(-1).to(x.dtype) * delta
        return out.squeeze(0) if squeeze else out

    def _make_output_hook(self, iv: Intervention):
        def hook(module, args, output):
            if isinstance(output, torch.Tensor):
                return self._add(iv, output)
            if isinstance(output, tuple) and output and isinstance(output[0], torch.Tensor):
                return (self._add(iv, output[0]),) + tuple(output[1:])
            if isinstance(output, list) and output and isinstance(output[0], torch.Tensor):
                return [self._add(iv, output[0])] + list(output[1:])
            raise ProbekitError(f"cannot steer the output of {iv.module!r} (type {type(output).__name__})")
        return hook

    def _make_input_hook(self, iv: Intervention):
        def pre_hook(module, args, kwargs):
            if args and isinstance(args[0], torch.Tensor):
                return (self._add(iv, args[0]),) + tuple(args[1:]), kwargs
            if isinstance(kwargs.get("hidden_states"), torch.Tensor):
                kwargs = dict(kwargs)
                kwargs["hidden_states"] = self._add(iv, kwargs["hidden_states"])
                return args, kwargs
            raise ProbekitError(f"cannot find the input tensor of {iv.module!r}")
        return pre_hook

    def _register_all(self) -> None:
        self._handles.append(self.model.register_forward_pre_hook(self._root_pre_hook, with_kwargs=True))
        for iv in self.interventions:
            self._hook(self.model, iv.module, on_output=self._make_output_hook(iv), on_input=self._make_input_hook(iv))


def steer(model: nn.Module, interventions: Iterable[Intervention] | Mapping[str, Any],
          positions: PositionSpec = "all", scale: float = 1.0) -> Steering:
    """Functional form of :class:`Steering` (``with steer(model, {...}):``).

    Parameters
    ----------
    model : torch.nn.Module
    interventions : iterable of Intervention or mapping ``{module name: vector}``
    positions : position specification for a mapping (see :class:`Intervention`)
    scale : float

    Returns
    -------
    Steering
        A context manager.

    Raises
    ------
    ProbekitError
        Unknown module names (closest names listed) or malformed vectors.

    References
    ----------
    Li et al. (2023), "Inference-Time Intervention", NeurIPS, Sec. 3.3.
    """
    return Steering(model, interventions, positions=positions, scale=scale)
