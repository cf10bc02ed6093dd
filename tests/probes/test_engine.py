"""The batched engine against scikit-learn: same folds, same penalties."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegressionCV, RidgeClassifierCV
from sklearn.model_selection import GroupKFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from probekit.devices import resolve_device
from probekit.errors import ProbekitError
from probekit.probes import LogisticProbe, RidgeProbe
from probekit.probes import engine as E
from probekit.probes.fit import EngineSettings, fit_linear, out_of_fold, predictions
from probekit.probes.linear import _LOGISTIC_CV_EXTRA


def _data(n, d, n_classes, seed=0, noise=2.0):
    """Correlated, shifted, scaled features and labels of a noisy linear rule."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3 + rng.normal(size=d) * 3
    X = X * rng.uniform(0.5, 4, size=d)
    W = rng.normal(size=(d, max(n_classes, 1)))
    scores = (X - X.mean(0)) / X.std(0) @ W + noise * rng.normal(size=(n, W.shape[1]))
    if n_classes == 0:
        return X, scores[:, 0]
    y = (scores[:, 0] > 0).astype(int) if n_classes == 2 else scores.argmax(1)
    return X, y


@pytest.mark.parametrize("n,d,n_classes,dtype", [
    (240, 12, 2, "float64"),   # Newton
    (300, 90, 2, "float32"),   # L-BFGS
    (240, 8, 3, "float64"),    # multinomial Newton
    (300, 60, 4, "float32"),   # multinomial L-BFGS
])
def test_logistic_probe_matches_logistic_regression_cv(n, d, n_classes, dtype):
    X, y = _data(n, d, n_classes)
    engine = LogisticProbe(dtype=dtype, device="cpu").fit(X, y)
    reference = LogisticProbe(backend="sklearn").fit(X, y)
    assert engine.C_ == reference.C_
    scale = np.abs(reference.coef_).max()
    assert np.abs(engine.coef_ - reference.coef_).max() < 0.02 * scale
    assert np.abs(engine.intercept_ - reference.intercept_).max() < 0.02 * max(1.0, np.abs(reference.intercept_).max())
    assert (engine.predict(X) == reference.predict(X)).mean() >= 0.99
    np.testing.assert_allclose(engine.predict_proba(X), reference_proba(reference, X), atol=0.02)


def reference_proba(probe, X):
    """Probabilities of the same coefficients through scikit-learn's own LogisticRegression."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression()
    model.classes_, model.coef_, model.intercept_ = probe.classes_, probe.coef_, probe.intercept_
    return model.predict_proba(X)


def test_inner_scores_and_choice_equal_sklearn_on_every_c():
    X, y = _data(300, 40, 2, seed=3)
    Z = StandardScaler().fit_transform(X)
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(Z, y))
    Cs = [1e-3, 1e-2, 1e-1, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = LogisticRegressionCV(Cs=Cs, cv=splits, max_iter=1000, tol=1e-8, scoring="accuracy",
                                  **_LOGISTIC_CV_EXTRA).fit(Z, y)
    F = E.with_ones(torch.as_tensor(Z)[None])
    Q, lam = E.preconditioner_basis(F)
    _, best, scores = E.logistic_cv(F @ Q, Q, lam, torch.as_tensor(y)[None], [splits], Cs, 1, tol=1e-8,
                                    max_iter=1000)
    sk_scores = np.asarray(sk.scores_[1] if isinstance(sk.scores_, dict) else sk.scores_).reshape(3, -1).mean(0)
    np.testing.assert_allclose(scores[0, 0].numpy(), sk_scores, atol=1e-9)
    assert Cs[int(best[0, 0])] == float(np.ravel(sk.C_)[0])


@pytest.mark.parametrize("n,d,grouped,dtype", [
    (200, 30, False, "float64"), (80, 150, False, "float64"), (200, 30, True, "float32"), (90, 120, True, "float64"),
])
def test_ridge_probe_matches_ridge_cv(n, d, grouped, dtype):
    X, target = _data(n, d, 0, seed=1, noise=1.0)
    groups = np.repeat(np.arange(n // 2), 2) if grouped else None
    engine = RidgeProbe(dtype=dtype, device="cpu").fit(X, target, groups=groups)
    reference = RidgeProbe(backend="sklearn").fit(X, target, groups=groups)
    assert engine.alpha_ == reference.alpha_
    tol = 1e-6 if dtype == "float64" else 2e-3
    scale = np.abs(reference.coef_).max()
    np.testing.assert_allclose(engine.coef_, reference.coef_, atol=tol * scale)
    np.testing.assert_allclose(engine.predict(X), reference.predict(X), atol=tol * np.abs(target).max())


@pytest.mark.parametrize("n_classes,grouped", [(2, False), (3, False), (2, True), (3, True)])
def test_ridge_classification_matches_ridge_classifier_cv(n_classes, grouped):
    X, y = _data(180, 25, n_classes, seed=2)
    Z = StandardScaler().fit_transform(X)
    groups = np.repeat(np.arange(90), 2) if grouped else None
    alphas = tuple(np.logspace(-2, 5, 15))
    cv = list(GroupKFold(3).split(Z, y, groups)) if grouped else None
    sk = RidgeClassifierCV(alphas=alphas, cv=cv).fit(Z, y)
    settings = EngineSettings(method="ridge", alphas=alphas, standardize=False, dtype="float64")
    task = "binary" if n_classes == 2 else "multiclass"
    coef, intercept, alpha = fit_linear(torch.as_tensor(Z)[None], y[None], groups, task, n_classes, settings)
    assert float(alpha[0, 0]) == sk.alpha_
    np.testing.assert_allclose(coef[0, 0].numpy(), np.atleast_2d(sk.coef_), atol=1e-8)
    np.testing.assert_allclose(intercept[0, 0].numpy(), np.atleast_1d(sk.intercept_), atol=1e-8)


def test_out_of_fold_equals_a_per_layer_sklearn_loop_with_the_same_folds():
    """Three layers (two shapes), two label sets, grouped rows: held-out predictions per fold."""
    rng = np.random.default_rng(4)
    X, y = _data(240, 30, 2, seed=4)
    layers = [X, X[:, ::-1] * 2 + rng.normal(size=X.shape) * 0.5, X[:, :10]]
    groups = np.repeat(np.arange(120), 2)
    codes = np.stack([y, rng.permutation(y)])
    splits = list(GroupKFold(4).split(X, y, groups))
    decision, penalty = out_of_fold(layers, codes, groups, "binary", splits,
                                    EngineSettings(device="cpu", dtype="float64", chunk_mb=0.05))
    pred = predictions(decision, "binary")
    agree = []
    for li, L in enumerate(layers):
        for s, labels in enumerate(codes):
            for f, (train, test) in enumerate(splits):
                ref = LogisticProbe(backend="sklearn").fit(L[train], labels[train], groups=groups[train])
                assert penalty[li, s, f] == ref.C_
                agree.append((ref.predict(L[test]) == pred[li, s, test]).mean())
    assert np.mean(agree) > 0.99 and not np.isnan(decision).any()


def test_out_of_fold_multiclass_ungrouped_equals_sklearn():
    """Three classes, one row per group: stratified inner folds differ per label set (one block each)."""
    rng = np.random.default_rng(5)
    X, y = _data(180, 12, 3, seed=5)
    codes = np.stack([y, rng.permutation(y), rng.permutation(y)])
    groups = np.arange(180)
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    decision, penalty = out_of_fold([X], codes, groups, "multiclass", splits,
                                    EngineSettings(device="cpu", dtype="float64"))
    assert decision.shape == (1, 3, 180, 3)
    pred = predictions(decision, "multiclass")
    agree = []
    for s, labels in enumerate(codes):
        for f, (train, test) in enumerate(splits):
            ref = LogisticProbe(backend="sklearn").fit(X[train], labels[train], groups=groups[train])
            assert penalty[0, s, f] == ref.C_
            agree.append((ref.predict(X[test]) == pred[0, s, test]).mean())
    assert np.mean(agree) > 0.98


def test_bad_engine_settings_are_refused():
    X, y = _data(60, 5, 2)
    with pytest.raises(ProbekitError, match="float32"):
        LogisticProbe(dtype="float16").fit(X, y)
    with pytest.raises(ProbekitError, match="backend"):
        LogisticProbe(backend="liblinear").fit(X, y)
    with pytest.raises(ProbekitError, match="device"):
        resolve_device("tpu")
    with pytest.raises(ProbekitError, match="ridge"):
        EngineSettings(method="logistic").method_for("continuous")
