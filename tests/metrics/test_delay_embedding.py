import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.metrics.delay_embedding import (
    choose_embedding_dimension,
    decoding_r2,
    delay_vectors,
    false_nearest_neighbours,
    first_minimum_mi,
    flatten_trajectories,
    mase,
    mutual_information,
    rollout,
    rollout_error,
    takens_embedding,
)
from probekit.synthetic.dynamical import DynamicalConfig, simulate


@pytest.fixture(scope="module")
def lorenz():
    return simulate(DynamicalConfig(n_trajectories=40, n_steps=500, noise_std=0.05, seed=0))


def test_delay_vectors_layout():
    x = np.arange(10.0)
    v = delay_vectors(x, m=3, tau=2)
    assert v.shape == (1, 6, 3)
    np.testing.assert_array_equal(v[0, 0], [4, 2, 0])  # time t = 4: x_t, x_{t-2}, x_{t-4}
    np.testing.assert_array_equal(v[0, -1], [9, 7, 5])
    with pytest.raises(ProbekitError, match="too short"):
        delay_vectors(x, m=6, tau=2)


def test_mutual_information_and_first_minimum(lorenz):
    x = lorenz.observations[..., 0]
    ami = mutual_information(x, max_lag=60)
    assert ami[0] == ami.max()
    tau = first_minimum_mi(x, max_lag=60)
    assert 5 <= tau <= 30  # Lorenz, dt = 0.01: first AMI minimum near 0.1-0.2 time units
    assert ami[tau] < ami[tau - 1] and ami[tau] <= ami[tau + 1]


def test_fnn_picks_at_least_three_dimensions_for_lorenz(lorenz):
    x = lorenz.observations[..., 0]
    fnn = false_nearest_neighbours(x, tau=first_minimum_mi(x), max_dim=6, max_points=2000)
    assert fnn[0] > 0.3  # one dimension folds the attractor
    m = choose_embedding_dimension(fnn)
    assert m >= 3
    assert fnn[m - 1] < 0.05
    # a sine wave (a circle) needs only 2
    t = np.arange(2000) * 0.05
    fnn_sine = false_nearest_neighbours(np.sin(t)[None], tau=first_minimum_mi(np.sin(t), max_lag=60),
                                        max_dim=4, max_points=1000)
    assert choose_embedding_dimension(fnn_sine) <= 2


def test_takens_baseline_decodes_unobserved_coordinates(lorenz):
    """Acceptance: delay vectors of noisy x decode (y, z) with R2 >= 0.9, far above x alone."""
    emb = takens_embedding(lorenz.observations[..., 0], max_dim=6, max_points=2000)
    assert emb.m >= 3
    t = np.arange(emb.start, 500, 3)
    vecs, states, xs, groups = flatten_trajectories(emb.vectors[:, t - emb.start], lorenz.states[:, t],
                                                    lorenz.observations[:, t])
    yz = states[:, 1:]
    takens = decoding_r2(vecs, yz, groups, "mlp", max_train=4000)
    alone = decoding_r2(xs, yz, groups, "mlp", max_train=4000)
    assert takens.r2 >= 0.9
    assert alone.r2 < takens.r2 - 0.3
    assert takens.n_train_groups + takens.n_test_groups == 40


def test_decoding_split_is_by_trajectory():
    rng = np.random.default_rng(0)
    n_traj, n_t = 30, 50
    code = rng.normal(size=(n_traj, 1, 5)).repeat(n_t, 1)   # a per-trajectory fingerprint
    target = rng.normal(size=(n_traj, 1, 1)).repeat(n_t, 1)  # a per-trajectory target
    x, y, groups = flatten_trajectories(code, target)
    leaky = decoding_r2(x, y, None, "mlp", max_train=None)
    honest = decoding_r2(x, y, groups, "mlp", max_train=None)
    assert leaky.r2 > 0.9 > 0.3 > honest.r2
    with pytest.raises(ProbekitError, match="regressor"):
        decoding_r2(x, y, groups, "forest")


def test_linear_decoding_recovers_linear_targets():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1000, 6))
    y = x @ rng.normal(size=(6, 2)) + 0.01 * rng.normal(size=(1000, 2))
    res = decoding_r2(x, y, np.repeat(np.arange(20), 50), "linear")
    assert res.r2 > 0.999 and len(res.r2_per_target) == 2
    assert decoding_r2(x, y, np.repeat(np.arange(20), 50), "elasticnet").r2 > 0.9


def test_mase():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.normal(size=(4, 100, 1)), axis=1)
    assert mase(y, y) == 0.0
    persistence = np.concatenate([y[:, :1], y[:, :-1]], axis=1)
    assert mase(y, persistence) == pytest.approx(99 / 100)  # first step predicted exactly
    assert mase(3 * y + 1, 3 * persistence + 1) == pytest.approx(mase(y, persistence))
    with pytest.raises(ProbekitError, match="constant"):
        mase(np.ones((2, 10, 1)), np.zeros((2, 10, 1)))
    with pytest.raises(ProbekitError, match="same shape"):
        mase(y, y[:, :-1])


class _Persistence(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        return x * self.w


def test_rollout_of_persistence_model_equals_persistence_baseline():
    seq = torch.sin(torch.arange(60.0)[None, :, None] * 0.3 + torch.rand(5, 1, 1) * 6)
    pred = rollout(_Persistence(), seq[:, :40], horizon=10, max_context=16)
    torch.testing.assert_close(pred, seq[:, 39:40].expand(-1, 10, -1))
    err = rollout_error(_Persistence(), seq, context=40, horizon=10)
    np.testing.assert_allclose(err.nrmse, err.persistence_nrmse)
    assert err.nrmse[-1] > err.nrmse[0]
    with pytest.raises(ProbekitError, match="context"):
        rollout_error(_Persistence(), seq, context=55, horizon=10)
