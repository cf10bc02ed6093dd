"""Multi-task trainers for the Boolean world-model claims, and the extrapolation demo.

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

Extrapolation demo (paper Sec. 5, "architecture and OOD generalization"):
:func:`run_extrapolation` fits a random degree-``degree`` polynomial of ``dim`` inputs
on ``U[-1, 1)^dim`` and tests on ``U[-2, 2)^dim`` with a ReLU MLP, a transformer over
the coordinates as tokens, and a basis-matched model (all monomials up to the degree,
one linear layer), all trained by the same Adam loop.

References
----------
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
(arXiv 2502.09297), Sec. 5 (OOD / basis-matched architectures) and Sec. 6 (multi-task
experiments); O'Donnell (2014), *Analysis of Boolean Functions*, Prop. 2.28 (total
influence as a degree-weighted spectrum).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from probekit.errors import ProbekitError, did_you_mean

__all__ = [
    "ARCHITECTURES",
    "ExtrapolationConfig",
    "MultiTaskConfig",
    "MultiTaskNet",
    "MultiTaskResult",
    "PolynomialFeatureModel",
    "apply_input_map",
    "head_influence",
    "make_polynomial",
    "run_extrapolation",
    "train_multitask",
]

ARCHITECTURES = ("mlp", "transformer")
REP_ACTIVATIONS = ("tanh", "linear")


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run with ``n`` intra-op threads (restored afterwards); ``None`` leaves torch's setting."""
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _pos_int(v: Any, name: str, minimum: int = 1) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ProbekitError(f"{name}={v!r}; expected an integer >= {minimum}")


def _nonneg(v: Any, name: str, positive: bool = False) -> None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
        raise ProbekitError(f"{name}={v!r}; expected a finite number")
    if v < 0 or (positive and v == 0):
        raise ProbekitError(f"{name}={v!r}; expected a number {'>' if positive else '>='} 0")


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
    show_progress : bool
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
    show_progress: bool = False

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


def _train_multitask(x: Any, y: Any, config: MultiTaskConfig) -> MultiTaskResult:
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
    torch.manual_seed(config.seed)
    dev = torch.device(config.device)
    model = MultiTaskNet(xa.shape[1], ya.shape[1], config).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, foreach=True)
    xt, yt = torch.from_numpy(xa).to(dev), torch.from_numpy(ya).to(dev)
    gen = torch.Generator().manual_seed(config.seed)
    every = max(1, config.steps // 100)
    losses: list[float] = []
    model.train()
    for step in tqdm(range(config.steps), disable=not config.show_progress, desc=f"train {config.arch}"):
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
    model.eval()
    with torch.no_grad():
        final = float(((model(xt) - yt) ** 2).mean())
        infl = float(head_influence(model)) if model.rep_dim <= 12 else float("nan")
    return MultiTaskResult(model=model, config=config, losses=losses, final_mse=final, final_influence=infl)


# ---------------------------------------------------------------------------------------
# Extrapolation (OOD) demo
# ---------------------------------------------------------------------------------------


def _monomial_exponents(dim: int, degree: int) -> np.ndarray:
    exps = [e for e in itertools.product(range(degree + 1), repeat=dim) if sum(e) <= degree]
    return np.array(sorted(exps, key=lambda e: (sum(e), e)), dtype=np.int64)


def make_polynomial(dim: int = 2, degree: int = 3, seed: int = 0):
    """A random polynomial of total degree ``degree`` in ``dim`` variables.

    Coefficients of all monomials ``prod_j u_j**e_j`` (``sum e <= degree``) are i.i.d.
    ``N(0, 1)``.

    Parameters
    ----------
    dim, degree : int
    seed : int

    Returns
    -------
    callable
        ``f(u)`` for ``u`` of shape (n_samples, dim) -> (n_samples,) float64.
    """
    _pos_int(dim, "dim")
    _pos_int(degree, "degree")
    exps = _monomial_exponents(dim, degree)
    coef = np.random.default_rng(seed).standard_normal(len(exps))

    def f(u: Any) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64)
        return np.prod(u[:, None, :] ** exps[None, :, :], axis=2) @ coef

    return f


class PolynomialFeatureModel(nn.Module):
    """Basis-matched regressor: all monomials of total degree ``<= degree``, one linear layer.

    Parameters
    ----------
    dim : int
        Input coordinates.
    degree : int
        Maximal total degree of the multiplicative features.

    Notes
    -----
    ``forward(u)``: ``u`` of shape (batch, dim) -> (batch,).
    """

    def __init__(self, dim: int, degree: int) -> None:
        super().__init__()
        self.register_buffer("exps", torch.as_tensor(_monomial_exponents(dim, degree), dtype=torch.float32))
        self.linear = nn.Linear(self.exps.shape[0], 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        feats = torch.prod(u[:, None, :] ** self.exps[None, :, :], dim=2)
        return self.linear(feats).squeeze(-1)


@torch.no_grad()
def _fit_lstsq(model: PolynomialFeatureModel, u: torch.Tensor, y: torch.Tensor) -> None:
    feats = torch.prod(u[:, None, :].double() ** model.exps[None].double(), dim=2)
    design = torch.cat([feats, torch.ones(feats.shape[0], 1, dtype=torch.float64)], dim=1)
    sol = torch.linalg.lstsq(design, y.double()[:, None]).solution[:, 0]
    model.linear.weight.copy_(sol[:-1][None].float())
    model.linear.bias.copy_(sol[-1:].float())


class _CoordTransformer(nn.Module):
    def __init__(self, dim: int, d_model: int, n_heads: int, n_layers: int) -> None:
        super().__init__()
        self.embed = nn.Linear(1, d_model)
        self.pos = nn.Parameter(0.02 * torch.randn(dim, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward=2 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(dim * d_model, 1)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        h = self.embed(u[:, :, None]) + self.pos
        return self.out(self.norm(self.encoder(h)).flatten(1)).squeeze(-1)


@dataclass
class ExtrapolationConfig:
    """Configuration of :func:`run_extrapolation` (saved with the run).

    Parameters
    ----------
    dim : int
        Input coordinates.
    degree : int
        Degree of the target polynomial (and of the basis-matched model).
    n_train : int
        Training samples from ``U[-train_range, train_range)^dim``.
    n_test : int
        Test samples per split.
    train_range, test_range : float
        Half-widths of the in-distribution and OOD boxes.
    steps, lr : int, float
        Adam steps (full batch) and learning rate, shared by all models.
    hidden, depth : int
        ReLU MLP size.
    d_model, n_heads, n_layers : int
        Transformer size.
    models : tuple of str
        Any of ``"mlp"``, ``"transformer"``, ``"polynomial"``.
    polynomial_solver : {"lstsq", "adam"}
        The basis-matched model's training MSE is convex in its weights: ``"lstsq"``
        solves it exactly (default); ``"adam"`` uses the same Adam loop as the networks.
    seed : int
    num_threads : int or None
        torch intra-op threads while training (see :class:`MultiTaskConfig`).
    show_progress : bool
    """

    dim: int = 2
    degree: int = 3
    n_train: int = 2048
    n_test: int = 4096
    train_range: float = 1.0
    test_range: float = 2.0
    steps: int = 2000
    lr: float = 3e-3
    hidden: int = 128
    depth: int = 3
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 2
    models: tuple[str, ...] = ("mlp", "transformer", "polynomial")
    polynomial_solver: str = "lstsq"
    seed: int = 0
    num_threads: int | None = 1
    show_progress: bool = False

    def __post_init__(self) -> None:
        if self.num_threads is not None:
            _pos_int(self.num_threads, "num_threads")
        if self.polynomial_solver not in ("lstsq", "adam"):
            raise ProbekitError(did_you_mean(str(self.polynomial_solver), ("lstsq", "adam"), "polynomial_solver"))
        for name in ("dim", "degree", "n_train", "n_test", "steps", "hidden", "depth", "d_model", "n_heads", "n_layers"):
            _pos_int(getattr(self, name), name)
        _pos_int(self.seed, "seed", minimum=0)
        _nonneg(self.lr, "lr", positive=True)
        _nonneg(self.train_range, "train_range", positive=True)
        _nonneg(self.test_range, "test_range", positive=True)
        self.models = tuple(self.models)
        for m in self.models:
            if m not in ("mlp", "transformer", "polynomial"):
                raise ProbekitError(did_you_mean(str(m), ("mlp", "transformer", "polynomial"), "model"))
        if self.d_model % self.n_heads:
            raise ProbekitError(f"d_model={self.d_model} must be divisible by n_heads={self.n_heads}")

    def to_dict(self) -> dict[str, Any]:
        """Plain-``dict`` view (JSON-serialisable)."""
        d = asdict(self)
        d["models"] = list(self.models)
        return d


def run_extrapolation(config: ExtrapolationConfig | None = None) -> list[dict[str, Any]]:
    """Fit a random polynomial in-distribution and measure the OOD error of each model.

    Targets are standardised by the training standard deviation (so MSEs of different
    seeds are comparable); every model is trained by full-batch Adam on the MSE.

    Parameters
    ----------
    config : ExtrapolationConfig, optional

    Returns
    -------
    list of dict
        One row per model: ``model``, ``seed``, ``train_mse``, ``id_mse`` (fresh samples
        from the training box), ``ood_mse`` (samples from the test box), ``n_params``.

    Raises
    ------
    ProbekitError
        Bad config.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 5 (polynomial extrapolation: ReLU MLP and
    transformer vs an architecture whose basis matches the generator).
    """
    cfg = config or ExtrapolationConfig()
    with _torch_threads(cfg.num_threads):
        return _run_extrapolation(cfg)


def _run_extrapolation(cfg: ExtrapolationConfig) -> list[dict[str, Any]]:
    rng = np.random.default_rng(cfg.seed)
    f = make_polynomial(cfg.dim, cfg.degree, cfg.seed)
    u_tr = rng.uniform(-cfg.train_range, cfg.train_range, (cfg.n_train, cfg.dim))
    u_id = rng.uniform(-cfg.train_range, cfg.train_range, (cfg.n_test, cfg.dim))
    u_ood = rng.uniform(-cfg.test_range, cfg.test_range, (cfg.n_test, cfg.dim))
    y_tr = f(u_tr)
    scale = float(y_tr.std()) or 1.0
    data = {
        k: (torch.as_tensor(u, dtype=torch.float32), torch.as_tensor(f(u) / scale, dtype=torch.float32))
        for k, u in (("train", u_tr), ("id", u_id), ("ood", u_ood))
    }
    rows = []
    for name in cfg.models:
        torch.manual_seed(cfg.seed)
        if name == "mlp":
            layers: list[nn.Module] = []
            d = cfg.dim
            for _ in range(cfg.depth):
                layers += [nn.Linear(d, cfg.hidden), nn.ReLU()]
                d = cfg.hidden
            layers.append(nn.Linear(d, 1))
            net = nn.Sequential(*layers, nn.Flatten(0))
        elif name == "transformer":
            net = _CoordTransformer(cfg.dim, cfg.d_model, cfg.n_heads, cfg.n_layers)
        else:
            net = PolynomialFeatureModel(cfg.dim, cfg.degree)
        u, y = data["train"]
        if name == "polynomial" and cfg.polynomial_solver == "lstsq":
            _fit_lstsq(net, u, y)
            steps = 0
        else:
            steps = cfg.steps
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
        for _ in tqdm(range(steps), disable=not cfg.show_progress, desc=f"ood {name}"):
            loss = ((net(u) - y) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            mse = {k: float(((net(a) - b) ** 2).mean()) for k, (a, b) in data.items()}
        rows.append(
            {
                "model": name,
                "seed": cfg.seed,
                "train_mse": mse["train"],
                "id_mse": mse["id"],
                "ood_mse": mse["ood"],
                "n_params": int(sum(p.numel() for p in net.parameters())),
            }
        )
    return rows
