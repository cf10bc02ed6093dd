"""Probing sequence models for unobserved dynamics: hidden-state metrics and delay-embedding baselines.

:class:`HiddenStateEvaluator` computes, on validation trajectories at one training step,
the decoding R² of the unobserved coordinates from the hidden states (split by
trajectory), the k-NN overlap of the hidden states with the true state and the next-step
MASE; :func:`delay_baselines` the same decoding and overlap for Takens delay vectors and
for the observed coordinate alone.

References
----------
Ostrow, Eisen & Fiete (2024), "Delay Embedding Theory of Neural Sequence Models", arXiv
2406.11993, Sec. 3 (decoding R², neighbour overlap, MASE; Takens baseline).
"""

from __future__ import annotations

import numpy as np
import torch

from probekit.metrics.delay_embedding import decoding_r2, flatten_trajectories, mase, takens_embedding
from probekit.metrics.neighbours import neighbour_overlap
from probekit.models.sequence import hidden_states

__all__ = ["HiddenStateEvaluator", "delay_baselines", "positional_component"]


def positional_component(model, n_pos: int) -> np.ndarray | None:
    """The positional encoding a GPT adds to its residual stream, ``(n_pos, d_model)`` float64.

    The GPT's hidden state (hook ``block``) is ``e_t + attn(ln_1(e_t))`` with
    ``e_t = W u_t + b + p_t``; subtracting ``p_t`` removes the positional embedding's
    direct (residual-path) contribution. What position reaches the state *through*
    attention stays: the difference is "the hidden state without its positional
    component", not "a position-free state".

    Parameters
    ----------
    model : nn.Module
        A :class:`~probekit.models.sequence.SequenceGPT` or any other sequence model.
    n_pos : int
        Positions of the inputs.

    Returns
    -------
    ndarray of shape (n_pos, d_model) or None
        Zeros for a GPT without positions; ``None`` for a model without a positional
        embedding on its hidden state (e.g. the LRU).
    """
    embed = getattr(model, "embed", None)
    kind = getattr(embed, "positional", None)
    if kind is None:
        return None
    if kind == "learned":
        table = embed.position.weight[:n_pos]
    elif kind == "sinusoidal":
        table = embed.position_table[:n_pos]
    else:
        return np.zeros((n_pos, embed.value.out_features))
    return table.detach().cpu().double().numpy()


class HiddenStateEvaluator:
    """Hidden-state metrics of a sequence model on validation trajectories.

    Parameters
    ----------
    val : NextStepDataset
        Validation trajectories (``inputs()`` ``(n_traj, pos, 1)``, ``targets()``).
    states : ndarray of shape (n_traj, n_steps, n_state)
        True states of the same trajectories.
    unobserved : tuple of int
        State coordinates to decode.
    start, stride : int
        Time points ``start, start + stride, ...`` of the model inputs are used.
    k : int
        Neighbours of the overlap.
    max_train : int or None
        Training rows of the decoder at most.
    seed : int
        Split and subsample seed of :func:`~probekit.metrics.delay_embedding.decoding_r2`.
    """

    def __init__(self, val, states: np.ndarray, unobserved: tuple, start: int, stride: int, k: int,
                 max_train: int | None, seed: int) -> None:
        self.val, self.k, self.max_train, self.seed = val, k, max_train, seed
        n_pos = val.inputs().shape[1]
        self.t_idx = np.arange(start, n_pos, stride)
        self.true_state, self.groups = flatten_trajectories(states[:, :n_pos][:, self.t_idx], start=0)
        self.targets = self.true_state[:, list(unobserved)]

    def _r2(self, feats: np.ndarray, regressor: str) -> float:
        return decoding_r2(feats, self.targets, self.groups, regressor, max_train=self.max_train,
                           seed=self.seed).r2

    def features(self, model) -> np.ndarray:
        """Hidden states at the evaluated time points, ``(n_traj * n_times, d_hidden)`` float64."""
        h = hidden_states(model, self.val.inputs())
        return h[:, self.t_idx].reshape(-1, h.shape[-1]).astype(np.float64)

    def __call__(self, model, step: int, mlp: bool = False, elasticnet: bool = False) -> dict:
        """Metrics of ``model`` (``step`` unused).

        Returns ``{"r2_linear", "overlap", "overlap_no_pe", "mase"}``, plus ``"r2_mlp"``
        when ``mlp`` and ``"r2_elasticnet"`` when ``elasticnet``. ``overlap_no_pe`` is the
        overlap of the hidden states minus :func:`positional_component` (``None`` for a
        model without one, e.g. the LRU; equal to ``overlap`` for a GPT without positions).
        """
        feats = self.features(model)
        row = {"r2_linear": self._r2(feats, "linear"),
               "overlap": neighbour_overlap(feats, self.true_state, k=self.k).score, "overlap_no_pe": None}
        pe = positional_component(model, self.val.inputs().shape[1])
        if pe is not None:
            n_traj = len(feats) // len(self.t_idx)
            no_pe = feats - np.tile(pe[self.t_idx], (n_traj, 1))
            row["overlap_no_pe"] = neighbour_overlap(no_pe, self.true_state, k=self.k).score
        if mlp:
            row["r2_mlp"] = self._r2(feats, "mlp")
        if elasticnet:
            row["r2_elasticnet"] = self._r2(feats, "elasticnet")
        with torch.no_grad():
            dev = next(model.parameters()).device
            pred = torch.cat([model(x.to(dev)).cpu() for x in self.val.inputs().split(64)]).numpy()
        row["mase"] = mase(self.val.targets().numpy(), pred)
        return row


def delay_baselines(val_obs: np.ndarray, states: np.ndarray, unobserved: tuple, start: int, stride: int,
                    k: int, max_train: int | None, seed: int, mlp: bool) -> dict:
    """Takens delay vectors (m by false nearest neighbours, tau by mutual information) and x alone.

    Parameters
    ----------
    val_obs : ndarray of shape (n_traj, n_steps, 1)
        Observed coordinate of the validation trajectories (the models see steps ``0..n_steps-2``).
    states : ndarray of shape (n_traj, n_steps, n_state)
    unobserved, start, stride, k, max_train, seed :
        As :class:`HiddenStateEvaluator`.
    mlp : bool
        Also decode with the MLP regressor.

    Returns
    -------
    dict
        ``m``, ``tau``, ``fnn_fractions``, ``takens_r2_<reg>``, ``x_only_r2_<reg>`` (reg in
        linear, elasticnet and, with ``mlp``, mlp),
        ``takens_overlap``, ``x_only_overlap``, ``chance_overlap`` (``k / (n - 1)``).
    """
    x = val_obs[..., 0]
    emb = takens_embedding(x, max_lag=min(100, x.shape[1] // 3), max_dim=8, seed=seed)
    t_idx = np.arange(max(start, emb.start), x.shape[1] - 1, stride)
    v_flat, st_flat, x_flat, groups = flatten_trajectories(emb.vectors[:, t_idx - emb.start], states[:, t_idx],
                                                           val_obs[:, t_idx])
    targets = st_flat[:, list(unobserved)]
    out = {"m": emb.m, "tau": emb.tau, "fnn_fractions": emb.fnn_fractions.tolist()}
    for reg in ["linear", "elasticnet", "mlp"] if mlp else ["linear", "elasticnet"]:
        out[f"takens_r2_{reg}"] = decoding_r2(v_flat, targets, groups, reg, max_train=max_train, seed=seed).r2
        out[f"x_only_r2_{reg}"] = decoding_r2(x_flat, targets, groups, reg, max_train=max_train, seed=seed).r2
    out["takens_overlap"] = neighbour_overlap(v_flat, st_flat, k=k).score
    out["x_only_overlap"] = neighbour_overlap(x_flat, st_flat, k=k).score
    out["chance_overlap"] = k / (len(st_flat) - 1)
    return out
