"""Ridge from streamed sufficient statistics equals the in-memory engine (and so RidgeCV)."""

import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.probes.fit import EngineSettings, out_of_fold
from probekit.probes.sweep import outer_splits


def _data(n=150, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, d) + rng.normal(size=d)
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=n)
    return X.astype(np.float32), np.stack([y, rng.permutation(y)])


@pytest.mark.parametrize("paired", [False, True])  # unique groups: leave-one-out; pairs: inner group folds
def test_streamed_ridge_equals_in_memory_ridge(tmp_path, paired):
    X, codes = _data()
    groups = np.repeat(np.arange(75), 2) if paired else np.arange(150)
    splits = outer_splits(codes[0], groups, "continuous", 5, 0)
    path = tmp_path / "x.npy"
    np.save(path, X)
    rows = np.load(path, mmap_mode="r")  # read by chunks of 17 rows through the memory map
    kw = dict(method="ridge", device="cpu", dtype="float64")
    streamed, pen_s = out_of_fold([rows], codes, groups, "continuous", splits,
                                  EngineSettings(stream=True, stream_rows=17, **kw))
    memory, pen_m = out_of_fold([X], codes, groups, "continuous", splits, EngineSettings(stream=False, **kw))
    np.testing.assert_array_equal(pen_s, pen_m)
    np.testing.assert_allclose(streamed, memory, rtol=1e-6, atol=1e-6 * np.abs(memory).max())


def test_streamed_ridge_is_chosen_when_a_layer_exceeds_the_budget_and_refuses_nan():
    X, codes = _data()
    groups = np.arange(150)
    splits = outer_splits(codes[0], groups, "continuous", 3, 0)
    tiny = EngineSettings(method="ridge", device="cpu", chunk_mb=1e-3, stream_rows=50)  # too small for a layer
    auto, _ = out_of_fold([X], codes, groups, "continuous", splits, tiny)
    memory, _ = out_of_fold([X], codes, groups, "continuous", splits,
                            EngineSettings(method="ridge", device="cpu", dtype="float64", stream=False))
    np.testing.assert_allclose(auto, memory, rtol=1e-4, atol=1e-4 * np.abs(memory).max())
    X[7, 3] = np.nan
    with pytest.raises(ProbekitError, match="NaN"):
        out_of_fold([X], codes, groups, "continuous", splits, tiny)
