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
