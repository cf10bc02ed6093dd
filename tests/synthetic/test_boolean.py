"""Boolean worlds: cube ordering, map classes, task families, coverage, data sets."""

import math

import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.metrics.walsh import fourier_degree, walsh_hadamard
from probekit.synthetic.boolean import (
    affine_table,
    compose,
    coverage_probability,
    covering_juntas,
    cube,
    index_of,
    invert,
    is_affine,
    is_bijection,
    is_signed_permutation,
    make_multitask_data,
    make_world,
    parity_table,
    random_affine_map,
    random_bijection,
    random_signed_permutation,
    relevant_variables,
    sample_tasks,
    signed_permutation_table,
)


def test_cube_and_index_roundtrip():
    z = cube(4)
    assert z.shape == (16, 4)
    assert z[0].tolist() == [1, 1, 1, 1] and z[1].tolist() == [-1, 1, 1, 1]
    np.testing.assert_array_equal(index_of(z), np.arange(16))
    with pytest.raises(ProbekitError, match="non-zero"):
        index_of(np.zeros((2, 3)))


def test_signed_permutation_table_acts_as_documented():
    t = signed_permutation_table([2, 0, 1], [1, -1, 1])
    z = cube(3)
    expected = np.stack([z[:, 2], -z[:, 0], z[:, 1]], axis=1)
    np.testing.assert_array_equal(cube(3)[t], expected)
    assert is_signed_permutation(t) and is_affine(t)


def test_affine_table_is_parity_map():
    # output bit 0 = b0 xor b1 -> in ±1 notation x0 = z0 * z1
    m = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    t = affine_table(m, shift=0)
    z = cube(3)
    np.testing.assert_array_equal(cube(3)[t][:, 0], z[:, 0] * z[:, 1])
    assert is_affine(t) and not is_signed_permutation(t)
    assert not is_bijection(affine_table(np.ones((3, 3), dtype=int)))


def test_map_classes_are_nested_and_distinguished():
    rng = np.random.default_rng(0)
    sp = [random_signed_permutation(4, rng) for _ in range(5)]
    aff = [random_affine_map(4, rng) for _ in range(20)]
    bij = [random_bijection(4, rng) for _ in range(20)]
    assert all(is_signed_permutation(t) for t in sp)
    assert all(is_affine(t) for t in aff)
    assert not all(is_signed_permutation(t) for t in aff)
    assert not any(is_affine(t) for t in bij)  # a random bijection is affine w.p. ~1e-8
    batch = np.stack(sp + aff[:3])
    assert is_signed_permutation(batch).tolist()[:5] == [True] * 5


def test_compose_and_invert():
    rng = np.random.default_rng(1)
    a, b = random_bijection(3, rng), random_bijection(3, rng)
    ab = compose(a, b)
    assert ab.tolist() == [a[b[i]] for i in range(8)]
    np.testing.assert_array_equal(compose(invert(a), a), np.arange(8))
    with pytest.raises(ProbekitError, match="not a bijection"):
        invert(np.zeros(8, dtype=int))


def test_signed_permutations_preserve_degree_affine_maps_do_not():
    rng = np.random.default_rng(2)
    h = cube(4)[:, 1].copy()  # dictator, degree 1
    sp = random_signed_permutation(4, rng)
    assert fourier_degree(h[sp]) == 1
    m = np.eye(4, dtype=int)
    m[1] = [1, 1, 1, 0]
    assert fourier_degree(h[affine_table(m)]) == 3


@pytest.mark.parametrize("k", [1, 2, 3])
def test_junta_tasks_depend_on_exactly_k_bits_and_are_pm1(k):
    ts = sample_tasks("junta", 5, 20, k=k, seed=k)
    assert ts.tables.shape == (32, 20)
    assert set(np.unique(ts.tables)) <= {-1.0, 1.0}
    assert (ts.relevant.sum(1) == k).all()
    assert ts.label == f"{k}-junta"
    if k == 1:  # ±z_j, never constant
        assert (fourier_degree(ts.tables) == 1).all()


def test_parity_and_degree_families():
    ts = sample_tasks("parity", 4, 30, seed=0)
    coef = walsh_hadamard(ts.tables)
    assert ((np.abs(coef) > 1e-9).sum(0) == 1).all()
    assert (np.abs(coef).max(0) == pytest.approx(1.0))
    small = sample_tasks("parity", 6, 30, k=2, seed=0)
    assert fourier_degree(small.tables).max() <= 2
    deg = sample_tasks("degree", 4, 10, k=2, seed=0)
    assert (fourier_degree(deg.tables) == 2).all()
    assert deg.relevant.all()
    np.testing.assert_allclose(parity_table(3, [0, 2]), cube(3)[:, 0] * cube(3)[:, 2])


def test_relevant_variables():
    z = cube(3)
    f = np.stack([z[:, 0] * z[:, 2], np.ones(8), z[:, 1]], axis=1)
    assert relevant_variables(f).tolist() == [[True, False, True], [False, False, False], [False, True, False]]


def test_coverage_probability_exact_values():
    assert coverage_probability(3, 2) == 0.0
    assert coverage_probability(3, 3) == pytest.approx(6 / 27)
    # n=4, T=10: 1 - 4 (3/4)^10 + 6 (1/2)^10 - 4 (1/4)^10
    assert coverage_probability(4, 10) == pytest.approx(1 - 4 * 0.75**10 + 6 * 0.5**10 - 4 * 0.25**10)
    rng = np.random.default_rng(0)
    sims = np.mean([sample_tasks("junta", 4, 8, seed=rng).covers_all for _ in range(400)])
    assert abs(sims - coverage_probability(4, 8)) < 0.08
    assert math.isclose(coverage_probability(4, 8, k=4), 1.0)


def test_world_tasks_on_observations_are_consistent():
    w = make_world(4, "bijection", seed=3)
    ts = sample_tasks("junta", 4, 5, k=2, seed=3)
    y_x = w.tasks_on_observations(ts)
    z = cube(4)
    x_idx = w.psi  # x index of each z
    np.testing.assert_allclose(y_x[x_idx], ts.tables)
    np.testing.assert_array_equal(w.observe(z), cube(4)[w.psi])


def test_multitask_data_exhaustive_and_sampled():
    d = make_multitask_data(5, 6, "degree", k=2, world="affine", seed=0)
    assert d.exhaustive and d.z.shape == (32, 5) and d.y.shape == (32, 6)
    np.testing.assert_array_equal(d.z, cube(5))
    np.testing.assert_array_equal(d.x, d.world.observe(d.z))
    s = make_multitask_data(12, 3, "parity", world="signed_permutation", n_samples=100, seed=0)
    assert s.z.shape == (100, 12) and not s.exhaustive
    np.testing.assert_allclose(s.y, s.tasks.tables[index_of(s.z)])


@pytest.mark.parametrize(
    "call, match",
    [(lambda: sample_tasks("juntas", 3, 2), "closest"), (lambda: sample_tasks("junta", 3, 0), "n_tasks"),
     (lambda: sample_tasks("junta", 3, 2, k=4), "k=4"), (lambda: make_world(3, "linear"), "world kind"),
     (lambda: cube(0), "n=0")],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ProbekitError, match=match):
        call()


@pytest.mark.parametrize("n, t, gap", [(4, 2, 0), (4, 4, 0), (5, 12, 0), (4, 9, 1), (5, 3, 2)])
def test_covering_juntas_are_signed_dictators_that_cover_as_documented(n, t, gap):
    tasks = covering_juntas(n, t, gap, seed=3)
    pts = cube(n)
    assert tasks.tables.shape == (2**n, t)
    # every task is +-z_j for one j (checked against the cube directly, not via relevant_variables)
    for i in range(t):
        hits = [j for j in range(n) if np.array_equal(np.abs(tasks.tables[:, i] * pts[:, j]), np.ones(2**n))
                and abs(tasks.tables[:, i] @ pts[:, j]) == 2**n]
        assert len(hits) == 1
    used = tasks.relevant.any(0)
    assert used.sum() == min(t, n - gap)  # the first tasks use distinct bits
    assert tasks.covers_all == (gap == 0 and t >= n)
    # nested prefixes: a larger draw with the same seed starts with the smaller one
    np.testing.assert_array_equal(covering_juntas(n, t + 3, gap, seed=3).tables[:, :t], tasks.tables)


@pytest.mark.parametrize("args, match", [((3, 0), "n_tasks"), ((3, 2, 3), "n_uncovered"), ((3, 2, -1), "n_uncovered")])
def test_covering_juntas_bad_arguments(args, match):
    with pytest.raises(ProbekitError, match=match):
        covering_juntas(*args)
