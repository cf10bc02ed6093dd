import numpy as np
import pytest
from scipy import stats

from probekit.errors import ProbekitError
from probekit.synthetic.sphere import (
    ClusteredSphereLatents,
    sample_cluster_vectors,
    sample_conditional,
    sample_projected,
    sample_uniform_sphere,
    sample_vmf,
    vmf_mean_resultant_length,
)


def test_uniform_sphere_is_unit_and_isotropic():
    z = sample_uniform_sphere(20000, 5, np.random.default_rng(0))
    assert z.shape == (20000, 5)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-12)
    # E[z] = 0 and E[z z^T] = I / d for the uniform distribution
    assert np.abs(z.mean(0)).max() < 0.02
    np.testing.assert_allclose(z.T @ z / len(z), np.eye(5) / 5, atol=0.01)
    # the first coordinate of a uniform point on S^{d-1}: (z1 + 1) / 2 ~ Beta((d-1)/2, (d-1)/2)
    p = stats.kstest((z[:, 0] + 1) / 2, stats.beta(2.0, 2.0).cdf).pvalue
    assert p > 1e-3


@pytest.mark.parametrize("dim,kappa", [(3, 1.0), (5, 10.0), (10, 50.0), (20, 5.0), (2, 3.0)])
def test_vmf_mean_resultant_length_matches_closed_form(dim, kappa):
    rng = np.random.default_rng(1)
    mu = sample_uniform_sphere(1, dim, rng)[0]
    z = sample_vmf(mu, kappa, 40000, rng)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, atol=1e-10)
    cos = z @ mu
    expected = vmf_mean_resultant_length(kappa, dim)
    assert abs(cos.mean() - expected) < 4 * cos.std() / np.sqrt(len(cos)) + 1e-3
    # mean direction is mu: the mean vector is A_d(kappa) * mu
    np.testing.assert_allclose(z.mean(0), expected * mu, atol=0.02)


def test_vmf_closed_form_known_values():
    # d = 3: A_3(k) = coth(k) - 1/k
    for k in (0.5, 2.0, 30.0):
        assert vmf_mean_resultant_length(k, 3) == pytest.approx(1 / np.tanh(k) - 1 / k, rel=1e-10)
    assert vmf_mean_resultant_length(0.0, 5) == 0.0
    assert 0.999 < vmf_mean_resultant_length(5000.0, 5) < 1.0


def test_vmf_zero_concentration_is_uniform_and_per_row_means():
    rng = np.random.default_rng(2)
    z = sample_vmf(np.eye(4)[0], 0.0, 20000, rng)
    assert abs((z @ np.eye(4)[0]).mean()) < 0.02
    mus = sample_uniform_sphere(3000, 6, rng)
    z = sample_vmf(mus, 20.0, rng=rng)
    cos = np.einsum("ij,ij->i", z, mus)
    assert abs(cos.mean() - vmf_mean_resultant_length(20.0, 6)) < 0.01


def test_vmf_is_reproducible_and_validates():
    a = sample_vmf([1.0, 0.0, 0.0], 5.0, 100, np.random.default_rng(3))
    b = sample_vmf([1.0, 0.0, 0.0], 5.0, 100, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ProbekitError, match="unit"):
        sample_vmf([2.0, 0.0, 0.0], 5.0, 10)
    with pytest.raises(ProbekitError, match="kappa"):
        sample_vmf([1.0, 0.0, 0.0], -1.0, 10)
    with pytest.raises(ProbekitError, match="n_samples"):
        sample_vmf([1.0, 0.0, 0.0], 1.0)


def test_projected_noise_concentrates_with_small_scale():
    rng = np.random.default_rng(4)
    mu = np.eye(5)[2]
    for dist in ("normal", "laplace"):
        wide = sample_projected(mu, 1.0, dist, 5000, rng) @ mu
        tight = sample_projected(mu, 0.1, dist, 5000, rng) @ mu
        assert tight.mean() > 0.95 > wide.mean() > 0.2
    with pytest.raises(ProbekitError, match="closest valid"):
        sample_projected(mu, 1.0, "cauchy", 10)
    with pytest.raises(ProbekitError, match="scale"):
        sample_projected(mu, 0.0, "normal", 10)


def test_laplace_is_heavier_tailed_than_normal_with_equal_variance():
    rng = np.random.default_rng(5)
    # coordinates orthogonal to mu before projection: kurtosis differs (Laplace 6, Normal 3)
    zl = sample_projected(np.eye(3)[0], 0.05, "laplace", 20000, rng)
    zn = sample_projected(np.eye(3)[0], 0.05 * np.sqrt(2), "normal", 20000, rng)
    assert stats.kurtosis(zl[:, 1]) > stats.kurtosis(zn[:, 1]) + 1.5


def test_cluster_vectors_and_conditional_dispatch():
    rng = np.random.default_rng(6)
    v = sample_cluster_vectors(50, 4, rng=rng)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0)
    e = sample_cluster_vectors(200, 4, "normal", scale=0.2, rng=rng)
    assert (e[:, 0] > 0.8).mean() > 0.9
    z = sample_conditional(v, "vmf", 1000.0, rng=rng)
    assert np.einsum("ij,ij->i", z, v).min() > 0.98
    with pytest.raises(ProbekitError, match="closest valid"):
        sample_conditional(v, "gauss")


def test_clustered_latents_label_scheme():
    lat = ClusteredSphereLatents(dim=5, n_classes=7, n_instances=40, concentration=30.0, seed=3)
    z, inst, cls = lat.sample(5000, np.random.default_rng(0))
    assert z.shape == (5000, 5) and inst.min() >= 0 and inst.max() == 39
    np.testing.assert_array_equal(cls, inst % 7)
    # fresh latent every draw: two draws of the same instance differ
    same = np.flatnonzero(inst == inst[0])
    assert len(same) > 10 and np.linalg.norm(z[same[0]] - z[same[1]]) > 1e-6
    # latents concentrate around their class's cluster vector
    cos = np.einsum("ij,ij->i", z, lat.cluster_vectors[cls])
    assert abs(cos.mean() - vmf_mean_resultant_length(30.0, 5)) < 0.01
    # cluster vectors depend only on the seed
    np.testing.assert_array_equal(lat.cluster_vectors, ClusteredSphereLatents(5, 7, 40, 30.0, seed=3).cluster_vectors)
    with pytest.raises(ProbekitError, match="n_instances"):
        ClusteredSphereLatents(dim=5, n_classes=10, n_instances=5)
    with pytest.raises(ProbekitError, match="dim"):
        ClusteredSphereLatents(dim=1)
