"""Per-head steering directions for the ITI-style methods and the interventions that apply them.

Methods (Li et al. 2023; Rajendran et al. 2024):

``mass_mean``
    Unit mass-mean shift ``mu(correct) - mu(incorrect)`` per head, scaled by the
    activations' std along it.
``random``
    A random unit direction, scaled by the std along the mass-mean direction (the same
    step size as ``mass_mean`` at the same alpha).
``probe``
    The unit weight vector of the head's logistic probe, scaled by the std along it.
``concept``
    The contrastive concept estimator's one-concept direction (linear encoder), oriented
    towards correct answers.
``steering_matrix``
    ``W = sum_q (mu+_q - mu-_q) e(q)^T`` fitted on per-question shifts and question
    embeddings; the direction ``W e(prompt)`` depends on the prompt.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from probekit.errors import ProbekitError

__all__ = ["STEER_METHODS", "head_directions", "head_intervention_factory"]

STEER_METHODS = ("random", "probe", "mass_mean", "steering_matrix", "concept")


def _steering_matrix(x, y, q, emb_by_q):
    from probekit.steering.directions import SteeringMatrix

    shifts, embs = [], []
    for question in np.unique(q):
        sel = q == question
        if (y[sel] == 1).any() and (y[sel] == 0).any():
            shifts.append(x[sel & (y == 1)].mean(0) - x[sel & (y == 0)].mean(0))
            embs.append(emb_by_q[int(question)])
    return SteeringMatrix().fit(np.array(shifts), np.array(embs)), np.cov(x, rowvar=False, bias=True)


def _concept_direction(x, y, mm):
    from probekit.estimators.contrastive_concepts import ContrastiveConceptEstimator

    est = ContrastiveConceptEstimator(n_concepts=1, encoder="linear", standardize=True, max_epochs=30,
                                      batch_size=256, random_state=0)
    est.fit(x, [x[y == 1]], [0])
    d = est.components_[0] / np.linalg.norm(est.components_[0])
    return d if d @ mm >= 0 else -d  # oriented towards correct answers


def head_directions(method: str, heads, acts, y, q, probe_coef, emb_by_q: dict, rng: np.random.Generator) -> dict:
    """Per-head steering direction and step scale of ``method``.

    Parameters
    ----------
    method : str
        One of :data:`STEER_METHODS`.
    heads : list of (int, int)
        ``(layer, head)`` pairs to steer.
    acts : ndarray of shape (n_samples, n_layers, n_heads, head_dim)
        Per-head activations of the training answers.
    y : ndarray of {0, 1}, shape (n_samples,)
        1 for a correct answer.
    q : ndarray of int, shape (n_samples,)
        Question of each answer (key of ``emb_by_q``).
    probe_coef : ndarray of shape (n_layers, n_heads, head_dim)
        Per-head probe weights (``probe``).
    emb_by_q : dict of int -> ndarray of shape (d_embedding,)
        Question embeddings (``steering_matrix``).
    rng : numpy.random.Generator
        Draws of ``random``.

    Returns
    -------
    dict
        ``(layer, head) -> (unit direction (head_dim,), std along it)``; for
        ``steering_matrix`` ``(layer, head) -> (fitted SteeringMatrix, covariance (head_dim, head_dim))``.

    Raises
    ------
    ProbekitError
        An unknown ``method``.

    References
    ----------
    Li, Patel, Viégas, Pfister & Wattenberg (2023), "Inference-Time Intervention", NeurIPS,
    Sec. 3.3 and Table 3 (mass-mean shift, probe weight, random directions, alpha * sigma);
    Rajendran et al. (2024), NeurIPS, Sec. 6 (steering matrix from concept-conditioned shifts).
    """
    from probekit.estimators.directions import mean_difference_direction
    from probekit.steering.directions import projection_std, random_direction, unit

    if method not in STEER_METHODS:
        raise ProbekitError(f"unknown steering method {method!r}; valid: {', '.join(STEER_METHODS)}")
    out = {}
    for layer, head in heads:
        x = acts[:, layer, head].astype(np.float64)
        mm = mean_difference_direction(x, y == 1, positive=True)
        if method == "mass_mean":
            out[(layer, head)] = (mm, projection_std(x, mm))
        elif method == "random":
            out[(layer, head)] = (random_direction(x.shape[1], rng), projection_std(x, mm))
        elif method == "probe":
            d = unit(np.ravel(probe_coef[layer, head]))
            out[(layer, head)] = (d, projection_std(x, d))
        elif method == "concept":
            d = _concept_direction(x, y, mm)
            out[(layer, head)] = (d, projection_std(x, d))
        else:
            out[(layer, head)] = _steering_matrix(x, y, q, emb_by_q)
    return out


def head_intervention_factory(method: str, dirs: dict, alpha: float, sites, emb_lookup: Callable) -> Callable:
    """``(index, text) -> interventions`` adding ``alpha * sigma * direction`` to each steered head.

    Parameters
    ----------
    method : str
        As :func:`head_directions` (``steering_matrix`` computes ``W e`` per prompt with
        ``e = emb_lookup(index, text)`` and its std ``sqrt(d^T cov d)``).
    dirs : dict
        Output of :func:`head_directions`.
    alpha : float
        Strength in units of the std along the direction.
    sites : list of HeadSite
        From :func:`probekit.steering.heads.attention_head_sites`.
    emb_lookup : callable
        ``(index, text) -> embedding`` (``steering_matrix`` only).
    """
    from probekit.steering.heads import head_interventions

    if method != "steering_matrix":
        ivs = head_interventions(sites, {k: alpha * s * d for k, (d, s) in dirs.items()})
        return lambda i, text: ivs

    def make(i, text):
        e = emb_lookup(i, text)
        vectors = {}
        for k, (sm, cov) in dirs.items():
            d = sm.direction(e)
            vectors[k] = alpha * float(np.sqrt(max(d @ cov @ d, 0.0))) * d
        return head_interventions(sites, vectors)

    return make
