"""Hidden-state metrics of sequence models and the Takens / x-alone baselines (Ostrow et al. 2024)."""

import numpy as np
import torch

from probekit.evaluation.delay_probes import HiddenStateEvaluator, delay_baselines
from probekit.metrics.delay_embedding import decoding_r2, flatten_trajectories
from probekit.models.sequence import build_sequence_model, hidden_states
from probekit.synthetic.dynamical import DynamicalConfig, NextStepDataset, simulate


def _val():
    traj = simulate(DynamicalConfig(n_trajectories=6, n_steps=120, seed=1))
    return traj, NextStepDataset(traj.observations)


def test_evaluator_rows_match_the_metrics_computed_directly():
    traj, val = _val()
    torch.manual_seed(0)
    model = build_sequence_model("lru", 6)
    ev = HiddenStateEvaluator(val, traj.states, traj.unobserved, start=10, stride=3, k=5, max_train=None, seed=0)
    row = ev(model, step=0)
    h = hidden_states(model, val.inputs())[:, 10::3].reshape(-1, 12).astype(np.float64)
    st, groups = flatten_trajectories(traj.states[:, : val.inputs().shape[1]][:, 10::3], start=0)
    assert row["r2_linear"] == decoding_r2(h, st[:, list(traj.unobserved)], groups, "linear", max_train=None).r2
    assert set(row) == {"r2_linear", "overlap", "mase"} and 0 <= row["overlap"] <= 1 and row["mase"] > 0
    assert "r2_mlp" in ev(model, step=0, mlp=True)


def test_delay_vectors_beat_x_alone_and_chance():
    traj, _ = _val()
    b = delay_baselines(traj.observations, traj.states, traj.unobserved, start=10, stride=2, k=5,
                        max_train=None, seed=0, mlp=False)
    assert b["m"] >= 2 and b["tau"] >= 1
    assert b["takens_r2_linear"] > b["x_only_r2_linear"]
    assert b["takens_overlap"] > b["chance_overlap"] and "takens_r2_mlp" not in b
