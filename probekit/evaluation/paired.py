"""Paired comparison of a treated and a baseline score on the same items (e.g. questions)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from probekit.errors import ProbekitError


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

    b = np.asarray(baseline, dtype=np.float64)
    t = np.asarray(treated, dtype=np.float64)
    if b.ndim != 1 or b.shape != t.shape:
        raise ProbekitError(f"baseline and treated must be 1-D and of equal length; got shapes {b.shape} "
                            f"and {t.shape}")
    if b.size < 2:
        raise ProbekitError(f"a paired comparison needs at least 2 items; got {b.size}")
    if not (np.isfinite(b).all() and np.isfinite(t).all()):
        raise ProbekitError("baseline and treated must be finite (no NaN or inf)")
    if not 0 < confidence < 1:
        raise ProbekitError(f"confidence must be in (0, 1); got {confidence}")
    diff = t - b
    gain = float(diff.mean())
    if np.ptp(diff) <= 1e-12 * max(1.0, abs(gain)):  # no spread: the interval is the point, no t-test
        p = 1.0 if gain <= 0 else 0.0
        return PairedGain(gain, gain, gain, p, int(b.size))
    p = float(stats.ttest_rel(t, b, alternative="greater").pvalue)
    ci = stats.bootstrap((diff,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                         method="percentile", random_state=np.random.default_rng(seed)).confidence_interval
    return PairedGain(gain, float(ci.low), float(ci.high), p, int(b.size))
