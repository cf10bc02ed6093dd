import numpy as np
import pytest
from scipy.stats import norm

from probekit.errors import ProbekitError
from probekit.synthetic.concept_conditioned import (
    SETTINGS,
    GaussianMixture,
    condition_gaussian_mixture,
    make_concept_conditioned_data,
    make_mixing,
    projection_moments,
    random_concepts,
    random_gaussian_mixture,
)


def _mixture(seed=0, d=3):
    rng = np.random.default_rng(seed)
    return random_gaussian_mixture(d, rng), random_concepts(2, d, rng), rng


def test_conditional_sampler_matches_closed_form_moments():
    base, concepts, rng = _mixture()
    a = concepts[0]
    cond = condition_gaussian_mixture(base, a, [0.1], 0.005)
    z = cond.sample(200_000, rng)
    mean, var = projection_moments(cond, a)
    proj = z @ a
    assert proj.mean() == pytest.approx(mean, abs=4 * np.sqrt(var / z.shape[0]))
    assert proj.var() == pytest.approx(var, rel=0.02)
    # conditioning shrinks the spread along a towards the noise variance
    assert var < projection_moments(base, a)[1]


def test_closed_form_agrees_with_importance_weighting_of_base_samples():
    """An independent route to p_C: weight base samples by N(<a, z>; mu, sigma^2)."""
    base, concepts, rng = _mixture(seed=3)
    a, mu, s2 = concepts[1], -0.05, 0.005
    z = base.sample(400_000, rng)
    w = norm.pdf(z @ a, mu, np.sqrt(s2))
    w /= w.sum()
    cond = condition_gaussian_mixture(base, a, [mu], s2)
    mean, var = projection_moments(cond, a)
    w_mean = float(w @ (z @ a))
    w_var = float(w @ (z @ a) ** 2 - w_mean ** 2)
    assert w_mean == pytest.approx(mean, abs=3e-3)
    assert w_var == pytest.approx(var, rel=0.05)
    # the full latent mean too (not only the conditioned projection)
    assert np.allclose(w @ z, cond.weights @ cond.means, atol=5e-3)


def test_conditioning_a_1d_mixture_equals_the_normalised_product_density():
    base = GaussianMixture(np.array([0.3, 0.7]), np.array([[-1.0], [0.5]]), np.array([[[0.04]], [[0.09]]]))
    cond = condition_gaussian_mixture(base, [[1.0]], [0.2], 0.01)
    grid = np.linspace(-3, 3, 20001)[:, None]
    prod = np.exp(base.log_prob(grid)) * norm.pdf(grid[:, 0], 0.2, 0.1)
    prod /= np.trapezoid(prod, grid[:, 0])
    assert np.allclose(np.exp(cond.log_prob(grid)), prod, atol=1e-6 * prod.max() + 1e-9)


def test_far_tail_valuation_is_sampled_without_stalling():
    # a rejection sampler would essentially never accept here
    base, concepts, rng = _mixture(seed=1)
    a = concepts[0]
    m, v = projection_moments(base, a)
    target = m + 40 * np.sqrt(v)
    cond = condition_gaussian_mixture(base, a, [target], 0.005)
    z = cond.sample(5000, rng)
    assert np.all(np.isfinite(z))
    mean, var = projection_moments(cond, a)
    assert (z @ a).mean() == pytest.approx(mean, abs=5 * np.sqrt(var / 5000))


def test_settings_follow_the_n_plus_one_schedule():
    for name, s in SETTINGS.items():
        assert s.n_envs == s.n_concepts + 1
        counts = np.bincount(s.env_concepts, minlength=s.n_concepts)
        assert sorted(counts.tolist()) == [1] * (s.n_concepts - 1) + [2], name
        assert s.n_features >= s.n_latents


@pytest.mark.parametrize("mixing", ["linear", "mlp"])
def test_make_data_shapes_and_environment_moments(mixing):
    d = make_concept_conditioned_data("S2", mixing, n_per_env=3000, seed=4)
    s = SETTINGS["S2"]
    assert d.base_z.shape == (s.n_envs * 3000, s.n_latents)
    assert d.base_x.shape == (s.n_envs * 3000, s.n_features)
    assert len(d.env_x) == s.n_envs and all(x.shape == (3000, s.n_features) for x in d.env_x)
    assert np.allclose(d.mixing(d.env_z[0]), d.env_x[0])
    for e, t in enumerate(d.env_concepts):
        a = d.concepts[t]
        mean, var = projection_moments(d.conditionals[e], a)
        proj = d.env_z[e] @ a
        assert proj.mean() == pytest.approx(mean, abs=5 * np.sqrt(var / 3000))
    # same seed, same data
    d2 = make_concept_conditioned_data("S2", mixing, n_per_env=3000, seed=4)
    assert np.array_equal(d.env_x[2], d2.env_x[2])


def test_linear_mixing_is_injective():
    f = make_mixing("linear", 4, 6, np.random.default_rng(0))
    assert np.linalg.matrix_rank(f.weights[0]) == 4


def test_bad_input_raises():
    base, concepts, _ = _mixture()
    with pytest.raises(ProbekitError, match="noise_var"):
        condition_gaussian_mixture(base, concepts[0], [0.0], 0.0)
    with pytest.raises(ProbekitError, match="valuations"):
        condition_gaussian_mixture(base, concepts, [0.0], 0.01)
    with pytest.raises(ProbekitError, match="S4"):
        make_concept_conditioned_data("S4")
    with pytest.raises(ProbekitError, match="mixing"):
        make_concept_conditioned_data("S1", mixing="cubic")
    with pytest.raises(ProbekitError, match="weights"):
        GaussianMixture(np.array([0.5, 0.6]), np.zeros((2, 1)), np.ones((2, 1, 1)))
