import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.evaluation.paired import paired_gain


def test_clear_gain_is_significant_and_interval_covers_it():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, 200)
    treated = base + 0.05 + rng.normal(0, 0.02, 200)
    g = paired_gain(base, treated)
    assert g.gain == pytest.approx(np.mean(treated - base))
    assert g.ci_low < g.gain < g.ci_high and g.ci_low > 0.04 and g.ci_high < 0.06
    assert g.p_value < 1e-10 and g.n == 200


def test_noise_only_is_not_significant_and_a_loss_has_p_near_one():
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.6, 200)
    noisy = base + rng.normal(0, 0.05, 200)
    noisy -= (noisy - base).mean()  # exactly zero mean gain
    g = paired_gain(base, noisy)
    assert abs(g.gain) < 1e-12 and g.ci_low < 0 < g.ci_high and g.p_value == pytest.approx(0.5, abs=1e-6)
    worse = paired_gain(base, base - 0.03 + rng.normal(0, 0.01, 200))
    assert worse.gain < 0 and worse.p_value > 0.99


def test_pairing_matters_a_small_consistent_gain_beats_large_item_spread():
    rng = np.random.default_rng(2)
    base = rng.uniform(0, 1, 100)  # item spread far larger than the gain
    g = paired_gain(base, base + 0.01 + rng.normal(0, 0.001, 100))
    assert g.p_value < 1e-10  # an unpaired comparison could not see 0.01 against sd 0.29


def test_constant_difference_and_bad_input():
    g = paired_gain([0.1, 0.2, 0.3], [0.2, 0.3, 0.4])
    assert g.gain == pytest.approx(0.1) and g.ci_low == g.ci_high == g.gain and g.p_value == 0.0
    assert paired_gain([0.1, 0.2], [0.1, 0.2]).p_value == 1.0
    with pytest.raises(ProbekitError, match="equal length"):
        paired_gain([0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(ProbekitError, match="at least 2"):
        paired_gain([0.1], [0.2])
    with pytest.raises(ProbekitError, match="finite"):
        paired_gain([0.1, np.nan], [0.2, 0.3])
    with pytest.raises(ProbekitError, match="confidence"):
        paired_gain([0.1, 0.2], [0.2, 0.4], confidence=95)


# ---------------------------------------------------------------- two-sided differences and Holm
from scipy import stats  # noqa: E402

from probekit.evaluation.paired import holm, paired_difference  # noqa: E402


def test_paired_difference_matches_hand_computed_t_and_exact_wilcoxon():
    a = np.array([0.5, 0.7, 0.4, 0.9, 0.6])
    b = a - np.array([1.0, 2.0, 3.0, 4.0, 5.0]) / 100  # every difference positive, distinct ranks
    d = paired_difference(a, b)
    diff = a - b
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(5))
    assert d.diff == pytest.approx(0.03) and d.mean_a == pytest.approx(a.mean()) and d.n == 5
    assert d.p_t == pytest.approx(2 * stats.t.sf(abs(t), 4))
    assert d.p_wilcoxon == pytest.approx(2 / 2 ** 5)  # exact: only the all-positive sign pattern, both tails
    assert d.ci_low <= d.diff <= d.ci_high


def test_paired_difference_is_antisymmetric_and_two_sided():
    rng = np.random.default_rng(3)
    a = rng.uniform(0.2, 0.6, 150)
    b = a + 0.02 + rng.normal(0, 0.03, 150)
    ab, ba = paired_difference(a, b), paired_difference(b, a)
    assert ab.diff == pytest.approx(-ba.diff) and ab.p_t == pytest.approx(ba.p_t)
    assert ab.p_wilcoxon == pytest.approx(ba.p_wilcoxon) and ab.diff < 0 and ab.p_t < 1e-6
    assert ab.ci_high < 0 and ba.ci_low > 0
    one_sided = paired_gain(a, b)  # b > a: the two-sided p is twice the one-sided one
    assert ab.p_t == pytest.approx(2 * one_sided.p_value)
    same = paired_difference([0.1, 0.2, 0.3], [0.1, 0.2, 0.3])
    assert same.diff == 0 and same.p_t == same.p_wilcoxon == 1.0
    with pytest.raises(ProbekitError, match="equal length"):
        paired_difference([0.1, 0.2], [0.1])


def test_holm_hand_computed_example():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, 1*0.04 = .02 .03 .06 .04 -> running max
    adj = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02])
    assert holm([0.5]).tolist() == [0.5] and holm([]).size == 0
    np.testing.assert_allclose(holm([0.3, 0.4, 0.9]), [0.9, 0.9, 0.9])  # capped at 1 then monotone
    with pytest.raises(ProbekitError, match=r"\[0, 1\]"):
        holm([0.1, 1.5])


def test_holm_agrees_with_the_step_down_procedure_by_brute_force():
    rng = np.random.default_rng(4)
    for _ in range(50):
        m = int(rng.integers(1, 9))
        p = rng.uniform(0, 0.2, m) ** 2
        adj = holm(p)
        for level in np.linspace(0.001, 0.2, 40):
            # Holm (1979): walk the sorted p-values, reject while p_(j) <= level / (m - j + 1)
            rejected = np.zeros(m, bool)
            for j, k in enumerate(np.argsort(p)):
                if p[k] > level / (m - j):
                    break
                rejected[k] = True
            assert np.array_equal(adj <= level, rejected)
