import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from probekit.concepts import ConceptDataset
from probekit.errors import ProbekitError
from probekit.probes import LogisticProbe, RidgeProbe, control_task_labels, layer_sweep, shuffled_labels


def _planted(n=200, d=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    return X, (X @ w > 0).astype(int), X @ w


def test_sklearn_contract_clone_pipeline_gridsearch():
    X, y, _ = _planted()
    probe = LogisticProbe(Cs=(0.1, 1.0), cv=3)
    assert clone(probe).get_params() == probe.get_params()
    assert probe.fit(X, y) is probe and probe.C_ in (0.1, 1.0)
    assert probe.score(X, y) > 0.9 and probe.coef_.shape == (1, 20)
    pipe = Pipeline([("pca", PCA(10)), ("probe", LogisticProbe())]).fit(X, y)
    assert pipe.score(X, y) > 0.7
    search = GridSearchCV(RidgeProbe(), {"alphas": [(0.1,), (1000.0,)]}, cv=3).fit(X, _planted()[2])
    assert search.best_params_ == {"alphas": (0.1,)}


def test_coefficients_are_in_original_feature_space():
    X, y, _ = _planted()
    X = X * np.arange(1, 21) + 5.0
    probe = LogisticProbe().fit(X, y)
    np.testing.assert_allclose(X @ probe.coef_.ravel() + probe.intercept_, probe.decision_function(X), atol=1e-8)
    ridge = RidgeProbe().fit(X, _planted()[2])
    np.testing.assert_allclose(X @ ridge.coef_ + ridge.intercept_, ridge.predict(X), atol=1e-8)


def test_probe_rejects_bad_input():
    X, y, _ = _planted()
    with pytest.raises(ProbekitError, match="two classes"):
        LogisticProbe().fit(X, np.zeros(len(X)))
    X[0, 0] = np.nan
    with pytest.raises(ProbekitError, match="NaN"):
        LogisticProbe().fit(X, y)


def test_control_labels():
    y = np.array([0, 1] * 50)
    shuffled = shuffled_labels(y, seed=1)
    assert shuffled.dtype == y.dtype and sorted(shuffled) == sorted(y)  # same labels ...
    assert 0.3 < np.mean(shuffled == y) < 0.7  # ... in an order unrelated to y (chance agreement 0.5)
    assert np.array_equal(shuffled_labels(y, seed=1), shuffled)  # seeded
    assert not np.array_equal(shuffled_labels(y, seed=2), shuffled)
    values = np.arange(100.0)  # distinct values: a permutation, far from the identity
    permuted = shuffled_labels(values, seed=0)
    assert sorted(permuted) == sorted(values) and np.mean(permuted == values) < 0.1
    types = np.array(["a", "b", "c", "d"] * 25)
    control = control_task_labels(types, y, seed=0)
    for t in "abcd":
        assert len(set(control[types == t])) == 1


def test_layer_sweep_scores_planted_concept_and_controls():
    X, y, _ = _planted(n=240)
    rng = np.random.default_rng(1)
    noise = rng.normal(size=X.shape)
    groups = np.repeat(np.arange(120), 2)
    dataset = ConceptDataset([f"x{i}" for i in range(240)], y, "binary", groups=groups)
    rows = layer_sweep({"informative": X, "noise": noise}, {"informative": 1, "noise": 0}, dataset,
                       n_splits=4, progress=False)
    info, noise_row = rows
    assert info.score > 0.9 and info.control_score < 0.65 and info.selectivity > 0.25
    assert noise_row.score < 0.65
    assert info.n_train == 180 and info.n_test == 60 and info.metric == "accuracy"


def test_layer_sweep_regression_reports_r2():
    X, _, target = _planted(n=150)
    dataset = ConceptDataset([str(i) for i in range(150)], target, "continuous")
    (row,) = layer_sweep({"x": X}, {"x": 0}, dataset, n_splits=3, progress=False)
    assert row.metric == "r2" and row.score > 0.95 and row.control_score < 0.1


def test_group_split_never_leaks(monkeypatch):
    from probekit.probes.sweep import outer_splits

    y = np.array([0, 1] * 30)
    groups = np.repeat(np.arange(30), 2)
    for train, test in outer_splits(y, groups, "binary", 5, 0):
        assert not set(groups[train]) & set(groups[test])
    with pytest.raises(ProbekitError, match="folds"):
        outer_splits(y[:4], groups[:4], "binary", 5, 0)
