"""MDL online code, permutation test and selectivity: hand computations and sklearn cross-checks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_val_score, permutation_test_score
from sklearn.neighbors import KNeighborsClassifier

from probekit.errors import ProbekitError
from probekit.metrics.probe_rigor import mdl_online_code, permutation_test, selectivity
from probekit.probes.control import control_task_labels


def _separable(n=600, d=5, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.normal(size=(n, d))
    x[:, 0] += 6.0 * (2 * y - 1)
    return x, y


def test_mdl_with_prior_model_equals_hand_computed_prequential_code():
    rng = np.random.default_rng(1)
    y = rng.choice(["a", "b", "c"], p=[0.6, 0.3, 0.1], size=500)
    x = rng.normal(size=(500, 2))
    fr = (0.02, 0.1, 0.3, 1.0)
    mix = 1e-3
    res = mdl_online_code(x, y, estimator=DummyClassifier(strategy="prior"), fractions=fr, shuffle=False,
                          uniform_mix=mix)
    ends = [10, 50, 150, 500]
    assert res.block_ends.tolist() == ends
    classes = ["a", "b", "c"]
    want = [10 * np.log2(3)]
    for lo, hi in zip(ends[:-1], ends[1:]):
        freq = {c: np.mean(y[:lo] == c) for c in classes}
        want.append(sum(-np.log2((1 - mix) * freq[c] + mix / 3) for c in y[lo:hi]))
    assert np.allclose(res.block_codelengths_bits, want, atol=1e-8)
    assert res.codelength_bits == pytest.approx(sum(want), abs=1e-8)
    assert res.uniform_codelength_bits == pytest.approx(500 * np.log2(3), abs=1e-10)


def test_mdl_compresses_a_decodable_label_and_not_a_random_one():
    x, y = _separable()
    good = mdl_online_code(x, y, seed=0)
    assert good.compression > 5.0
    assert good.block_codelengths_bits[0] == pytest.approx(good.block_ends[0] * 1.0)  # log2(2) = 1 bit each
    noise = np.random.default_rng(2).integers(0, 2, size=len(y))
    bad = mdl_online_code(x, noise, seed=0)
    assert bad.compression < 1.05
    assert good.codelength_bits < bad.codelength_bits


def test_mdl_single_class_prefix_uses_laplace_frequencies():
    y = np.array([0] * 20 + [1] * 20)
    x = np.arange(40, dtype=float)[:, None]
    res = mdl_online_code(x, y, fractions=(0.25, 0.5, 1.0), shuffle=False, uniform_mix=0.0)
    # block 2 (rows 10..19) coded with p(0) = (10 + 1) / (10 + 2)
    assert res.block_codelengths_bits[1] == pytest.approx(-10 * np.log2(11 / 12), abs=1e-12)
    assert np.isfinite(res.codelength_bits)


def test_permutation_test_matches_sklearn_permutation_test_score():
    x, y = _separable(n=120, seed=3)
    x[:, 0] = x[:, 0] / 6.0 + 0.3 * (2 * y - 1)  # weaker signal: not every fold perfect
    est = LogisticRegression(max_iter=1000)
    res = permutation_test(est, x, y, n_permutations=15, cv=3, seed=7)
    score, perm, p = permutation_test_score(est, x, y, n_permutations=15, cv=3, random_state=7)
    assert res.score == pytest.approx(score, abs=1e-12)
    assert np.allclose(res.permutation_scores, perm, atol=1e-12)
    assert res.p_value == pytest.approx(p, abs=1e-12)


def test_permutation_p_values_for_signal_and_noise():
    x, y = _separable(n=200, seed=4)
    strong = permutation_test(None, x, y, n_permutations=19, cv=3)
    assert strong.p_value == pytest.approx(1 / 20)
    assert strong.score > 0.95
    noise = np.random.default_rng(5).integers(0, 2, size=200)
    weak = permutation_test(None, x, noise, n_permutations=19, cv=3)
    assert weak.p_value > 0.1


def _word_data(encode_identity: bool, seed=0):
    """100 word types x 6 tokens; the label depends on the type; x may memorise the type."""
    rng = np.random.default_rng(seed)
    types = np.repeat(np.arange(100), 6)
    type_label = rng.integers(0, 2, size=100)
    y = type_label[types]
    signal = (2 * y - 1)[:, None] * np.array([[1.5, 0.0]])
    x = signal + rng.normal(size=(600, 2))
    if encode_identity:
        x = np.column_stack([x, 3.0 * rng.normal(size=(100, 10))[types]])  # a type embedding
    return x, y, types


def test_selectivity_is_high_when_only_the_property_is_encoded():
    x, y, types = _word_data(encode_identity=False)
    y_ctrl = control_task_labels(types, y, seed=1)
    res = selectivity(None, x, y, y_control=y_ctrl, cv=5, seed=0)
    assert res.task_score > 0.85
    assert res.control_score < 0.65
    assert res.selectivity == pytest.approx(res.task_score - res.control_score)
    # independent computation with the same folds
    folds = KFold(5, shuffle=True, random_state=0)
    t = cross_val_score(LogisticRegression(max_iter=1000), x, y, cv=folds).mean()
    c = cross_val_score(LogisticRegression(max_iter=1000), x, y_ctrl, cv=folds).mean()
    assert res.selectivity == pytest.approx(t - c, abs=1e-12)
    # word_types= builds the same control labels through probekit.probes.control
    via_types = selectivity(None, x, y, word_types=types, cv=5, seed=1)
    manual = selectivity(None, x, y, y_control=control_task_labels(types, y, seed=1), cv=5, seed=1)
    assert via_types.selectivity == pytest.approx(manual.selectivity, abs=1e-12)


def test_selectivity_drops_for_a_memorising_probe_on_identity_features():
    x, y, types = _word_data(encode_identity=True, seed=2)
    y_ctrl = control_task_labels(types, y, seed=3)
    knn = KNeighborsClassifier(n_neighbors=1)
    res = selectivity(knn, x, y, y_control=y_ctrl, cv=5, seed=0)
    assert res.control_score > 0.9  # the probe memorises word identity
    assert res.selectivity < 0.1


def test_errors():
    x, y = _separable(n=40)
    with pytest.raises(ProbekitError, match="control labels"):
        selectivity(None, x, y)
    with pytest.raises(ProbekitError, match="fractions"):
        mdl_online_code(x, y, fractions=(0.5, 0.2, 1.0))
    with pytest.raises(ProbekitError, match="distinct label"):
        mdl_online_code(x, np.zeros(40))
    with pytest.raises(ProbekitError, match="n_permutations"):
        permutation_test(None, x, y, n_permutations=0)
    with pytest.raises(ProbekitError, match="non-integer"):
        mdl_online_code(x, np.linspace(0, 1, 40))
    with pytest.raises(ProbekitError, match="scikit-learn estimator"):
        permutation_test("logreg", x, y)
