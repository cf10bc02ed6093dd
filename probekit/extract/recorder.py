"""Record module outputs with forward hooks that always remove themselves."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable

import torch
from torch import nn

from probekit.errors import ProbekitError, closest
from probekit.hooks import CALL_SEPARATOR, INPUT_SUFFIX, HookSet, split_key


class StopForward(Exception):
    """Raised inside a hook to end the forward pass after the last wanted module."""


def module_names(model: nn.Module) -> list[str]:
    """All named submodules of ``model`` in registration order (root excluded).

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    list of str
    """
    return [name for name, _ in model.named_modules() if name]




def resolve_modules(model: nn.Module, patterns: str | Iterable[str]) -> list[str]:
    """Expand exact names and glob patterns into module names, in model order.

    A name ending in ``:input`` (``model.layers.0:input``) stands for the *input* of
    that module (its first positional or ``hidden_states`` argument) rather than its
    output; globs may carry the suffix too (``model.layers.*:input``).

    Parameters
    ----------
    model:
        The model whose ``named_modules()`` are searched.
    patterns:
        Exact names (``model.layers.3``) or ``fnmatch`` globs (``model.layers.*``,
        ``*.mlp``). A glob ``a.*`` matches direct children only (``a.3``, not ``a.3.mlp``),
        which is what a user means by "every layer"; use ``a.**`` for all descendants.

    Returns
    -------
    list of str
        Matching module names, deduplicated, in the model's registration order.

    Raises
    ------
    ProbekitError
        A pattern that matches nothing; the message lists the closest module names.
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    names = module_names(model)
    chosen: set[str] = set()
    for pattern in patterns:
        pattern = pattern.strip()
        pattern, is_input, call = split_key(pattern)
        suffix = (INPUT_SUFFIX if is_input else "") + ("" if call is None else f"{CALL_SEPARATOR}{call}")
        if pattern in names:
            chosen.add(pattern + suffix)
            continue
        hits = [n + suffix for n in names if _glob_match(n, pattern)]
        if not hits:
            raise ProbekitError(
                f"module pattern {pattern!r} matches no module of {type(model).__name__}; "
                f"closest module names: {', '.join(closest(pattern, names, n=8))} "
                "(`probekit list-modules` lists them all)"
            )
        chosen.update(hits)
    position = {n: i for i, n in enumerate(names)}

    def order(key: str) -> tuple[int, int, int]:
        # model order; a module's input before its output; calls in order
        name, is_input, call = split_key(key)
        return position[name], 0 if is_input else 1, -1 if call is None else call

    return sorted(chosen, key=order)


def _glob_match(name: str, pattern: str) -> bool:
    if "**" in pattern:
        return fnmatch.fnmatchcase(name, pattern.replace("**", "*"))
    # a single '*' does not cross a dot
    name_parts, pattern_parts = name.split("."), pattern.split(".")
    if len(name_parts) != len(pattern_parts):
        return False
    return all(fnmatch.fnmatchcase(n, p) for n, p in zip(name_parts, pattern_parts))


def first_tensor(output) -> torch.Tensor:
    """The tensor a module "outputs".

    Itself, the first element of a tuple/list, or the first tensor value of a
    ``ModelOutput``/dict in field order (``last_hidden_state`` for a base model's output).

    Parameters
    ----------
    output : torch.Tensor, tuple, list or dict
        What a module's ``forward`` returned.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    TypeError
        When no tensor can be found.
    """
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output:
        return first_tensor(output[0])
    if isinstance(output, dict):
        for value in output.values():
            if isinstance(value, torch.Tensor):
                return value
    raise TypeError(f"module output of type {type(output).__name__} holds no tensor")


def _resolve_names(model: nn.Module, patterns) -> tuple[list[str], dict[str, str]]:
    """Module keys for module names/globs *and* hook point names/globs
    (``blocks.3.resid_post``); the second value maps a module key to the hook point name
    it was asked for by (activations are keyed by what the user asked for)."""
    from probekit.extract.hook_points import hook_points

    if isinstance(patterns, str):
        patterns = [patterns]
    patterns = [p.strip() for p in patterns]
    aliases: dict[str, str] = {}
    module_patterns = []
    points = None
    for pattern in patterns:
        if pattern.startswith(("blocks.", "embed", "encoder.blocks.", "decoder.blocks.", "encoder.embed",
                               "decoder.embed")):
            points = hook_points(model) if points is None else points
            hits = [p for p in points if fnmatch.fnmatchcase(p.name, pattern)]
            if hits:
                aliases.update({p.module: p.name for p in hits})
                continue
        module_patterns.append(pattern)
    names = resolve_modules(model, module_patterns) if module_patterns else []
    order = {n: i for i, n in enumerate(module_names(model))}
    names = sorted(set(names) | set(aliases),
                   key=lambda k: (split_key(k)[2] or 0, order.get(split_key(k)[0], 0), not split_key(k)[1]))
    return names, aliases


class ActivationRecorder(HookSet):
    """Records the outputs of chosen modules during forward passes.

    Use as a context manager::

        with ActivationRecorder(model, ["model.layers.*"]) as rec:
            model(**batch)
        rec.activations["model.layers.3"]   # (batch, pos, d_model)

    Hooks are registered on ``__enter__`` and removed on ``__exit__``, also when the
    body raises; entering a recorder that is already active is an error. Tuple outputs
    (decoder layers returning ``(hidden, cache, ...)``) are reduced to their first
    tensor. Every recorded tensor is a private copy (a later in-place operation of the
    model cannot change it). A module that runs several times in one forward pass (a
    shared layer) is asked for one call at a time as ``name@k``; asking for it without
    ``@k`` is an error once its second call is seen (with ``stop_early`` a forward pass
    cut after the first call cannot see the second: the hook points of
    :func:`probekit.extract.hook_points.hook_points` name every call of ALBERT's layer).

    Parameters
    ----------
    model:
        Any ``torch.nn.Module``.
    modules:
        Exact module names or globs (see :func:`resolve_modules`), or hook point names
        or globs (``blocks.3.resid_post``, ``blocks.*.mlp_out``; activations are then keyed
        by the hook point name).
    stop_early:
        When true, the forward pass is cut (a :class:`StopForward` is raised inside the
        hook of the last wanted module to run, and swallowed by :meth:`run` or by leaving
        the ``with`` block), saving the compute of every later module. The first
        :meth:`run` of a ``with`` block always runs to the end, to find shared layers.
    transform:
        Optional ``f(name, tensor) -> tensor`` applied inside the hook (e.g. token
        selection), so that full activations need not be kept.
    detach:
        Store detached tensors (default) so no autograd graph is kept alive.

    Attributes
    ----------
    names:
        Resolved module names, in model order.
    activations:
        ``{module name: tensor}`` from the latest forward pass.
    """

    def __init__(
        self,
        model: nn.Module,
        modules: str | Iterable[str],
        stop_early: bool = False,
        transform: Callable[[str, torch.Tensor], torch.Tensor] | None = None,
        detach: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        self.names, self.aliases = _resolve_names(model, modules)
        self.stop_early = stop_early
        self.transform = transform
        self.detach = detach
        self.activations: dict[str, torch.Tensor] = {}

    def _register_all(self) -> None:
        self._calls: dict[tuple[str, bool], int] = {}
        wanted: dict[tuple[str, bool], dict[int | None, str]] = {}
        for key in self.names:
            name, is_input, call = split_key(key)
            wanted.setdefault((name, is_input), {})[call] = key
        self._handles.append(self.model.register_forward_pre_hook(self._reset_calls))
        for (name, is_input), keys in wanted.items():
            site = name + (INPUT_SUFFIX if is_input else "")
            self._hook(self.model, site, on_output=self._make_hook((name, False), keys),
                       on_input=self._make_pre_hook((name, True), keys))

    def _reset_calls(self, module, args) -> None:
        self._calls = {}
        self.activations = {}

    def _make_pre_hook(self, site: tuple[str, bool], keys: dict):
        def pre_hook(module, args, kwargs):
            if args:
                value = args[0]
            elif "hidden_states" in kwargs:
                value = kwargs["hidden_states"]
            else:
                value = next(iter(kwargs.values()))
            self._keep(site, keys, first_tensor(value))
            return None
        return pre_hook

    def _make_hook(self, site: tuple[str, bool], keys: dict):
        def hook(module, args, output):
            self._keep(site, keys, first_tensor(output))
        return hook

    def _keep(self, site: tuple[str, bool], keys: dict, tensor: torch.Tensor) -> None:
        call = self._calls.get(site, 0)
        self._calls[site] = call + 1
        key = keys.get(call, keys.get(None))
        if key is None:
            return
        if call and self.aliases.get(key, key) in self.activations and split_key(key)[2] is None:
            self._refuse_ambiguous_repeats()
        source = tensor
        if self.detach:
            tensor = tensor.detach()
        if self.transform is not None:
            tensor = self.transform(key, tensor)
        if tensor.untyped_storage().data_ptr() == source.untyped_storage().data_ptr():
            # a private copy: a later in-place op of the model (Falcon's `mlp_output +=
            # attention_output`) must not change what was recorded
            tensor = tensor.clone()
        self.activations[self.aliases.get(key, key)] = tensor
        if self.stop_early and len(self.activations) == len(self.names):
            raise StopForward

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.remove()
        # a StopForward escaping a bare ``model(...)`` inside the block ends the forward
        # pass as intended; it never leaks to the caller
        return exc_type is not None and issubclass(exc_type, StopForward)

    def run(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Run ``model(*args, **kwargs)`` under ``torch.no_grad`` and return the activations.

        Must be called inside the ``with`` block. With ``stop_early`` the forward pass is
        cut after the last wanted module and the model output is not computed.

        Parameters
        ----------
        *args, **kwargs
            The model's forward arguments (e.g. ``input_ids`` ``(batch, pos)``).

        Returns
        -------
        dict of str to torch.Tensor
            ``{module or hook point name: activation}``, e.g. ``(batch, pos, d_model)``
            (after ``transform``, if given).

        Raises
        ------
        RuntimeError
            Called outside the ``with`` block, or a wanted module did not run (e.g. a module
            unused by this forward path).
        ProbekitError
            A shared layer asked for without ``@k`` (it ran more than once).
        """
        if not self._handles:
            raise RuntimeError("ActivationRecorder.run must be called inside its `with` block")
        self.activations = {}
        with torch.no_grad():
            try:
                self.model(*args, **kwargs)
            except StopForward:
                pass
        missing = [self.aliases.get(n, n) for n in self.names if self.aliases.get(n, n) not in self.activations]
        if missing:
            raise RuntimeError(f"these modules did not run during the forward pass: {missing}")
        self._refuse_ambiguous_repeats()
        return self.activations

    def _refuse_ambiguous_repeats(self) -> None:
        """A module asked for without ``@k`` that ran several times (a shared layer) has no
        single output; refuse rather than keep one call silently."""
        for key in self.names:
            name, is_input, call = split_key(key)
            runs = self._calls.get((name, is_input), 0)
            if call is None and runs > 1:
                raise ProbekitError(
                    f"module {name!r} ran {runs} times in one forward pass (a shared layer), so its "
                    f"output is ambiguous; ask for one call with {key}{CALL_SEPARATOR}0 ... "
                    f"{key}{CALL_SEPARATOR}{runs - 1}")
