"""Generic resumable checkpoints: module weights and optimiser state as safetensors, the rest as JSON.

A checkpoint is a folder::

    <name>.safetensors          one per module (its state_dict)
    optimizer.safetensors       tensors of the optimiser state (if an optimiser is given)
    optimizer.json              non-tensor optimiser state (param_groups, scalars)
    state.json                  anything JSON-serialisable the trainer wants back
                                (step, config, history, RNG states, ...)

It is written to a temporary sibling folder and renamed into place, so an interrupted
save never leaves a half-written checkpoint. No pickle is used.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from probekit.errors import ProbekitError

__all__ = [
    "has_checkpoint",
    "load_checkpoint",
    "optimizer_from_flat",
    "optimizer_to_flat",
    "save_checkpoint",
    "to_jsonable",
]

_STATE = "state.json"
_OPT_T = "optimizer.safetensors"
_OPT_J = "optimizer.json"


def _tensor_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items() if isinstance(v, torch.Tensor)}


def to_jsonable(obj: Any) -> Any:
    """Recursively convert ``obj`` into plain JSON types where there is an obvious way.

    Dataclass instances become dicts of their fields, mappings dicts, tuples / lists /
    sets lists, path-likes strings, and objects with a ``tolist`` method (numpy scalars
    and arrays, torch tensors) their ``tolist()`` value (a Python number for 0-d).
    Anything else is returned unchanged, so ``json.dumps`` still rejects it.

    Parameters
    ----------
    obj : object

    Returns
    -------
    object
        The converted value.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if callable(getattr(obj, "tolist", None)):
        return obj.tolist()
    return obj


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into flat tensors and a JSON-able remainder.

    Returns
    -------
    tensors : dict of str to torch.Tensor
        Keys ``"state.<param id>.<name>"``.
    rest : dict
        ``{"param_groups": [...], "scalars": {"<param id>.<name>": value}}``.
    """
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {}
    for pid, st in sd["state"].items():
        for name, value in st.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{pid}.{name}"] = value.detach().to("cpu").contiguous().clone()
            else:
                scalars[f"{pid}.{name}"] = value
    groups = json.loads(json.dumps(sd["param_groups"], default=lambda o: list(o) if isinstance(o, tuple) else str(o)))
    return tensors, {"param_groups": groups, "scalars": scalars}


def optimizer_from_flat(tensors: Mapping[str, torch.Tensor], rest: Mapping[str, Any]) -> dict:
    """Inverse of :func:`optimizer_to_flat`: a dict for ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = value
    for key, value in rest.get("scalars", {}).items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = value
    groups = []
    for g in rest["param_groups"]:
        g = dict(g)
        if isinstance(g.get("betas"), list):
            g["betas"] = tuple(g["betas"])
        groups.append(g)
    return {"state": state, "param_groups": groups}


def save_checkpoint(directory: str | os.PathLike, modules: Mapping[str, nn.Module],
                    optimizer: torch.optim.Optimizer | None = None, state: Mapping[str, Any] | None = None) -> Path:
    """Write a checkpoint folder atomically (replacing an existing one).

    Parameters
    ----------
    directory : str or os.PathLike
        Checkpoint folder.
    modules : mapping of str to torch.nn.Module
        Name -> module; saved as ``<name>.safetensors``. Names must be file-name safe
        and not ``"optimizer"`` / ``"state"``.
    optimizer : torch.optim.Optimizer, optional
    state : mapping, optional
        JSON-serialisable trainer state (step, config, history, RNG states, ...);
        dataclasses, tuples, paths, numpy values and tensors in it are converted with
        :func:`to_jsonable` first.

    Returns
    -------
    pathlib.Path
        The checkpoint folder.

    Raises
    ------
    ProbekitError
        A reserved or unsafe module name, or a ``state`` that is not JSON-serialisable.
    """
    directory = Path(directory)
    for name in modules:
        if name in ("optimizer", "state") or not name or any(c in name for c in "/\\ "):
            raise ProbekitError(f"module name {name!r} is reserved or not file-name safe; use e.g. 'encoder'")
    try:
        state_text = json.dumps(to_jsonable(dict(state or {})), indent=1)
    except TypeError as exc:
        raise ProbekitError(f"checkpoint state is not JSON-serialisable: {exc}") from exc
    tmp = directory.with_name(directory.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    for name, module in modules.items():
        save_file(_tensor_dict(module.state_dict()), str(tmp / f"{name}.safetensors"))
    if optimizer is not None:
        tensors, rest = optimizer_to_flat(optimizer)
        save_file(tensors, str(tmp / _OPT_T))
        (tmp / _OPT_J).write_text(json.dumps(rest))
    (tmp / _STATE).write_text(state_text)
    old = directory.with_name(directory.name + ".old")
    if directory.exists():
        if old.exists():
            shutil.rmtree(old)
        directory.rename(old)
    tmp.rename(directory)
    if old.exists():
        shutil.rmtree(old)
    return directory


def _recover_previous(directory: Path) -> None:
    """Put back the previous checkpoint if a save was killed between its two renames."""
    old = directory.with_name(directory.name + ".old")
    if not (directory / _STATE).is_file() and (old / _STATE).is_file() and not directory.exists():
        old.rename(directory)


def has_checkpoint(directory: str | os.PathLike | None) -> bool:
    """Whether ``directory`` holds a complete checkpoint (its ``state.json`` exists).

    A save killed after moving the previous checkpoint aside (``<directory>.old``) but
    before moving the new one in is repaired here: the previous checkpoint is put back.
    """
    if directory is None:
        return False
    _recover_previous(Path(directory))
    return (Path(directory) / _STATE).is_file()


def load_checkpoint(directory: str | os.PathLike, modules: Mapping[str, nn.Module],
                    optimizer: torch.optim.Optimizer | None = None, map_location: str | torch.device = "cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint` into ``modules`` / ``optimizer``.

    Parameters
    ----------
    directory : str or os.PathLike
    modules : mapping of str to torch.nn.Module
        Loaded in place (strict).
    optimizer : torch.optim.Optimizer, optional
        Loaded in place when given (the checkpoint must hold optimiser state).
    map_location : str or torch.device
        Device for the loaded tensors.

    Returns
    -------
    dict
        The saved ``state``.

    Raises
    ------
    ProbekitError
        Missing folder/files, or weights that do not fit a module (names the keys).
    """
    directory = Path(directory)
    if not has_checkpoint(directory):
        raise ProbekitError(f"no checkpoint in {str(directory)!r} (state.json missing)")
    device = str(map_location)
    for name, module in modules.items():
        path = directory / f"{name}.safetensors"
        if not path.is_file():
            have = sorted(p.stem for p in directory.glob("*.safetensors"))
            raise ProbekitError(f"checkpoint {str(directory)!r} has no module {name!r}; it has {have}")
        sd = load_file(str(path), device=device)
        try:
            missing, unexpected = module.load_state_dict(sd, strict=False)
        except RuntimeError as exc:  # shape mismatches
            raise ProbekitError(f"checkpoint module {name!r} does not fit: {str(exc).splitlines()[-1].strip()}") from exc
        if missing or unexpected:
            raise ProbekitError(
                f"checkpoint module {name!r} does not fit: missing keys {list(missing)[:6]}, "
                f"unexpected keys {list(unexpected)[:6]}"
            )
    if optimizer is not None:
        if not (directory / _OPT_J).is_file():
            raise ProbekitError(f"checkpoint {str(directory)!r} holds no optimizer state")
        tensors = load_file(str(directory / _OPT_T), device=device) if (directory / _OPT_T).is_file() else {}
        rest = json.loads((directory / _OPT_J).read_text())
        optimizer.load_state_dict(optimizer_from_flat(tensors, rest))
    return json.loads((directory / _STATE).read_text())
