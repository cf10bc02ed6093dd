"""Per-head ITI probes and the balanced Fig. 3 probes: fixed-C logistic fits equal to the engine's."""

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split

from probekit.errors import ProbekitError
from probekit.evaluation.balanced_probes import above_chance, balance_classes, balanced_probe_accuracies
from probekit.evaluation.head_probes import fit_head_probes
from probekit.probes import EngineSettings, fit_linear

ENGINE = dict(standardize=False, dtype="float64", device="cpu", tol=1e-10, max_iter=3000)


def test_head_probes_equal_one_batched_engine_solve_over_all_heads():
    rng = np.random.default_rng(0)
    n, layers, heads, d = 120, 2, 3, 4
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, layers, heads, d)) + 0.8 * y[:, None, None, None] * rng.normal(size=(layers, heads, d))
    probes = fit_head_probes(x[:90], y[:90], x[90:], y[90:], C=1.0, max_iter=5000)
    # every head is one layer of the engine's batch: (n_layers * n_heads, n_train, head_dim)
    stack = torch.as_tensor(x[:90].reshape(90, layers * heads, d).transpose(1, 0, 2).copy())
    coef, b, _ = fit_linear(stack, y[None, :90], None, "binary", 2, EngineSettings(Cs=(1.0,), **ENGINE))
    # the same objective: scikit-learn at a tight tolerance matches the engine to 1e-6 ...
    from sklearn.linear_model import LogisticRegression

    tight = LogisticRegression(C=1.0, tol=1e-12, max_iter=10000).fit(x[:90, 1, 1], y[:90])
    np.testing.assert_allclose(tight.coef_[0], coef[1 * heads + 1, 0, 0].numpy(), atol=1e-6)
    # ... and fit_head_probes (lbfgs at its default tol=1e-4) to its stopping accuracy
    np.testing.assert_allclose(probes.coef.reshape(-1, d), coef[:, 0, 0].numpy(), atol=2e-3)
    np.testing.assert_allclose(probes.intercept.reshape(-1), b[:, 0, 0].numpy(), atol=2e-3)
    val = x[90:].reshape(30, layers * heads, d).transpose(1, 0, 2)
    pred = (np.einsum("bnd,bd->bn", val, coef[:, 0, 0].numpy()) + b[:, 0, :1].numpy()) > 0
    np.testing.assert_array_equal(probes.val_accuracy.reshape(-1), (pred == y[90:]).mean(1))


def test_balanced_probe_equals_the_engine_at_c_one_on_its_split():
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.35).astype(np.int64)
    feats = np.abs(rng.normal(size=(300, 10)))
    feats[:, 0] += 1.0 * y
    accs = balanced_probe_accuracies(feats, y, [5])
    tr, te = train_test_split(np.arange(300), test_size=0.3, random_state=5, stratify=y)
    rng5 = np.random.default_rng(5)
    tr, te = balance_classes(tr, y, rng5), balance_classes(te, y, rng5)
    f = (feats - feats[tr].mean(0)) / feats[tr].std(0)  # every unit is alive (positive)
    coef, b, _ = fit_linear(torch.as_tensor(f[tr])[None], y[None, tr], None, "binary", 2,
                            EngineSettings(Cs=(1.0,), **ENGINE))
    pred = (f[te] @ coef[0, 0, 0].numpy() + b[0, 0, 0].item()) > 0
    assert accs == [float((pred == y[te]).mean())]
    assert np.sum(y[tr]) * 2 == len(tr) and np.sum(y[te]) * 2 == len(te)  # both splits balanced


def test_balanced_probe_is_at_chance_for_noise_and_high_for_signal():
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.35).astype(np.int64)
    noise = rng.normal(size=(300, 10))
    signal = noise.copy()
    signal[:, 0] += 3 * y
    acc_noise = balanced_probe_accuracies(np.abs(noise), y, [0, 1, 2])
    acc_signal = balanced_probe_accuracies(np.abs(signal), y, [0, 1, 2])
    assert np.mean(acc_signal) > 0.85 and abs(np.mean(acc_noise) - 0.5) < 0.12
    with pytest.raises(ProbekitError, match="both classes"):
        balanced_probe_accuracies(noise, np.zeros(300, dtype=int), [0])


def test_above_chance_is_scipys_one_sided_t_test():
    from scipy.stats import ttest_1samp

    accs = [0.6, 0.7, 0.65, 0.55]
    res = above_chance(accs)
    assert res["p_value"] == pytest.approx(ttest_1samp(accs, 0.5, alternative="greater").pvalue)
    assert res["accuracy_mean"] == pytest.approx(0.625) and res["accuracy_std"] == pytest.approx(np.std(accs, ddof=1))
    assert above_chance([0.7, 0.7])["p_value"] == 0.0 and above_chance([0.5])["p_value"] == 1.0
