"""One linear probe per attention head, and top-K head selection (ITI).

Activations are per-head outputs at the last token of each (question + answer), shaped
``(n_samples, n_layers, n_heads, head_dim)``; labels are 1 for a correct answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from tqdm.auto import tqdm

from probekit.errors import ProbekitError

__all__ = ["HeadProbes", "fit_head_probes", "top_k_heads"]


@dataclass
class HeadProbes:
    """Fitted per-head logistic probes.

    Attributes
    ----------
    val_accuracy : numpy.ndarray of float64, shape (n_layers, n_heads)
        Accuracy on the validation samples.
    train_accuracy : numpy.ndarray of float64, shape (n_layers, n_heads)
    coef : numpy.ndarray of float64, shape (n_layers, n_heads, head_dim)
        Probe weight vectors (positive = correct answer).
    intercept : numpy.ndarray of float64, shape (n_layers, n_heads)
    """

    val_accuracy: np.ndarray
    train_accuracy: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray


def _check(x, y, name):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim != 4:
        raise ProbekitError(f"{name} must have shape (n_samples, n_layers, n_heads, head_dim); got {x.shape}")
    if y.shape != (x.shape[0],) or set(np.unique(y).tolist()) - {0, 1}:
        raise ProbekitError(f"labels for {name} must be 0/1 of shape ({x.shape[0]},); got shape {y.shape}")
    if not np.all(np.isfinite(x)):
        raise ProbekitError(f"{name} contains NaN or inf")
    return x, y.astype(np.int64)


def fit_head_probes(x_train, y_train, x_val, y_val, C: float = 1.0, max_iter: int = 1000,
                    seed: int = 0, progress: bool = False) -> HeadProbes:
    """Fit an L2-regularised logistic probe on every head; score it on validation data.

    Parameters
    ----------
    x_train : array-like, shape (n_train, n_layers, n_heads, head_dim)
    y_train : array-like of {0, 1}, shape (n_train,)
    x_val : array-like, shape (n_val, n_layers, n_heads, head_dim)
    y_val : array-like of {0, 1}, shape (n_val,)
    C : float
        Inverse regularisation strength.
    max_iter : int
    seed : int
    progress : bool

    Returns
    -------
    HeadProbes

    Raises
    ------
    ProbekitError
        Bad shapes / labels, or a training set with a single class.

    References
    ----------
    Li, Patel, Viégas, Pfister & Wattenberg (2023), "Inference-Time Intervention", NeurIPS,
    Sec. 3.1 (a linear probe per head on TruthfulQA activations; heads ranked by
    validation accuracy).
    """
    xt, yt = _check(x_train, y_train, "x_train")
    xv, yv = _check(x_val, y_val, "x_val")
    if xt.shape[1:] != xv.shape[1:]:
        raise ProbekitError(f"x_train heads {xt.shape[1:]} differ from x_val heads {xv.shape[1:]}")
    if np.unique(yt).size < 2:
        raise ProbekitError("y_train has a single class; a probe needs correct and incorrect answers")
    n_layers, n_heads, d = xt.shape[1:]
    val_acc = np.zeros((n_layers, n_heads))
    train_acc = np.zeros((n_layers, n_heads))
    coef = np.zeros((n_layers, n_heads, d))
    intercept = np.zeros((n_layers, n_heads))
    bar = tqdm(total=n_layers * n_heads, desc="head probes", disable=not progress)
    for layer in range(n_layers):
        for head in range(n_heads):
            clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
            clf.fit(xt[:, layer, head], yt)
            train_acc[layer, head] = clf.score(xt[:, layer, head], yt)
            val_acc[layer, head] = clf.score(xv[:, layer, head], yv)
            coef[layer, head] = clf.coef_[0]
            intercept[layer, head] = clf.intercept_[0]
            bar.update()
    bar.close()
    return HeadProbes(val_acc, train_acc, coef, intercept)


def top_k_heads(accuracy, k: int) -> list[tuple[int, int]]:
    """The ``k`` (layer, head) pairs with the highest accuracy, best first (ties: lower index first).

    Parameters
    ----------
    accuracy : array-like, shape (n_layers, n_heads)
    k : int
        1 <= k <= n_layers * n_heads.

    Returns
    -------
    list of (int, int)

    References
    ----------
    Li et al. (2023), "Inference-Time Intervention", NeurIPS, Sec. 3.3 (top-K heads).
    """
    acc = np.asarray(accuracy, dtype=np.float64)
    if acc.ndim != 2:
        raise ProbekitError(f"accuracy must be (n_layers, n_heads); got {acc.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= acc.size:
        raise ProbekitError(f"k must be an integer in 1..{acc.size}, got {k!r}")
    order = np.argsort(-acc.reshape(-1), kind="stable")[:k]
    return [(int(i // acc.shape[1]), int(i % acc.shape[1])) for i in order]
