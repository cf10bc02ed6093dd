"""Record module outputs with forward hooks that always remove themselves."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from contextlib import contextmanager

import torch
from torch import nn

from probekit.errors import ProbekitError, closest
from probekit.extract.hook_set import INPUT_SUFFIX, HookSet


class StopForward(Exception):
    """Raised inside a hook to end the forward pass after the last wanted module."""


def module_names(model: nn.Module) -> list[str]:
    """All named submodules of ``model`` in registration order (root excluded)."""
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
        suffix = INPUT_SUFFIX if pattern.endswith(INPUT_SUFFIX) else ""
        pattern = pattern[: len(pattern) - len(suffix)]
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
    ordered = []
    for n in names:  # a module's input comes before its output
        ordered += [k for k in (n + INPUT_SUFFIX, n) if k in chosen]
    return ordered


def _glob_match(name: str, pattern: str) -> bool:
    if "**" in pattern:
        return fnmatch.fnmatchcase(name, pattern.replace("**", "*"))
    # a single '*' does not cross a dot
    name_parts, pattern_parts = name.split("."), pattern.split(".")
    if len(name_parts) != len(pattern_parts):
        return False
    return all(fnmatch.fnmatchcase(n, p) for n, p in zip(name_parts, pattern_parts))


def first_tensor(output) -> torch.Tensor:
    """The tensor a module "outputs": itself, the first element of a tuple/list, or
    ``last_hidden_state`` / the first tensor value of a ``ModelOutput``/dict.

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


class ActivationRecorder(HookSet):
    """Records the outputs of chosen modules during forward passes.

    Use as a context manager::

        with ActivationRecorder(model, ["model.layers.*"]) as rec:
            model(**batch)
        rec.activations["model.layers.3"]   # (batch, pos, d_model)

    Hooks are registered on ``__enter__`` and removed on ``__exit__``, also when the
    body raises. Tuple outputs (decoder layers returning ``(hidden, cache, ...)``)
    are reduced to their first tensor.

    Parameters
    ----------
    model:
        Any ``torch.nn.Module``.
    modules:
        Exact names or globs (see :func:`resolve_modules`).
    stop_early:
        When true, the forward pass is cut (a :class:`StopForward` is raised inside the
        hook of the last wanted module to run, and swallowed by :meth:`run`), saving the
        compute of every later module.
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
        self.names = resolve_modules(model, modules)
        self.stop_early = stop_early
        self.transform = transform
        self.detach = detach
        self.activations: dict[str, torch.Tensor] = {}

    def _register_all(self) -> None:
        for name in self.names:
            self._hook(self.model, name, on_output=self._make_hook(name), on_input=self._make_pre_hook(name))

    def _make_pre_hook(self, name: str):
        def pre_hook(module, args, kwargs):
            if args:
                self._keep(name, first_tensor(args[0]))
            elif "hidden_states" in kwargs:
                self._keep(name, first_tensor(kwargs["hidden_states"]))
            else:
                self._keep(name, first_tensor(next(iter(kwargs.values()))))
            return None
        return pre_hook

    def _make_hook(self, name: str):
        def hook(module, args, output):
            self._keep(name, first_tensor(output))
        return hook

    def _keep(self, name: str, tensor: torch.Tensor) -> None:
        if self.detach:
            tensor = tensor.detach()
        if self.transform is not None:
            tensor = self.transform(name, tensor)
        self.activations[name] = tensor
        if self.stop_early and len(self.activations) == len(self.names):
            raise StopForward

    def run(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Run ``model(*args, **kwargs)`` under ``torch.no_grad`` and return the activations.

        Must be called inside the ``with`` block. With ``stop_early`` the forward pass is
        cut after the last wanted module and the model output is not computed.

        Raises
        ------
        RuntimeError
            When a wanted module did not run (e.g. a module unused by this forward path).
        """
        if not self._handles:
            raise RuntimeError("ActivationRecorder.run must be called inside its `with` block")
        self.activations = {}
        with torch.no_grad():
            try:
                self.model(*args, **kwargs)
            except StopForward:
                pass
        missing = [n for n in self.names if n not in self.activations]
        if missing:
            raise RuntimeError(f"these modules did not run during the forward pass: {missing}")
        return self.activations


@contextmanager
def record(model: nn.Module, modules: str | Iterable[str], **kwargs):
    """Functional form of :class:`ActivationRecorder` (``with record(m, "*.mlp") as rec:``)."""
    with ActivationRecorder(model, modules, **kwargs) as recorder:
        yield recorder
