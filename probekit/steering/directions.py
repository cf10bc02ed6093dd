"""Steering directions: random, steering matrix, scale σ.

The concept directions themselves (mass-mean shift = difference of class means, probe
weight direction) are :func:`probekit.estimators.mean_difference_direction` and
:func:`probekit.estimators.logistic_direction` (a fitted probe's weight: :func:`unit`
of its ``coef_``). Each function works on one activation space (e.g. one attention
head's output, ``head_dim`` features). The intervention of Li et al. (2023) adds ``α · σ · θ`` with
``θ`` a unit direction and ``σ`` the standard deviation of the (training) activations
projected on ``θ`` (:func:`projection_std`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from probekit.errors import ProbekitError
from probekit.metrics._validation import as_float_matrix

__all__ = [
    "SteeringMatrix",
    "projection_std",
    "random_direction",
    "unit",
]


def unit(v: Any, axis: int = -1) -> np.ndarray:
    """``v / ‖v‖`` along ``axis`` (float64).

    Parameters
    ----------
    v : array_like of shape (d_model,) or (..., d_model)
        The vector(s).
    axis : int
        Axis holding the vectors' entries.

    Returns
    -------
    ndarray of float64, same shape as ``v``

    Raises
    ------
    ProbekitError
        A zero (or non-finite) vector.
    """
    v = np.asarray(v, dtype=np.float64)
    norm = np.linalg.norm(v, axis=axis, keepdims=True)
    if np.any(norm == 0) or not np.all(np.isfinite(norm)):
        raise ProbekitError("cannot normalise a zero (or non-finite) vector to unit length")
    return v / norm


def random_direction(d: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random unit vector of dimension ``d`` (normalised Gaussian), float64.

    Parameters
    ----------
    d : int
        Dimension (``d_model``), ``>= 1``.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    ndarray of float64, shape (d,)

    Raises
    ------
    ProbekitError
        When ``d < 1``.

    References
    ----------
    Li et al. (2023), "Inference-Time Intervention", NeurIPS, Table 3 ("random direction").
    """
    if int(d) < 1:
        raise ProbekitError(f"d must be >= 1, got {d}")
    return unit(rng.standard_normal(int(d)))


def projection_std(x: Any, direction: Any) -> np.ndarray | float:
    """Standard deviation of ``x`` projected on ``direction`` (one or many directions).

    Parameters
    ----------
    x : array-like, shape (n_samples, d_model)
    direction : array-like, shape (d_model,) or (n_directions, d_model)
        Used as given (normalise first for the ITI ``σ``).

    Returns
    -------
    float, or numpy.ndarray of float64 of shape (n_directions,)
        ``sqrt(θᵀ Cov(x) θ)`` (population covariance, ddof=0).

    Raises
    ------
    ProbekitError
        ``x`` not a finite 2-D array of at least 2 samples, or ``direction`` of another
        width than ``x``.

    References
    ----------
    Li et al. (2023), "Inference-Time Intervention", NeurIPS, Eq. (2) (``σ_l^h``).
    """
    xa = as_float_matrix(x, "x", min_samples=2)
    d = np.asarray(direction, dtype=np.float64)
    if d.shape[-1] != xa.shape[1]:
        raise ProbekitError(f"direction has {d.shape[-1]} features, x has {xa.shape[1]}")
    proj = (xa - xa.mean(axis=0)) @ np.atleast_2d(d).T
    std = np.sqrt((proj ** 2).mean(axis=0))
    return float(std[0]) if d.ndim == 1 else std


class SteeringMatrix(BaseEstimator):
    """Prompt-dependent steering direction ``θ(q) = W e(q) / ‖W e(q)‖``.

    ``W = Σ_q (μ⁺_q − μ⁻_q) e(q)ᵀ`` (shape ``(d_model, d_embed)``), where ``μ⁺_q`` / ``μ⁻_q``
    are the mean activations of the true / false answers of training question ``q`` and
    ``e(q)`` a sentence embedding of the question; each row of ``W`` is then L2-normalised
    (``normalize_rows``). At inference the direction for a new prompt ``p`` is
    ``W e(p)`` normalised to unit length.

    Parameters
    ----------
    normalize_rows : bool
        L2-normalise the rows of ``W`` after summing (the paper's recipe).

    Attributes
    ----------
    matrix_ : numpy.ndarray of float64, shape (d_model, d_embed)
    n_questions_ : int

    References
    ----------
    Rajendran, Buchholz, Aragam, Schölkopf & Ravikumar (2024), "From Causal to
    Concept-Based Representation Learning", NeurIPS, Sec. 6 (LLM experiments: steering
    matrices built from question-conditional mean shifts and question embeddings).
    """

    def __init__(self, normalize_rows: bool = True) -> None:
        self.normalize_rows = normalize_rows

    def fit(self, shifts: Any, embeddings: Any) -> "SteeringMatrix":
        """Build ``W`` from per-question mean shifts and question embeddings.

        Parameters
        ----------
        shifts : array-like, shape (n_questions, d_model)
            ``μ⁺_q − μ⁻_q`` per question.
        embeddings : array-like, shape (n_questions, d_embed)
            ``e(q)`` per question.

        Returns
        -------
        self

        Raises
        ------
        ProbekitError
            Different numbers of rows, or NaN/inf. (An all-zero row of ``W`` stays zero.)
        """
        s = as_float_matrix(shifts, "shifts", min_samples=1)
        e = as_float_matrix(embeddings, "embeddings", min_samples=1)
        if s.shape[0] != e.shape[0]:
            raise ProbekitError(f"shifts has {s.shape[0]} questions, embeddings {e.shape[0]}")
        w = s.T @ e
        if self.normalize_rows:
            norms = np.linalg.norm(w, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            w = w / norms
        self.matrix_ = w
        self.n_questions_ = int(s.shape[0])
        return self

    def direction(self, embeddings: Any) -> np.ndarray:
        """Unit steering directions for prompts.

        Parameters
        ----------
        embeddings : array-like, shape (n_prompts, d_embed) or (d_embed,)

        Returns
        -------
        numpy.ndarray of float64, shape (n_prompts, d_model) or (d_model,)

        Raises
        ------
        ProbekitError
            Not 1-D/2-D, NaN/inf, wrong embedding width, or ``W e`` is zero (no
            direction) for a prompt.
        sklearn.exceptions.NotFittedError
            Before :meth:`fit`.
        """
        check_is_fitted(self, "matrix_")
        e = np.asarray(embeddings, dtype=np.float64)
        if e.ndim not in (1, 2):
            raise ProbekitError(f"embeddings must have shape (d_embed,) or (n_prompts, d_embed), not {e.shape}")
        if not np.all(np.isfinite(e)):
            raise ProbekitError("embeddings contain NaN or inf")
        if e.shape[-1] != self.matrix_.shape[1]:
            raise ProbekitError(f"embeddings have {e.shape[-1]} features; the matrix was fitted on "
                                f"{self.matrix_.shape[1]}")
        return unit(e @ self.matrix_.T)
