"""The ideal low-degree learner's experiment: one seeded exact search per trial, rates and intervals per cell."""

import math

import pytest
from scipy.stats import binomtest

from probekit.errors import ProbekitError
from probekit.synthetic.boolean_search import SEARCH_SETTINGS, search_pivot, search_trial, summarize_search


def test_one_junta_trial_recovers_exactly_when_every_bit_is_covered():
    # the coverage theorem (README_P1, proof under the claims): covering 1-juntas leave exactly the
    # 2^n n! signed permutations; an uncovered bit i leaves the extra (linear) minimiser z_i xor z_j
    rows = [search_trial("n3-affine", "degree", "1-junta", 4, t) for t in range(8)]
    assert {r["covers_all_bits"] for r in rows} == {0, 1}  # both cases occur in these trials
    for r in rows:
        assert (r["setting"], r["n"], r["world"], r["space"], r["n_tasks"]) == ("n3-affine", 3, "affine", "affine", 4)
        assert r["n_signed_permutations"] == 2**3 * math.factorial(3)
        assert r["recovered"] == r["covers_all_bits"]
        assert r["truth_is_minimizer"] == 1 and r["truth_reachable"] == 1  # 1-juntas: z always has degree T
        assert r["min_total_degree"] == r["latent_total_degree"] == 4
        assert (r["n_minimizers"] == r["n_signed_permutations"]) == bool(r["covers_all_bits"])


def test_trials_are_seeded_by_cell_and_trial_and_parities_do_not_recover():
    a, b = search_trial("n4-affine", "degree", "parity", 6, 1), search_trial("n4-affine", "degree", "parity", 6, 1)
    assert a == b
    # the criterion does not change the world or the tasks (same draw for degree and influence)
    infl = search_trial("n4-affine", "influence", "parity", 6, 1)
    assert infl["covers_all_bits"] == a["covers_all_bits"] and infl["criterion"] == "influence"
    # parities: another representation has strictly lower total degree than z (README_P1 table 1)
    rows = [search_trial("n3-affine", "degree", "parity", 10, t) for t in range(3)]
    assert all(r["recovered"] == 0 and r["min_total_degree"] < r["latent_total_degree"] for r in rows)


def test_bad_setting_family_or_count_is_loud():
    with pytest.raises(ProbekitError, match="n9-affine"):
        search_trial("n9-affine", "degree", "1-junta", 2, 0)
    with pytest.raises(ProbekitError, match="3-junta"):
        search_trial("n3-affine", "degree", "3-junta", 2, 0)
    with pytest.raises(ProbekitError, match="n_tasks=0"):
        search_trial("n3-affine", "degree", "1-junta", 0, 0)


def _row(setting, family, t, trial, rec, cov, n=4):
    return {"setting": setting, "criterion": "degree", "family": family, "n_tasks": t, "trial": trial, "n": n,
            "recovered": rec, "truth_is_minimizer": 1, "covers_all_bits": cov, "n_minimizers": 384 if rec else 768,
            "n_signed_permutations": 384, "min_cost": t, "latent_cost": t}


def test_summary_rates_clopper_pearson_interval_and_order():
    rows = [_row("n4-affine", "1-junta", 10, i, rec, cov) for i, (rec, cov) in enumerate([(1, 1), (1, 1), (0, 0)])]
    rows += [_row("n4-affine", "parity", 10, i, 0, 1) for i in range(2)]
    rows += [_row("n3-affine", "1-junta", 2, 0, 0, 0, n=3)]
    order = {"settings": ["n4-affine", "n3-affine"], "criteria": ["degree"], "families": ["parity", "1-junta"]}
    out = summarize_search(rows, order)
    assert [(s["setting"], s["family"]) for s in out] == [("n4-affine", "parity"), ("n4-affine", "1-junta"),
                                                          ("n3-affine", "1-junta")]
    junta = out[1]
    assert junta["trials"] == 3 and junta["recovery_rate"] == pytest.approx(2 / 3)
    assert junta["recovery_rate_ci"] == pytest.approx(list(binomtest(2, 3).proportion_ci()))
    assert junta["coverage_rate"] == pytest.approx(2 / 3) and junta["recovery_if_covered"] == 1.0
    assert junta["mean_n_minimizers"] == pytest.approx((384 + 384 + 768) / 3)
    # P(10 independent 1-juntas cover 4 bits) by inclusion-exclusion
    assert junta["theory_coverage_1junta"] == pytest.approx(1 - 4 * 0.75**10 + 6 * 0.5**10 - 4 * 0.25**10)
    assert math.isnan(out[0]["theory_coverage_1junta"]) and out[0]["recovery_rate_ci"][0] == 0.0
    assert math.isnan(out[2]["recovery_if_covered"])  # no covered trial in that cell


def test_pivot_cells_budget_and_theory_row():
    rows = [_row("n4-affine", "1-junta", 10, 0, 1, 1), _row("n4-affine", "1-junta", 10, 1, 0, 0)]
    summ = summarize_search(rows)
    piv = search_pivot(summ, ["n4-affine"], ["degree"], ["1-junta"], [2, 10], "cpu · 2 trials")
    assert piv[0]["budget"] == "cpu · 2 trials" and piv[0]["T=10"] == "0.50/1.00/0.50" and piv[0]["T=2"] == "-"
    assert piv[1]["criterion"] == "theory" and piv[1]["budget"] == "exact"
    assert piv[1]["T=10"] == f"{1 - 4 * 0.75**10 + 6 * 0.5**10 - 4 * 0.25**10:.3f}" == "0.781"
    assert SEARCH_SETTINGS["n4-affine"] == (4, "affine", "affine")
