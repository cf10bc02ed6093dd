import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from probekit.errors import ProbekitError
from probekit.synthetic.dynamical import (
    DynamicalConfig,
    NextStepDataset,
    integrate,
    simulate,
)


def _lorenz(t, s, sigma=10.0, rho=28.0, beta=8.0 / 3.0):
    x, y, z = s
    return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]


def test_lorenz_matches_scipy_reference_trajectory():
    ic = np.array([1.0, 1.0, 1.0])
    t = np.arange(300) * 0.01
    ref = solve_ivp(_lorenz, (0, t[-1]), ic, method="LSODA", t_eval=t, rtol=1e-12, atol=1e-12).y.T
    ours = integrate("lorenz", ic, 300, dt=0.01)
    assert ours.shape == (300, 3) and ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    # a loose solver visibly departs from the reference: the tolerance matters
    loose = integrate("lorenz", ic, 300, dt=0.01, method="RK23", rtol=1e-3, atol=1e-3)
    assert np.abs(loose - ref).max() > 1e-4


def test_batched_integration_equals_single():
    ics = np.array([[1.0, 1.0, 1.0], [-5.0, 3.0, 20.0], [2.0, -1.0, 10.0]])
    batch = integrate("lorenz", ics, 200)
    for i, ic in enumerate(ics):
        np.testing.assert_allclose(batch[i], integrate("lorenz", ic, 200), atol=1e-6)


def test_simulate_noise_burn_in_and_reproducibility():
    cfg = DynamicalConfig(n_trajectories=6, n_steps=150, noise_std=0.05, seed=3)
    a, b = simulate(cfg), simulate(cfg)
    np.testing.assert_array_equal(a.observations, b.observations)
    assert a.states.shape == (6, 150, 3) and a.observations.shape == (6, 150, 1)
    noise = a.noisy_states - a.states
    assert abs(noise.std() - 0.05) < 0.005
    np.testing.assert_array_equal(a.observations[..., 0], a.noisy_states[..., 0])
    assert a.unobserved == (1, 2)
    # after the burn-in the trajectories are on the attractor: z stays positive and bounded
    assert a.states[..., 2].min() > 0 and np.abs(a.states).max() < 60
    # states continue the burn-in trajectory
    full = integrate("lorenz", np.array([-9.7869288, -15.03852, 20.533978]) * 5 * np.random.default_rng(3).random(6)[0],
                     cfg.burn_in + 150)
    np.testing.assert_allclose(a.states[0], full[cfg.burn_in:], atol=1e-5)


def test_rossler_and_observed_coordinate():
    tr = simulate(DynamicalConfig(system="rossler", n_trajectories=3, n_steps=100, observed=(1,)))
    assert tr.observations.shape == (3, 100, 1)
    np.testing.assert_array_equal(tr.observations[..., 0], tr.states[..., 1])
    assert np.abs(tr.states).max() < 40


def test_next_step_dataset_shift_and_standardisation():
    obs = np.random.default_rng(0).normal(3.0, 2.0, size=(5, 40, 1))
    ds = NextStepDataset(obs)
    x, y = ds[1]
    assert x.dtype == torch.float32 and x.shape == (39, 1)
    torch.testing.assert_close(x[1:], y[:-1])
    assert abs(float(ds.data.mean())) < 1e-5 and abs(float(ds.data.std()) - 1) < 0.05
    val = NextStepDataset(obs[:2] + 10, mean=ds.mean, std=ds.std)
    assert float(val.data.mean()) > 4  # standardised with the training statistics, not its own


def test_bad_inputs_raise():
    with pytest.raises(ProbekitError, match="lorenz"):
        DynamicalConfig(system="lorentz")
    with pytest.raises(ProbekitError, match="noise_std"):
        DynamicalConfig(noise_std=-1)
    with pytest.raises(ProbekitError, match="initial_conditions"):
        integrate("lorenz", np.zeros(4), 10)
    with pytest.raises(ProbekitError, match="rho"):
        integrate("lorenz", np.ones(3), 10, params={"roh": 1.0})


def test_noise_levels_share_the_clean_trajectories_and_equal_simulate():
    from dataclasses import replace

    from probekit.synthetic.dynamical import simulate_noise_levels

    cfg = DynamicalConfig(n_trajectories=3, n_steps=60, burn_in=20, seed=5)
    levels = simulate_noise_levels(cfg, [0.0, 0.05, 0.2])
    assert list(levels) == [0.0, 0.05, 0.2]
    np.testing.assert_array_equal(levels[0.0].states, levels[0.05].states)
    np.testing.assert_array_equal(levels[0.0].observations, levels[0.0].states[..., :1])
    for s, tr in levels.items():  # each level is exactly what simulate() gives for it
        ref = simulate(replace(cfg, noise_std=s))
        np.testing.assert_array_equal(tr.states, ref.states)
        np.testing.assert_array_equal(tr.observations, ref.observations)
    # only the noise differs, and it is the same draw scaled
    d1 = levels[0.05].noisy_states - levels[0.05].states
    d2 = levels[0.2].noisy_states - levels[0.2].states
    np.testing.assert_allclose(d2, 4 * d1, rtol=1e-9, atol=1e-12)
    assert np.std(d1) > 0.03
    with pytest.raises(ProbekitError, match="noise_stds"):
        simulate_noise_levels(cfg, [0.1, -1])
