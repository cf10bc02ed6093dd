"""Control labels for probe baselines.

References
----------
Hewitt, J. & Liang, P. (2019). Designing and Interpreting Probes with Control Tasks.
EMNLP. Section 2 (control tasks: each word type gets a fixed random label drawn from the
empirical label distribution) and Section 3 (selectivity = task accuracy - control
accuracy).
"""

from __future__ import annotations

import numpy as np

from probekit.errors import ProbekitError

__all__ = ["control_task_labels", "shuffled_labels"]


def shuffled_labels(y, seed: int = 0) -> np.ndarray:
    """A random permutation of ``y`` (the "shuffled labels" control).

    Parameters
    ----------
    y:
        ``(n_samples,)`` labels (any dtype).
    seed:
        Seed of the permutation.

    Returns
    -------
    numpy.ndarray
        ``(n_samples,)`` permuted labels, same dtype.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    return y[rng.permutation(len(y))]


def control_task_labels(word_types, y, seed: int = 0) -> np.ndarray:
    """Hewitt & Liang control task: one fixed random label per word type.

    Each distinct word type draws a label from the empirical distribution of ``y``
    (classification) or a value drawn from ``y`` (regression); every row of that type
    gets it. A probe can only solve the control task by memorising word identity.

    Parameters
    ----------
    word_types:
        ``(n_samples,)`` word type per row (e.g. the noun of a minimal pair).
    y:
        ``(n_samples,)`` real labels, used only for their distribution.
    seed:
        Seed.

    Returns
    -------
    numpy.ndarray
        ``(n_samples,)`` control labels, same dtype as ``y``.

    Raises
    ------
    ProbekitError
        ``word_types`` and ``y`` differ in length.
    """
    word_types = np.asarray(word_types)
    y = np.asarray(y)
    if word_types.shape != y.shape:
        raise ProbekitError(f"word_types shape {word_types.shape} differs from labels shape {y.shape}")
    rng = np.random.default_rng(seed)
    types, inverse = np.unique(word_types, return_inverse=True)
    per_type = y[rng.integers(0, len(y), size=len(types))]
    return per_type[inverse]
