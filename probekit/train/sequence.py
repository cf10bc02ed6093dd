"""Train a sequence model on next-step prediction (MSE), with resumable checkpoints.

AdamW, linear warm-up then cosine decay of the learning rate, next-step mean
squared error, evaluation at initialisation (step 0), every ``eval_every``
steps and at the end, checkpoints as ``step_XXXXXXX`` folders written by
:mod:`probekit.train.checkpoint` (safetensors + JSON) plus a ``latest.json`` pointing at
the newest one. Batch order is a pure function of ``(seed, epoch)``, so a run
resumed from a checkpoint continues exactly like an uninterrupted one.

Dtypes: the model trains in its own dtype (float32 by default); losses are
reported as Python floats.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from probekit.devices import model_device
from probekit.errors import ProbekitError
from probekit.train.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint

__all__ = [
    "SequenceTrainConfig",
    "TrainResult",
    "cosine_warmup_factor",
    "load_step_checkpoint",
    "save_step_checkpoint",
    "train_sequence_model",
]


@dataclass
class SequenceTrainConfig:
    """Settings of :func:`train_sequence_model` (saved with every checkpoint).

    Attributes
    ----------
    steps : int
        Optimiser steps in total (one step = one batch).
    batch_size : int
        Trajectories per batch (paper: 10).
    lr : float
        Peak learning rate (paper: 1e-3).
    weight_decay : float
        AdamW weight decay.
    warmup_steps : int
        Linear warm-up length (steps).
    min_lr_ratio : float
        Learning rate at the end of the cosine, as a fraction of ``lr``.
    eval_every : int
        Evaluate every this many steps (plus at step 0 and at the end).
    checkpoint_dir : str or None
        Where checkpoints go; ``None`` = no checkpoints.
    checkpoint_every : int or None
        Checkpoint period in steps (default ``eval_every``); the last step is always saved.
    grad_clip : float or None
        Max global gradient norm; ``None`` = no clipping.
    seed : int
        Seeds the batch order.
    device : str
        ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ... (``'auto'`` = cuda when available).
    progress : bool
        Show a tqdm bar.
    """

    steps: int = 1000
    batch_size: int = 10
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    min_lr_ratio: float = 0.0
    eval_every: int = 100
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    grad_clip: float | None = 1.0
    seed: int = 0
    device: str = "cpu"
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every"):
            if int(getattr(self, name)) < 1:
                raise ProbekitError(f"{name} must be >= 1; got {getattr(self, name)}")
        if self.warmup_steps < 0:
            raise ProbekitError(f"warmup_steps must be >= 0; got {self.warmup_steps}")
        if not self.lr > 0:
            raise ProbekitError(f"lr must be > 0; got {self.lr}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ProbekitError(f"min_lr_ratio must be in [0, 1]; got {self.min_lr_ratio}")
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ProbekitError(f"checkpoint_every must be >= 1 or None; got {self.checkpoint_every}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ProbekitError(f"grad_clip must be > 0 or None; got {self.grad_clip}")
        if self.device == "auto":
            self.device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            dev = torch.device(self.device)
        except RuntimeError as exc:
            raise ProbekitError(f"device {self.device!r} is not a torch device ('cpu', 'cuda', 'auto')") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ProbekitError(f"device {self.device!r} requested but CUDA is not available; use 'cpu'")


def cosine_warmup_factor(step: int, warmup: int, total: int, min_ratio: float = 0.0) -> float:
    """Learning-rate multiplier: linear warm-up to 1, then cosine decay to ``min_ratio``.

    ``factor(s) = (s + 1) / warmup`` for ``s < warmup``; afterwards
    ``min_ratio + (1 - min_ratio) * 0.5 * (1 + cos(pi * p))`` with
    ``p = (s - warmup) / max(1, total - warmup)``.

    References
    ----------
    Loshchilov & Hutter (2017). SGDR, ICLR, eq. 5 (cosine annealing); Goyal et al. (2017)
    (linear warm-up).
    """
    if step < warmup:
        return (step + 1) / warmup
    p = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))


@dataclass
class TrainResult:
    """What :func:`train_sequence_model` returns.

    Attributes
    ----------
    model : nn.Module
        The trained model (in eval mode).
    history : list of dict
        One row per evaluation: ``step``, ``lr``, ``train_loss`` (mean since the
        previous evaluation; ``None`` at step 0), ``val_loss``, plus whatever the
        ``evaluate`` callback returned.
    steps : int
        Steps completed.
    resumed_from : int or None
        Step of the checkpoint the run resumed from.
    config : SequenceTrainConfig
    """

    model: nn.Module
    history: list = field(default_factory=list)
    steps: int = 0
    resumed_from: int | None = None
    config: SequenceTrainConfig | None = None


def _batch(dataset, idx: torch.Tensor):
    data = getattr(dataset, "data", None)
    if isinstance(data, torch.Tensor):
        return dataset[idx]
    items = [dataset[int(i)] for i in idx]
    return torch.stack([a for a, _ in items]), torch.stack([b for _, b in items])


def _order(seed: int, epoch: int, n: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=gen)


@torch.no_grad()
def _val_loss(model: nn.Module, dataset, batch_size: int, device) -> float:
    model.eval()
    total, count = 0.0, 0
    n = len(dataset)
    for i in range(0, n, batch_size):
        x, y = _batch(dataset, torch.arange(i, min(n, i + batch_size)))
        pred = model(x.to(device))
        total += float(((pred - y.to(device)) ** 2).sum())
        count += y.numel()
    return total / count


def save_step_checkpoint(directory: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer,
                    step: int, config: SequenceTrainConfig, history: list,
                    extra: dict | None = None) -> Path:
    """Write the checkpoint of ``step`` to ``directory/step_XXXXXXX`` and point ``directory/latest.json`` at it.

    The step folder is written atomically by :func:`probekit.train.checkpoint.save_checkpoint`
    (``model.safetensors``, ``optimizer.safetensors``, ``optimizer.json``, ``state.json``);
    ``state.json`` holds ``step``, ``config``, ``history``, ``model_config``
    (``model.config`` if the model has one), ``model_class`` and ``extra``.

    Parameters
    ----------
    directory : str or os.PathLike
        Run folder holding the step folders and ``latest.json``.
    model : nn.Module
    optimizer : torch.optim.Optimizer
    step : int
        Optimiser steps completed.
    config : SequenceTrainConfig
    history : list of dict
        Evaluation rows so far (JSON-serialisable).
    extra : dict, optional
        More JSON-serialisable state.

    Returns
    -------
    pathlib.Path
        The step folder.

    Raises
    ------
    ProbekitError
        ``history`` / ``extra`` / ``model.config`` not JSON-serialisable.
    """
    root = Path(directory)
    folder = root / f"step_{int(step):07d}"
    state = {"step": int(step), "config": config, "history": history,
             "model_config": getattr(model, "config", None), "model_class": type(model).__name__,
             "extra": extra or {}}
    save_checkpoint(folder, {"model": model}, optimizer, state)
    tmp = root / "latest.json.tmp"
    tmp.write_text(json.dumps({"step": int(step), "folder": folder.name}))
    tmp.replace(root / "latest.json")
    return folder


def load_step_checkpoint(directory: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Load the latest checkpoint of ``directory`` (or a ``step_XXXXXXX`` folder) into ``model`` / ``optimizer``.

    Tensors are placed on the model's device.

    Parameters
    ----------
    directory : str or os.PathLike
        A run folder with ``latest.json``, or one step folder.
    model : nn.Module
        Loaded in place (strict).
    optimizer : torch.optim.Optimizer, optional
        Loaded in place when given.

    Returns
    -------
    dict
        The ``state.json`` contents (``step``, ``config``, ``history``, ``model_config``,
        ``model_class``, ``extra``).

    Raises
    ------
    ProbekitError
        No checkpoint found, or weights that do not fit ``model``.
    """
    root = Path(directory)
    if (root / "latest.json").exists():
        folder = root / json.loads((root / "latest.json").read_text())["folder"]
    elif has_checkpoint(root):
        folder = root
    else:
        raise ProbekitError(f"no checkpoint in {str(root)!r} (expected latest.json or state.json)")
    return load_checkpoint(folder, {"model": model}, optimizer, map_location=model_device(model))


def train_sequence_model(model: nn.Module, train_data, val_data=None,
                         config: SequenceTrainConfig | None = None,
                         evaluate: Callable[[nn.Module, int], dict] | None = None,
                         resume: bool = True) -> TrainResult:
    """Train ``model`` to predict the next observation (MSE on every position).

    Parameters
    ----------
    model : nn.Module
        Maps ``(batch, pos, input_dim)`` to ``(batch, pos, output_dim)``.
    train_data, val_data : Dataset
        Items ``(inputs, targets)`` of shape ``(pos, input_dim)`` / ``(pos, output_dim)``,
        e.g. :class:`probekit.synthetic.dynamical.NextStepDataset`.
    config : SequenceTrainConfig, optional
    evaluate : callable ``(model, step) -> dict``, optional
        Extra metrics at each evaluation (the model is in eval mode; train mode is
        restored afterwards). Values must be JSON-serialisable.
    resume : bool
        Continue from the latest checkpoint in ``config.checkpoint_dir`` if there is one.

    Returns
    -------
    TrainResult

    Raises
    ------
    ProbekitError
        Empty training set.
    """
    cfg = config or SequenceTrainConfig()
    n = len(train_data)
    if n == 0:
        raise ProbekitError("train_data is empty; need at least one trajectory")
    device = torch.device(cfg.device)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history: list = []
    start, resumed = 0, None
    if resume and cfg.checkpoint_dir and (Path(cfg.checkpoint_dir) / "latest.json").exists():
        meta = load_step_checkpoint(cfg.checkpoint_dir, model, optimizer)
        start = resumed = int(meta["step"])
        history = meta["history"]
    ckpt_every = cfg.checkpoint_every or cfg.eval_every
    steps_per_epoch = max(1, n // cfg.batch_size)  # drop the last partial batch

    def run_eval(step: int, train_loss: float | None) -> None:
        row = {"step": step, "lr": cfg.lr * cosine_warmup_factor(max(step - 1, 0), cfg.warmup_steps,
                                                                    cfg.steps, cfg.min_lr_ratio),
               "train_loss": train_loss}
        row["val_loss"] = _val_loss(model, val_data, max(cfg.batch_size, 32), device) if val_data is not None else None
        if evaluate is not None:
            model.eval()
            row.update(evaluate(model, step))
        model.train()
        history.append(row)

    if start == 0:
        run_eval(0, None)
    model.train()
    running, count = 0.0, 0
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, disable=not cfg.progress,
               desc=f"train {type(model).__name__}", leave=False)
    for step in bar:
        epoch, pos = divmod(step, steps_per_epoch)
        idx = _order(cfg.seed, epoch, n)[pos * cfg.batch_size:(pos + 1) * cfg.batch_size]
        x, y = _batch(train_data, idx)
        x, y = x.to(device), y.to(device)
        for g in optimizer.param_groups:
            g["lr"] = cfg.lr * cosine_warmup_factor(step, cfg.warmup_steps, cfg.steps, cfg.min_lr_ratio)
        loss = torch.mean((model(x) - y) ** 2)
        if not torch.isfinite(loss):
            raise ProbekitError(f"training loss became {loss.item()} at step {step}; lower lr={cfg.lr} "
                                "or enable grad_clip")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        running, count = running + loss.item(), count + 1
        done = step + 1
        if done % cfg.eval_every == 0 or done == cfg.steps:
            run_eval(done, running / count)
            bar.set_postfix(train=f"{running / count:.4g}", val=f"{history[-1]['val_loss'] or float('nan'):.4g}")
            running, count = 0.0, 0
        if cfg.checkpoint_dir and (done % ckpt_every == 0 or done == cfg.steps):
            save_step_checkpoint(cfg.checkpoint_dir, model, optimizer, done, cfg, history)
    bar.close()
    model.eval()
    return TrainResult(model=model, history=history, steps=cfg.steps, resumed_from=resumed, config=cfg)
