"""Layer chunks solved in parallel threads give the serial results, raise the same errors, restore threads."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import GroupKFold

from probekit.errors import ProbekitError
from probekit.probes import fit
from probekit.probes.fit import EngineSettings, out_of_fold


def _layers(n_layers=5, n=160, d=20, seed=0):
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n // 2)
    direction = rng.normal(size=d)
    layers = [(rng.normal(size=(n, d)) + np.outer(y - 0.5, direction) * 0.3 * (i + 1)).astype(np.float32)
              for i in range(n_layers)]
    groups = np.repeat(np.arange(n // 2), 2)
    codes = np.stack([y, rng.permutation(y)])
    return layers, codes, groups, list(GroupKFold(4).split(layers[0], y, groups))


@pytest.mark.parametrize("task", ["binary", "continuous"])
def test_parallel_chunks_equal_serial(task):
    layers, codes, groups, splits = _layers()
    if task == "continuous":
        codes = np.stack([layer[:, 0] * 2 + layer[:, 1] for layer in layers[:2]])
    serial = EngineSettings(device="cpu", chunk_mb=0.05, workers=1)
    parallel = EngineSettings(device="cpu", chunk_mb=0.05, workers=2)
    assert len(fit._chunks(layers, 0.05 * 2**20 / 2, parallel, torch.device("cpu"), 2)) == len(layers)
    before = torch.get_num_threads()
    done = []
    d1, p1 = out_of_fold(layers, codes, groups, task, splits, serial)
    d2, p2 = out_of_fold(layers, codes, groups, task, splits, parallel, progress=done.append)
    assert torch.get_num_threads() == before
    assert sum(done) == len(layers)  # every chunk reported once, in the caller's thread
    np.testing.assert_allclose(d2, d1, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(p2, p1)
    assert not np.isnan(d2).any()


def test_an_error_in_one_chunk_is_raised_and_threads_restored():
    layers, codes, groups, splits = _layers()
    layers[3] = layers[3].copy()
    layers[3][7, 2] = np.nan
    before = torch.get_num_threads()
    with pytest.raises(ProbekitError, match=r"layer\(s\) 3\.\.3 contain NaN"):
        out_of_fold(layers, codes, groups, "binary", splits, EngineSettings(device="cpu", chunk_mb=0.05, workers=2))
    assert torch.get_num_threads() == before


def test_workers_setting_is_checked_and_capped():
    layers, codes, groups, splits = _layers(n_layers=2)
    with pytest.raises(ProbekitError, match="workers must be at least 1; got 0"):
        out_of_fold(layers, codes, groups, "binary", splits, EngineSettings(device="cpu", workers=0))
    assert fit._workers(EngineSettings(workers=8), torch.device("cpu"), n_layers=3) == 3
    assert fit._workers(EngineSettings(workers=8), torch.device("cuda"), n_layers=3) == 1
    assert fit._workers(EngineSettings(), torch.device("cpu"), n_layers=50) == torch.get_num_threads()
