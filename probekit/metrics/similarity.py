"""Representation similarity: linear CKA, CCA and SVCCA.

All three compare two representations of the *same* examples (rows paired), possibly
of different widths. They are computed in feature space: linear CKA from the
``d x d`` cross-product matrices ``Xc^T Yc`` (never the ``n x n`` Gram matrices), CCA
from thin SVDs of the centred data, so ``n_samples = 100_000`` is fine.

(k-NN neighbour overlap lives in :mod:`probekit.metrics.neighbours`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from probekit.errors import ProbekitError
from probekit.metrics._validation import (
    as_float_matrix,
    centered_cross_products,
    check_fraction,
    check_min_samples,
    check_positive_int,
    check_same_n_samples,
    constant_from_moments,
)

__all__ = ["CCAResult", "canonical_correlations", "cca_similarity", "linear_cka", "svcca"]


def _pair(x: Any, y: Any, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
    x = as_float_matrix(x, "x", allow_1d=True)
    y = as_float_matrix(y, "y", allow_1d=True)
    n = check_same_n_samples([x, y], ["x", "y"])
    check_min_samples(n, min_samples, "this similarity")
    return x, y


def _check_not_all_constant(mean: np.ndarray, ss: np.ndarray, n: int, name: str) -> None:
    if constant_from_moments(mean, ss, n).size == ss.size:
        raise ProbekitError(
            f"every column of {name} is constant; a representation without variance has no "
            "similarity to anything (the score would be 0/0)"
        )


def _check_pair_variance(x: np.ndarray, y: np.ndarray) -> None:
    for arr, name in ((x, "x"), (y, "y")):
        mean = arr.mean(axis=0)
        _check_not_all_constant(mean, ((arr - mean) ** 2).sum(axis=0), arr.shape[0], name)


def _unbiased_hsic_terms(x: np.ndarray, y: np.ndarray, xy_fro2: float) -> float:
    """Unbiased linear-kernel HSIC (Song et al. 2012, Eq. 5) in feature-space form.

    With ``K = X X^T``, ``L = Y Y^T`` and ``K~``, ``L~`` their copies with zero diagonal:
    ``HSIC_u = [tr(K~L~) + (1^T K~ 1)(1^T L~ 1)/((n-1)(n-2)) - 2/(n-2) 1^T K~ L~ 1] / (n(n-3))``,
    where every term is computed from ``X^T Y`` (given as its squared Frobenius norm),
    row norms and column sums, in ``O(n d)``.
    """
    n = x.shape[0]
    kd = np.einsum("ij,ij->i", x, x)  # diag(K)
    ld = np.einsum("ij,ij->i", y, y)
    tr_kl = xy_fro2 - kd @ ld
    k1 = x @ x.sum(axis=0) - kd  # K~ 1
    l1 = y @ y.sum(axis=0) - ld
    sum_k, sum_l = k1.sum(), l1.sum()
    return (tr_kl + sum_k * sum_l / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * (k1 @ l1)) / (n * (n - 3))


def linear_cka(x: Any, y: Any, debiased: bool = False) -> float:
    """Linear centred kernel alignment between two representations.

    Definition (``Xc``, ``Yc`` column-centred):

    ``CKA(X, Y) = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)``,

    i.e. HSIC with linear kernels normalised to [0, 1]. It is invariant to orthogonal
    transforms and isotropic scaling of either input (not to arbitrary invertible linear
    maps). Computed in feature space (``d x d`` matrices), ``O(n d^2)`` time and
    ``O(d^2)`` extra memory.

    ``debiased=True`` replaces each HSIC by the unbiased estimator of Song et al. (2012),
    written in feature-space form (still no ``n x n`` matrix), as recommended by Nguyen et
    al. (2021) for ``d`` comparable to ``n``; it can be slightly negative.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, d_x)
    y : array-like or torch.Tensor, shape (n_samples, d_y)
        Rows paired with ``x``.
    debiased : bool
        Use the unbiased HSIC estimator (needs ``n_samples >= 4``).

    Returns
    -------
    float
        In ``[0, 1]`` (biased); 1 iff ``Y = c X Q`` up to centring for orthogonal ``Q``
        (equal widths).

    Raises
    ------
    ProbekitError
        On unequal ``n_samples``, NaN/inf, fewer than 2 (4 for ``debiased``) samples, or an
        input whose columns are all constant (constant columns among others are fine: they
        are zero after centring and do not change the score).

    References
    ----------
    Kornblith, Norouzi, Lee & Hinton (2019), "Similarity of Neural Network
    Representations Revisited", ICML, Sec. 3-4 (linear CKA, dot-product form).
    Song, Smola, Gretton, Bedo & Borgwardt (2012), "Feature Selection via Dependence
    Maximization", JMLR 13, Eq. 5 (unbiased HSIC); Nguyen, Raghu & Kornblith (2021),
    "Do Wide and Deep Networks Learn the Same Things?", ICLR, Sec. 3 (debiased CKA).
    """
    x, y = _pair(x, y, 4 if debiased else 2)
    cp = centered_cross_products(x, y)
    _check_not_all_constant(cp.mean_x, cp.ss_x, x.shape[0], "x")
    _check_not_all_constant(cp.mean_y, cp.ss_y, y.shape[0], "y")
    xy2 = float(np.sum(cp.xy**2))
    xx2 = float(np.sum(cp.xx**2))
    yy2 = float(np.sum(cp.yy**2))
    if not debiased:
        return float(xy2 / np.sqrt(xx2 * yy2))
    xc, yc = x - cp.mean_x, y - cp.mean_y
    hxy = _unbiased_hsic_terms(xc, yc, xy2)
    hxx = _unbiased_hsic_terms(xc, xc, xx2)
    hyy = _unbiased_hsic_terms(yc, yc, yy2)
    if hxx <= 0 or hyy <= 0:
        raise ProbekitError(
            "debiased CKA is undefined here: the unbiased HSIC of an input with itself is "
            f"not positive (x: {hxx:.3g}, y: {hyy:.3g}); use more samples or debiased=False"
        )
    return float(hxy / np.sqrt(hxx * hyy))


@dataclass(frozen=True)
class CCAResult:
    """Canonical correlations of two representations.

    Attributes
    ----------
    correlations : numpy.ndarray of float64, shape (n_components,)
        Canonical correlations ``rho_1 >= rho_2 >= ... >= 0``.
    mean : float
        Mean canonical correlation ``rho_bar`` (the SVCCA similarity).
    rank_x, rank_y : int
        Dimensions kept for ``x`` / ``y`` (numerical rank, or SVD-truncated for SVCCA).
    """

    correlations: np.ndarray
    mean: float
    rank_x: int
    rank_y: int


def _basis(
    xc: np.ndarray, *, variance_kept: float | None, n_components: int | None, rtol: float, name: str
) -> np.ndarray:
    """Orthonormal basis (n, k) of the column space of centred ``xc`` (thin SVD)."""
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    keep = s > rtol * s[0]
    k = int(keep.sum())
    if n_components is not None:
        if n_components > k:
            raise ProbekitError(
                f"n_components={n_components} but {name} has numerical rank {k}; use at most {k}"
            )
        k = n_components
    elif variance_kept is not None:
        var = s[:k] ** 2
        k = int(np.searchsorted(np.cumsum(var) / var.sum(), variance_kept - 1e-12) + 1)
    return u[:, :k]


def _cca_from_bases(ux: np.ndarray, uy: np.ndarray) -> CCAResult:
    n = ux.shape[0]
    if ux.shape[1] + uy.shape[1] > n - 1:
        raise ProbekitError(
            f"CCA of {ux.shape[1]} + {uy.shape[1]} dimensions needs more than "
            f"{ux.shape[1] + uy.shape[1]} samples (got {n}); otherwise canonical correlations "
            "are trivially 1. Use more samples or svcca / n_components to reduce dimensions"
        )
    rho = np.linalg.svd(ux.T @ uy, compute_uv=False)
    rho = np.clip(rho, 0.0, 1.0)
    return CCAResult(rho, float(rho.mean()), ux.shape[1], uy.shape[1])


def canonical_correlations(x: Any, y: Any, rtol: float = 1e-10) -> np.ndarray:
    """Canonical correlations between two representations (see :func:`cca_similarity`).

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, d_x)
    y : array-like or torch.Tensor, shape (n_samples, d_y)
    rtol : float
        Singular values below ``rtol * s_max`` count as zero (rank deficiency).

    Returns
    -------
    numpy.ndarray of float64, shape (min(rank_x, rank_y),)
        Descending, in ``[0, 1]``.

    Raises
    ------
    ProbekitError
        As :func:`cca_similarity`.

    References
    ----------
    Hotelling (1936), "Relations between two sets of variates", Biometrika 28;
    Björck & Golub (1973), "Numerical methods for computing angles between linear
    subspaces", Math. Comp. 27 (cosines of principal angles via SVD of ``Qx^T Qy``).
    """
    return cca_similarity(x, y, rtol=rtol).correlations


def cca_similarity(x: Any, y: Any, n_components: int | None = None, rtol: float = 1e-10) -> CCAResult:
    """Canonical correlation analysis similarity (mean canonical correlation).

    Definition: with ``Ux``, ``Uy`` orthonormal bases of the column spaces of the centred
    ``x`` and ``y`` (thin SVD, numerical rank with tolerance ``rtol``), the canonical
    correlations are the singular values of ``Ux^T Uy`` (cosines of the principal angles
    between the two subspaces of R^n), and the similarity is their mean
    ``rho_bar = (1/m) sum_i rho_i``, ``m = min(rank_x, rank_y)``.

    CCA is invariant to any invertible affine map of either input.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, d_x)
    y : array-like or torch.Tensor, shape (n_samples, d_y)
    n_components : int, optional
        Keep only the top ``n_components`` singular directions of each input first.
    rtol : float
        Relative singular-value tolerance for the numerical rank.

    Returns
    -------
    CCAResult

    Raises
    ------
    ProbekitError
        On unequal ``n_samples``, NaN/inf, an all-constant input, ``n_components`` above a
        rank, or ``rank_x + rank_y > n_samples - 1`` (canonical correlations trivially 1).

    References
    ----------
    Hotelling (1936), Biometrika 28; Raghu, Gilmer, Yosinski & Sohl-Dickstein (2017),
    "SVCCA", NeurIPS, Sec. 2 (mean canonical correlation as similarity).
    """
    if n_components is not None:
        check_positive_int(n_components, "n_components")
    x, y = _pair(x, y, 3)
    _check_pair_variance(x, y)
    ux = _basis(x - x.mean(axis=0), variance_kept=None, n_components=n_components, rtol=rtol, name="x")
    uy = _basis(y - y.mean(axis=0), variance_kept=None, n_components=n_components, rtol=rtol, name="y")
    return _cca_from_bases(ux, uy)


def svcca(
    x: Any,
    y: Any,
    variance_kept: float = 0.99,
    n_components: int | None = None,
    rtol: float = 1e-10,
) -> CCAResult:
    """Singular vector CCA: CCA on the top singular directions of each representation.

    Step 1 (SV): centre each input and keep its top-``k`` left singular vectors, the
    smallest ``k`` whose singular values squared sum to at least ``variance_kept`` of the
    total (or exactly ``n_components``). Step 2 (CCA): canonical correlations of the two
    reduced representations (:func:`cca_similarity`); the SVCCA similarity is their mean.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n_samples, d_x)
    y : array-like or torch.Tensor, shape (n_samples, d_y)
    variance_kept : float in (0, 1]
        Fraction of variance kept per input (0.99 in the paper). Ignored with ``n_components``.
    n_components : int, optional
        Fixed number of singular directions per input.
    rtol : float
        Relative singular-value tolerance for the numerical rank.

    Returns
    -------
    CCAResult
        ``mean`` is the SVCCA similarity; ``rank_x`` / ``rank_y`` the kept dimensions.

    Raises
    ------
    ProbekitError
        As :func:`cca_similarity`, or a ``variance_kept`` outside (0, 1].

    References
    ----------
    Raghu, Gilmer, Yosinski & Sohl-Dickstein (2017), "SVCCA: Singular Vector Canonical
    Correlation Analysis for Deep Learning Dynamics and Interpretability", NeurIPS, Sec. 2
    (99% variance kept, similarity = mean canonical correlation).
    """
    if n_components is not None:
        check_positive_int(n_components, "n_components")
    elif variance_kept != 1.0:
        check_fraction(variance_kept, "variance_kept")
    x, y = _pair(x, y, 3)
    _check_pair_variance(x, y)
    ux = _basis(x - x.mean(axis=0), variance_kept=variance_kept, n_components=n_components, rtol=rtol, name="x")
    uy = _basis(y - y.mean(axis=0), variance_kept=variance_kept, n_components=n_components, rtol=rtol, name="y")
    return _cca_from_bases(ux, uy)
