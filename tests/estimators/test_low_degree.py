"""Ideal low-degree learner: exact search, recovery definition, planted solutions."""

import math

import numpy as np
import pytest
from sklearn.base import clone

from probekit.errors import ProbekitError
from probekit.estimators.low_degree import (
    LowDegreeSearch,
    general_linear_tables,
    representation_cost,
    total_degree,
)
from probekit.synthetic.boolean import (
    cube,
    invert,
    is_signed_permutation,
    make_world,
    random_affine_map,
    sample_tasks,
    signed_permutation_table,
)


def _one_junta_per_bit(n):
    z = cube(n)
    return np.concatenate([z, -z[:, :1]], axis=1)  # every bit covered, tasks on z


def test_gl_enumeration_sizes():
    for n, order in [(1, 1), (2, 6), (3, 168), (4, 20160)]:
        tabs = np.concatenate(list(general_linear_tables(n)))
        assert tabs.shape == (order, 2**n)
        assert len({t.tobytes() for t in tabs}) == order
        assert (np.sort(tabs, axis=1) == np.arange(2**n)).all()


@pytest.mark.parametrize("space", ["affine", "bijection", "signed_permutation"])
def test_search_finds_planted_signed_permutation(space):
    psi = signed_permutation_table([2, 0, 1], [-1, 1, 1])
    tasks_z = _one_junta_per_bit(3)
    tasks_x = tasks_z[invert(psi)]
    est = LowDegreeSearch(space=space).fit(tasks_x)
    rec = est.recovery(psi)
    assert rec.recovered and rec.truth_is_minimizer and rec.truth_reachable
    assert rec.n_minimizers == rec.n_signed_permutations == 48
    assert rec.min_total_degree == 4 == rec.latent_total_degree
    assert rec.stored_signed_fraction == 1.0
    # every stored minimizer composed with psi is a signed permutation; psi^-1 is among them
    assert is_signed_permutation(est.minimizers_[:, psi]).all()
    assert any((m == invert(psi)).all() for m in est.minimizers_) or space != "bijection"


def test_planted_affine_world_is_recovered_and_non_minimizers_cost_more():
    w = make_world(4, "affine", seed=5)
    tasks_x = _one_junta_per_bit(4)[w.psi_inverse]
    est = LowDegreeSearch("affine").fit(tasks_x)
    rec = est.recovery(w.psi)
    assert rec.recovered and rec.n_minimizers == 2**4 * math.factorial(4)
    assert est.n_candidates_ == 20160 * 16
    assert est.cost_histogram_.sum() == est.n_candidates_
    # a map that is not a signed permutation of z costs strictly more
    other = random_affine_map(4, 11)
    phi = other[w.psi_inverse]  # Phi ∘ psi = other, not a signed permutation
    assert not is_signed_permutation(other)
    assert est.total_degree(phi) > est.min_total_degree_


def test_too_few_one_juntas_do_not_recover():
    w = make_world(3, "affine", seed=0)
    for count in (1, 2):
        ts = sample_tasks("junta", 3, count, k=1, seed=count)
        rec = LowDegreeSearch("affine").fit(w.tasks_on_observations(ts)).recovery(w.psi)
        assert not rec.recovered
        assert rec.truth_is_minimizer  # z is optimal but not the only optimum
        assert rec.n_minimizers > rec.n_signed_permutations


def test_affine_support_route_matches_brute_force_costs():
    # the vectorised support route vs the generic transform-based cost, on every affine map
    rng = np.random.default_rng(0)
    y = rng.standard_normal((8, 3))
    y[:, 1] = cube(3)[:, 0] * cube(3)[:, 1]
    est = LowDegreeSearch("affine").fit(y)
    bij = LowDegreeSearch("bijection").fit(y)
    assert bij.min_total_degree_ <= est.min_total_degree_
    for phi in est.minimizers_:
        assert total_degree(y, phi) == est.min_total_degree_
    from probekit.estimators.low_degree import _phi_from_dual

    all_phi = _phi_from_dual(np.concatenate(list(general_linear_tables(3))))
    costs = np.array([total_degree(y, p) for p in all_phi])
    np.testing.assert_array_equal(np.bincount(costs, minlength=est.cost_histogram_.size) * 8, est.cost_histogram_)


def test_influence_criterion_is_consistent_with_its_definition():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((8, 2))
    est = LowDegreeSearch("affine", criterion="influence").fit(y)
    for phi in est.minimizers_[:5]:
        assert representation_cost(y, phi, "influence") == pytest.approx(est.min_cost_)
    assert representation_cost(y, np.arange(8), "influence") >= est.min_cost_ - 1e-9


def test_parity_task_prefers_a_non_latent_representation():
    z = cube(3)
    tasks_z = (z[:, 0] * z[:, 1] * z[:, 2])[:, None]
    psi = np.arange(8)
    rec = LowDegreeSearch("affine").fit(tasks_z[invert(psi)]).recovery(psi)
    assert rec.min_total_degree == 1 and rec.latent_total_degree == 3
    assert not rec.truth_is_minimizer and not rec.recovered


def test_bijection_world_is_unreachable_for_affine_search():
    w = make_world(3, "bijection", seed=2)
    rec = LowDegreeSearch("affine").fit(_one_junta_per_bit(3)[w.psi_inverse]).recovery(w.psi)
    assert not rec.truth_reachable and not rec.recovered


def test_sklearn_contract_and_errors():
    est = LowDegreeSearch(space="bijection", tol=1e-6)
    assert clone(est).get_params()["space"] == "bijection"
    with pytest.raises(ProbekitError, match="not fitted"):
        est.recovery(np.arange(8))
    with pytest.raises(ProbekitError, match="n <= 3"):
        LowDegreeSearch("bijection").fit(np.ones((16, 1)))
    with pytest.raises(ProbekitError, match="closest"):
        LowDegreeSearch("affin").fit(np.ones((8, 1)))
    with pytest.raises(ProbekitError, match="power of two"):
        LowDegreeSearch().fit(np.ones((6, 1)))
    fitted = LowDegreeSearch().fit(np.ones((8, 1)))
    assert fitted is not None and fitted.min_total_degree_ == 0
    with pytest.raises(ProbekitError, match="psi has shape"):
        fitted.recovery(np.arange(4))
