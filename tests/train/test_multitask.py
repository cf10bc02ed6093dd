"""Multi-task trainer, degree regulariser, input re-encoding."""

import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.metrics.walsh import walsh_hadamard
from probekit.synthetic.boolean import cube, random_affine_map, sample_tasks
from probekit.train.multitask import (
    MultiTaskConfig,
    MultiTaskNet,
    apply_input_map,
    head_influence,
    train_multitask,
    untrained_multitask,
)


@pytest.mark.parametrize("arch", ["mlp", "transformer"])
def test_training_fits_tasks_and_exposes_representation(arch):
    z = cube(4)
    tasks = sample_tasks("junta", 4, 6, k=2, seed=0)
    cfg = MultiTaskConfig(arch=arch, hidden=32, head_hidden=8, steps=250 if arch == "mlp" else 120,
                          d_model=16, n_layers=1, seed=0)
    res = train_multitask(z, tasks.tables, cfg)
    assert res.losses[-1] < 0.5 * res.losses[0]
    rep = res.representation(z)
    assert rep.shape == (16, 4) and np.all(np.abs(rep) <= 1)
    assert res.predict(z).shape == (16, 6)
    # same seed -> same result
    again = train_multitask(z, tasks.tables, cfg)
    np.testing.assert_allclose(again.representation(z), rep, atol=1e-5)


def test_head_influence_matches_walsh_definition():
    torch.manual_seed(0)
    net = MultiTaskNet(3, 2, MultiTaskConfig(head_hidden=4))
    pts = torch.as_tensor(cube(3), dtype=torch.float32)
    with torch.no_grad():
        g = net.heads(pts).double().numpy()
        got = float(head_influence(net))
    coef = walsh_hadamard(g)
    sizes = np.array([0, 1, 1, 2, 1, 2, 2, 3])
    assert got == pytest.approx(float((sizes[:, None] * coef**2).sum(0).mean()), rel=1e-4)


def test_degree_regularisation_lowers_head_influence():
    z = cube(4)
    y = sample_tasks("degree", 4, 4, k=2, seed=1).tables
    base = MultiTaskConfig(hidden=32, head_hidden=8, steps=200, seed=0)
    plain = train_multitask(z, y, base)
    reg = train_multitask(z, y, MultiTaskConfig(hidden=32, head_hidden=8, steps=200, seed=0, degree_reg=1.0))
    assert reg.final_influence < plain.final_influence


def test_apply_input_map_is_the_table():
    e = random_affine_map(3, 0)
    x = cube(3)
    np.testing.assert_array_equal(apply_input_map(x, e), cube(3)[e])
    with pytest.raises(ProbekitError, match="input_map"):
        apply_input_map(x, np.arange(4))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"arch": "cnn"}, "closest"), ({"steps": 0}, "steps"), ({"d_model": 30, "n_heads": 4}, "divisible"),
     ({"lr": -1.0}, "lr"), ({"rep_activation": "relu"}, "rep_activation")],
)
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ProbekitError, match=match):
        MultiTaskConfig(**kwargs)


def test_bad_data_raises():
    with pytest.raises(ProbekitError, match="n_samples"):
        train_multitask(np.ones((4, 2)), np.ones((5, 1)), MultiTaskConfig(steps=1))


def test_trunk_that_is_a_signed_permutation_scores_recovery_one():
    from probekit.metrics.recovery import recovery_score
    from probekit.train.multitask import MultiTaskResult

    n = 4
    cfg = MultiTaskConfig(hidden=2 * n, depth=1, head_hidden=0)
    net = MultiTaskNet(n, 3, cfg)
    perm, signs = [2, 0, 3, 1], torch.tensor([1.0, -1.0, -1.0, 1.0])
    with torch.no_grad():
        first, last = net.trunk.net[0], net.trunk.net[2]
        first.weight.copy_(torch.cat([torch.eye(n), -torch.eye(n)]))  # relu(z), relu(-z)
        first.bias.zero_()
        w = torch.zeros(n, 2 * n)
        for r, j in enumerate(perm):
            w[r, j], w[r, n + j] = signs[r], -signs[r]  # relu(z) - relu(-z) = z
        last.weight.copy_(w)
        last.bias.zero_()
    res = MultiTaskResult(model=net, config=cfg)
    z = cube(n)
    rep = res.representation(z)
    np.testing.assert_allclose(rep, np.tanh(z[:, perm] * signs.numpy()), atol=1e-6)
    assert recovery_score(z, rep) == pytest.approx(1.0)
    assert recovery_score(z, res.representation(apply_input_map(z, random_affine_map(n, 3)))) < 1.0


@pytest.mark.parametrize("arch", ["mlp", "transformer"])
def test_untrained_network_is_the_start_of_training(arch):
    z = cube(3)
    y = sample_tasks("junta", 3, 3, k=1, seed=1).tables
    cfg = MultiTaskConfig(arch=arch, hidden=16, head_hidden=4, d_model=8, n_layers=1, seed=5, steps=1)
    base = untrained_multitask(z, y, cfg)
    # one step at a negligible rate moves nothing: the untrained net is where training starts
    start = train_multitask(z, y, MultiTaskConfig(**{**cfg.to_dict(), "lr": 1e-12}))
    np.testing.assert_allclose(base.representation(z), start.representation(z), atol=1e-6)
    assert base.losses == [] and np.isclose(base.final_mse, ((base.predict(z) - y) ** 2).mean(), atol=1e-6)
    # a different seed is a different init
    other = untrained_multitask(z, y, MultiTaskConfig(**{**cfg.to_dict(), "seed": 6}))
    assert not np.allclose(other.representation(z), base.representation(z))
    with pytest.raises(ProbekitError, match="must be"):
        untrained_multitask(z, y[:5], cfg)
