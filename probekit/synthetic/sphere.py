"""Latent variables on the unit sphere: uniform, von Mises-Fisher, projected Laplace/Normal.

The data-generating process of Reizinger et al. (2025) (and of Zimmermann et al. 2021):
``|C|`` unit cluster vectors ``v_c`` drawn uniformly on ``S^{d-1}``; ``N`` instances,
instance ``i`` belonging to class ``c = i mod |C|``; every draw of an instance gets a
*fresh* latent ``z | c ~ vMF(v_c, kappa)``. :class:`ClusteredSphereLatents` holds the
cluster vectors and draws ``(z, instance, class)`` triples.

Misspecified alternatives (the "Laplace" / "Normal" rows of Tables 2-3): ``z`` is
``v_c + noise`` (Laplace or Normal, i.i.d. per coordinate) projected back onto the
sphere.

All samplers take a :class:`numpy.random.Generator` and return float64 NumPy arrays
(unit rows); convert with ``torch.from_numpy(z).float()`` for training.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ive

from probekit.errors import ProbekitError, did_you_mean

__all__ = [
    "CONDITIONALS",
    "MARGINALS",
    "ClusteredSphereLatents",
    "sample_cluster_vectors",
    "sample_conditional",
    "sample_projected",
    "sample_uniform_sphere",
    "sample_vmf",
    "vmf_mean_resultant_length",
]

#: Conditional distributions of ``z`` given its cluster vector.
CONDITIONALS = ("vmf", "laplace", "normal")
#: Distributions of the cluster vectors on the sphere.
MARGINALS = ("uniform", "laplace", "normal")


def _rng(rng) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    raise ProbekitError(f"rng must be a numpy.random.Generator, an int seed or None; got {type(rng).__name__}")


def _check_dim(dim) -> int:
    if not isinstance(dim, (int, np.integer)) or int(dim) < 2:
        raise ProbekitError(f"dim must be an integer >= 2 (the sphere S^(dim-1) in R^dim); got {dim!r}")
    return int(dim)


def _check_n(n, name: str = "n_samples") -> int:
    if not isinstance(n, (int, np.integer)) or int(n) < 0:
        raise ProbekitError(f"{name} must be a non-negative integer; got {n!r}")
    return int(n)


def _normalize_rows(x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    bad = norms[:, 0] <= 1e-300
    if bad.any():  # probability zero; redraw those rows uniformly rather than divide by 0
        x = x.copy()
        x[bad] = sample_uniform_sphere(int(bad.sum()), x.shape[1], rng)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / norms


def _check_unit_rows(mu, name: str = "mu") -> np.ndarray:
    arr = np.asarray(mu, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ProbekitError(f"{name} must have shape (dim,) or (n_samples, dim) with dim >= 2; got {np.shape(mu)}")
    if not np.all(np.isfinite(arr)):
        raise ProbekitError(f"{name} contains NaN or inf")
    norms = np.linalg.norm(arr, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-6):
        worst = float(norms[np.argmax(np.abs(norms - 1.0))])
        raise ProbekitError(f"{name} rows must be unit vectors (on the sphere); found a row of norm {worst:.6g}")
    return arr


def sample_uniform_sphere(n_samples: int, dim: int, rng=None) -> np.ndarray:
    """Uniform samples on the unit sphere ``S^{dim-1}``.

    Normalised standard Gaussian vectors (Muller 1959).

    Parameters
    ----------
    n_samples : int
    dim : int
        Ambient dimension (>= 2).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples, dim)
        Unit rows.

    Raises
    ------
    ProbekitError
        ``dim < 2`` or a negative ``n_samples``.

    References
    ----------
    M. E. Muller (1959), "A note on a method for generating points uniformly on
    n-dimensional spheres", Comm. ACM 2(4).
    """
    n = _check_n(n_samples)
    d = _check_dim(dim)
    g = _rng(rng)
    return _normalize_rows(g.standard_normal((n, d)), g)


def vmf_mean_resultant_length(kappa: float, dim: int) -> float:
    """``E[mu . z]`` for ``z ~ vMF(mu, kappa)`` on ``S^{dim-1}``: ``A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa)``.

    Computed with exponentially scaled Bessel functions (stable for large ``kappa``).

    Parameters
    ----------
    kappa : float
        Concentration (>= 0); 0 gives 0 (uniform).
    dim : int
        Ambient dimension ``d`` (>= 2).

    Returns
    -------
    float
        In ``[0, 1)``.

    Raises
    ------
    ProbekitError
        Negative or non-finite ``kappa``; ``dim < 2``.

    References
    ----------
    K. V. Mardia & P. E. Jupp (2000), "Directional Statistics", Wiley, Eq. (9.3.9)-(9.3.10)
    (mean resultant length of the von Mises-Fisher distribution).
    """
    d = _check_dim(dim)
    k = float(kappa)
    if not np.isfinite(k) or k < 0:
        raise ProbekitError(f"kappa must be a finite number >= 0; got {kappa!r}")
    if k == 0:
        return 0.0
    return float(ive(d / 2.0, k) / ive(d / 2.0 - 1.0, k))


def _wood_cosines(kappa: float, dim: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Wood's rejection sampler for ``w = mu . z`` (density prop. to exp(kappa w)(1-w^2)^((d-3)/2))."""
    m = dim - 1
    b = m / (2.0 * kappa + np.sqrt(4.0 * kappa**2 + m**2))  # = (-2k + sqrt(4k^2 + m^2)) / m, stable
    x0 = (1.0 - b) / (1.0 + b)
    c = kappa * x0 + m * np.log(1.0 - x0**2)
    out = np.empty(n, dtype=np.float64)
    filled = 0
    while filled < n:
        todo = n - filled
        draw = max(16, int(todo * 1.3) + 8)
        zb = rng.beta(m / 2.0, m / 2.0, size=draw)
        w = (1.0 - (1.0 + b) * zb) / (1.0 - (1.0 - b) * zb)
        u = rng.uniform(size=draw)
        ok = kappa * w + m * np.log1p(-x0 * w) - c >= np.log(u)
        acc = w[ok][:todo]
        out[filled : filled + acc.size] = acc
        filled += acc.size
    return out


def sample_vmf(mu, kappa: float, n_samples: int | None = None, rng=None) -> np.ndarray:
    """Von Mises-Fisher samples on ``S^{d-1}`` with Wood's (1994) rejection algorithm.

    Density ``p(z) ∝ exp(kappa mu^T z)``. The cosine ``w = mu^T z`` is drawn by Wood's
    rejection sampler (proposal from a Beta((d-1)/2, (d-1)/2) variable), the direction
    orthogonal to ``mu`` uniformly; ``z = w mu + sqrt(1 - w^2) v``.

    Parameters
    ----------
    mu : array-like of float, shape (dim,) or (n_samples, dim)
        Mean direction(s), unit rows. One row is broadcast to ``n_samples`` draws; with
        one row per sample, row ``i`` is the mean of draw ``i``.
    kappa : float
        Concentration (>= 0; 0 is uniform).
    n_samples : int, optional
        Number of draws; required when ``mu`` is one vector, else must equal
        ``len(mu)`` (or be ``None``).
    rng : numpy.random.Generator, int or None

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples, dim)
        Unit rows.

    Raises
    ------
    ProbekitError
        ``mu`` not unit rows, negative/non-finite ``kappa``, ``n_samples`` inconsistent
        with ``mu``.

    References
    ----------
    A. T. A. Wood (1994), "Simulation of the von Mises Fisher distribution",
    Communications in Statistics - Simulation and Computation 23(1), 157-164 (the
    algorithm of Sec. 2); used by Reizinger et al. (2025), ICLR, Sec. 5 (synthetic set-up).
    """
    mus = _check_unit_rows(mu)
    k = float(kappa)
    if not np.isfinite(k) or k < 0:
        raise ProbekitError(f"kappa must be a finite number >= 0; got {kappa!r}")
    if mus.shape[0] == 1:
        if n_samples is None:
            raise ProbekitError("n_samples is required when mu is a single direction")
        n = _check_n(n_samples)
        mus = np.broadcast_to(mus, (n, mus.shape[1]))
    else:
        n = mus.shape[0]
        if n_samples is not None and int(n_samples) != n:
            raise ProbekitError(f"n_samples={n_samples} does not match the {n} rows of mu")
    g = _rng(rng)
    d = mus.shape[1]
    w = _wood_cosines(k, d, n, g)
    v = g.standard_normal((n, d))
    v -= np.einsum("ij,ij->i", v, mus)[:, None] * mus
    v = _normalize_rows(v, g)
    v -= np.einsum("ij,ij->i", v, mus)[:, None] * mus  # in the rare redrawn rows
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    z = w[:, None] * mus + np.sqrt(np.clip(1.0 - w**2, 0.0, None))[:, None] * v
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def sample_projected(mu, scale: float, distribution: str = "normal", n_samples: int | None = None,
                     rng=None) -> np.ndarray:
    """``mu + noise`` projected onto the sphere (misspecified latents).

    ``z = (mu + e) / ||mu + e||`` with ``e`` i.i.d. per coordinate, Laplace(0, ``scale``)
    or Normal(0, ``scale``). Not a vMF distribution: used to test robustness of the
    theory to a misspecified conditional.

    Parameters
    ----------
    mu : array-like of float, shape (dim,) or (n_samples, dim)
        Unit rows (see :func:`sample_vmf` for broadcasting).
    scale : float
        Laplace scale ``b`` / Normal standard deviation (> 0).
    distribution : {"normal", "laplace"}
    n_samples : int, optional
    rng : numpy.random.Generator, int or None

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples, dim)

    Raises
    ------
    ProbekitError
        Unknown ``distribution``, ``scale <= 0``, bad ``mu``.

    References
    ----------
    Reizinger et al. (2025), ICLR, Tables 2-3 ("Laplace" and "Normal" rows; the reference
    code klindtlab/csi uses ``scale = kappa / 10``).
    """
    if distribution not in ("normal", "laplace"):
        raise ProbekitError(did_you_mean(str(distribution), ("normal", "laplace"), "distribution"))
    s = float(scale)
    if not np.isfinite(s) or s <= 0:
        raise ProbekitError(f"scale must be a finite number > 0; got {scale!r}")
    mus = _check_unit_rows(mu)
    if mus.shape[0] == 1:
        if n_samples is None:
            raise ProbekitError("n_samples is required when mu is a single direction")
        mus = np.broadcast_to(mus, (_check_n(n_samples), mus.shape[1]))
    elif n_samples is not None and int(n_samples) != mus.shape[0]:
        raise ProbekitError(f"n_samples={n_samples} does not match the {mus.shape[0]} rows of mu")
    g = _rng(rng)
    if distribution == "normal":
        e = g.normal(0.0, s, size=mus.shape)
    else:
        e = g.laplace(0.0, s, size=mus.shape)
    return _normalize_rows(mus + e, g)


def sample_conditional(centers, distribution: str = "vmf", concentration: float = 10.0, scale: float = 1.0,
                       rng=None) -> np.ndarray:
    """One latent per row of ``centers``: vMF(center, ``concentration``) or projected noise.

    Parameters
    ----------
    centers : array-like of float, shape (n_samples, dim)
        Unit rows (the cluster vector of each draw).
    distribution : {"vmf", "laplace", "normal"}
    concentration : float
        ``kappa`` of the vMF.
    scale : float
        Noise scale of ``laplace`` / ``normal``.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    numpy.ndarray of float64, shape (n_samples, dim)

    Raises
    ------
    ProbekitError
        Unknown ``distribution`` and as :func:`sample_vmf` / :func:`sample_projected`.

    References
    ----------
    Reizinger et al. (2025), ICLR, Sec. 5 and Tables 2-3.
    """
    if distribution not in CONDITIONALS:
        raise ProbekitError(did_you_mean(str(distribution), CONDITIONALS, "conditional distribution"))
    if distribution == "vmf":
        return sample_vmf(centers, concentration, rng=rng)
    return sample_projected(centers, scale, distribution, rng=rng)


def sample_cluster_vectors(n_clusters: int, dim: int, distribution: str = "uniform", scale: float = 1.0,
                           rng=None) -> np.ndarray:
    """Unit cluster vectors ``v_c``: uniform on the sphere, or projected noise around ``e_1``.

    Parameters
    ----------
    n_clusters : int
        ``|C|`` (>= 1).
    dim : int
    distribution : {"uniform", "laplace", "normal"}
        Non-uniform choices draw ``(e_1 + noise) / ||e_1 + noise||`` (reference code's
        ``--m-p 1/2``).
    scale : float
        Noise scale for the non-uniform choices.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    numpy.ndarray of float64, shape (n_clusters, dim)

    Raises
    ------
    ProbekitError
        Unknown ``distribution``; ``n_clusters < 1``; ``dim < 2``.

    References
    ----------
    Reizinger et al. (2025), ICLR, Sec. 5 (cluster vectors uniform on the sphere).
    """
    if distribution not in MARGINALS:
        raise ProbekitError(did_you_mean(str(distribution), MARGINALS, "cluster-vector distribution"))
    if _check_n(n_clusters, "n_clusters") < 1:
        raise ProbekitError(f"n_clusters must be >= 1; got {n_clusters}")
    d = _check_dim(dim)
    if distribution == "uniform":
        return sample_uniform_sphere(int(n_clusters), d, rng)
    e1 = np.zeros(d)
    e1[0] = 1.0
    return sample_projected(e1, scale, distribution, n_samples=int(n_clusters), rng=rng)


@dataclass
class ClusteredSphereLatents:
    """Instance/class latent scheme of Reizinger et al. (2025), with fixed cluster vectors.

    ``n_classes`` cluster vectors are drawn once (from ``seed``); :meth:`sample` draws
    instance indices uniformly from ``0 .. n_instances - 1``, sets
    ``class = instance mod n_classes`` and draws a fresh latent around that class's
    cluster vector for every draw.

    Parameters
    ----------
    dim : int
        Latent dimension ``d`` (the sphere ``S^{d-1}``).
    n_classes : int
        ``|C|``.
    n_instances : int
        ``N`` (DIET labels); must be >= ``n_classes``.
    concentration : float
        vMF ``kappa`` (used when ``conditional == "vmf"``).
    conditional : {"vmf", "laplace", "normal"}
    scale : float
        Noise scale for ``laplace`` / ``normal`` conditionals.
    marginal : {"uniform", "laplace", "normal"}
        Distribution of the cluster vectors.
    seed : int
        Seed of the cluster vectors.

    Attributes
    ----------
    cluster_vectors : numpy.ndarray of float64, shape (n_classes, dim)

    Raises
    ------
    ProbekitError
        Bad sizes or names.

    References
    ----------
    Reizinger et al. (2025), "Cross-Entropy Is All You Need To Invert the Data Generating
    Process", ICLR, Sec. 5 (synthetic set-up: class = instance index mod |C|).
    """

    dim: int = 5
    n_classes: int = 100
    n_instances: int = 1000
    concentration: float = 10.0
    conditional: str = "vmf"
    scale: float = 1.0
    marginal: str = "uniform"
    seed: int = 0
    cluster_vectors: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_dim(self.dim)
        if not isinstance(self.n_classes, (int, np.integer)) or self.n_classes < 1:
            raise ProbekitError(f"n_classes must be an integer >= 1; got {self.n_classes!r}")
        if not isinstance(self.n_instances, (int, np.integer)) or self.n_instances < self.n_classes:
            raise ProbekitError(
                f"n_instances must be an integer >= n_classes ({self.n_classes}); got {self.n_instances!r}"
            )
        if self.conditional not in CONDITIONALS:
            raise ProbekitError(did_you_mean(str(self.conditional), CONDITIONALS, "conditional distribution"))
        if self.conditional == "vmf" and not (np.isfinite(self.concentration) and self.concentration >= 0):
            raise ProbekitError(f"concentration must be a finite number >= 0; got {self.concentration!r}")
        if self.conditional != "vmf" and not (np.isfinite(self.scale) and self.scale > 0):
            raise ProbekitError(f"scale must be a finite number > 0; got {self.scale!r}")
        self.cluster_vectors = sample_cluster_vectors(
            int(self.n_classes), int(self.dim), self.marginal, rng=np.random.default_rng([int(self.seed), 7])
        )

    def classes_of(self, instances) -> np.ndarray:
        """``instance mod n_classes`` as int64, shape (n_samples,)."""
        return np.asarray(instances, dtype=np.int64) % int(self.n_classes)

    def sample_given(self, classes, rng=None) -> np.ndarray:
        """Fresh latents for the given class labels, shape (n_samples, dim) float64."""
        c = np.asarray(classes, dtype=np.int64)
        return sample_conditional(self.cluster_vectors[c], self.conditional, self.concentration, self.scale, rng)

    def sample(self, n_samples: int, rng=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw ``(z, instance, class)``.

        Parameters
        ----------
        n_samples : int
        rng : numpy.random.Generator, int or None

        Returns
        -------
        z : numpy.ndarray of float64, shape (n_samples, dim)
        instance : numpy.ndarray of int64, shape (n_samples,)
            Uniform in ``0 .. n_instances - 1``.
        cls : numpy.ndarray of int64, shape (n_samples,)
            ``instance mod n_classes``.
        """
        n = _check_n(n_samples)
        g = _rng(rng)
        instance = g.integers(0, int(self.n_instances), size=n, dtype=np.int64)
        cls = self.classes_of(instance)
        return self.sample_given(cls, g), instance, cls
