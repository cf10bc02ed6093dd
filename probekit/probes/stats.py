"""Statistics of a layer sweep: permutation p-value, bootstrap CI, AUROC.

References
----------
Phipson, B. & Smyth, G. (2010). Permutation p-values should never be zero. Statistical
Applications in Genetics and Molecular Biology 9(1), Article 39 (``(1 + b) / (1 + m)``).
Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap, Chapter 13
(percentile intervals); resampling whole groups is the cluster bootstrap (Davison &
Hinkley 1997, Section 3.8).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

#: How the numbers are computed (for reports).
P_VALUE_METHOD = ("(1 + number of control draws scoring >= the probe) / (1 + K): a permutation p-value "
                  "against the K control draws (refitted with the same folds); never below 1/(K+1)")
CI_METHOD = ("95% percentile bootstrap over groups (all rows of a group resampled together) of the pooled "
             "out-of-fold predictions (averaged over seeds)")


__all__ = ["auroc", "bootstrap_ci", "mean_fold_auroc", "permutation_p_value"]


def permutation_p_value(score: float, null_scores) -> float:
    """``(1 + #{null >= score}) / (1 + K)`` for ``K`` null (control) scores.

    Parameters
    ----------
    score:
        The probe's score.
    null_scores:
        ``(K,)`` scores of the same protocol on control labels.

    Returns
    -------
    float
        In ``[1/(K+1), 1]``.
    """
    null_scores = np.asarray(null_scores, dtype=float)
    return float((1 + np.sum(null_scores >= score)) / (1 + len(null_scores)))


def _group_sums(values: np.ndarray, groups: np.ndarray):
    """Per-group column sums of ``values`` ``(n, c)``; ``(n_groups, c)``."""
    _, inverse = np.unique(groups, return_inverse=True)
    out = np.zeros((inverse.max() + 1, values.shape[1]))
    np.add.at(out, inverse, values)
    return out


def _resample_counts(n_groups: int, n_boot: int, rng, cells: int = 1 << 20):
    """Yield ``(b, n_groups)`` counts of each group in ``b`` bootstrap resamples of the groups.

    ``b * n_groups`` stays near ``cells`` (memory bounded whatever the number of groups);
    the draws are the same for any ``cells`` (one ``(b, n_groups)`` block after another).
    """
    chunk = max(1, cells // max(1, n_groups))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n_groups, size=(b, n_groups)) + n_groups * np.arange(b)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n_groups).reshape(b, n_groups)


def bootstrap_ci(y_true, y_pred, groups, task: str, n_boot: int = 1000, seed: int = 0, level: float = 0.95):
    """Percentile CI of the pooled out-of-fold accuracy or R², resampling groups.

    Parameters
    ----------
    y_true:
        ``(n,)`` labels or targets.
    y_pred:
        ``(n_seeds, n)`` out-of-fold predictions (one row per repeat of the outer split).
    groups:
        ``(n,)`` group ids; a resample draws groups with replacement and keeps all their rows.
    task:
        ``continuous`` -> R² of the pooled predictions; else accuracy.

    Returns
    -------
    (low, high)
        The ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles (floats).
    """
    y_true = np.asarray(y_true)
    y_pred = np.atleast_2d(np.asarray(y_pred))
    if task == "continuous":
        err = ((y_pred - y_true.astype(float)) ** 2).mean(0)
        y = y_true.astype(float)
        cols = np.column_stack([err, y, y * y, np.ones_like(y)])
    else:
        cols = np.column_stack([(y_pred == y_true).mean(0), np.ones(len(y_true))])
    sums = _group_sums(cols, groups)
    stats = []
    for counts in _resample_counts(len(sums), n_boot, np.random.default_rng(seed)):
        s = counts @ sums
        if task == "continuous":
            sst = s[:, 2] - s[:, 1] ** 2 / s[:, 3]
            stats.append(1 - s[:, 0] / np.where(sst > 0, sst, np.nan))
        else:
            stats.append(s[:, 0] / s[:, 1])
    stats = np.concatenate(stats)
    lo, hi = np.nanquantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def mean_fold_auroc(y_true, decision, splits) -> float | None:
    """Mean over test folds of the AUROC of binary decision values (folds with one class skipped).

    Parameters
    ----------
    y_true:
        ``(n,)`` 0/1 labels.
    decision:
        ``(n,)`` decision values (logits, scores or probabilities of class 1).
    splits:
        ``[(train, test), ...]``; may span several seeds.

    Returns
    -------
    float or None
        ``None`` when no fold has both classes.
    """
    y_true, decision = np.asarray(y_true), np.asarray(decision)
    values = [auroc(y_true[test], decision[test]) for _, test in splits if len(np.unique(y_true[test])) == 2]
    return float(np.mean(values)) if values else None


def auroc(y_true, scores) -> float:
    """Area under the ROC curve of binary labels (the larger label positive), ties counted half.

    The Mann-Whitney form ``(rank sum of positives - n1 (n1 + 1) / 2) / (n1 n0)`` with
    average ranks: the same number as ``sklearn.metrics.roc_auc_score``, without its
    per-call input checks (the sweep computes one per fold, layer and seed).

    Parameters
    ----------
    y_true:
        ``(n,)`` labels of exactly two classes.
    scores:
        ``(n,)`` decision values.
    """
    y_true = np.asarray(y_true)
    positive = y_true == np.unique(y_true)[-1]
    ranks = rankdata(np.asarray(scores, dtype=float))
    n1 = int(positive.sum())
    n0 = len(y_true) - n1
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
