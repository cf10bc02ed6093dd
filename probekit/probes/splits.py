"""Inner cross-validation splits for choosing a probe's penalty (group-aware)."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold


__all__ = ["inner_splits", "has_shared_groups", "splits_by_groups"]


def has_shared_groups(groups) -> bool:
    """True when some group holds more than one row (so splits must respect groups)."""
    return groups is not None and len(np.unique(groups)) < len(groups)


def splits_by_groups(groups, cv: int) -> bool:
    """True when :func:`inner_splits` uses ``GroupKFold`` (folds from the groups alone, the same for any labels)."""
    return has_shared_groups(groups) and len(np.unique(groups)) >= cv


def inner_splits(X, y, groups, cv: int, classification: bool, seed):
    """The inner folds on a training set.

    ``GroupKFold(cv)`` when groups share rows and there are at least ``cv`` groups; else
    ``StratifiedKFold`` (classification; folds capped by the smallest class, at least 2)
    or ``KFold`` (shuffled, seeded).

    Parameters
    ----------
    X:
        Unused (``None`` is fine); kept for the splitters' signature.
    y:
        ``(n,)`` labels or targets.
    groups:
        ``(n,)`` group ids or ``None``.
    cv:
        Number of inner folds.
    classification:
        Stratify by ``y`` when groups do not decide the folds.
    seed:
        Seed of the shuffled ``KFold`` / ``StratifiedKFold`` (an int, or ``None``).

    Returns
    -------
    list of (train_index, test_index)
    """
    n = len(y)
    dummy = np.zeros((n, 1)) if X is None else X
    if splits_by_groups(groups, cv):
        return list(GroupKFold(n_splits=cv).split(dummy, y, groups))
    if classification:
        smallest = np.bincount(np.unique(y, return_inverse=True)[1]).min()
        folds = max(2, min(cv, int(smallest)))
        return list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(dummy, y))
    return list(KFold(cv, shuffle=True, random_state=seed).split(dummy))
