"""The engine on CUDA gives the CPU engine's results (run where a GPU is present: benchmarks/gpu_checks.sh)."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GroupKFold

from probekit.concepts import ConceptDataset
from probekit.probes.fit import EngineSettings, out_of_fold
from probekit.probes.sweep import layer_sweep

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (hardware, not a feature)")


def _data(task, n=240, d=40, n_layers=3, seed=0):
    rng = np.random.default_rng(seed)
    n_classes = {"binary": 2, "multiclass": 3, "continuous": 0}[task]
    W = rng.normal(size=(d, max(n_classes, 1)))
    layers = [rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3 + rng.normal(size=d) for _ in range(n_layers)]
    scores = layers[1] @ W + 2.0 * rng.normal(size=(n, W.shape[1]))
    y = scores[:, 0] if task == "continuous" else (scores.argmax(1) if n_classes > 2 else (scores[:, 0] > 0) * 1)
    groups = np.repeat(np.arange(n // 2), 2)
    codes = np.stack([y, rng.permutation(y)])
    return [x.astype(np.float32) for x in layers], codes, groups, list(GroupKFold(4).split(layers[0], y, groups))


@pytest.mark.parametrize("task", ["binary", "multiclass", "continuous"])
def test_out_of_fold_on_cuda_equals_cpu(task):
    layers, codes, groups, splits = _data(task)
    cpu = out_of_fold(layers, codes, groups, task, splits, EngineSettings(device="cpu", dtype="float64"))
    gpu = out_of_fold(layers, codes, groups, task, splits, EngineSettings(device="cuda", dtype="float64"))
    np.testing.assert_allclose(gpu[0], cpu[0], rtol=1e-3, atol=1e-3)
    assert (gpu[1] == cpu[1]).mean() >= 0.95  # the chosen penalty; a near-tie may flip


def test_layer_sweep_on_cuda_matches_cpu_scores():
    layers, codes, groups, _ = _data("binary", n=400, d=64, n_layers=4)
    data = ConceptDataset([str(i) for i in range(len(codes[0]))], codes[0], "binary", groups=groups)
    features = {f"layer{i}": x for i, x in enumerate(layers)}
    cpu = layer_sweep(features, {}, data, n_controls=3, progress=False, device="cpu")
    gpu = layer_sweep(features, {}, data, n_controls=3, progress=False, device="cuda")
    np.testing.assert_allclose([r.score for r in gpu], [r.score for r in cpu], atol=0.01)
    np.testing.assert_allclose([r.control_score for r in gpu], [r.control_score for r in cpu], atol=0.02)
