"""Cross-entropy training that inverts a data-generating process (Reizinger et al. 2025).

Two trainers:

* :func:`train_cross_entropy` -- the synthetic set-up: latents ``z`` on the sphere
  (:class:`~probekit.synthetic.sphere.ClusteredSphereLatents`), observations
  ``x = g(z)`` from a frozen invertible generator, an MLP encoder ``f`` (Linear +
  BatchNorm + LeakyReLU) and a bias-free linear head ``W``, trained with cross-entropy
  over instance labels (``task="diet"``, parametric instance discrimination) or class
  labels (``task="supervised"``). Every step draws a fresh batch of latents. Every
  ``eval_every`` steps (and at step 0 and at the end) it reports how linearly ``f(g(z))``
  recovers ``z`` (:func:`evaluate_identifiability`).
* :func:`train_classifier` -- cross-entropy classification of a fixed labelled data set
  (the DisLib experiment: dSprites shape), with early stopping on validation accuracy.

Both seed everything from ``seed``, show a tqdm bar, run on CPU or GPU, and save
resumable checkpoints (:mod:`probekit.train.checkpoint`: safetensors + JSON); a resumed
run continues exactly like an uninterrupted one.

Dtypes: models train in float32; metrics are computed in float64.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from probekit.devices import resolve_device
from probekit.errors import ProbekitError, did_you_mean
from probekit.metrics.identifiability import affine_r2, orthogonal_identifiability, singular_value_mae
from probekit.train.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint

__all__ = [
    "LR_SCHEDULES",
    "TASKS",
    "ClassifierConfig",
    "ClassifierResult",
    "CrossEntropyConfig",
    "CrossEntropyResult",
    "LinearHead",
    "evaluate_identifiability",
    "head_identifiability",
    "head_singular_value_mae",
    "mlp_encoder",
    "train_classifier",
    "train_cross_entropy",
]

#: Label sets the synthetic trainer can classify.
TASKS = ("diet", "supervised")
#: Learning-rate schedules of :class:`CrossEntropyConfig`.
LR_SCHEDULES = ("constant", "cosine")


def mlp_encoder(dim_in: int, dim_out: int | None = None, hidden: list[int] | tuple[int, ...] | None = None,
                batch_norm: bool = True, negative_slope: float = 0.01) -> nn.Sequential:
    """MLP encoder of Zimmermann et al. (2021) / Reizinger et al. (2025).

    ``Linear -> BatchNorm1d -> LeakyReLU`` for every hidden layer, then a final
    ``Linear`` (with bias, no normalisation).

    Parameters
    ----------
    dim_in : int
        Input width ``d``.
    dim_out : int, optional
        Output width (default ``dim_in``).
    hidden : sequence of int, optional
        Hidden widths; default the paper's ``[10d, 50d, 50d, 50d, 50d, 10d]``.
    batch_norm : bool
    negative_slope : float
        LeakyReLU slope (reference code: PyTorch's default 0.01).

    Returns
    -------
    torch.nn.Sequential
        Maps ``(batch, dim_in)`` float32 to ``(batch, dim_out)``.

    Raises
    ------
    ProbekitError
        Non-positive widths.

    References
    ----------
    Reizinger et al. (2025), ICLR, App. (encoder d -> 10d -> 50d x4 -> 10d -> d).
    """
    dim_out = dim_in if dim_out is None else dim_out
    if hidden is None:
        hidden = [10 * dim_in] + [50 * dim_in] * 4 + [10 * dim_in]
    widths = [int(dim_in), *[int(h) for h in hidden], int(dim_out)]
    if min(widths) < 1:
        raise ProbekitError(f"encoder widths must be >= 1; got {widths}")
    mods: list[nn.Module] = []
    for i in range(len(widths) - 1):
        mods.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            if batch_norm:
                mods.append(nn.BatchNorm1d(widths[i + 1]))
            mods.append(nn.LeakyReLU(negative_slope))
    return nn.Sequential(*mods)


class LinearHead(nn.Module):
    """Bias-free linear classification head ``logits = z W^T``, rows optionally unit-norm.

    Parameters
    ----------
    dim : int
        Feature width.
    n_outputs : int
        Number of labels (instances ``N`` for DIET, classes ``|C|`` for supervised).
    normalize_rows : bool
        When true, :meth:`renormalize_` projects every row of ``W`` to unit norm; the
        trainer calls it before each step (the paper's "normalized head").

    Attributes
    ----------
    weight : torch.nn.Parameter, shape (n_outputs, dim)
    """

    def __init__(self, dim: int, n_outputs: int, normalize_rows: bool = False) -> None:
        super().__init__()
        self.linear = nn.Linear(int(dim), int(n_outputs), bias=False)
        self.normalize_rows = bool(normalize_rows)

    @property
    def weight(self) -> nn.Parameter:
        return self.linear.weight

    @torch.no_grad()
    def renormalize_(self) -> None:
        """Rescale every row of ``W`` to unit L2 norm (no-op when ``normalize_rows`` is false)."""
        if self.normalize_rows:
            w = self.linear.weight
            w.div_(w.norm(dim=1, keepdim=True).clamp_min(1e-12))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Logits, shape (batch, n_outputs)."""
        return self.linear(z)


@dataclass
class CrossEntropyConfig:
    """Settings of :func:`train_cross_entropy` (saved with every checkpoint).

    Attributes
    ----------
    task : {"diet", "supervised"}
        Labels: instance index (DIET) or class (supervised).
    steps : int
        Optimiser steps (paper: about 50,000).
    batch_size : int
        Paper: 1024.
    lr : float
        Adam learning rate (paper: 1e-3).
    lr_schedule : {"constant", "cosine"}
        Constant (paper) or cosine decay from ``lr`` to 0 over ``steps`` (converges in
        fewer steps; used by the recipe's CPU budget).
    normalize_head : bool
        Unit-norm rows of the head, re-projected every step.
    hidden : tuple of int or None
        Encoder hidden widths (``None`` = the paper's).
    eval_every : int
        Evaluate every this many steps (also at 0 and at the end).
    eval_samples : int
        Fresh latents per evaluation (paper: 8192; half fit, half score).
    seed : int
        Seeds encoder/head initialisation, the training latents and the evaluation set.
    device : str
        ``"cpu"``, ``"cuda"``, ``"auto"``.
    checkpoint_dir : str or None
        Resumable checkpoints go (and are resumed from) here.
    checkpoint_every : int or None
        Default ``eval_every``; the last step is always saved.
    progress : bool
        tqdm bar.
    """

    task: str = "diet"
    steps: int = 50000
    batch_size: int = 1024
    lr: float = 1e-3
    lr_schedule: str = "constant"
    normalize_head: bool = False
    hidden: tuple[int, ...] | None = None
    eval_every: int = 1000
    eval_samples: int = 8192
    seed: int = 0
    device: str = "cpu"
    checkpoint_dir: str | None = None
    checkpoint_every: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ProbekitError(did_you_mean(str(self.task), TASKS, "task"))
        for name in ("steps", "batch_size", "eval_every"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ProbekitError(f"{name} must be an integer >= 1; got {v!r}")
        if self.batch_size < 2:
            raise ProbekitError(f"batch_size must be >= 2 (BatchNorm); got {self.batch_size}")
        if not isinstance(self.eval_samples, (int, np.integer)) or self.eval_samples < 16:
            raise ProbekitError(f"eval_samples must be an integer >= 16; got {self.eval_samples!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ProbekitError(f"lr must be > 0; got {self.lr!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ProbekitError(did_you_mean(str(self.lr_schedule), LR_SCHEDULES, "lr_schedule"))
        if self.checkpoint_every is not None and self.checkpoint_every < 1:
            raise ProbekitError(f"checkpoint_every must be >= 1 or None; got {self.checkpoint_every}")
        if self.hidden is not None:
            self.hidden = tuple(int(h) for h in self.hidden)
        resolve_device(self.device)


@dataclass
class CrossEntropyResult:
    """Output of :func:`train_cross_entropy`.

    Attributes
    ----------
    encoder : torch.nn.Module
        Trained ``f`` (eval mode).
    head : LinearHead
    history : list of dict
        One row per evaluation: ``step``, ``loss`` (mean since the previous evaluation;
        NaN-free, ``None`` at step 0) and the keys of :func:`evaluate_identifiability`
        (``affine_r2``, ``linear_r2``, ``sv_deviation``, ``sv_mae`` against ``1 / kappa``,
        ``singular_values``, ``head_r2``, ``head_sv_mae``; ``None`` when not computable).
    final : dict
        The last row of ``history``.
    config : CrossEntropyConfig
    """

    encoder: nn.Module
    head: LinearHead
    history: list[dict]
    final: dict
    config: CrossEntropyConfig


def head_identifiability(head_weight, cluster_vectors, normalized: bool, seed: int = 0) -> float | None:
    """R² of the head rows ``w_j`` against their cluster vectors ``v_{j mod |C|}`` (w -> v).

    Affine R² for an unnormalised head, no-intercept R² for a normalised one, fitted on
    half of the rows and scored on the other half.

    Parameters
    ----------
    head_weight : array-like, shape (n_outputs, dim)
    cluster_vectors : array-like, shape (n_classes, dim)
    normalized : bool
    seed : int

    Returns
    -------
    float or None
        ``None`` when there are too few rows to fit the map (fewer than ``2 (dim + 2)``).

    References
    ----------
    Reizinger et al. (2025), ICLR, Table 2 (column "w -> v").
    """
    w = np.asarray(head_weight.detach().cpu() if isinstance(head_weight, torch.Tensor) else head_weight,
                   dtype=np.float64)
    v = np.asarray(cluster_vectors, dtype=np.float64)
    if w.shape[0] < 2 * (w.shape[1] + 2):
        return None
    target = v[np.arange(w.shape[0]) % v.shape[0]]
    fn = orthogonal_identifiability if normalized else affine_r2
    return float(fn(w, target, test_size=0.5, seed=seed).mean)


def head_singular_value_mae(head_weight, cluster_vectors, seed: int = 0) -> float | None:
    """MAE to 1 of the singular values of the no-intercept map from head rows to cluster vectors.

    The normalised-head "orthogonal" w -> v score: unit rows ``w_j`` that are an orthogonal
    transform of their unit cluster vectors ``v_{j mod |C|}`` give singular values 1 and
    an MAE of 0 (:func:`probekit.metrics.identifiability.singular_value_mae`, target 1).

    Parameters
    ----------
    head_weight : array-like, shape (n_outputs, dim)
    cluster_vectors : array-like, shape (n_classes, dim)
    seed : int
        Seed of the half/half split the map is fitted on.

    Returns
    -------
    float or None
        ``None`` with fewer than ``2 (dim + 2)`` rows or a zero map.

    References
    ----------
    Reizinger et al. (2025), ICLR, Sec. 5; reference code klindtlab/csi
    ``simulation/main_diet.py`` ``test_disentanglement_W_ortho`` (``scaler=1.0``).
    """
    w = np.asarray(head_weight.detach().cpu() if isinstance(head_weight, torch.Tensor) else head_weight,
                   dtype=np.float64)
    v = np.asarray(cluster_vectors, dtype=np.float64)
    if w.shape[0] < 2 * (w.shape[1] + 2):
        return None
    try:
        orth = orthogonal_identifiability(w, v[np.arange(w.shape[0]) % v.shape[0]], test_size=0.5, seed=seed)
    except ProbekitError:  # a zero map
        return None
    return singular_value_mae(orth.singular_values, 1.0)


@torch.no_grad()
def evaluate_identifiability(encoder: nn.Module, generator: nn.Module, z: np.ndarray, *,
                             head: LinearHead | None = None, cluster_vectors: np.ndarray | None = None,
                             sv_target: float | None = None, seed: int = 0,
                             device: str | torch.device = "cpu") -> dict[str, Any]:
    """How linearly ``f(g(z))`` recovers ``z``.

    Parameters
    ----------
    encoder : torch.nn.Module
        ``f``; evaluated in eval mode (restored afterwards).
    generator : torch.nn.Module
        ``g``.
    z : numpy.ndarray of float64, shape (n_samples, n_latents)
        Fresh evaluation latents.
    head : LinearHead, optional
        When given with ``cluster_vectors``, also reports ``head_r2`` (w -> v).
    cluster_vectors : numpy.ndarray, shape (n_classes, n_latents), optional
    sv_target : float, optional
        Target of the singular values of the no-intercept map z_learned -> z (the trainer
        passes ``1 / kappa``, as the reference code); ``sv_mae`` is NaN without it.
    seed : int
        Seed of the half/half split.
    device : str or torch.device

    Returns
    -------
    dict
        ``affine_r2`` (held-out R² with intercept, z_learned -> z), ``linear_r2``
        (no intercept: the orthogonal case), ``sv_deviation`` (mean relative spread of the
        singular values of the no-intercept map; 0 for a scaled orthogonal map),
        ``sv_mae`` (mean |s_k - sv_target|), ``singular_values`` (list, descending),
        ``head_r2`` (float or ``None``) and ``head_sv_mae`` (normalised heads only, else
        ``None``: :func:`head_singular_value_mae`).

    References
    ----------
    Reizinger et al. (2025), ICLR, Sec. 5, Tables 2-3 (affine R² z~ -> z; orthogonal case:
    no-intercept R² and singular values of the fitted map).
    """
    was_training = encoder.training
    encoder.eval()
    dev = torch.device(device)
    zt = torch.from_numpy(np.ascontiguousarray(z)).float().to(dev)
    out = []
    for start in range(0, zt.shape[0], 8192):
        out.append(encoder(generator(zt[start : start + 8192])).double().cpu())
    zl = torch.cat(out).numpy()
    encoder.train(was_training)
    if not np.all(np.isfinite(zl)):
        raise ProbekitError("the encoder produced NaN/inf features; lower the learning rate")
    aff = affine_r2(zl, z, test_size=0.5, seed=seed)
    try:
        orth = orthogonal_identifiability(zl, z, test_size=0.5, seed=seed)
        lin_r2, sv_dev, svs = float(orth.mean), float(orth.sv_deviation), [float(v) for v in orth.singular_values]
    except ProbekitError:  # a zero map: no linear information at all
        lin_r2, sv_dev, svs = float(np.nan), float(np.nan), []
    sv_mae = singular_value_mae(svs, sv_target) if svs and sv_target is not None else float(np.nan)
    head_r2 = head_sv = None
    if head is not None and cluster_vectors is not None:
        head_r2 = head_identifiability(head.weight, cluster_vectors, head.normalize_rows, seed=seed)
        if head.normalize_rows:
            head_sv = head_singular_value_mae(head.weight, cluster_vectors, seed=seed)
    return {"affine_r2": float(aff.mean), "linear_r2": lin_r2, "sv_deviation": sv_dev, "sv_mae": sv_mae,
            "singular_values": svs, "head_r2": head_r2, "head_sv_mae": head_sv}


_RESUME_KEYS = ("task", "batch_size", "lr", "lr_schedule", "normalize_head", "hidden", "eval_samples", "seed")


def train_cross_entropy(latents, generator: nn.Module, config: CrossEntropyConfig | None = None,
                        encoder: nn.Module | None = None) -> CrossEntropyResult:
    """Train ``f`` and a bias-free head with cross-entropy on fresh latents every step.

    Each step: draw ``batch_size`` triples ``(z, instance, class)`` from ``latents``,
    ``x = g(z)``, logits ``W f(x)``, cross-entropy against the instance (DIET) or class
    (supervised) labels, one Adam step. With ``normalize_head`` the rows of ``W`` are
    projected to unit norm before each step.

    Parameters
    ----------
    latents : ClusteredSphereLatents
        Latent sampler with ``dim``, ``n_instances``, ``n_classes``, ``cluster_vectors``
        and ``sample(n, rng) -> (z, instance, class)``.
    generator : torch.nn.Module
        Frozen ``g`` mapping ``(batch, dim)`` to ``(batch, dim_x)``.
    config : CrossEntropyConfig, optional
    encoder : torch.nn.Module, optional
        Default :func:`mlp_encoder` ``(dim_x -> dim)`` with ``config.hidden``.

    Returns
    -------
    CrossEntropyResult

    Raises
    ------
    ProbekitError
        A checkpoint in ``checkpoint_dir`` written with different settings; NaN loss.

    References
    ----------
    Reizinger, Bizeul, Juhos, Vogt, Balestriero, Brendel & Klindt (2025), "Cross-Entropy
    Is All You Need To Invert the Data Generating Process", ICLR, Thm. 1 and Sec. 5;
    Ibrahim et al. (2024), "Occam's Razor for Self Supervised Learning: What is
    Sufficient to Learn Good Representations?" (DIET).
    """
    cfg = config or CrossEntropyConfig()
    dev = resolve_device(cfg.device)
    generator, encoder, head = _cross_entropy_models(latents, generator, encoder, cfg, dev)
    opt = torch.optim.Adam(list(encoder.parameters()) + list(head.parameters()), lr=cfg.lr)
    rng = np.random.default_rng([int(cfg.seed), 1])
    z_eval = latents.sample(int(cfg.eval_samples), np.random.default_rng([int(cfg.seed), 2]))[0]
    modules = {"encoder": encoder, "head": head}
    step, history = _resume_cross_entropy(cfg, modules, opt, rng, dev)
    ckpt_every = cfg.checkpoint_every or cfg.eval_every

    def _save() -> None:
        if cfg.checkpoint_dir is None:
            return
        save_checkpoint(cfg.checkpoint_dir, modules, opt, {
            "step": step, "history": history, "rng": rng.bit_generator.state,
            "config": asdict(cfg), "latents": {k: getattr(latents, k) for k in
                                               ("dim", "n_classes", "n_instances", "concentration", "conditional",
                                                "scale", "marginal", "seed") if hasattr(latents, k)},
        })

    def _evaluate(loss: float | None) -> None:
        head.renormalize_()
        row = {"step": step, "loss": loss}
        row.update(evaluate_identifiability(encoder, generator, z_eval, head=head,
                                            cluster_vectors=getattr(latents, "cluster_vectors", None),
                                            sv_target=_sv_target(latents), seed=int(cfg.seed), device=dev))
        history.append(row)

    if step == 0 and not history:
        _evaluate(None)
    encoder.train()
    losses: list[float] = []
    bar = tqdm(total=cfg.steps, initial=min(step, cfg.steps), disable=not cfg.progress,
               desc=f"{cfg.task}{' (norm. head)' if cfg.normalize_head else ''}", leave=False)
    while step < cfg.steps:
        losses.append(_cross_entropy_step(latents, generator, encoder, head, opt, cfg, step, rng, dev))
        step += 1
        bar.update(1)
        if step % cfg.eval_every == 0 or step == cfg.steps:
            _evaluate(float(np.mean(losses)))
            losses = []
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", r2=f"{history[-1]['affine_r2']:.3f}")
        if step % ckpt_every == 0 or step == cfg.steps:
            _save()
    bar.close()
    head.renormalize_()
    encoder.eval()
    return CrossEntropyResult(encoder=encoder, head=head, history=history, final=dict(history[-1]), config=cfg)


def _sv_target(latents) -> float | None:
    """``1 / kappa`` (the reference code's ``scaler=c_param``), ``None`` without a positive ``concentration``."""
    kappa = getattr(latents, "concentration", None)
    return 1.0 / float(kappa) if isinstance(kappa, (int, float)) and kappa > 0 else None


def _cross_entropy_models(latents, generator: nn.Module, encoder: nn.Module | None, cfg: CrossEntropyConfig,
                          dev) -> tuple[nn.Module, nn.Module, LinearHead]:
    """The frozen generator, the encoder (default :func:`mlp_encoder`) and the bias-free
    head (``n_instances`` rows for DIET, ``n_classes`` for supervised), on ``dev``."""
    dim = int(latents.dim)
    torch.manual_seed(cfg.seed)
    generator = generator.to(dev)
    for p in generator.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        dim_x = int(generator(torch.zeros(2, dim, device=dev)).shape[1])
    if encoder is None:
        encoder = mlp_encoder(dim_x, dim, hidden=cfg.hidden)
    encoder = encoder.to(dev)
    n_out = int(latents.n_instances if cfg.task == "diet" else latents.n_classes)
    return generator, encoder, LinearHead(dim, n_out, normalize_rows=cfg.normalize_head).to(dev)


def _resume_cross_entropy(cfg: CrossEntropyConfig, modules: dict, opt, rng: np.random.Generator,
                          dev) -> tuple[int, list[dict]]:
    """Load ``cfg.checkpoint_dir`` when it holds a checkpoint (modules, optimizer and the
    sampler's RNG state in place); the step and history to continue from.

    Raises
    ------
    ProbekitError
        The checkpoint was written with other settings (any of ``_RESUME_KEYS``).
    """
    if not has_checkpoint(cfg.checkpoint_dir):
        return 0, []
    state = load_checkpoint(cfg.checkpoint_dir, modules, opt, map_location=dev)
    saved = state.get("config", {})
    for key in _RESUME_KEYS:
        a, b = saved.get(key), asdict(cfg)[key]
        if (list(a) if isinstance(a, (list, tuple)) else a) != (list(b) if isinstance(b, (list, tuple)) else b):
            raise ProbekitError(
                f"checkpoint in {cfg.checkpoint_dir!r} was written with {key}={a!r}, this run has {key}={b!r}; "
                "use another checkpoint_dir or the same settings"
            )
    rng.bit_generator.state = state["rng"]
    return int(state["step"]), list(state["history"])


def _cross_entropy_step(latents, generator, encoder, head: LinearHead, opt, cfg: CrossEntropyConfig, step: int,
                        rng: np.random.Generator, dev) -> float:
    """One Adam step on a fresh batch (cosine learning rate when configured); the loss.

    Raises
    ------
    ProbekitError
        The loss is NaN or infinite.
    """
    if cfg.lr_schedule == "cosine":
        for group in opt.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1.0 + math.cos(math.pi * step / cfg.steps))
    z, inst, cls = latents.sample(int(cfg.batch_size), rng)
    labels = torch.from_numpy(inst if cfg.task == "diet" else cls).to(dev)
    x = generator(torch.from_numpy(z).float().to(dev))
    head.renormalize_()
    return _optimizer_step(opt, F.cross_entropy(head(encoder(x)), labels), f"at step {step + 1}", cfg.lr)


def _optimizer_step(opt, loss: torch.Tensor, where: str, lr: float) -> float:
    """Zero the gradients, back-propagate ``loss``, step ``opt``; the loss as a float.

    Raises
    ------
    ProbekitError
        The loss is NaN or infinite (``where`` names the step / epoch).
    """
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    value = float(loss.detach())
    if not math.isfinite(value):
        raise ProbekitError(f"loss became {value} {where}; lower lr (now {lr})")
    return value


# --------------------------------------------------------------------------- classifier


@dataclass
class ClassifierConfig:
    """Settings of :func:`train_classifier`.

    Attributes
    ----------
    epochs : int
        Maximum epochs (paper: 100).
    batch_size : int
        Paper: 4096.
    lr : float
        Adam learning rate (paper: 1e-3).
    target_val_accuracy : float or None
        Stop once validation accuracy exceeds this (paper: 0.999); ``None`` never stops early.
    seed : int
        Seeds initialisation of the head and the batch order (epoch ``e`` uses seed ``(seed, e)``).
    device : str
    checkpoint_dir : str or None
        A checkpoint is written after every epoch and resumed from when present.
    progress : bool
    """

    epochs: int = 100
    batch_size: int = 4096
    lr: float = 1e-3
    target_val_accuracy: float | None = 0.999
    seed: int = 0
    device: str = "cpu"
    checkpoint_dir: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ProbekitError(f"{name} must be an integer >= 1; got {v!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ProbekitError(f"lr must be > 0; got {self.lr!r}")
        if self.target_val_accuracy is not None and not 0 < self.target_val_accuracy <= 1:
            raise ProbekitError(f"target_val_accuracy must be in (0, 1] or None; got {self.target_val_accuracy!r}")
        resolve_device(self.device)


@dataclass
class ClassifierResult:
    """Output of :func:`train_classifier`.

    Attributes
    ----------
    encoder : torch.nn.Module
        Weights of the epoch with the best validation accuracy (eval mode).
    head : torch.nn.Linear
    history : list of dict
        Per epoch: ``epoch``, ``loss``, ``val_accuracy``.
    best_val_accuracy : float
    """

    encoder: nn.Module
    head: nn.Module
    history: list[dict] = field(default_factory=list)
    best_val_accuracy: float = 0.0


def _as_float_batch(x: torch.Tensor, dev: torch.device) -> torch.Tensor:
    return x.to(dev).float()


@torch.no_grad()
def _accuracy(encoder, head, x, y, batch_size, dev) -> float:
    encoder.eval()
    correct = 0
    for s in range(0, x.shape[0], batch_size):
        pred = head(encoder(_as_float_batch(x[s : s + batch_size], dev))).argmax(1).cpu()
        correct += int((pred == y[s : s + batch_size]).sum())
    return correct / max(1, x.shape[0])


def train_classifier(encoder: nn.Module, feature_dim: int, n_classes: int, x_train: torch.Tensor,
                     y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor,
                     config: ClassifierConfig | None = None) -> ClassifierResult:
    """Train ``encoder`` + a linear head on a labelled data set with cross-entropy.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps a batch of inputs to ``(batch, feature_dim)``.
    feature_dim : int
    n_classes : int
    x_train, x_val : torch.Tensor, shape (n_samples, ...)
        Inputs (any dtype; converted to float32 per batch, so uint8 images stay small).
    y_train, y_val : torch.Tensor of int64, shape (n_samples,)
    config : ClassifierConfig, optional

    Returns
    -------
    ClassifierResult
        The encoder and head of the best validation epoch.

    Raises
    ------
    ProbekitError
        Mismatched lengths, labels outside ``0 .. n_classes - 1``, a non-finite loss.

    References
    ----------
    Reizinger et al. (2025), ICLR, Sec. 6 / Table 4 (DisLib: classify one categorical
    factor with cross-entropy, Adam 1e-3, early stop at validation accuracy > 0.999).
    """
    cfg = config or ClassifierConfig()
    dev = resolve_device(cfg.device)
    if x_train.shape[0] != y_train.shape[0] or x_val.shape[0] != y_val.shape[0]:
        raise ProbekitError(
            f"inputs and labels differ in length: train {x_train.shape[0]} vs {y_train.shape[0]}, "
            f"val {x_val.shape[0]} vs {y_val.shape[0]}"
        )
    for name, y in (("y_train", y_train), ("y_val", y_val)):
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= n_classes):
            raise ProbekitError(f"{name} has labels outside 0..{n_classes - 1}: [{int(y.min())}, {int(y.max())}]")
    torch.manual_seed(cfg.seed)
    encoder = encoder.to(dev)
    head = nn.Linear(int(feature_dim), int(n_classes)).to(dev)
    opt = torch.optim.Adam(list(encoder.parameters()) + list(head.parameters()), lr=cfg.lr)
    # the best epoch's weights are checkpointed too, so a resumed run returns them as well
    best_encoder, best_head = copy.deepcopy(encoder), copy.deepcopy(head)
    modules = {"encoder": encoder, "head": head, "best_encoder": best_encoder, "best_head": best_head}
    history: list[dict] = []
    best = -1.0
    epoch = 0
    if has_checkpoint(cfg.checkpoint_dir):
        state = load_checkpoint(cfg.checkpoint_dir, modules, opt, map_location=dev)
        epoch, history, best = int(state["epoch"]), list(state["history"]), float(state["best"])
    n = x_train.shape[0]
    bar = tqdm(total=cfg.epochs, initial=epoch, disable=not cfg.progress, desc="classifier", leave=False)
    done = bool(history) and cfg.target_val_accuracy is not None and best > cfg.target_val_accuracy
    while epoch < cfg.epochs and not done:
        encoder.train()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(int(cfg.seed) * 100003 + epoch))
        losses = []
        for s in range(0, n, cfg.batch_size):
            idx = order[s : s + cfg.batch_size]
            if idx.numel() < 2:
                continue
            loss = F.cross_entropy(head(encoder(_as_float_batch(x_train[idx], dev))), y_train[idx].to(dev))
            losses.append(_optimizer_step(opt, loss, f"in epoch {epoch}", cfg.lr))
        epoch += 1
        acc = _accuracy(encoder, head, x_val, y_val, cfg.batch_size, dev)
        history.append({"epoch": epoch, "loss": float(np.mean(losses)) if losses else None, "val_accuracy": acc})
        if acc > best:
            best = acc
            best_encoder.load_state_dict(encoder.state_dict())
            best_head.load_state_dict(head.state_dict())
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", val_acc=f"{acc:.4f}")
        if cfg.checkpoint_dir is not None:
            save_checkpoint(cfg.checkpoint_dir, modules, opt, {"epoch": epoch, "history": history, "best": best,
                                                               "config": asdict(cfg)})
        if cfg.target_val_accuracy is not None and acc > cfg.target_val_accuracy:
            done = True
    bar.close()
    if history:
        encoder.load_state_dict(best_encoder.state_dict())
        head.load_state_dict(best_head.state_dict())
    encoder.eval()
    return ClassifierResult(encoder=encoder, head=head, history=history, best_val_accuracy=max(best, 0.0))
