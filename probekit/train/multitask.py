"""Multi-task trainers for the Boolean world-model claims.

Multi-task networks (Zhang, Chen & Chen 2025, Sec. 6): a shared *trunk* maps the
observation ``x ∈ {±1}^n`` (n_samples, n_latents) to a representation
``r ∈ (-1, 1)^rep_dim`` (a ``tanh`` bottleneck by default, so ``r`` can become Boolean),
and one *head* per task maps ``r`` to that task's output. Trunks:

* ``"mlp"``: ReLU MLP ``n -> hidden x depth -> rep_dim``;
* ``"transformer"``: the bits as ``n`` tokens (value embedding + learned position
  embedding), a small pre-norm :class:`torch.nn.TransformerEncoder`, the token states
  flattened and mapped to ``rep_dim``.

Heads are small ReLU MLPs (``head_hidden`` units; 0 = linear heads), evaluated for all
tasks at once with batched einsums. ``degree_reg > 0`` adds an explicit low-degree
penalty on the heads: every head is evaluated on the whole representation cube
``{±1}^rep_dim`` and the mean total influence ``sum_S |S| g_hat(S)^2`` (Fourier–Walsh
weight times level, a differentiable surrogate of the degree) is added to the loss.

The input-basis ablation feeds ``E(x)`` for a fixed bijection ``E`` of the cube instead
of ``x`` (``input_map``; e.g. a random GF(2)-affine map, whose output bits are parities
of the input bits): the tasks and the latents are unchanged, only the basis in which the
network sees them.

The extrapolation task of the same paper (Sec. 5) is :mod:`probekit.synthetic.extrapolation`.

References
----------
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
(arXiv 2502.09297), Sec. 5 (OOD / basis-matched architectures) and Sec. 6 (multi-task
experiments); O'Donnell (2014), *Analysis of Boolean Functions*, Prop. 2.28 (total
influence as a degree-weighted spectrum).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from probekit.errors import ProbekitError, did_you_mean
from probekit.synthetic._checks import nonneg as _nonneg
from probekit.synthetic._checks import pos_int as _pos_int
from probekit.synthetic._checks import torch_threads as _torch_threads

__all__ = [
    "ARCHITECTURES",
    "MultiTaskConfig",
    "MultiTaskNet",
    "MultiTaskResult",
    "apply_input_map",
    "head_influence",
    "train_multitask",
    "untrained_multitask",
]

ARCHITECTURES = ("mlp", "transformer")
REP_ACTIVATIONS = ("tanh", "linear")


@dataclass
class MultiTaskConfig:
    """Configuration of one multi-task training run (saved with every run).

    Parameters
    ----------
    arch : {"mlp", "transformer"}
    hidden : int
        Width of the MLP trunk layers.
    depth : int
        Number of hidden ReLU layers of the MLP trunk.
    rep_dim : int or None
        Representation width; ``None`` = the number of latent bits.
    rep_activation : {"tanh", "linear"}
    head_hidden : int
        Hidden units per task head (0: linear heads).
    d_model, n_heads, n_layers : int
        Transformer trunk size.
    lr : float
        Adam learning rate.
    weight_decay : float
        AdamW weight decay.
    steps : int
        Full-batch (or mini-batch) optimisation steps.
    batch_size : int or None
        ``None``: full batch.
    degree_reg : float
        Weight of the head total-influence penalty (0 = off; needs ``rep_dim <= 12``).
    seed : int
        Seeds torch (initialisation, batches).
    device : str
    num_threads : int or None
        torch intra-op threads during training (restored afterwards). The default 1 is
        fastest for these tiny models, especially on a shared, busy CPU; ``None`` keeps
        torch's global setting.
    progress : bool
        tqdm bar over steps.
    """

    arch: str = "mlp"
    hidden: int = 64
    depth: int = 2
    rep_dim: int | None = None
    rep_activation: str = "tanh"
    head_hidden: int = 16
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2
    lr: float = 3e-3
    weight_decay: float = 0.0
    steps: int = 1500
    batch_size: int | None = None
    degree_reg: float = 0.0
    seed: int = 0
    device: str = "cpu"
    num_threads: int | None = 1
    progress: bool = False

    def __post_init__(self) -> None:
        if self.num_threads is not None:
            _pos_int(self.num_threads, "num_threads")
        if self.arch not in ARCHITECTURES:
            raise ProbekitError(did_you_mean(str(self.arch), ARCHITECTURES, "arch"))
        if self.rep_activation not in REP_ACTIVATIONS:
            raise ProbekitError(did_you_mean(str(self.rep_activation), REP_ACTIVATIONS, "rep_activation"))
        for name in ("hidden", "depth", "d_model", "n_heads", "n_layers", "steps"):
            _pos_int(getattr(self, name), name)
        _pos_int(self.head_hidden, "head_hidden", minimum=0)
        _pos_int(self.seed, "seed", minimum=0)
        if self.rep_dim is not None:
            _pos_int(self.rep_dim, "rep_dim")
        if self.batch_size is not None:
            _pos_int(self.batch_size, "batch_size")
        if self.d_model % self.n_heads:
            raise ProbekitError(
                f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}"
            )
        _nonneg(self.lr, "lr", positive=True)
        _nonneg(self.weight_decay, "weight_decay")
        _nonneg(self.degree_reg, "degree_reg")

    def to_dict(self) -> dict[str, Any]:
        """Plain-``dict`` view (JSON-serialisable)."""
        return asdict(self)


class _MLPTrunk(nn.Module):
    def __init__(self, n_in: int, hidden: int, depth: int, n_out: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = n_in
        for _ in range(depth):
            layers += [nn.Linear(d, hidden), nn.ReLU()]
            d = hidden
        layers.append(nn.Linear(d, n_out))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _TransformerTrunk(nn.Module):
    def __init__(self, n_in: int, d_model: int, n_heads: int, n_layers: int, n_out: int) -> None:
        super().__init__()
        self.value = nn.Embedding(2, d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(n_in, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward=2 * d_model, dropout=0.0,
            batch_first=True, norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(n_in * d_model, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = (x < 0).long()  # bit value: +1 -> 0, -1 -> 1
        h = self.value(tokens) + self.pos
        h = self.norm(self.encoder(h))
        return self.out(h.flatten(1))


class MultiTaskNet(nn.Module):
    """Shared trunk, representation bottleneck and one head per task.

    Parameters
    ----------
    n_in : int
        Input bits.
    n_tasks : int
    config : MultiTaskConfig

    Notes
    -----
    ``forward(x)`` takes ``x`` of shape ``(batch, n_in)`` (±1 floats) and returns
    ``(batch, n_tasks)``; :meth:`representation` returns ``(batch, rep_dim)``.
    """

    def __init__(self, n_in: int, n_tasks: int, config: MultiTaskConfig) -> None:
        super().__init__()
        rep = config.rep_dim or n_in
        self.rep_dim = rep
        self.config = config
        if config.arch == "mlp":
            self.trunk: nn.Module = _MLPTrunk(n_in, config.hidden, config.depth, rep)
        else:
            self.trunk = _TransformerTrunk(n_in, config.d_model, config.n_heads, config.n_layers, rep)
        hh = config.head_hidden
        if hh:
            self.w1 = nn.Parameter(torch.randn(n_tasks, rep, hh) / math.sqrt(rep))
            self.b1 = nn.Parameter(torch.zeros(n_tasks, hh))
            self.w2 = nn.Parameter(torch.randn(n_tasks, hh) / math.sqrt(hh))
        else:
            self.w2 = nn.Parameter(torch.randn(n_tasks, rep) / math.sqrt(rep))
        self.b2 = nn.Parameter(torch.zeros(n_tasks))

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """Trunk output ``r``, shape (batch, rep_dim)."""
        r = self.trunk(x)
        return torch.tanh(r) if self.config.rep_activation == "tanh" else r

    def heads(self, r: torch.Tensor) -> torch.Tensor:
        """All task heads on representations ``r`` (batch, rep_dim) -> (batch, n_tasks)."""
        if self.config.head_hidden:
            h = torch.relu(torch.einsum("bd,tdh->bth", r, self.w1) + self.b1)
            return torch.einsum("bth,th->bt", h, self.w2) + self.b2
        return r @ self.w2.T + self.b2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.representation(x))


def _cube_tensor(d: int) -> torch.Tensor:
    idx = torch.arange(2**d)
    return 1.0 - 2.0 * ((idx[:, None] >> torch.arange(d)[None, :]) & 1).float()


def _walsh_tensor(d: int) -> tuple[torch.Tensor, torch.Tensor]:
    pts = _cube_tensor(d)
    idx = torch.arange(2**d)
    member = ((idx[:, None] >> torch.arange(d)[None, :]) & 1).float()  # subset masks
    # chi_S(z_i) = prod_{j in S} z_ij  -> H[s, i]
    h = torch.prod(torch.where(member[:, None, :] > 0, pts[None, :, :], torch.ones(())), dim=2)
    return h, member.sum(1)


def head_influence(model: MultiTaskNet) -> torch.Tensor:
    """Mean over tasks of the heads' total influence on the representation cube.

    ``I[g] = sum_S |S| g_hat(S)^2`` with ``g`` evaluated at all ``2**rep_dim`` points
    of ``{±1}^rep_dim`` (differentiable).

    Parameters
    ----------
    model : MultiTaskNet
        With ``rep_dim <= 12``.

    Returns
    -------
    torch.Tensor, scalar

    Raises
    ------
    ProbekitError
        If ``rep_dim > 12``.

    References
    ----------
    O'Donnell (2014), Prop. 2.28; Zhang, Chen & Chen (2025), ICML, Sec. 3.
    """
    d = model.rep_dim
    if d > 12:
        raise ProbekitError(f"degree regularisation evaluates heads on 2**rep_dim points; rep_dim={d} > 12")
    dev = next(model.parameters()).device
    cache = getattr(model, "_walsh_cache", None)
    if cache is None:
        h, sizes = _walsh_tensor(d)
        cache = (_cube_tensor(d).to(dev), h.to(dev), sizes.to(dev))
        model._walsh_cache = cache  # type: ignore[attr-defined]
    pts, h, sizes = cache
    g = model.heads(pts)  # (2**d, n_tasks)
    coef = h @ g / pts.shape[0]
    return (sizes[:, None] * coef**2).sum(0).mean()


def apply_input_map(x: Any, table: Any) -> np.ndarray:
    """Re-encode ±1 inputs through a bijection of the cube: ``x -> E(x)``.

    Parameters
    ----------
    x : array-like, shape (n_samples, n_latents)
        ±1 points.
    table : array-like of int, shape (2**n_latents,)
        ``E`` as a table (see :mod:`probekit.synthetic.boolean`).

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples, n_latents)
    """
    from probekit.synthetic.boolean import _check_table, cube, index_of

    x = np.asarray(x, dtype=np.float64)
    t = _check_table(table, "input_map")
    if t.size != 2 ** x.shape[1]:
        raise ProbekitError(f"input_map has {t.size} entries; x has {x.shape[1]} bits (need {2 ** x.shape[1]})")
    return cube(x.shape[1])[t[index_of(x)]]


@dataclass
class MultiTaskResult:
    """Outcome of :func:`train_multitask`.

    Attributes
    ----------
    model : MultiTaskNet
    config : MultiTaskConfig
    losses : list of float
        Task MSE every ``max(1, steps // 100)`` steps.
    final_mse : float
        Mean task MSE on the training inputs at the end.
    final_influence : float
        Mean head total influence at the end (NaN when ``rep_dim > 12``).
    """

    model: MultiTaskNet
    config: MultiTaskConfig
    losses: list[float] = field(default_factory=list)
    final_mse: float = float("nan")
    final_influence: float = float("nan")

    @torch.no_grad()
    def representation(self, x: Any) -> np.ndarray:
        """Trunk representation of inputs ``x`` (n_samples, n_latents) -> (n_samples, rep_dim).

        ``x`` must already be in the network's input basis (apply the same
        ``input_map`` as in training, e.g. with :func:`apply_input_map`).
        """
        self.model.eval()
        dev = next(self.model.parameters()).device
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32), device=dev)
        return self.model.representation(xt).cpu().double().numpy()

    @torch.no_grad()
    def predict(self, x: Any) -> np.ndarray:
        """Task outputs for inputs ``x`` -> (n_samples, n_tasks)."""
        self.model.eval()
        dev = next(self.model.parameters()).device
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32), device=dev)
        return self.model(xt).cpu().double().numpy()


def train_multitask(x: Any, y: Any, config: MultiTaskConfig | None = None) -> MultiTaskResult:
    """Train a shared-trunk multi-task network on ``(x, y)`` with MSE (+ degree penalty).

    Parameters
    ----------
    x : array-like, shape (n_samples, n_latents)
        ±1 inputs in the network's basis (observations, possibly re-encoded with
        :func:`apply_input_map`).
    y : array-like, shape (n_samples, n_tasks)
        Real task targets.
    config : MultiTaskConfig, optional

    Returns
    -------
    MultiTaskResult

    Raises
    ------
    ProbekitError
        Mismatched rows, non-finite values or a bad config.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 6 (multi-task training with a shared
    representation).
    """
    config = config or MultiTaskConfig()
    with _torch_threads(config.num_threads):
        return _train_multitask(x, y, config)


def untrained_multitask(x: Any, y: Any, config: MultiTaskConfig | None = None) -> MultiTaskResult:
    """The network :func:`train_multitask` would start from: same architecture, same seed, no step.

    The baseline of a recovery score: whatever a random trunk of this architecture already
    shares with the latents (the initialisation is bit-for-bit the one training starts from).

    Parameters
    ----------
    x : array-like, shape (n_samples, n_latents)
    y : array-like, shape (n_samples, n_tasks)
    config : MultiTaskConfig, optional
        Only the architecture fields and ``seed`` matter (``steps`` is ignored).

    Returns
    -------
    MultiTaskResult
        ``losses`` empty; ``final_mse`` / ``final_influence`` of the initial network.

    Raises
    ------
    ProbekitError
        As :func:`train_multitask`.
    """
    config = config or MultiTaskConfig()
    with _torch_threads(config.num_threads):
        xa, ya = _check_xy(x, y, config)
        model, xt, yt = _init_model(xa, ya, config)
        return _finish(model, config, [], xt, yt)


def _check_xy(x: Any, y: Any, config: MultiTaskConfig) -> tuple[np.ndarray, np.ndarray]:
    xa = np.asarray(x, dtype=np.float32)
    ya = np.asarray(y, dtype=np.float32)
    if ya.ndim == 1:
        ya = ya[:, None]
    if xa.ndim != 2 or ya.ndim != 2 or xa.shape[0] != ya.shape[0]:
        raise ProbekitError(
            f"x {xa.shape} and y {ya.shape} must be (n_samples, n_latents) and (n_samples, n_tasks)"
        )
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ProbekitError("x or y contains NaN or inf")
    if config.degree_reg > 0 and (config.rep_dim or xa.shape[1]) > 12:
        raise ProbekitError("degree_reg > 0 needs rep_dim <= 12 (heads are evaluated on the cube)")
    return xa, ya


def _init_model(xa: np.ndarray, ya: np.ndarray, config: MultiTaskConfig):
    torch.manual_seed(config.seed)
    dev = torch.device(config.device)
    model = MultiTaskNet(xa.shape[1], ya.shape[1], config).to(dev)
    return model, torch.from_numpy(xa).to(dev), torch.from_numpy(ya).to(dev)


def _finish(model: MultiTaskNet, config: MultiTaskConfig, losses: list[float], xt: torch.Tensor,
            yt: torch.Tensor) -> MultiTaskResult:
    model.eval()
    with torch.no_grad():
        final = float(((model(xt) - yt) ** 2).mean())
        infl = float(head_influence(model)) if model.rep_dim <= 12 else float("nan")
    return MultiTaskResult(model=model, config=config, losses=losses, final_mse=final, final_influence=infl)


def _train_multitask(x: Any, y: Any, config: MultiTaskConfig) -> MultiTaskResult:
    xa, ya = _check_xy(x, y, config)
    model, xt, yt = _init_model(xa, ya, config)
    dev = xt.device
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, foreach=True)
    gen = torch.Generator().manual_seed(config.seed)
    every = max(1, config.steps // 100)
    losses: list[float] = []
    model.train()
    for step in tqdm(range(config.steps), disable=not config.progress, desc=f"train {config.arch}"):
        if config.batch_size is None or config.batch_size >= xt.shape[0]:
            xb, yb = xt, yt
        else:
            sel = torch.randint(0, xt.shape[0], (config.batch_size,), generator=gen).to(dev)
            xb, yb = xt[sel], yt[sel]
        mse = ((model(xb) - yb) ** 2).mean()
        loss = mse + config.degree_reg * head_influence(model) if config.degree_reg > 0 else mse
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % every == 0 or step == config.steps - 1:
            losses.append(float(mse.detach()))
    return _finish(model, config, losses, xt, yt)
