"""Invertible mixing functions ``x = g(z)`` for identifiability experiments.

:class:`InvertibleMLP` is the generator of Zimmermann et al. (2021) and Reizinger et al.
(2025): ``n_layers`` bias-free square linear layers with LeakyReLU(0.2) between them.
Each weight matrix has entries ``U(-1, 1)`` with columns rescaled to unit L2 norm, and is
redrawn until its condition number is at most a threshold: the ``cond_quantile``
quantile of the condition numbers of ``n_pool`` such random matrices (quantile 0 -- the
reference code's setting -- keeps only matrices as well conditioned as the best of the
pool). Every layer is then invertible, and so is ``g``: :meth:`InvertibleMLP.inverse`
is its exact left inverse.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from probekit.errors import ProbekitError

__all__ = ["InvertibleMLP", "condition_threshold", "invertible_mlp", "random_unit_column_matrix"]


def random_unit_column_matrix(dim: int, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """``U(-1, 1)`` square matrices with unit-L2-norm columns.

    Parameters
    ----------
    dim : int
    rng : numpy.random.Generator
    n : int, optional
        Number of matrices; ``None`` returns one.

    Returns
    -------
    numpy.ndarray of float64, shape (dim, dim) or (n, dim, dim)
    """
    shape = (dim, dim) if n is None else (n, dim, dim)
    a = rng.uniform(-1.0, 1.0, size=shape)
    return a / np.linalg.norm(a, axis=-2, keepdims=True)


def condition_threshold(dim: int, quantile: float = 0.0, n_pool: int = 25000, rng=None) -> float:
    """The ``quantile`` of the condition numbers of ``n_pool`` random unit-column matrices.

    Parameters
    ----------
    dim : int
    quantile : float in [0, 1]
        0 = the best (smallest) condition number in the pool.
    n_pool : int
    rng : numpy.random.Generator, int or None

    Returns
    -------
    float

    Raises
    ------
    ProbekitError
        ``quantile`` outside ``[0, 1]``; ``n_pool < 1``; ``dim < 1``.

    References
    ----------
    A. Hyvarinen & H. Morioka (2016), "Unsupervised Feature Extraction by Time-Contrastive
    Learning and Nonlinear ICA", NeurIPS (mixing-matrix condition-number control);
    Zimmermann et al. (2021), ICML, App. (generator g).
    """
    if not 0.0 <= float(quantile) <= 1.0:
        raise ProbekitError(f"cond_quantile must be in [0, 1]; got {quantile!r}")
    if int(n_pool) < 1:
        raise ProbekitError(f"n_pool must be >= 1; got {n_pool!r}")
    if int(dim) < 1:
        raise ProbekitError(f"dim must be >= 1; got {dim!r}")
    g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    conds = []
    left = int(n_pool)
    while left > 0:
        k = min(left, 4096)
        conds.append(np.linalg.cond(random_unit_column_matrix(int(dim), g, k)))
        left -= k
    allc = np.sort(np.concatenate(conds))
    return float(allc[int(round(float(quantile) * (allc.size - 1)))])


def _draw_conditioned(dim: int, threshold: float, rng: np.random.Generator, max_draws: int) -> np.ndarray:
    drawn = 0
    while drawn < max_draws:
        k = min(4096, max_draws - drawn)
        mats = random_unit_column_matrix(dim, rng, k)
        conds = np.linalg.cond(mats)
        ok = np.flatnonzero(conds <= threshold)
        if ok.size:
            return mats[ok[0]]
        drawn += k
    raise ProbekitError(
        f"no random {dim}x{dim} matrix with condition number <= {threshold:.4g} in {max_draws} draws; "
        "raise cond_quantile or max_draws"
    )


class InvertibleMLP(nn.Module):
    """Bias-free LeakyReLU MLP with square, well-conditioned weights (frozen).

    ``g(z) = W_L s(W_{L-1} ... s(W_1 z))`` with ``s = LeakyReLU(negative_slope)``; no
    activation after the last layer. Parameters do not require gradients.

    Parameters
    ----------
    weights : sequence of array-like, each shape (dim, dim)
        Invertible matrices, first layer first (``y = x @ W.T`` as in ``nn.Linear``).
    negative_slope : float
        LeakyReLU slope for negative inputs (> 0 for invertibility).

    Attributes
    ----------
    layers : torch.nn.ModuleList of torch.nn.Linear
    condition_numbers : list of float
        Condition number of each weight matrix.

    Raises
    ------
    ProbekitError
        Non-square or singular weights, ``negative_slope <= 0``, no weights.
    """

    def __init__(self, weights, negative_slope: float = 0.2) -> None:
        super().__init__()
        if not len(weights):
            raise ProbekitError("InvertibleMLP needs at least one weight matrix")
        if not float(negative_slope) > 0:
            raise ProbekitError(f"negative_slope must be > 0 for an invertible LeakyReLU; got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.layers = nn.ModuleList()
        self.condition_numbers: list[float] = []
        dim = None
        for i, w in enumerate(weights):
            w = np.asarray(w, dtype=np.float64)
            if w.ndim != 2 or w.shape[0] != w.shape[1] or (dim is not None and w.shape[0] != dim):
                raise ProbekitError(f"weight {i} must be a square (dim, dim) matrix; got shape {w.shape}")
            dim = w.shape[0]
            cond = float(np.linalg.cond(w))
            if not np.isfinite(cond) or cond > 1e12:
                raise ProbekitError(f"weight {i} is singular (condition number {cond:.3g}); g would not be invertible")
            lin = nn.Linear(dim, dim, bias=False)
            lin.weight.data = torch.tensor(w, dtype=torch.float32)
            lin.weight.requires_grad_(False)
            self.layers.append(lin)
            self.condition_numbers.append(cond)
        self.dim = int(dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """``x = g(z)``, shape (batch, dim) -> (batch, dim), in the weights' dtype."""
        h = z.to(self.layers[0].weight.dtype)
        for i, lin in enumerate(self.layers):
            h = lin(h)
            if i < len(self.layers) - 1:
                h = nn.functional.leaky_relu(h, self.negative_slope)
        return h

    @torch.no_grad()
    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        """Exact left inverse ``z = g^{-1}(x)``, computed in float64.

        Parameters
        ----------
        x : torch.Tensor, shape (batch, dim)

        Returns
        -------
        torch.Tensor of float64, shape (batch, dim)
        """
        h = x.to(torch.float64)
        for i in range(len(self.layers) - 1, -1, -1):
            if i < len(self.layers) - 1:
                h = torch.where(h >= 0, h, h / self.negative_slope)
            w = self.layers[i].weight.to(device=h.device, dtype=torch.float64)
            h = torch.linalg.solve(w, h.T).T
        return h


def invertible_mlp(dim: int, n_layers: int = 4, negative_slope: float = 0.2, cond_quantile: float = 0.0,
                   n_pool: int = 25000, seed: int = 0, max_draws: int | None = None) -> InvertibleMLP:
    """Build the frozen invertible generator of Reizinger et al. (2025).

    Parameters
    ----------
    dim : int
        ``d``, input = output dimension.
    n_layers : int
        Linear layers (paper: 4).
    negative_slope : float
        LeakyReLU slope (paper: 0.2).
    cond_quantile : float in [0, 1]
        Condition-number threshold as a quantile of a pool of ``n_pool`` random matrices
        (0 = the reference code's ``cond_thresh_ratio=0``: as good as the pool's best).
    n_pool : int
        Pool size (reference: 25000).
    seed : int
        Seeds the pool and the weights.
    max_draws : int, optional
        Draws per layer before giving up (default ``100 * n_pool``).

    Returns
    -------
    InvertibleMLP
        float32, on CPU, parameters frozen.

    Raises
    ------
    ProbekitError
        ``dim < 1``, ``n_layers < 1``, bad ``cond_quantile``, no matrix found.

    References
    ----------
    Zimmermann, Sharma, Schneider, Bethge & Brendel (2021), ICML, App. A.3 (invertible MLP
    generator, after Hyvarinen & Morioka 2016); Reizinger et al. (2025), ICLR, Sec. 5.
    """
    if int(dim) < 1:
        raise ProbekitError(f"dim must be >= 1; got {dim!r}")
    if int(n_layers) < 1:
        raise ProbekitError(f"n_layers must be >= 1; got {n_layers!r}")
    rng = np.random.default_rng([int(seed), 11])
    thresh = condition_threshold(int(dim), cond_quantile, n_pool, rng)
    limit = int(max_draws) if max_draws is not None else 100 * int(n_pool)
    weights = [_draw_conditioned(int(dim), thresh, rng, limit) for _ in range(int(n_layers))]
    return InvertibleMLP(weights, negative_slope)
