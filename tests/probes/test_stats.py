"""Sweep statistics against direct re-computations; custom estimators in layer_sweep."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from probekit.concepts import ConceptDataset
from probekit.errors import ProbekitError
from probekit.probes import LogisticProbe, layer_sweep
from probekit.probes.stats import auroc, bootstrap_ci, mean_fold_auroc, permutation_p_value
from probekit.probes.sweep import fit_params_for_groups


def test_permutation_p_value_counts_ties_and_never_reaches_zero():
    assert permutation_p_value(0.9, [0.5, 0.6, 0.95]) == pytest.approx(2 / 4)
    assert permutation_p_value(0.9, [0.9, 0.1]) == pytest.approx(2 / 3)
    assert permutation_p_value(0.99, [0.5] * 5) == pytest.approx(1 / 6)


def _naive_bootstrap(y, pred, groups, task, n_boot, seed, chunk=64):
    """Row-by-row reference: the same group draws, rows gathered and scored with sklearn."""
    rng = np.random.default_rng(seed)
    names = np.unique(groups)
    rows_of = [np.flatnonzero(groups == g) for g in names]
    stats = []
    for start in range(0, n_boot, chunk):
        draws = rng.integers(0, len(names), size=(min(chunk, n_boot - start), len(names)))
        for draw in draws:
            rows = np.concatenate([rows_of[g] for g in draw])
            if task == "continuous":
                stats.append(r2_score(y[rows], pred[rows]))
            else:
                stats.append(np.mean(y[rows] == pred[rows]))
    return np.quantile(stats, [0.025, 0.975])


@pytest.mark.parametrize("task", ["binary", "continuous"])
def test_bootstrap_ci_equals_a_row_by_row_cluster_bootstrap(task):
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), rng.integers(1, 4, size=40))
    n = len(groups)
    if task == "binary":
        y = rng.integers(0, 2, n)
        pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    else:
        y = rng.normal(size=n)
        pred = y + rng.normal(size=n) * 0.5
    ci = bootstrap_ci(y, pred[None], groups, task, n_boot=300, seed=3)
    np.testing.assert_allclose(ci, _naive_bootstrap(y, pred, groups, task, 300, 3), atol=1e-12)
    point = np.mean(y == pred) if task == "binary" else r2_score(y, pred)
    assert ci[0] < point < ci[1]


def test_mean_fold_auroc():
    rng = np.random.default_rng(1)
    y = np.tile([0, 1], 30)
    score = y + rng.normal(size=60)
    splits = [(None, np.arange(0, 30)), (None, np.arange(30, 60)), (None, np.array([0, 2, 4]))]
    expected = np.mean([roc_auc_score(y[:30], score[:30]), roc_auc_score(y[30:], score[30:])])
    assert mean_fold_auroc(y, score, splits) == pytest.approx(expected)
    assert mean_fold_auroc(y, score, splits[2:]) is None


def _planted_dataset(n=240, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 16))
    y = (X[:, :classes - 1] @ np.ones(classes - 1) > 0).astype(int) if classes == 2 else \
        np.digitize(X[:, 0] + X[:, 1], [-0.7, 0.7])
    groups = np.repeat(np.arange(n // 2), 2)
    return X, rng.normal(size=X.shape), ConceptDataset([f"x{i}" for i in range(n)], y,
                                                       "binary" if classes == 2 else "multiclass", groups=groups)


def test_layer_sweep_statistics_are_consistent():
    X, noise, dataset = _planted_dataset()
    info, null = layer_sweep({"informative": X, "noise": noise}, {"informative": 1, "noise": 0}, dataset,
                             n_splits=4, seeds=2, n_controls=4, progress=False, device="cpu")
    for row in (info, null):
        assert len(row.fold_scores) == 8 and len(row.control_scores) == 4 and row.n_seeds == 2
        assert row.score == pytest.approx(np.mean(row.fold_scores))
        assert row.score_std == pytest.approx(np.std(row.fold_scores))
        assert row.control_score == pytest.approx(np.mean(row.control_scores))
        assert row.control_sd == pytest.approx(np.std(row.control_scores, ddof=1))
        assert row.p_value == pytest.approx((1 + sum(c >= row.score for c in row.control_scores)) / 5)
        assert row.ci_low <= row.ci_high
    assert info.p_value == pytest.approx(0.2) and info.auroc > 0.95 and info.ci_low > 0.85
    assert 0.3 < null.auroc < 0.7 and null.ci_low < null.score < null.ci_high and null.score < 0.65
    assert max(info.control_scores) < 0.7


def test_multiclass_rows_have_no_auroc_and_seeds_must_be_positive():
    X, _, dataset = _planted_dataset(classes=3)
    (row,) = layer_sweep({"x": X}, {"x": 0}, dataset, n_splits=3, n_controls=2, progress=False, device="cpu")
    assert row.auroc is None and row.score > 0.8
    with pytest.raises(ProbekitError, match="seeds"):
        layer_sweep({"x": X}, {"x": 0}, dataset, seeds=0, progress=False)


class _RecordsGroups(ClassifierMixin, BaseEstimator):
    """Majority-class classifier that records whether ``fit`` received groups."""

    seen = []

    def fit(self, X, y, groups=None):
        _RecordsGroups.seen.append(groups is not None)
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[counts.argmax()]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


def test_any_sklearn_estimator_plugs_in_with_groups_only_where_fit_takes_them():
    X, _, dataset = _planted_dataset()
    assert fit_params_for_groups(LogisticRegression(), [1]) == {}
    pipe = Pipeline([("scale", StandardScaler()), ("probe", LogisticProbe(backend="sklearn"))])
    assert fit_params_for_groups(pipe, [1]) == {"probe__groups": [1]}
    (plain,) = layer_sweep({"x": X}, {"x": 0}, dataset, n_splits=3, n_controls=2, progress=False,
                           probe=LogisticRegression())
    (piped,) = layer_sweep({"x": X}, {"x": 0}, dataset, n_splits=3, n_controls=2, progress=False, probe=pipe)
    assert plain.score > 0.9 and piped.score > 0.9 and plain.auroc > 0.95
    _RecordsGroups.seen = []
    (majority,) = layer_sweep({"x": X}, {"x": 0}, dataset, n_splits=3, n_controls=2, progress=False,
                              probe=_RecordsGroups())
    assert all(_RecordsGroups.seen) and len(_RecordsGroups.seen) == 3 * 3 and majority.auroc is None


def test_engine_sweep_agrees_with_the_sklearn_loop_on_the_same_folds():
    rng = np.random.default_rng(5)
    base = rng.normal(size=(300, 40))
    y = (base[:, 0] + 0.8 * rng.normal(size=300) > 0).astype(int)
    features = {f"l{i}": base * (1 + i) + rng.normal(size=base.shape) * i for i in range(3)}
    dataset = ConceptDataset([str(i) for i in range(300)], y, "binary", groups=np.repeat(np.arange(150), 2))
    kwargs = dict(n_splits=5, n_controls=1, progress=False)
    engine = layer_sweep(features, {k: i for i, k in enumerate(features)}, dataset, device="cpu", **kwargs)
    reference = layer_sweep(features, {k: i for i, k in enumerate(features)}, dataset,
                            probe=LogisticProbe(backend="sklearn"), **kwargs)
    diff = np.abs(np.array([r.fold_scores for r in engine]) - np.array([r.fold_scores for r in reference]))
    assert diff.mean() < 0.005 and diff.max() <= 0.02
    assert np.abs([a.auroc - b.auroc for a, b in zip(engine, reference)]).max() < 0.01


def test_auroc_equals_sklearn_with_ties_and_named_classes():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    scores = np.round(rng.normal(size=200) + y, 1)  # many ties
    assert auroc(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    named = np.where(y == 1, "true", "false")  # the larger label ("true") is positive, as sklearn
    assert auroc(named, scores) == pytest.approx(roc_auc_score(named == "true", scores), abs=1e-12)
    assert auroc(y, -scores) == pytest.approx(1 - roc_auc_score(y, scores), abs=1e-12)


def test_bootstrap_draws_do_not_depend_on_the_memory_bound():
    from probekit.probes.stats import _resample_counts

    small = np.concatenate(list(_resample_counts(300, 100, np.random.default_rng(0), cells=7 * 300)))
    whole = np.concatenate(list(_resample_counts(300, 100, np.random.default_rng(0), cells=10**9)))
    assert small.shape == (100, 300) and (small.sum(1) == 300).all()
    np.testing.assert_array_equal(small, whole)
