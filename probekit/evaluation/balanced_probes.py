"""Class-balanced logistic probe accuracy over seeded stratified splits (Reizinger et al. 2025, Fig. 3)."""

from __future__ import annotations

import numpy as np

from probekit.errors import ProbekitError

__all__ = ["above_chance", "balance_classes", "balanced_probe_accuracies"]


def balance_classes(idx: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``idx`` subsampled to equal numbers of 0s and 1s of ``y`` (the smaller class's count), sorted."""
    a, b = idx[y[idx] == 0], idx[y[idx] == 1]
    k = min(len(a), len(b))
    return np.sort(np.concatenate([rng.choice(a, k, replace=False), rng.choice(b, k, replace=False)]))


def balanced_probe_accuracies(features: np.ndarray, y: np.ndarray, seeds, test_size: float = 0.3,
                              C: float = 1.0, max_iter: int = 2000) -> list[float]:
    """Test accuracy of an L2 logistic probe per seed on class-balanced splits.

    Per seed: a stratified ``1 - test_size`` / ``test_size`` split, each side subsampled to
    balanced classes; units whose train mean is <= 0 dropped (dead ReLU units; all kept if
    none is left); the rest z-scored with train statistics; ``LogisticRegression(C)``
    (lbfgs) fitted on the train side, accuracy on the test side. This is the engine's
    logistic protocol at one fixed ``C`` with no inner CV (shown equal to
    :func:`probekit.probes.fit_linear` with ``Cs=(C,)`` in the tests).

    Parameters
    ----------
    features : ndarray of shape (n_samples, n_features)
    y : ndarray of {0, 1}, shape (n_samples,)
    seeds : iterable of int
        One split (and balancing draw) per seed.
    test_size : float in (0, 1)
    C : float
        Inverse regularization strength.
    max_iter : int

    Returns
    -------
    list of float
        One accuracy per seed (0.5 = chance on a balanced test split).

    Raises
    ------
    ProbekitError
        Shapes disagree, or ``y`` is not binary 0/1 with both classes.

    References
    ----------
    Reizinger et al. (2025), "Cross-Entropy Is All You Need To Invert the Data Generating
    Process", ICLR, Fig. 3 (balanced linear probes for binary factors).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    features, y = np.asarray(features), np.asarray(y)
    if features.ndim != 2 or y.shape != (features.shape[0],):
        raise ProbekitError(f"features (n_samples, n_features) and y (n_samples,) disagree: "
                            f"{features.shape} and {y.shape}")
    if set(np.unique(y).tolist()) != {0, 1}:
        raise ProbekitError(f"y must hold both classes 0 and 1; got {np.unique(y).tolist()}")
    accs = []
    idx = np.arange(len(y))
    for seed in seeds:
        tr, te = train_test_split(idx, test_size=test_size, random_state=int(seed), stratify=y)
        rng = np.random.default_rng(int(seed))
        tr, te = balance_classes(tr, y, rng), balance_classes(te, y, rng)
        keep = features[tr].mean(0) > 0
        if not keep.any():
            keep[:] = True
        f = features[:, keep]
        mu, sd = f[tr].mean(0), f[tr].std(0)
        sd[sd == 0] = 1.0
        f = (f - mu) / sd
        clf = LogisticRegression(C=C, max_iter=max_iter, random_state=int(seed)).fit(f[tr], y[tr])
        accs.append(float((clf.predict(f[te]) == y[te]).mean()))
    return accs


def above_chance(accuracies, chance: float = 0.5) -> dict:
    """Mean, sample std and one-sided t-test p-value of seed accuracies against ``chance``.

    ``scipy.stats.ttest_1samp(accuracies, chance, alternative="greater")``; when every
    accuracy is equal (no spread, the t statistic is undefined) the p-value is 0.0 if they
    are above chance, else 1.0.

    Returns
    -------
    dict
        ``accuracy_mean``, ``accuracy_std`` (ddof 1; 0.0 for one value), ``p_value``.
    """
    from scipy.stats import ttest_1samp

    accs = np.asarray(accuracies, dtype=np.float64)
    if accs.size == 0:
        raise ProbekitError("above_chance needs at least one accuracy")
    if np.std(accs) > 0:
        p = float(ttest_1samp(accs, chance, alternative="greater").pvalue)
    else:
        p = 0.0 if np.mean(accs) > chance else 1.0
    std = float(np.std(accs, ddof=1)) if accs.size > 1 else 0.0
    return {"accuracy_mean": float(np.mean(accs)), "accuracy_std": std, "p_value": p}
