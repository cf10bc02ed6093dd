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
