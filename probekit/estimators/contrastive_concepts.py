"""Contrastive concept estimator: recover concepts from concept-conditioned data sets.

Rajendran, Buchholz, Aragam, Schölkopf & Ravikumar (2024), "From Causal to Concept-Based
Representation Learning", NeurIPS (arXiv 2402.09236), Sec. 5 and App. G.

Given a *base* data set (samples of ``p``) and ``E`` *concept-conditioned* data sets
(environment ``e`` conditions atomic concept ``t_e``), an encoder ``h: R^{n_features} →
R^{n_concepts}`` is trained jointly with one logistic classifier per environment that
tells environment-``e`` samples (class 1) from base samples (class 0) through

``g_e(x) = β_e + α_e · u − (λ_e · u)²,   u = h(x)[t_e]``.

For a Gaussian conditioning factor the true log-density ratio ``log p_e(x) / p(x)`` has
exactly this form in the concept valuation ``⟨a_{t_e}, z⟩``, so at the optimum each
coordinate of ``h`` is an affine function of one concept valuation (identifiability up
to an invertible linear map, Thm. 1 of the paper).

Loss: cross-entropy of the classifiers (base vs environment, averaged over the
environments in proportion to their sizes) + ``l1_lambda · Σ_e |λ_e|``. Adam with two
learning rates (classifier parameters, encoder), cosine annealing over the epochs, the
model of the epoch with the best validation loss is kept.

Works on any feature matrix, e.g. activations read from a store::

    base = ActivationStore(path).numpy("model.layers.10")
    est = ContrastiveConceptEstimator().fit(base, [env1, env2], env_concepts=[0, 0])
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn
from tqdm.auto import tqdm

from probekit.errors import ProbekitError
from probekit.metrics._validation import as_float_matrix

__all__ = ["ContrastiveConceptEstimator", "ConceptEncoderMLP"]

ENCODERS = ("linear", "mlp")


class ConceptEncoderMLP(nn.Module):
    """MLP encoder ``n_features → hidden → (residual hidden)* → n_concepts``, LeakyReLU 0.2.

    ``h1 = lrelu(W_in x + b)``; ``h_{k+1} = lrelu(W_k h_k + b_k) + h_k``; ``u = W_out h + b``.

    Parameters
    ----------
    n_features, n_concepts : int
    hidden_dim : int
    n_hidden_layers : int
        Number of residual hidden layers.
    """

    def __init__(self, n_features: int, n_concepts: int, hidden_dim: int = 32, n_hidden_layers: int = 2) -> None:
        super().__init__()
        self.inp = nn.Linear(n_features, hidden_dim)
        self.hidden = nn.ModuleList(nn.Linear(hidden_dim, hidden_dim) for _ in range(n_hidden_layers))
        self.out = nn.Linear(hidden_dim, n_concepts)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        h = self.act(self.inp(x))
        for layer in self.hidden:
            h = self.act(layer(h)) + h
        return self.out(h)


class _EnvLogits(nn.Module):
    """Per-environment quadratic logits ``β_e + α_e u − (λ_e u)²``."""

    def __init__(self, n_envs: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(n_envs))
        self.beta = nn.Parameter(torch.zeros(n_envs))
        self.lam = nn.Parameter(torch.ones(n_envs))

    def forward(self, u: torch.Tensor, env: torch.Tensor) -> torch.Tensor:
        return self.beta[env] + self.alpha[env] * u - (self.lam[env] * u) ** 2

    def all_envs(self, u_t: torch.Tensor) -> torch.Tensor:
        """Logits of every environment; ``u_t`` (batch, n_envs) holds ``u`` of each env's target."""
        return self.beta + self.alpha * u_t - (self.lam * u_t) ** 2


def _standardization(base: np.ndarray, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and scale of the base set (zeros and ones when not standardizing)."""
    if not standardize:
        return np.zeros(base.shape[1]), np.ones(base.shape[1])
    scale = base.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return base.mean(axis=0), scale


def _split_data(base: np.ndarray, envs: list[np.ndarray], mean: np.ndarray, scale: np.ndarray,
                validation_fraction: float, rng: np.random.Generator, device: torch.device) -> dict:
    """Train/validation split of the base set and of every environment, standardized,
    as float32 tensors on ``device``: ``xb_*`` base, ``xe_*`` environment samples,
    ``ie_*`` their environment index, ``props_*`` environment proportions."""

    def prep(x):
        return torch.as_tensor((x - mean) / scale, dtype=torch.float32).to(device)

    def split(n):
        perm = rng.permutation(n)
        n_val = min(max(1, int(round(validation_fraction * n))), n - 1)  # never an empty train split
        return perm[n_val:], perm[:n_val]

    b_tr, b_va = split(base.shape[0])
    parts = {"tr": ([], []), "va": ([], [])}
    for e, x in enumerate(envs):
        for key, rows in zip(("tr", "va"), split(x.shape[0])):
            parts[key][0].append(x[rows])
            parts[key][1].append(np.full(rows.size, e))
    data = {"xb_tr": prep(base[b_tr]), "xb_va": prep(base[b_va])}
    for key, (xs, ids) in parts.items():
        env_ids = np.concatenate(ids)
        data[f"xe_{key}"] = prep(np.concatenate(xs))
        data[f"ie_{key}"] = torch.as_tensor(env_ids).to(device)
        data[f"props_{key}"] = torch.as_tensor(np.bincount(env_ids, minlength=len(envs)) / env_ids.size,
                                               dtype=torch.float32, device=device)
    return data


def _loss_terms(enc: nn.Module, logits: _EnvLogits, t: torch.Tensor, xb: torch.Tensor, xe: torch.Tensor,
                ie: torch.Tensor, props: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Cross-entropy of base (class 0, every environment's classifier weighted by its
    proportion) and environment samples (class 1, their own classifier); also returns
    the base samples' target coordinates ``(batch, n_envs)`` and the environment logits."""
    softplus = nn.functional.softplus
    ub = enc(xb)[:, t]  # (batch, n_envs): each env's target coordinate
    base_loss = (softplus(logits.all_envs(ub)).mean(dim=0) * props).sum()
    ue = enc(xe).gather(1, t[ie].unsqueeze(1)).squeeze(1)
    ge = logits(ue, ie)
    return base_loss + softplus(-ge).mean(), ub, ge


class ContrastiveConceptEstimator(TransformerMixin, BaseEstimator):
    """Learn concept valuations by contrasting concept-conditioned data sets with a base set.

    Parameters
    ----------
    n_concepts : int, optional
        Output dimension of the encoder; default ``max(env_concepts) + 1``.
    encoder : {"linear", "mlp"}
        ``"linear"``: bias-free linear map (rows of ``components_`` are concept directions).
        ``"mlp"``: :class:`ConceptEncoderMLP`.
    hidden_dim : int
        Width of the MLP encoder.
    n_hidden_layers : int
        Residual hidden layers of the MLP encoder.
    lr_encoder : float
        Adam learning rate of the encoder (paper: 0.005).
    lr_logits : float
        Adam learning rate of ``(α, β, λ)`` (paper: 0.05).
    l1_lambda : float
        Weight of ``Σ_e |λ_e|`` (paper: 1e-4).
    batch_size : int
        Environment samples per step, paired with as many base samples (paper: 2048).
    max_epochs : int
        Epochs (one pass over the environment samples each; paper: 100); the cosine
        schedule anneals over this many epochs.
    validation_fraction : float
        Fraction of every data set held out to select the best epoch (paper: 0.2).
    standardize : bool
        Standardise features with the base set's mean / std before encoding (useful for
        LLM activations); ``components_`` and ``intercept_`` are given in the original
        feature coordinates either way.
    random_state : int
        Seeds the initialisation, the split and the batches.
    device : str
        Torch device for training.
    verbose : bool
        Show a progress bar over epochs.

    Attributes
    ----------
    n_features_in_ : int
    n_concepts_ : int
    env_concepts_ : numpy.ndarray of int, shape (n_envs,)
    encoder_ : torch.nn.Module
        Trained encoder (on standardised inputs when ``standardize``), in eval mode, on CPU.
    alpha_, beta_, lambda_ : numpy.ndarray of float64, shape (n_envs,)
        Classifier parameters of the kept epoch.
    components_ : numpy.ndarray of float64, shape (n_concepts, n_features)
        Only for ``encoder="linear"``: ``transform(X) = X @ components_.T + intercept_``.
    intercept_ : numpy.ndarray of float64, shape (n_concepts,)
        Only for ``encoder="linear"`` (zero unless ``standardize``).
    best_epoch_ : int
        Epoch (0-based) whose model was kept.
    best_val_loss_ : float
    history_ : dict
        ``{"train_loss": [...], "val_loss": [...], "val_accuracy": [...]}`` per epoch.

    References
    ----------
    Rajendran, Buchholz, Aragam, Schölkopf & Ravikumar (2024), "From Causal to
    Concept-Based Representation Learning", NeurIPS, Sec. 5 (contrastive estimator,
    Eq. (6): parametric logit ``β + α u − (λ u)²``) and App. G (architecture and training
    hyper-parameters); Gutmann & Hyvärinen (2012), noise-contrastive estimation.
    """

    def __init__(
        self,
        n_concepts: int | None = None,
        encoder: str = "linear",
        hidden_dim: int = 32,
        n_hidden_layers: int = 2,
        lr_encoder: float = 0.005,
        lr_logits: float = 0.05,
        l1_lambda: float = 1e-4,
        batch_size: int = 2048,
        max_epochs: int = 100,
        validation_fraction: float = 0.2,
        standardize: bool = False,
        random_state: int = 0,
        device: str = "cpu",
        verbose: bool = False,
    ) -> None:
        self.n_concepts = n_concepts
        self.encoder = encoder
        self.hidden_dim = hidden_dim
        self.n_hidden_layers = n_hidden_layers
        self.lr_encoder = lr_encoder
        self.lr_logits = lr_logits
        self.l1_lambda = l1_lambda
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.validation_fraction = validation_fraction
        self.standardize = standardize
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        if self.encoder not in ENCODERS:
            raise ProbekitError(f"encoder={self.encoder!r} is not one of {ENCODERS}")
        for name in ("hidden_dim", "batch_size", "max_epochs"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ProbekitError(f"{name} must be a positive integer, got {v!r}")
        if isinstance(self.n_hidden_layers, bool) or not isinstance(self.n_hidden_layers, (int, np.integer)) \
                or self.n_hidden_layers < 0:
            raise ProbekitError(f"n_hidden_layers must be an integer >= 0, got {self.n_hidden_layers!r}")
        for name in ("lr_encoder", "lr_logits"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and v > 0):
                raise ProbekitError(f"{name} must be a positive number, got {v!r}")
        if not (isinstance(self.l1_lambda, (int, float)) and self.l1_lambda >= 0):
            raise ProbekitError(f"l1_lambda must be >= 0, got {self.l1_lambda!r}")
        if not (isinstance(self.validation_fraction, (int, float)) and 0 < self.validation_fraction < 1):
            raise ProbekitError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")

    def _check_data(self, base_X: Any, env_X_list: Any, env_concepts: Any):
        base = as_float_matrix(base_X, "base_X", min_samples=4)
        if isinstance(env_X_list, np.ndarray) and env_X_list.ndim == 2:
            raise ProbekitError("env_X_list must be a list of feature matrices (one per environment), "
                                "not a single matrix")
        envs = [as_float_matrix(x, f"env_X_list[{i}]", min_samples=4) for i, x in enumerate(env_X_list)]
        if not envs:
            raise ProbekitError("env_X_list is empty; give at least one concept-conditioned data set")
        for i, x in enumerate(envs):
            if x.shape[1] != base.shape[1]:
                raise ProbekitError(f"env_X_list[{i}] has {x.shape[1]} features but base_X has {base.shape[1]}")
        targets = np.asarray(env_concepts)
        if targets.shape != (len(envs),) or not np.issubdtype(targets.dtype, np.integer) or np.any(targets < 0):
            raise ProbekitError(f"env_concepts must hold one non-negative integer concept index per environment "
                                f"({len(envs)} environments); got {np.asarray(env_concepts).tolist()}")
        n_concepts = int(targets.max()) + 1 if self.n_concepts is None else self.n_concepts
        if isinstance(n_concepts, bool) or not isinstance(n_concepts, (int, np.integer)) or n_concepts < 1:
            raise ProbekitError(f"n_concepts must be a positive integer, got {n_concepts!r}")
        if targets.max() >= n_concepts:
            raise ProbekitError(f"env_concepts {targets.tolist()} refers to concept {int(targets.max())} but "
                                f"n_concepts={n_concepts}")
        return base, envs, targets.astype(np.int64), int(n_concepts)

    # ------------------------------------------------------------------ fit
    def fit(self, base_X: Any, env_X_list: Any, env_concepts: Any) -> "ContrastiveConceptEstimator":
        """Train the encoder and the per-environment classifiers.

        Parameters
        ----------
        base_X : array-like or torch.Tensor, shape (n_base, n_features)
            Samples of the base (unconditioned) distribution.
        env_X_list : list of array-like, each of shape (n_env_samples, n_features)
            One concept-conditioned data set per environment.
        env_concepts : sequence of int, length n_envs
            Index of the concept each environment conditions (repeats allowed).

        Returns
        -------
        self

        Raises
        ------
        ProbekitError
            Bad hyper-parameters, shapes, NaN/inf, or concept indices.
        """
        self._check_params()
        base, envs, targets, n_concepts = self._check_data(base_X, env_X_list, env_concepts)
        rng = np.random.default_rng(self.random_state)
        device = torch.device(self.device)
        mean, scale = _standardization(base, self.standardize)
        self.feature_mean_, self.feature_scale_ = mean, scale
        data = _split_data(base, envs, mean, scale, float(self.validation_fraction), rng, device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.random_state))
            if self.encoder == "linear":
                enc = nn.Linear(base.shape[1], n_concepts, bias=False)
            else:
                enc = ConceptEncoderMLP(base.shape[1], n_concepts, self.hidden_dim, self.n_hidden_layers)
        logits = _EnvLogits(len(envs))
        enc.to(device)
        logits.to(device)
        best, history = self._train(enc, logits, data, torch.as_tensor(targets, device=device), rng)
        enc.load_state_dict(best[2][0])
        logits.load_state_dict(best[2][1])
        enc.to("cpu").eval()
        self.encoder_ = enc
        self.alpha_ = logits.alpha.detach().cpu().double().numpy()
        self.beta_ = logits.beta.detach().cpu().double().numpy()
        self.lambda_ = logits.lam.detach().cpu().double().numpy()
        self.best_epoch_ = int(best[1])
        self.best_val_loss_ = float(best[0])
        self.history_ = history
        self.n_features_in_ = int(base.shape[1])
        self.n_concepts_ = n_concepts
        self.env_concepts_ = targets
        if self.encoder == "linear":
            w = enc.weight.detach().double().numpy() / scale[None, :]
            self.components_ = w
            self.intercept_ = -w @ mean
        return self

    def _train(self, enc: nn.Module, logits: _EnvLogits, data: dict, t: torch.Tensor,
               rng: np.random.Generator) -> tuple[tuple, dict]:
        """Adam + cosine annealing over the epochs; returns ``(best, history)`` with
        ``best = (val_loss, epoch, (encoder state, logits state))``."""
        optim = torch.optim.Adam([
            {"params": logits.parameters(), "lr": float(self.lr_logits)},
            {"params": enc.parameters(), "lr": float(self.lr_encoder)},
        ])
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, int(self.max_epochs))
        history = {"train_loss": [], "val_loss": [], "val_accuracy": []}
        best = (np.inf, -1, None)
        base_order = {"perm": rng.permutation(data["xb_tr"].shape[0]), "pos": 0}
        for epoch in tqdm(range(int(self.max_epochs)), desc="contrastive concepts", disable=not self.verbose):
            enc.train()
            train_loss = self._epoch(enc, logits, data, t, optim, rng, base_order)
            sched.step()
            enc.eval()
            with torch.no_grad():
                val, ub, ge = _loss_terms(enc, logits, t, data["xb_va"], data["xe_va"], data["ie_va"],
                                          data["props_va"])
                gb = logits.all_envs(ub)
                acc_env = float((ge > 0).float().mean())
                acc_base = float(((gb < 0).float().mean(dim=0) * data["props_va"]).sum())
            val = float(val)
            if not np.isfinite(val):
                raise ProbekitError("the contrastive loss became NaN/inf; lower lr_encoder / lr_logits or "
                                    "set standardize=True for badly scaled features")
            history["train_loss"].append(train_loss)
            history["val_loss"].append(val)
            history["val_accuracy"].append(0.5 * (acc_env + acc_base))
            if val < best[0]:
                best = (val, epoch, (copy.deepcopy(enc.state_dict()), copy.deepcopy(logits.state_dict())))
        return best, history

    def _epoch(self, enc, logits, data: dict, t, optim, rng, base_order: dict) -> float:
        """One pass over the environment samples, each batch paired with as many base
        samples (drawn without replacement, reshuffled when used up); the mean loss."""
        xb_tr, xe_tr, ie_tr = data["xb_tr"], data["xe_tr"], data["ie_tr"]
        n_tr, n_btr, bs = xe_tr.shape[0], xb_tr.shape[0], int(self.batch_size)
        perm = torch.as_tensor(rng.permutation(n_tr), device=xe_tr.device)
        total, count = 0.0, 0
        for start in range(0, n_tr, bs):
            idx = perm[start:start + bs]
            k = idx.numel()
            if base_order["pos"] + k > n_btr:
                base_order["perm"], base_order["pos"] = rng.permutation(n_btr), 0
            pos = base_order["pos"]
            bidx = torch.as_tensor(base_order["perm"][pos:pos + min(k, n_btr)], device=xe_tr.device)
            base_order["pos"] += bidx.numel()
            loss, _, _ = _loss_terms(enc, logits, t, xb_tr[bidx], xe_tr[idx], ie_tr[idx], data["props_tr"])
            loss = loss + float(self.l1_lambda) * logits.lam.abs().sum()
            optim.zero_grad()
            loss.backward()
            optim.step()
            total += float(loss.detach()) * k
            count += k
        return total / max(count, 1)

    # ------------------------------------------------------------------ use
    def transform(self, X: Any) -> np.ndarray:
        """Concept valuations ``h(X)``.

        Parameters
        ----------
        X : array-like or torch.Tensor, shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, n_concepts)

        Raises
        ------
        ProbekitError
            Wrong number of features or NaN/inf.
        """
        check_is_fitted(self, "encoder_")
        x = as_float_matrix(X, "X")
        if x.shape[1] != self.n_features_in_:
            raise ProbekitError(f"X has {x.shape[1]} features; the estimator was fitted on {self.n_features_in_}")
        with torch.no_grad():
            xt = torch.as_tensor((x - self.feature_mean_) / self.feature_scale_, dtype=torch.float32)
            return self.encoder_(xt).double().numpy()

    def env_logits(self, X: Any) -> np.ndarray:
        """Logits ``g_e(X)`` of every environment classifier, shape (n_samples, n_envs), float64."""
        u = self.transform(X)[:, self.env_concepts_]
        return self.beta_ + self.alpha_ * u - (self.lambda_ * u) ** 2
