import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.metrics.identifiability import affine_r2
from probekit.synthetic.generators import (
    InvertibleMLP,
    condition_threshold,
    invertible_mlp,
    random_unit_column_matrix,
)
from probekit.synthetic.sphere import sample_uniform_sphere


def test_generator_is_invertible_left_inverse_recovers_z():
    g = invertible_mlp(5, n_layers=4, n_pool=2000, seed=0)
    z = torch.from_numpy(sample_uniform_sphere(2000, 5, np.random.default_rng(0)))
    x = g(z.float())
    assert x.shape == (2000, 5) and x.dtype == torch.float32
    z_back = g.inverse(x)
    assert z_back.dtype == torch.float64
    assert (z_back - z).abs().max() < 1e-4
    assert not any(p.requires_grad for p in g.parameters())


def test_generator_is_nonlinear():
    g = invertible_mlp(5, n_layers=4, n_pool=2000, seed=1)
    z = sample_uniform_sphere(4000, 5, np.random.default_rng(1))
    x = g(torch.from_numpy(z).float()).double().numpy()
    # x is not an affine function of z (LeakyReLU(0.2) between layers) ...
    assert affine_r2(z, x).mean < 0.999
    # ... but a one-layer generator is linear
    g1 = invertible_mlp(5, n_layers=1, n_pool=2000, seed=1)
    x1 = g1(torch.from_numpy(z).float()).double().numpy()
    assert affine_r2(z, x1).mean > 0.999999


def test_weights_have_unit_columns_and_controlled_condition():
    rng = np.random.default_rng(0)
    mats = random_unit_column_matrix(6, rng, 100)
    np.testing.assert_allclose(np.linalg.norm(mats, axis=1), 1.0)
    assert np.all(np.abs(mats) <= 1.0)
    thr_best = condition_threshold(6, 0.0, 3000, np.random.default_rng(2))
    thr_median = condition_threshold(6, 0.5, 3000, np.random.default_rng(2))
    assert thr_best < thr_median
    g = invertible_mlp(6, n_layers=3, cond_quantile=0.05, n_pool=3000, seed=3)
    thr = condition_threshold(6, 0.05, 3000, np.random.default_rng([3, 11]))
    assert len(g.condition_numbers) == 3 and max(g.condition_numbers) <= thr + 1e-9
    for lin in g.layers:
        np.testing.assert_allclose(lin.weight.norm(dim=0).numpy(), 1.0, atol=1e-6)
    # same seed, same generator
    g2 = invertible_mlp(6, n_layers=3, cond_quantile=0.05, n_pool=3000, seed=3)
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(g.layers, g2.layers))


def test_bad_generator_inputs():
    with pytest.raises(ProbekitError, match="singular"):
        InvertibleMLP([np.zeros((3, 3))])
    with pytest.raises(ProbekitError, match="square"):
        InvertibleMLP([np.ones((3, 2))])
    with pytest.raises(ProbekitError, match="negative_slope"):
        InvertibleMLP([np.eye(3)], negative_slope=0.0)
    with pytest.raises(ProbekitError, match="cond_quantile"):
        invertible_mlp(3, cond_quantile=1.5)
    with pytest.raises(ProbekitError, match="draws"):
        invertible_mlp(8, cond_quantile=0.0, n_pool=5000, max_draws=10, seed=0)
