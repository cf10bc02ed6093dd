"""Concept-conditioned data: a base data set plus data sets conditioned on linear concepts.

Data model of Rajendran, Buchholz, Aragam, Schölkopf & Ravikumar (2024), "From Causal to
Concept-Based Representation Learning", NeurIPS (arXiv 2402.09236), Sec. 3-4 and App. G:

* latents ``z ~ p`` with ``p`` a Gaussian mixture (:func:`random_gaussian_mixture`);
* observations ``x = f(z)`` with ``f`` a random linear map or a random MLP (:func:`make_mixing`);
* an *atomic concept* is a row ``a_k`` of a matrix ``A`` (shape ``(n_concepts, n_latents)``);
  a concept-conditional distribution is

  ``p_C(z)  ∝  p(z) · Π_k N((A z − b)_k; 0, σ²)``

  (valuation ``b``, Gaussian noise of variance ``σ²``).

Because ``p`` is a Gaussian mixture and the conditioning factor is Gaussian in ``z``,
``p_C`` is again a Gaussian mixture with updated weights, means and covariances
(a Kalman update per component; :func:`condition_gaussian_mixture`). Conditional data
sets are therefore sampled **exactly**, in one vectorised draw, never with a rejection
loop (the authors' rejection sampler can stall when a valuation lies in a low-density
region of ``p``).

The environment schedule of the paper has ``n + 1`` conditional data sets for ``n``
concepts: each conditions one atomic concept at one valuation, and one concept appears
twice at two valuations (:data:`SETTINGS` S1–S3).

Dtypes: everything float64 (numpy).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from scipy.special import logsumexp

from probekit.errors import ProbekitError, did_you_mean

__all__ = [
    "ConceptConditionedData",
    "ConceptSetting",
    "GaussianMixture",
    "Mixing",
    "SETTINGS",
    "condition_gaussian_mixture",
    "make_concept_conditioned_data",
    "make_mixing",
    "projection_moments",
    "random_concepts",
    "random_gaussian_mixture",
]

MIXINGS = ("linear", "mlp")


def _check_positive_int(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ProbekitError(f"{name} must be a positive integer, got {value!r}")


# --------------------------------------------------------------------------- mixtures
@dataclass(frozen=True)
class GaussianMixture:
    """A Gaussian mixture ``p(z) = Σ_c w_c N(z; m_c, Σ_c)``.

    Attributes
    ----------
    weights : numpy.ndarray of float64, shape (n_components,)
        Non-negative, summing to 1.
    means : numpy.ndarray of float64, shape (n_components, n_latents)
    covariances : numpy.ndarray of float64, shape (n_components, n_latents, n_latents)
        Symmetric positive definite (positive semi-definite after conditioning on a
        noise-free constraint is not allowed: ``noise_var > 0`` keeps them definite).
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def __post_init__(self) -> None:
        w, m, c = (np.asarray(a, dtype=np.float64) for a in (self.weights, self.means, self.covariances))
        if m.ndim != 2 or w.shape != (m.shape[0],) or c.shape != (m.shape[0], m.shape[1], m.shape[1]):
            raise ProbekitError(
                f"GaussianMixture shapes do not fit: weights {w.shape}, means {m.shape}, covariances "
                f"{c.shape}; expected (n_components,), (n_components, n_latents), "
                "(n_components, n_latents, n_latents)"
            )
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(m)) and np.all(np.isfinite(c))):
            raise ProbekitError("GaussianMixture parameters contain NaN or inf")
        if np.any(w < 0) or not np.isclose(w.sum(), 1.0, atol=1e-8):
            raise ProbekitError(f"GaussianMixture weights must be >= 0 and sum to 1; got {w.tolist()}")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "covariances", c)

    @property
    def n_components(self) -> int:
        """Number of mixture components."""
        return int(self.weights.shape[0])

    @property
    def n_latents(self) -> int:
        """Dimension of ``z``."""
        return int(self.means.shape[1])

    def sample(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n_samples`` i.i.d. samples.

        Parameters
        ----------
        n_samples : int
            Number of samples (>= 0).
        rng : numpy.random.Generator

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, n_latents)
            Rows in random component order (already shuffled).
        """
        if int(n_samples) < 0:
            raise ProbekitError(f"n_samples must be >= 0, got {n_samples}")
        n_samples = int(n_samples)
        counts = rng.multinomial(n_samples, self.weights)
        out = np.empty((n_samples, self.n_latents))
        start = 0
        for c, k in enumerate(counts):
            if k == 0:
                continue
            chol = np.linalg.cholesky(_symmetrize(self.covariances[c]))
            eps = rng.standard_normal((k, self.n_latents))
            out[start:start + k] = self.means[c] + eps @ chol.T
            start += k
        return out[rng.permutation(n_samples)]

    def log_prob(self, z: np.ndarray) -> np.ndarray:
        """Log-density ``log p(z)``.

        Parameters
        ----------
        z : numpy.ndarray, shape (n_samples, n_latents)

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples,)
        """
        z = np.atleast_2d(np.asarray(z, dtype=np.float64))
        parts = [np.log(max(w, 1e-300)) + _gauss_logpdf(z, m, c)
                 for w, m, c in zip(self.weights, self.means, self.covariances)]
        return logsumexp(np.stack(parts, axis=1), axis=1)


def _symmetrize(c: np.ndarray) -> np.ndarray:
    return 0.5 * (c + np.swapaxes(c, -1, -2))


def _gauss_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x; mean, cov) for rows of x (cov SPD)."""
    chol = np.linalg.cholesky(_symmetrize(cov))
    diff = np.atleast_2d(x) - mean
    sol = np.linalg.solve(chol, diff.T)  # (d, n)
    maha = np.sum(sol ** 2, axis=0)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    d = mean.shape[-1]
    return -0.5 * (maha + logdet + d * np.log(2.0 * np.pi))


def random_gaussian_mixture(
    n_latents: int,
    rng: np.random.Generator,
    n_components: int = 3,
    mean_range: tuple[float, float] = (-1.0, 1.0),
    variance_range: tuple[float, float] = (0.01, 0.015),
    weight_range: tuple[float, float] = (0.3, 1.0),
) -> GaussianMixture:
    """A random Gaussian mixture with diagonal covariances (the paper's base distribution).

    Means ``~ U(mean_range)^{n_latents}``, diagonal variances ``~ U(variance_range)``,
    weights ``~ U(weight_range)`` normalised to sum 1.

    Parameters
    ----------
    n_latents : int
        Dimension ``d_z`` (>= 1).
    rng : numpy.random.Generator
    n_components : int
        Number of components (>= 1).
    mean_range, variance_range, weight_range : (float, float)
        Uniform ranges (``low < high``; variances and weights > 0).

    Returns
    -------
    GaussianMixture

    Raises
    ------
    ProbekitError
        Non-positive sizes or bad ranges.

    References
    ----------
    Rajendran et al. (2024), "From Causal to Concept-Based Representation Learning",
    NeurIPS, App. G (synthetic set-up: 3-component GMM, means U(-1, 1), variances
    U(0.01, 0.015), weights U(0.3, 1)).
    """
    _check_positive_int(n_latents, "n_latents")
    _check_positive_int(n_components, "n_components")
    for name, (lo, hi), positive in (("mean_range", mean_range, False), ("variance_range", variance_range, True),
                                     ("weight_range", weight_range, True)):
        if not lo < hi or (positive and lo <= 0):
            raise ProbekitError(f"{name} must be (low, high) with low < high{' and low > 0' if positive else ''}; "
                                f"got {(lo, hi)}")
    means = rng.uniform(*mean_range, size=(n_components, n_latents))
    variances = rng.uniform(*variance_range, size=(n_components, n_latents))
    covariances = np.stack([np.diag(v) for v in variances])
    weights = rng.uniform(*weight_range, size=n_components)
    return GaussianMixture(weights / weights.sum(), means, covariances)


def condition_gaussian_mixture(
    mixture: GaussianMixture,
    concepts: np.ndarray,
    valuations: np.ndarray,
    noise_var: float | np.ndarray,
) -> GaussianMixture:
    """Exact concept-conditional distribution of a Gaussian mixture.

    ``p_C(z) ∝ p(z) · Π_k N((A z − b)_k; 0, σ_k²)`` with ``p = Σ_c w_c N(m_c, Σ_c)`` is the
    Gaussian mixture with, per component (``S_c = A Σ_c Aᵀ + diag(σ²)``,
    ``K_c = Σ_c Aᵀ S_c⁻¹``):

    * ``m'_c = m_c + K_c (b − A m_c)``
    * ``Σ'_c = Σ_c − K_c A Σ_c``
    * ``w'_c ∝ w_c · N(b; A m_c, S_c)``

    (the product of two Gaussians in ``z``; the normaliser ``N(b; A m_c, S_c)`` is the
    marginal likelihood of the valuation under component ``c``).

    Parameters
    ----------
    mixture : GaussianMixture
        The base distribution ``p``.
    concepts : array-like, shape (n_concepts, n_latents) or (n_latents,)
        Conditioned concept rows ``A`` (one row for an atomic concept).
    valuations : array-like, shape (n_concepts,) or scalar
        ``b``.
    noise_var : float or array-like, shape (n_concepts,)
        ``σ²`` (> 0), the variance of the Gaussian noise ``q``.

    Returns
    -------
    GaussianMixture
        ``p_C``, with the same number of components.

    Raises
    ------
    ProbekitError
        Shape mismatches, ``noise_var <= 0`` or non-finite input.

    References
    ----------
    Rajendran et al. (2024), NeurIPS, Def. 3 / Eq. (3) (concept-conditional distribution
    ``p_C(z) ∝ p(z) Π q((Az − b)_k)``); Bishop (2006), "Pattern Recognition and Machine
    Learning", Eqs. (2.113)-(2.117) (conditioning a linear-Gaussian model).
    """
    a = np.atleast_2d(np.asarray(concepts, dtype=np.float64))
    b = np.atleast_1d(np.asarray(valuations, dtype=np.float64))
    if a.shape[1] != mixture.n_latents:
        raise ProbekitError(f"concepts have {a.shape[1]} columns but the mixture has n_latents="
                            f"{mixture.n_latents}")
    if b.shape != (a.shape[0],):
        raise ProbekitError(f"valuations have shape {b.shape}; expected ({a.shape[0]},), one per concept row")
    var = np.broadcast_to(np.asarray(noise_var, dtype=np.float64), (a.shape[0],))
    if not np.all(np.isfinite(var)) or np.any(var <= 0):
        raise ProbekitError(f"noise_var must be > 0 (a Gaussian noise variance); got {np.asarray(noise_var)}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ProbekitError("concepts / valuations contain NaN or inf")
    log_w, means, covs = [], [], []
    for w, m, cov in zip(mixture.weights, mixture.means, mixture.covariances):
        s = a @ cov @ a.T + np.diag(var)
        k = np.linalg.solve(s, a @ cov).T  # Σ Aᵀ S⁻¹ (S symmetric)
        resid = b - a @ m
        means.append(m + k @ resid)
        covs.append(_symmetrize(cov - k @ a @ cov))
        log_w.append(np.log(max(w, 1e-300)) + _gauss_logpdf(b[None], a @ m, s)[0])
    log_w = np.asarray(log_w)
    weights = np.exp(log_w - logsumexp(log_w))
    return GaussianMixture(weights / weights.sum(), np.stack(means), np.stack(covs))


def projection_moments(mixture: GaussianMixture, direction: np.ndarray) -> tuple[float, float]:
    """Mean and variance of ``⟨a, z⟩`` for ``z ~ mixture`` (closed form).

    ``E = Σ_c w_c aᵀm_c``; ``Var = Σ_c w_c (aᵀΣ_c a + (aᵀm_c)²) − E²``.

    Parameters
    ----------
    mixture : GaussianMixture
    direction : array-like, shape (n_latents,)

    Returns
    -------
    (float, float)
        Mean and variance.
    """
    a = np.asarray(direction, dtype=np.float64).reshape(-1)
    if a.shape[0] != mixture.n_latents:
        raise ProbekitError(f"direction has {a.shape[0]} entries; the mixture has n_latents={mixture.n_latents}")
    mu = mixture.means @ a
    var = np.einsum("i,cij,j->c", a, mixture.covariances, a)
    mean = float(mixture.weights @ mu)
    return mean, float(mixture.weights @ (var + mu ** 2) - mean ** 2)


def random_concepts(n_concepts: int, n_latents: int, rng: np.random.Generator, scale: float = 0.3) -> np.ndarray:
    """Random atomic concept vectors ``a_k ~ U(−scale, scale)^{n_latents}``.

    Parameters
    ----------
    n_concepts, n_latents : int
    rng : numpy.random.Generator
    scale : float
        Half-width of the uniform distribution (> 0).

    Returns
    -------
    numpy.ndarray of float64, shape (n_concepts, n_latents)

    References
    ----------
    Rajendran et al. (2024), NeurIPS, App. G (concept vectors U(-0.3, 0.3)).
    """
    _check_positive_int(n_concepts, "n_concepts")
    _check_positive_int(n_latents, "n_latents")
    if not scale > 0:
        raise ProbekitError(f"scale must be > 0, got {scale}")
    return rng.uniform(-scale, scale, size=(n_concepts, n_latents))


# --------------------------------------------------------------------------- mixing
@dataclass(frozen=True)
class Mixing:
    """A fixed random map ``f: R^{n_latents} → R^{n_features}``.

    ``kind="linear"``: ``x = W z`` (no bias). ``kind="mlp"``: the authors' random
    generator network ``h1 = lrelu(W1 z + b1)``, ``h2 = lrelu(W2 h1 + b2) + h1``,
    ``x = W3 h2 + b3`` (hidden width 16, LeakyReLU slope 0.2).

    Attributes
    ----------
    kind : str
    weights : tuple of numpy.ndarray
        ``(W,)`` or ``(W1, b1, W2, b2, W3, b3)``; ``W`` has shape ``(d_out, d_in)``.
    """

    kind: str
    weights: tuple

    def __call__(self, z: np.ndarray) -> np.ndarray:
        """Map latents to observations.

        Parameters
        ----------
        z : numpy.ndarray, shape (n_samples, n_latents)

        Returns
        -------
        numpy.ndarray of float64, shape (n_samples, n_features)
        """
        z = np.asarray(z, dtype=np.float64)
        if self.kind == "linear":
            return z @ self.weights[0].T
        w1, b1, w2, b2, w3, b3 = self.weights
        h = _lrelu(z @ w1.T + b1)
        h = _lrelu(h @ w2.T + b2) + h
        return h @ w3.T + b3


def _lrelu(x: np.ndarray, slope: float = 0.2) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def _torch_default_linear(d_in: int, d_out: int, rng: np.random.Generator, bias: bool):
    bound = 1.0 / np.sqrt(d_in)  # torch.nn.Linear's default initialisation range
    w = rng.uniform(-bound, bound, size=(d_out, d_in))
    return (w, rng.uniform(-bound, bound, size=d_out)) if bias else (w,)


def make_mixing(kind: str, n_latents: int, n_features: int, rng: np.random.Generator,
                hidden_dim: int = 16) -> Mixing:
    """A random mixing function (weights drawn like ``torch.nn.Linear``'s default init).

    Parameters
    ----------
    kind : {"linear", "mlp"}
    n_latents, n_features : int
        Input and output dimensions (``n_features >= n_latents`` for injectivity).
    rng : numpy.random.Generator
    hidden_dim : int
        Hidden width of the MLP.

    Returns
    -------
    Mixing

    Raises
    ------
    ProbekitError
        Unknown ``kind`` or bad dimensions.

    References
    ----------
    Rajendran et al. (2024), NeurIPS, App. G; authors' code ``synthetic/models.py``
    (``Linear_Nonlinearity``, ``EmbeddingNet(dim_z, dim_x)``: hidden 16, one residual layer).
    """
    if kind not in MIXINGS:
        raise ProbekitError(did_you_mean(kind, MIXINGS, "mixing") + f" (valid: {', '.join(MIXINGS)})")
    _check_positive_int(n_latents, "n_latents")
    _check_positive_int(n_features, "n_features")
    if kind == "linear":
        return Mixing("linear", _torch_default_linear(n_latents, n_features, rng, bias=False))
    layers = (_torch_default_linear(n_latents, hidden_dim, rng, True)
              + _torch_default_linear(hidden_dim, hidden_dim, rng, True)
              + _torch_default_linear(hidden_dim, n_features, rng, True))
    return Mixing("mlp", layers)


# --------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class ConceptSetting:
    """One synthetic setting: dimensions and the environment schedule.

    Attributes
    ----------
    name : str
    n_concepts : int
        ``n``, number of atomic concepts.
    n_latents : int
        ``d_z``.
    n_features : int
        ``d_x``.
    env_concepts : tuple of int
        Target concept of each conditional data set (``n + 1`` entries in the paper).
    env_values : tuple of float
        Valuation ``μ_e`` of each conditional data set.
    """

    name: str
    n_concepts: int
    n_latents: int
    n_features: int
    env_concepts: tuple
    env_values: tuple

    def __post_init__(self) -> None:
        for key in ("n_concepts", "n_latents", "n_features"):
            _check_positive_int(getattr(self, key), key)
        if len(self.env_concepts) != len(self.env_values) or not self.env_concepts:
            raise ProbekitError(f"setting {self.name!r}: env_concepts {self.env_concepts} and env_values "
                                f"{self.env_values} must be non-empty and of equal length")
        bad = [c for c in self.env_concepts if not 0 <= int(c) < self.n_concepts]
        if bad:
            raise ProbekitError(f"setting {self.name!r}: env_concepts {bad} outside 0..{self.n_concepts - 1}")
        if self.n_features < self.n_latents:
            raise ProbekitError(f"setting {self.name!r}: n_features={self.n_features} < n_latents="
                                f"{self.n_latents}; the mixing would not be injective")

    @property
    def n_envs(self) -> int:
        """Number of conditional data sets."""
        return len(self.env_concepts)


#: The paper's synthetic settings (Rajendran et al. 2024, App. G; authors' settings*.yaml).
SETTINGS = {
    "S1": ConceptSetting("S1", 2, 3, 4, (0, 1, 1), (0.2, -0.2, 0.1)),
    "S2": ConceptSetting("S2", 3, 4, 6, (0, 1, 2, 0), (0.2, -0.2, 0.1, -0.1)),
    "S3": ConceptSetting("S3", 4, 8, 10, (0, 1, 2, 3, 0), (0.2, -0.2, 0.1, -0.1, -0.1)),
}


@dataclass
class ConceptConditionedData:
    """A sampled concept-conditioned problem.

    Attributes
    ----------
    setting : ConceptSetting
    concepts : numpy.ndarray of float64, shape (n_concepts, n_latents)
        The atomic concepts ``A``.
    base : GaussianMixture
        ``p``.
    conditionals : list of GaussianMixture
        ``p_{C_e}``, one per environment.
    mixing : Mixing
        ``f``.
    base_z, base_x : numpy.ndarray, shapes (n_base, n_latents), (n_base, n_features)
    env_z, env_x : list of numpy.ndarray, shapes (n_per_env, n_latents), (n_per_env, n_features)
    noise_var : float
    seed : int
    """

    setting: ConceptSetting
    concepts: np.ndarray
    base: GaussianMixture
    conditionals: list
    mixing: Mixing
    base_z: np.ndarray
    base_x: np.ndarray
    env_z: list
    env_x: list
    noise_var: float
    seed: int
    _rng: np.random.Generator = field(repr=False, default=None)

    @property
    def env_concepts(self) -> list[int]:
        """Target concept of each environment."""
        return [int(c) for c in self.setting.env_concepts]

    def valuations(self, z: np.ndarray) -> np.ndarray:
        """True concept valuations ``z Aᵀ``, shape (n_samples, n_concepts)."""
        return np.asarray(z, dtype=np.float64) @ self.concepts.T

    def sample_base(self, n_samples: int, rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Fresh base samples ``(z, x)`` (e.g. for evaluation), shapes (n, n_latents), (n, n_features)."""
        rng = self._rng if rng is None else rng
        z = self.base.sample(n_samples, rng)
        return z, self.mixing(z)

    def describe(self) -> dict:
        """JSON-ready summary (setting, seed, sizes)."""
        return {"setting": asdict(self.setting), "mixing": self.mixing.kind, "seed": self.seed,
                "noise_var": self.noise_var, "n_base": int(self.base_x.shape[0]),
                "n_per_env": [int(x.shape[0]) for x in self.env_x]}


def make_concept_conditioned_data(
    setting: str | ConceptSetting,
    mixing: str = "linear",
    n_per_env: int = 5000,
    n_base: int | None = None,
    noise_var: float = 0.005,
    n_components: int = 3,
    seed: int = 0,
) -> ConceptConditionedData:
    """Sample a base data set and one concept-conditioned data set per environment.

    Base: ``n_base`` (default ``n_envs * n_per_env``, as in the paper) samples of ``p``.
    Environment ``e`` conditions concept ``t_e`` at valuation ``μ_e``:
    ``p_e(z) ∝ p(z) N(⟨a_{t_e}, z⟩; μ_e, σ²)``, sampled exactly
    (:func:`condition_gaussian_mixture`), so generation never stalls.

    Parameters
    ----------
    setting : {"S1", "S2", "S3"} or ConceptSetting
    mixing : {"linear", "mlp"}
    n_per_env : int
        Samples per conditional data set (the paper: 5000, split 80/20 by the estimator).
    n_base : int, optional
    noise_var : float
        ``σ²`` (the paper: 0.005).
    n_components : int
        Components of the base mixture.
    seed : int
        Seeds everything (concepts, mixture, mixing, samples).

    Returns
    -------
    ConceptConditionedData

    Raises
    ------
    ProbekitError
        Unknown setting / mixing, bad sizes.

    References
    ----------
    Rajendran et al. (2024), "From Causal to Concept-Based Representation Learning",
    NeurIPS, Sec. 4 (concept-conditional data sets, n + 1 environments) and App. G.
    """
    if isinstance(setting, str):
        if setting not in SETTINGS:
            raise ProbekitError(did_you_mean(setting, SETTINGS, "setting") + f" (valid: {', '.join(SETTINGS)})")
        setting = SETTINGS[setting]
    _check_positive_int(n_per_env, "n_per_env")
    if n_base is None:
        n_base = setting.n_envs * n_per_env
    _check_positive_int(n_base, "n_base")
    rng = np.random.default_rng(seed)
    concepts = random_concepts(setting.n_concepts, setting.n_latents, rng)
    base = random_gaussian_mixture(setting.n_latents, rng, n_components=n_components)
    f = make_mixing(mixing, setting.n_latents, setting.n_features, rng)
    base_z = base.sample(n_base, rng)
    conditionals, env_z = [], []
    for t, mu in zip(setting.env_concepts, setting.env_values):
        cond = condition_gaussian_mixture(base, concepts[int(t)], [float(mu)], noise_var)
        conditionals.append(cond)
        env_z.append(cond.sample(n_per_env, rng))
    return ConceptConditionedData(
        setting=setting, concepts=concepts, base=base, conditionals=conditionals, mixing=f,
        base_z=base_z, base_x=f(base_z), env_z=env_z, env_x=[f(z) for z in env_z],
        noise_var=float(noise_var), seed=int(seed), _rng=rng,
    )

