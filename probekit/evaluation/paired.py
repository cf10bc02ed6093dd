"""Paired comparison of a treated and a baseline score on the same items (e.g. questions)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from probekit.errors import ProbekitError

__all__ = ["PairedGain", "PairedDifference", "paired_gain", "paired_difference", "holm"]


def _check_pair(a, b, confidence: float, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Both score vectors as float64 1-D arrays of equal length >= 2, finite; ``confidence`` in (0, 1)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ProbekitError(f"{names[0]} and {names[1]} must be 1-D and of equal length; got shapes {a.shape} "
                            f"and {b.shape}")
    if a.size < 2:
        raise ProbekitError(f"a paired comparison needs at least 2 items; got {a.size}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ProbekitError(f"{names[0]} and {names[1]} must be finite (no NaN or inf)")
    if not 0 < confidence < 1:
        raise ProbekitError(f"confidence must be in (0, 1); got {confidence}")
    return a, b


@dataclass
class PairedGain:
    """Mean gain of treated over baseline on paired items.

    Attributes
    ----------
    gain : float
        ``mean(treated - baseline)``.
    ci_low, ci_high : float
        Percentile bootstrap confidence interval of ``gain`` (resampling items).
    p_value : float
        One-sided paired t-test of ``gain > 0``.
    n : int
        Number of paired items.
    """

    gain: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def paired_gain(baseline, treated, confidence: float = 0.95, n_resamples: int = 9999,
                seed: int = 0) -> PairedGain:
    """Is ``treated`` higher than ``baseline`` on the same items, beyond item-sampling noise?

    Parameters
    ----------
    baseline, treated : array-like of shape (n_items,)
        Scores of the same items (same order) without and with the treatment, e.g.
        per-question TruthfulQA MC2 unsteered and steered. Needs ``n_items >= 2``.
    confidence : float
        Level of the bootstrap interval, in (0, 1).
    n_resamples : int
        Bootstrap resamples (``scipy.stats.bootstrap``, percentile method).
    seed : int
        Seeds the bootstrap.

    Returns
    -------
    PairedGain
        Mean gain, its bootstrap interval and the one-sided paired t-test p-value
        (``scipy.stats.ttest_rel(treated, baseline, alternative="greater")``). When every
        difference is the same (to 1e-12) the interval is that value and the p-value is
        0.0 for a positive difference, 1.0 otherwise.

    Raises
    ------
    ProbekitError
        If the arrays differ in shape, are not 1-D, have fewer than 2 items or contain
        non-finite values, or ``confidence`` is outside (0, 1).

    References
    ----------
    Student's paired t-test; Efron & Tibshirani (1993), "An Introduction to the
    Bootstrap", ch. 13 (percentile interval). Used for held-out steering gains as in
    Li et al. (2023), "Inference-Time Intervention", NeurIPS, Sec. 4 (2-fold CV by question).
    """
    from scipy import stats

    b, t = _check_pair(baseline, treated, confidence, ("baseline", "treated"))
    diff = t - b
    gain = float(diff.mean())
    if np.ptp(diff) <= 1e-12 * max(1.0, abs(gain)):  # no spread: the interval is the point, no t-test
        p = 1.0 if gain <= 0 else 0.0
        return PairedGain(gain, gain, gain, p, int(b.size))
    p = float(stats.ttest_rel(t, b, alternative="greater").pvalue)
    ci = stats.bootstrap((diff,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                         method="percentile", random_state=np.random.default_rng(seed)).confidence_interval
    return PairedGain(gain, float(ci.low), float(ci.high), p, int(b.size))


@dataclass
class PairedDifference:
    """Two-sided paired comparison of scores ``a`` and ``b`` on the same items.

    Attributes
    ----------
    mean_a, mean_b : float
        Mean scores.
    diff : float
        ``mean(a - b)``.
    ci_low, ci_high : float
        Percentile bootstrap interval of ``diff`` (items resampled with their pair).
    p_t : float
        Two-sided paired t-test (``scipy.stats.ttest_rel(a, b)``).
    p_wilcoxon : float
        Two-sided Wilcoxon signed-rank test of the differences (``scipy.stats.wilcoxon``,
        zero differences dropped).
    n : int
        Number of paired items.
    """

    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_t: float
    p_wilcoxon: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def paired_difference(a, b, confidence: float = 0.95, n_resamples: int = 9999,
                      seed: int = 0) -> PairedDifference:
    """Do two treatments score differently on the same items (either direction)?

    Parameters
    ----------
    a, b : array-like of shape (n_items,)
        Scores of the same items in the same order, e.g. per-question TruthfulQA MC2 under
        two steering methods. Needs ``n_items >= 2``.
    confidence : float
        Level of the bootstrap interval of the mean difference, in (0, 1).
    n_resamples : int
        Bootstrap resamples (``scipy.stats.bootstrap``, percentile method).
    seed : int
        Seeds the bootstrap.

    Returns
    -------
    PairedDifference
        Means, mean difference ``a - b`` with its interval, and two-sided p-values of the
        paired t-test and of the Wilcoxon signed-rank test. When every difference is the
        same (to 1e-12) the interval is that value and both p-values are 1.0 for a zero
        difference and 0.0 otherwise.

    Raises
    ------
    ProbekitError
        If the arrays differ in shape, are not 1-D, have fewer than 2 items or contain
        non-finite values, or ``confidence`` is outside (0, 1).

    References
    ----------
    Student's paired t-test; Wilcoxon (1945), "Individual comparisons by ranking methods",
    Biometrics Bulletin 1(6); Efron & Tibshirani (1993), ch. 13 (percentile interval).
    """
    from scipy import stats

    a, b = _check_pair(a, b, confidence, ("a", "b"))
    diff = a - b
    d = float(diff.mean())
    if np.ptp(diff) <= 1e-12 * max(1.0, abs(d)):
        p = 1.0 if abs(d) <= 1e-12 else 0.0
        return PairedDifference(float(a.mean()), float(b.mean()), d, d, d, p, p, int(a.size))
    p_t = float(stats.ttest_rel(a, b).pvalue)
    p_w = float(stats.wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
    ci = stats.bootstrap((diff,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                         method="percentile", random_state=np.random.default_rng(seed)).confidence_interval
    return PairedDifference(float(a.mean()), float(b.mean()), d, float(ci.low), float(ci.high), p_t, p_w,
                            int(a.size))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control under any dependence).

    Parameters
    ----------
    p_values : array-like of shape (m,)
        Raw p-values of the family, each in [0, 1]. An empty family gives an empty array.

    Returns
    -------
    ndarray of float64, shape (m,)
        Adjusted p-values in the input order: with ``p_(1) <= ... <= p_(m)`` sorted,
        ``adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))``. Rejecting where
        ``adj <= level`` keeps the family-wise error rate at ``level``.

    Raises
    ------
    ProbekitError
        If a p-value is not finite or outside [0, 1], or the input is not 1-D.

    References
    ----------
    Holm (1979), "A simple sequentially rejective multiple test procedure", Scandinavian
    Journal of Statistics 6(2), 65-70.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ProbekitError(f"p_values must be 1-D; got shape {p.shape}")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise ProbekitError(f"p_values must be finite and in [0, 1]; got {p.tolist()}")
    m = p.size
    order = np.argsort(p, kind="stable")
    adj_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj_sorted
    return out
