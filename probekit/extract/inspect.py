"""Discover what can be recorded: hook points and modules with their output shapes."""

from __future__ import annotations

import torch

from probekit.extract.hook_points import hook_points
from probekit.hooks import Hooks
from probekit.extract.recorder import INPUT_SUFFIX, first_tensor, module_names
from probekit.models.base import LoadedModel


def output_shapes(loaded: LoadedModel) -> dict[str, tuple[int, ...]]:
    """Output shape of every module (and of block 0's input) on one sample input.

    The input is the model's sample input (``loaded.adapter.sample_inputs``: a short
    sentence, a grey image, ...).

    Parameters
    ----------
    loaded : LoadedModel
        The model.

    Returns
    -------
    dict of str to tuple of int
        ``{module name: (batch=1, ...)}``; modules that did not run (or output no tensor)
        are absent.

    Raises
    ------
    ProbekitError
        A modality without a sample input (see :func:`probekit.extract.modalities.sample_inputs`).
    """
    model = loaded.model
    shapes: dict[str, tuple[int, ...]] = {}

    def make(name):
        def hook(module, args, output):
            try:
                shapes[name] = tuple(first_tensor(output).shape)
            except TypeError:
                pass
        return hook

    def pre(name):
        def hook(module, args, kwargs):
            source = args[0] if args else kwargs.get("hidden_states")
            if source is not None:
                shapes[name] = tuple(first_tensor(source).shape)
        return hook

    callbacks = {name: make(name) for name in module_names(model)}
    inputs = [p.module for p in hook_points(model) if p.module.endswith(INPUT_SUFFIX)]
    callbacks.update({key: pre(key) for key in inputs[:1]})
    with Hooks(model, callbacks), torch.no_grad():
        model(**loaded.adapter.sample_inputs(loaded))
    return shapes


def describe_modules(loaded: LoadedModel, all_modules: bool = False) -> list[str]:
    """Lines for ``probekit list-modules``: hook points, then modules with shapes.

    Parameters
    ----------
    loaded : LoadedModel
        The model.
    all_modules : bool
        List every module; otherwise modules deeper than the blocks' direct children are
        left out.

    Returns
    -------
    list of str
        Table lines (no trailing newlines).

    Raises
    ------
    ProbekitError
        As :func:`output_shapes`.
    """
    shapes = output_shapes(loaded)
    model = loaded.model
    lines = []
    points = hook_points(model)
    if points:
        lines += ["# hook points (use with --modules; 'resid' = every resid point)",
                  f"{'hook point':<26} {'layer':>5}  {'module':<40} shape"]
        for p in points:
            lines.append(f"{p.name:<26} {p.layer:>5}  {p.module:<40} {shapes.get(p.module, '?')}")
        lines.append("")
    lines += ["# modules (use names or globs with --modules, e.g. 'model.layers.*')",
              f"{'module':<48} {'type':<28} shape"]
    max_depth = None
    if points and not all_modules:
        max_depth = points[-1].module.count(".") + 1
    for name, module in model.named_modules():
        if not name or (max_depth is not None and name.count(".") > max_depth):
            continue
        lines.append(f"{name:<48} {type(module).__name__:<28} {shapes.get(name, '-')}")
    return lines
