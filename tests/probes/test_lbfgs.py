"""The sweep L-BFGS solver: problems that leave the batch early keep their solutions in place."""

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from probekit.probes import lbfgs


def _problems(seed=0):
    """3 zero-padded designs (40, 55, 70 rows; 4 features + ones) x 4 columns (label set x C)."""
    rng = np.random.default_rng(seed)
    n_max, d = 70, 4
    sizes, Cs = (40, 55, 70), (0.01, 100.0, 1.0, 0.1)
    G = np.zeros((3, n_max, d + 1))
    Y = np.zeros((3, 4, 1, n_max))
    labels = []
    for b, n in enumerate(sizes):
        X = rng.normal(size=(n, d)) * [1.0, 3.0, 0.3, 1.0]
        G[b, :n] = np.c_[X, np.ones(n)]
        sets = [(X[:, 0] + rng.normal(size=n) > 0).astype(float), rng.integers(0, 2, n).astype(float)]
        for c in range(4):
            Y[b, c, 0, :n] = sets[c % 2]
        labels.append(sets)
    return G, Y, sizes, Cs, labels


def test_sweep_lbfgs_equals_sklearn_per_problem_when_problems_finish_at_different_times(monkeypatch):
    G, Y, sizes, Cs, labels = _problems()
    shapes = []
    compact = lbfgs._compact

    def spy(b, out, *args):
        shapes.append(tuple(b.active.shape))
        return compact(b, out, *args)

    monkeypatch.setattr(lbfgs, "_compact", spy)
    t = torch.float64
    q = torch.zeros(3, 5, dtype=t)
    q[:, -1] = 1.0  # the intercept coordinate (unpenalized)
    inv_C = torch.tensor([[1.0 / C for C in Cs]] * 3, dtype=t)
    V, _ = lbfgs.sweep_lbfgs(torch.tensor(G), q, torch.tensor(Y), inv_C, torch.tensor(sizes, dtype=t), 1,
                             torch.zeros(3, 4, 1, 5, dtype=t), tol=1e-9, max_iter=2000)
    assert len(set(shapes)) > 1  # finished problems left the batch along the way
    for b, n in enumerate(sizes):
        for c, C in enumerate(Cs):
            ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(G[b, :n, :4], labels[b][c % 2])
            got = V[b, c, 0].numpy()
            np.testing.assert_allclose(got[:4], ref.coef_[0], rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(got[4], ref.intercept_[0], rtol=1e-4, atol=1e-6)


def _rotated(seed=1, n=60, d=20, k=1):
    """One layer: standardized ``Z`` ``(n, d)``, its rotation ``Q`` and rotated design ``G = [Z, 1] Q``, targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))  # correlated features: Q mixes them
    Z = (X - X.mean(0)) / X.std(0)
    F = np.c_[Z, np.ones(n)]
    _, Q = np.linalg.eigh(F.T @ F / n)
    n_classes = 2 if k == 1 else k
    classes = (Z[:, :n_classes] + rng.normal(size=(n, n_classes))).argmax(1)
    Y = (classes == 1).astype(float)[None, None, None] if k == 1 else np.eye(k)[classes].T[None, None]
    return F, Q, F @ Q, Y


def _standardized_gradient(F, Y, W, C):
    """Gradient of the objective at coefficients ``W`` ``(k, p)`` on ``F = [Z, 1]``, brute force (no rotation)."""
    z = W @ F.T  # (k, n)
    pr = 1 / (1 + np.exp(-z)) if len(W) == 1 else np.exp(z - z.max(0)) / np.exp(z - z.max(0)).sum(0)
    pen = W.copy()
    pen[:, -1] = 0  # the intercept is not penalized
    return ((pr - Y) @ F + pen / C) / len(F)


def test_with_a_basis_a_problem_stops_on_the_standardized_gradient_as_scikit_learn():
    """The stopping test is ``max |Q g| <= tol`` (scikit-learn's gtol, standardized basis), not the rotated ``max |g|``."""
    rotated_test_would_go_on = []
    for k in (1, 3):
        F, Q, G, Y = _rotated(k=k)
        t, n, p = torch.float64, len(F), F.shape[1]
        args = (torch.tensor(G)[None], torch.tensor(Q[-1])[None], torch.tensor(Y), torch.tensor([[1.0]], dtype=t),
                torch.tensor([float(n)], dtype=t), k, torch.zeros(1, 1, k, p, dtype=t))
        basis = (torch.tensor(Q)[None], torch.zeros(1, dtype=torch.long))
        for tol in (1e-2, 1e-3, 1e-4):
            V, it = lbfgs.sweep_lbfgs(*args, tol=tol, basis=basis)
            W = V[0, 0].numpy() @ Q.T  # coefficients on [Z, 1]
            g = _standardized_gradient(F, Y[0, 0], W, 1.0)
            assert np.abs(g).max() <= tol
            rotated_test_would_go_on.append(np.abs(g @ Q).max() > tol)  # the rotated gradient is Q^T g
            steps = it - 1  # the last pass of the loop only finds that nothing is left to do
            assert steps >= 1
            V_before, _ = lbfgs.sweep_lbfgs(*args, tol=tol, max_iter=steps - 1, basis=basis)
            g_before = _standardized_gradient(F, Y[0, 0], V_before[0, 0].numpy() @ Q.T, 1.0)
            assert np.abs(g_before).max() > tol  # it stopped at the first iterate that passes
    assert any(rotated_test_would_go_on), rotated_test_would_go_on


def test_the_cheap_norm_bounds_decide_as_the_full_standardized_test():
    """``_converged`` skips ``Q g`` where ``|g|_2`` decides; its answers equal the brute-force ``max |Q g| <= tol``."""
    rng = np.random.default_rng(3)
    L, B, m, k, p = 2, 5, 7, 3, 9
    Q = torch.tensor(np.stack([np.linalg.qr(rng.normal(size=(p, p)))[0] for _ in range(L)]))
    scales = torch.tensor(10.0 ** rng.uniform(-5, -2, size=(B, m, 1, 1)))
    g = torch.tensor(rng.normal(size=(B, m, k, p))) * scales
    active = torch.tensor(rng.random((B, m)) < 0.8)
    tol = 1e-3
    for layer in (torch.tensor([0, 1, 1, 0, 1]), torch.ones(B, dtype=torch.long)):  # two layers; one layer
        batch = type("Batch", (), {"Q": Q, "layer": layer, "layers_in_batch": len(layer.unique())})()
        got = lbfgs._converged(batch, g, active, tol)
        full = torch.einsum("bmkp,bqp->bmkq", g, Q[layer]).abs().amax((2, 3)) <= tol
        assert got[active].tolist() == full[active].tolist()
        assert 0 < int(full[active].sum()) < int(active.sum())  # both answers occur among the active problems
