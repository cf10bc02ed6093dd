"""Extrapolation task: a random polynomial fit in-distribution, tested out of distribution.

:func:`run_extrapolation` fits a random degree-``degree`` polynomial of ``dim`` inputs on
``U[-1, 1)^dim`` and tests on ``U[-2, 2)^dim`` with a ReLU MLP, a transformer over the
coordinates as tokens, and a basis-matched model (all monomials up to the degree, one
linear layer), all trained by the same full-batch Adam loop.

References
----------
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML (arXiv
2502.09297), Sec. 5 (architecture and OOD generalization: basis-matched models extrapolate).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from probekit.errors import ProbekitError, did_you_mean
from probekit.synthetic._checks import nonneg, pos_int, torch_threads

__all__ = ["ExtrapolationConfig", "PolynomialFeatureModel", "make_polynomial", "run_extrapolation"]


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
    pos_int(dim, "dim")
    pos_int(degree, "degree")
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
    progress : bool
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
    progress: bool = False

    def __post_init__(self) -> None:
        if self.num_threads is not None:
            pos_int(self.num_threads, "num_threads")
        if self.polynomial_solver not in ("lstsq", "adam"):
            raise ProbekitError(did_you_mean(str(self.polynomial_solver), ("lstsq", "adam"), "polynomial_solver"))
        for name in ("dim", "degree", "n_train", "n_test", "steps", "hidden", "depth", "d_model", "n_heads", "n_layers"):
            pos_int(getattr(self, name), name)
        pos_int(self.seed, "seed", minimum=0)
        nonneg(self.lr, "lr", positive=True)
        nonneg(self.train_range, "train_range", positive=True)
        nonneg(self.test_range, "test_range", positive=True)
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
    with torch_threads(cfg.num_threads):
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
        for _ in tqdm(range(steps), disable=not cfg.progress, desc=f"ood {name}"):
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
