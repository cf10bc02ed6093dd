"""Per-head steering directions (ITI methods, steering matrix) and their interventions."""

import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.steering.directions import projection_std
from probekit.steering.head_methods import STEER_METHODS, head_directions, head_intervention_factory
from probekit.steering.heads import HeadSite


def _acts(seed=0, n=80, layers=2, heads=2, d=3):
    rng = np.random.default_rng(seed)
    y = np.tile([1, 0], n // 2)
    acts = rng.normal(size=(n, layers, heads, d))
    acts[y == 1] += [1.0, -0.5, 0.0]
    q = np.repeat(np.arange(n // 4), 4)  # 4 answers per question, 2 true, 2 false
    return acts, y, q


def test_mass_mean_random_and_probe_directions_are_unit_with_their_sigma():
    acts, y, q = _acts()
    heads = [(0, 1), (1, 0)]
    mm = head_directions("mass_mean", heads, acts, y, q, None, {}, np.random.default_rng(0))
    x = acts[:, 0, 1]
    ref = x[y == 1].mean(axis=0) - x[y == 0].mean(axis=0)  # the difference of class means, by hand
    ref = ref / np.linalg.norm(ref)
    np.testing.assert_allclose(mm[(0, 1)][0], ref)
    assert mm[(0, 1)][1] == pytest.approx(projection_std(x, ref))
    rnd = head_directions("random", heads, acts, y, q, None, {}, np.random.default_rng(0))
    assert np.linalg.norm(rnd[(1, 0)][0]) == pytest.approx(1.0)
    assert rnd[(1, 0)][1] == pytest.approx(mm[(1, 0)][1])  # the mass-mean step size
    coef = np.zeros((2, 2, 3))
    coef[0, 1] = [3.0, 4.0, 0.0]
    pr = head_directions("probe", [(0, 1)], acts, y, q, coef, {}, np.random.default_rng(0))
    np.testing.assert_allclose(pr[(0, 1)][0], [0.6, 0.8, 0.0])
    with pytest.raises(ProbekitError, match="valid: random, probe"):
        head_directions("telepathy", heads, acts, y, q, None, {}, np.random.default_rng(0))
    assert set(STEER_METHODS) == {"random", "probe", "mass_mean", "steering_matrix", "concept"}


def test_steering_matrix_direction_depends_on_the_prompt_embedding():
    acts, y, q = _acts(1)
    emb = {int(k): np.eye(3)[k % 3] for k in np.unique(q)}
    dirs = head_directions("steering_matrix", [(0, 0)], acts, y, q, None, emb, np.random.default_rng(0))
    sm, cov = dirs[(0, 0)]
    assert cov.shape == (3, 3)
    sites = [HeadSite(0, "layers.0.o_proj", 2, 3), HeadSite(1, "layers.1.o_proj", 2, 3)]
    make = head_intervention_factory("steering_matrix", dirs, 2.0, sites, lambda i, text: emb[i])
    a, b = make(0, "q0"), make(1, "q1")
    assert len(a) == 1 and not np.allclose(np.asarray(a[0].vector), np.asarray(b[0].vector))


def test_fixed_directions_give_the_same_interventions_for_every_prompt():
    acts, y, q = _acts()
    dirs = head_directions("mass_mean", [(1, 1)], acts, y, q, None, {}, np.random.default_rng(0))
    sites = [HeadSite(0, "a", 2, 3), HeadSite(1, "b", 2, 3)]
    make = head_intervention_factory("mass_mean", dirs, 3.0, sites, None)
    (iv,) = make(0, "x")
    assert make(5, "y")[0] is iv
    d, s = dirs[(1, 1)]
    np.testing.assert_allclose(np.asarray(iv.vector)[3:], 3.0 * s * d, rtol=1e-6)  # head 1 of layer 1
    np.testing.assert_allclose(np.asarray(iv.vector)[:3], 0.0)
