"""The metrics' regression / probe protocols, each shown equal to the batched probe engine.

``affine_r2`` / ``orthogonal_identifiability`` / ``no_intercept_probe`` are unpenalized least
squares (no CV): equal to the engine's ridge at ``alpha = 0`` (the no-intercept fit through
the reflected data ``[X; -X]``, whose column means are zero so centring is a no-op).
``recovery_report(method="probe")`` is one fixed-``C`` logistic fit per latent on a random
split: equal to the engine's logistic protocol with ``Cs=(C,)`` for all latents at once.
``decoding_r2(regressor="linear")`` is fitted by the engine (:class:`_EngineRidge`) and equal
to scikit-learn's ``StandardScaler + RidgeCV``.
"""

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from probekit.metrics.delay_embedding import LINEAR_ALPHAS, _EngineRidge, decoding_r2
from probekit.metrics.identifiability import affine_r2, no_intercept_probe, orthogonal_identifiability
from probekit.metrics.recovery import recovery_report
from probekit.probes import EngineSettings, fit_linear
from probekit.probes.engine import ridge_cv


def _engine_ols(x, y, intercept=True):
    if not intercept:  # reflected rows: zero column means, so the engine's centring changes nothing
        x, y = np.vstack([x, -x]), np.vstack([y, -y])
    coef, b, _ = ridge_cv(torch.as_tensor(x, dtype=torch.float64)[None],
                          torch.as_tensor(y, dtype=torch.float64)[:, None, :], (0.0,))
    return coef[0, 0].numpy(), b[0, 0].numpy()


def _data(seed=0, n=300, d=4, t=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, d) + 1.5
    y = x @ rng.normal(size=(d, t)) + 0.7 + rng.normal(size=(n, t))
    return x, y


def test_affine_and_orthogonal_fits_are_the_engines_ridge_at_alpha_zero():
    x, y = _data()
    res = affine_r2(x, y, test_size=0.5, seed=3)
    coef, b = _engine_ols(x[res.train_indices], y[res.train_indices])
    np.testing.assert_allclose(res.coef, coef, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.intercept, b, rtol=1e-9, atol=1e-10)
    orth = orthogonal_identifiability(x, y, test_size=0.5, seed=3)
    coef0, b0 = _engine_ols(x[orth.train_indices], y[orth.train_indices], intercept=False)
    np.testing.assert_allclose(orth.coef, coef0, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(b0, 0.0, atol=1e-10)


def test_no_intercept_probe_is_the_engines_reflected_ridge():
    x, y = _data(1)
    ztr = (y[:200] - y[:200].mean(0)) / y[:200].std(0)
    coef, _ = _engine_ols(x[:200], ztr, intercept=False)
    pred = x[200:] @ coef
    expected = [np.corrcoef(y[200:, j], pred[:, j])[0, 1] for j in range(y.shape[1])]
    np.testing.assert_allclose(no_intercept_probe(x[:200], y[:200], x[200:], y[200:]), expected, rtol=1e-9)
    f = np.random.default_rng(0).normal(size=(400, 5))
    target = f @ np.array([1.0, -2.0, 0.0, 0.5, 0.0])
    assert no_intercept_probe(f[:300], target[:300], f[300:], target[300:]) > 0.999
    noise = np.random.default_rng(1)
    assert abs(no_intercept_probe(f[:300], noise.normal(size=300), f[300:], noise.normal(size=100))) < 0.3


def test_recovery_probe_is_the_engines_logistic_protocol_at_one_c():
    rng = np.random.default_rng(0)
    z = rng.choice([-1.0, 1.0], size=(200, 3))
    r = z @ rng.normal(size=(3, 5)) + 1.5 * rng.normal(size=(200, 5))  # noisy: not separable
    rep = recovery_report(z, r, "probe", test_size=0.5, seed=4)
    perm = np.random.default_rng(4).permutation(200)  # the metric's split
    test, train = perm[:100], perm[100:]
    x = (r - r.mean(0)) / r.std(0)
    settings = EngineSettings(Cs=(1e4,), standardize=False, dtype="float64", device="cpu", tol=1e-9,
                              max_iter=2000)
    codes = (z[train] > 0).T.astype(np.int64)  # one label set per latent, fitted together
    coef, b, _ = fit_linear(torch.as_tensor(x[train])[None], codes, None, "binary", 2, settings)
    logits = torch.einsum("nd,sd->sn", torch.as_tensor(x[test]), coef[0, :, 0]) + b[0, :, :1]
    acc = ((logits > 0).numpy() == (z[test] > 0).T).mean(1)
    np.testing.assert_allclose(rep.per_latent, np.maximum(0.0, 2 * acc - 1), atol=1e-12)
    assert rep.per_latent.min() > 0.2  # the latents are linearly decodable (above chance)


def test_linear_decoding_is_fitted_by_the_engine_and_equals_ridgecv():
    x, y = _data(2, n=250, d=6, t=2)
    x[:, 0] *= 100.0
    ref = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-6, 3, 10))).fit(x[:200], y[:200])
    eng = _EngineRidge().fit(x[:200], y[:200])
    assert eng.alpha_ == ref[-1].alpha_ and tuple(LINEAR_ALPHAS) == tuple(np.logspace(-6, 3, 10))
    np.testing.assert_allclose(eng.predict(x[200:]), ref.predict(x[200:]), rtol=1e-9, atol=1e-9)
    groups = np.repeat(np.arange(25), 10)
    res = decoding_r2(x, y, groups, "linear", seed=0)
    assert 0.5 < res.r2 <= 1.0 and res.n_test_groups == 5
