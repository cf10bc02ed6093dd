"""Chaotic dynamical systems observed through one noisy coordinate.

Trajectories of the Lorenz (1963) and Rössler (1976) flows, integrated with
:func:`scipy.integrate.solve_ivp` at a tight tolerance, sampled every ``dt``,
with a discarded burn-in, random initial conditions (the system's standard
initial condition scaled by ``ic_scale * U(0, 1)``, as in Ostrow et al. 2024),
and Gaussian observation noise. A :class:`NextStepDataset` turns the observed
coordinate into ``(input, target)`` pairs for next-step prediction.

Dtypes: integration and every array returned by :func:`simulate` are ``float64``
(the solver's precision; chaos amplifies rounding). :class:`NextStepDataset`
hands ``float32`` tensors to models (the training precision).

Units: time in the system's own time units; ``dt`` is the sampling interval;
``noise_std`` is in the units of the state coordinates (not relative to their
standard deviation), as in the reference code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch.utils.data import Dataset

from probekit.errors import ProbekitError, did_you_mean

__all__ = [
    "SYSTEMS",
    "DynamicalConfig",
    "DynamicalSystem",
    "NextStepDataset",
    "Trajectories",
    "integrate",
    "lorenz_rhs",
    "rossler_rhs",
    "simulate",
    "simulate_noise_levels",
]


def lorenz_rhs(t: float, state: np.ndarray, sigma: float = 10.0, rho: float = 28.0,
               beta: float = 8.0 / 3.0) -> np.ndarray:
    """Lorenz (1963) vector field, vectorised over stacked states.

    Parameters
    ----------
    t : float
        Time (unused; the flow is autonomous).
    state : ndarray of shape (3 * n_trajectories,) or (3, ...), float64
        ``[x, y, z]`` blocks (``x`` of every trajectory, then ``y``, then ``z``).
    sigma, rho, beta : float
        Parameters; the defaults give the classic chaotic attractor.

    Returns
    -------
    ndarray, same shape as ``state``
        ``[sigma (y - x), x (rho - z) - y, x y - beta z]``.

    References
    ----------
    Lorenz, E. N. (1963). Deterministic nonperiodic flow. J. Atmos. Sci. 20, eq. 25-27.
    """
    x, y, z = np.split(np.asarray(state), 3)
    return np.concatenate([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def rossler_rhs(t: float, state: np.ndarray, a: float = 0.2, b: float = 0.2,
                c: float = 5.7) -> np.ndarray:
    """Rössler (1976) vector field, vectorised like :func:`lorenz_rhs`.

    Returns ``[-y - z, x + a y, b + z (x - c)]``.

    References
    ----------
    Rössler, O. E. (1976). An equation for continuous chaos. Phys. Lett. A 57, eq. 2.
    """
    x, y, z = np.split(np.asarray(state), 3)
    return np.concatenate([-y - z, x + a * y, b + z * (x - c)])


@dataclass(frozen=True)
class DynamicalSystem:
    """A registered flow: vector field, default parameters and sampling.

    Attributes
    ----------
    name : str
    rhs : callable ``rhs(t, state, **params)``
    params : dict of str to float
    initial_condition : tuple of float
        The standard initial condition (on or near the attractor).
    dt : float
        Default sampling interval (time units).
    burn_in : int
        Default number of initial samples discarded.
    coordinate_names : tuple of str
    """

    name: str
    rhs: Callable[..., np.ndarray]
    params: dict
    initial_condition: tuple
    dt: float
    burn_in: int
    coordinate_names: tuple = ("x", "y", "z")


#: Registered systems. Lorenz: parameters and initial condition of the ``dysts``
#: ``Lorenz`` flow used by the reference code; Rössler: the classic chaotic parameters.
SYSTEMS: dict[str, DynamicalSystem] = {
    "lorenz": DynamicalSystem(
        "lorenz", lorenz_rhs, {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
        (-9.7869288, -15.03852, 20.533978), dt=0.01, burn_in=200,
    ),
    "rossler": DynamicalSystem(
        "rossler", rossler_rhs, {"a": 0.2, "b": 0.2, "c": 5.7},
        (6.5135, 0.4655, 0.0), dt=0.05, burn_in=400,
    ),
}


def _system(name: str) -> DynamicalSystem:
    if name not in SYSTEMS:
        raise ProbekitError(did_you_mean(name, SYSTEMS, "dynamical system"))
    return SYSTEMS[name]


def integrate(system: str, initial_conditions: np.ndarray, n_steps: int, dt: float | None = None,
              params: dict | None = None, method: str = "DOP853", rtol: float = 1e-10,
              atol: float = 1e-10) -> np.ndarray:
    """Integrate one or many trajectories and sample them every ``dt``.

    All trajectories are stacked into one vectorised ODE (one ``solve_ivp`` call),
    which is much faster than one call per trajectory; with the default tight
    tolerances the result matches per-trajectory integration to ~1e-6 over 700 steps.

    Parameters
    ----------
    system : {'lorenz', 'rossler'}
    initial_conditions : array_like of shape (3,) or (n_trajectories, 3)
    n_steps : int
        Number of samples, the first being the initial condition.
    dt : float, optional
        Sampling interval; the system's default when ``None``.
    params : dict, optional
        Overrides of the system parameters.
    method : str
        A ``solve_ivp`` method; ``'DOP853'`` (explicit, 8th order) at tight
        tolerance by default, ``'Radau'`` / ``'BDF'`` / ``'LSODA'`` for implicit.
    rtol, atol : float
        Solver tolerances.

    Returns
    -------
    ndarray of shape (n_steps, 3) or (n_trajectories, n_steps, 3), float64

    Raises
    ------
    ProbekitError
        Unknown system or parameter, bad shapes, non-positive ``n_steps``/``dt``,
        or a solver failure.
    """
    spec = _system(system)
    ic = np.asarray(initial_conditions, dtype=np.float64)
    single = ic.ndim == 1
    ic = np.atleast_2d(ic)
    if ic.ndim != 2 or ic.shape[1] != 3:
        raise ProbekitError(f"initial_conditions must have shape (3,) or (n_trajectories, 3); "
                            f"got {np.asarray(initial_conditions).shape}")
    if int(n_steps) < 1:
        raise ProbekitError(f"n_steps must be >= 1; got {n_steps}")
    dt = spec.dt if dt is None else float(dt)
    if not dt > 0:
        raise ProbekitError(f"dt must be > 0; got {dt}")
    p = dict(spec.params)
    for key, value in (params or {}).items():
        if key not in p:
            raise ProbekitError(did_you_mean(key, p, f"{system} parameter"))
        p[key] = float(value)
    n = ic.shape[0]
    t_eval = np.arange(int(n_steps)) * dt
    y0 = ic.T.reshape(-1)  # x-block, y-block, z-block
    if n_steps == 1:
        out = ic[:, None, :]
    else:
        sol = solve_ivp(lambda t, s: spec.rhs(t, s, **p), (0.0, t_eval[-1]), y0, method=method,
                        t_eval=t_eval, rtol=rtol, atol=atol)
        if not sol.success:
            raise ProbekitError(f"solve_ivp ({method}) failed for {system}: {sol.message}")
        out = sol.y.reshape(3, n, int(n_steps)).transpose(1, 2, 0)
    return out[0] if single else np.ascontiguousarray(out)


@dataclass
class DynamicalConfig:
    """How to simulate and observe a data set of trajectories.

    Attributes
    ----------
    system : {'lorenz', 'rossler'}
    n_trajectories : int
    n_steps : int
        Samples kept per trajectory (after burn-in). Paper: 500.
    burn_in : int or None
        Samples discarded at the start; system default (Lorenz: 200) when ``None``.
    dt : float or None
        Sampling interval; system default (Lorenz: 0.01) when ``None``.
    observed : tuple of int
        Indices of the observed coordinates (0 = x).
    noise_std : float
        Standard deviation of the Gaussian observation noise, in state units
        (paper: 0 or 0.05). Added to every coordinate; :attr:`Trajectories.states`
        stays clean.
    ic_scale : float
        Initial condition = standard IC * ``ic_scale`` * U(0, 1) per trajectory.
    params : dict
        System-parameter overrides.
    method, rtol, atol : solver settings (see :func:`integrate`).
    seed : int
    """

    system: str = "lorenz"
    n_trajectories: int = 100
    n_steps: int = 500
    burn_in: int | None = None
    dt: float | None = None
    observed: tuple = (0,)
    noise_std: float = 0.0
    ic_scale: float = 5.0
    params: dict = field(default_factory=dict)
    method: str = "DOP853"
    rtol: float = 1e-10
    atol: float = 1e-10
    seed: int = 0

    def __post_init__(self) -> None:
        spec = _system(self.system)
        if self.n_trajectories < 1:
            raise ProbekitError(f"n_trajectories must be >= 1; got {self.n_trajectories}")
        if self.n_steps < 2:
            raise ProbekitError(f"n_steps must be >= 2; got {self.n_steps}")
        if self.burn_in is None:
            self.burn_in = spec.burn_in
        if self.burn_in < 0:
            raise ProbekitError(f"burn_in must be >= 0; got {self.burn_in}")
        if self.dt is None:
            self.dt = spec.dt
        if not self.dt > 0:
            raise ProbekitError(f"dt must be > 0; got {self.dt}")
        self.observed = tuple(int(i) for i in np.atleast_1d(self.observed))
        if not self.observed or any(i < 0 or i > 2 for i in self.observed):
            raise ProbekitError(f"observed must be coordinate indices in {{0, 1, 2}}; got {self.observed}")
        if self.noise_std < 0:
            raise ProbekitError(f"noise_std must be >= 0; got {self.noise_std}")
        if self.ic_scale <= 0:
            raise ProbekitError(f"ic_scale must be > 0; got {self.ic_scale}")

    def to_dict(self) -> dict:
        """JSON-ready dictionary of the configuration."""
        return asdict(self)


@dataclass
class Trajectories:
    """Simulated trajectories and their noisy observation.

    Attributes
    ----------
    states : ndarray of shape (n_trajectories, n_steps, 3), float64
        Clean states (after burn-in).
    noisy_states : ndarray of shape (n_trajectories, n_steps, 3), float64
        States plus observation noise (all coordinates).
    observations : ndarray of shape (n_trajectories, n_steps, n_observed), float64
        ``noisy_states[..., config.observed]``: what a model sees.
    times : ndarray of shape (n_steps,), float64
        Sample times (time units), counted after the burn-in.
    config : DynamicalConfig
    """

    states: np.ndarray
    noisy_states: np.ndarray
    observations: np.ndarray
    times: np.ndarray
    config: DynamicalConfig

    @property
    def unobserved(self) -> tuple:
        """Indices of the coordinates that are not observed."""
        return tuple(i for i in range(3) if i not in self.config.observed)


def simulate(config: DynamicalConfig) -> Trajectories:
    """Simulate ``config.n_trajectories`` trajectories and observe them.

    Parameters
    ----------
    config : DynamicalConfig

    Returns
    -------
    Trajectories

    Raises
    ------
    ProbekitError
        Bad configuration or solver failure.

    References
    ----------
    Ostrow, Eisen & Fiete (2024). Delay Embedding Theory of Neural Sequence Models,
    arXiv 2406.11993, Sec. 3 (Lorenz, dt = 0.01, 700 steps with 200 discarded,
    IC = standard IC * 5 U(0, 1), observation noise sigma in {0, 0.05}).
    """
    spec = _system(config.system)
    rng = np.random.default_rng(config.seed)
    scale = config.ic_scale * rng.random(config.n_trajectories)
    ic = np.asarray(spec.initial_condition)[None, :] * scale[:, None]
    full = integrate(config.system, ic, config.burn_in + config.n_steps, dt=config.dt,
                     params=config.params, method=config.method, rtol=config.rtol, atol=config.atol)
    states = np.ascontiguousarray(full[:, config.burn_in:])
    noisy = states + config.noise_std * rng.standard_normal(states.shape) if config.noise_std > 0 else states.copy()
    obs = np.ascontiguousarray(noisy[..., list(config.observed)])
    times = np.arange(config.n_steps) * config.dt
    return Trajectories(states, noisy, obs, times, config)


def simulate_noise_levels(config: DynamicalConfig, noise_stds) -> dict:
    """The same clean trajectories observed under several noise levels (integrated once).

    Every level gets exactly ``simulate(replace(config, noise_std=s))``: the same initial
    conditions and states (they depend on ``config.seed`` only) and the same standard-normal
    draws scaled by ``s`` (common random numbers), so the levels differ in the noise alone.

    Parameters
    ----------
    config : DynamicalConfig
        Its ``noise_std`` is ignored.
    noise_stds : sequence of float
        Noise standard deviations (state units), each >= 0.

    Returns
    -------
    dict
        ``{noise_std: Trajectories}`` in the order given.

    Raises
    ------
    ProbekitError
        A negative noise level, none given, or a bad configuration.
    """
    levels = [float(s) for s in np.atleast_1d(noise_stds)]
    if not levels or any(not s >= 0 for s in levels):
        raise ProbekitError(f"noise_stds must be one or more values >= 0; got {noise_stds!r}")
    clean = simulate(replace(config, noise_std=0.0))
    rng = np.random.default_rng(config.seed)
    rng.random(config.n_trajectories)  # the initial-condition draw of simulate()
    z = rng.standard_normal(clean.states.shape)
    out = {}
    for s in levels:
        cfg = replace(config, noise_std=s)
        noisy = clean.states + s * z if s > 0 else clean.states.copy()
        obs = np.ascontiguousarray(noisy[..., list(cfg.observed)])
        out[s] = Trajectories(clean.states, noisy, obs, clean.times, cfg)
    return out


class NextStepDataset(Dataset):
    """Next-step prediction pairs from observed trajectories.

    Item ``i`` is ``(inputs, targets)`` with ``inputs = obs[i, :-1]`` and
    ``targets = obs[i, 1:]`` (both ``(n_steps - 1, n_observed)``, float32),
    standardised by ``(obs - mean) / std``.

    Parameters
    ----------
    observations : array_like of shape (n_trajectories, n_steps, n_observed) or (n_trajectories, n_steps)
    mean, std : float or array of shape (n_observed,), optional
        Standardisation; computed from ``observations`` when ``None`` (pass the
        training set's :attr:`mean` / :attr:`std` to a validation set).
        ``standardize=False`` uses mean 0, std 1.
    standardize : bool

    Raises
    ------
    ProbekitError
        Wrong number of dimensions, fewer than 2 steps, or a zero ``std``.
    """

    def __init__(self, observations, mean=None, std=None, standardize: bool = True) -> None:
        obs = np.asarray(observations, dtype=np.float64)
        if obs.ndim == 2:
            obs = obs[..., None]
        if obs.ndim != 3 or obs.shape[1] < 2:
            raise ProbekitError("observations must have shape (n_trajectories, n_steps >= 2, n_observed); "
                                f"got {np.asarray(observations).shape}")
        if standardize:
            mean = obs.mean(axis=(0, 1)) if mean is None else np.asarray(mean, dtype=np.float64)
            std = obs.std(axis=(0, 1)) if std is None else np.asarray(std, dtype=np.float64)
        else:
            mean, std = np.zeros(obs.shape[-1]), np.ones(obs.shape[-1])
        std = np.broadcast_to(np.asarray(std, dtype=np.float64), (obs.shape[-1],))
        if np.any(std <= 0):
            raise ProbekitError(f"std must be > 0 for every observed coordinate; got {std}")
        self.mean = np.broadcast_to(np.asarray(mean, dtype=np.float64), (obs.shape[-1],)).copy()
        self.std = std.copy()
        self.data = torch.from_numpy(((obs - self.mean) / self.std).astype(np.float32))

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index):
        seq = self.data[index]
        return seq[..., :-1, :], seq[..., 1:, :]

    def inputs(self) -> torch.Tensor:
        """All inputs, ``(n_trajectories, n_steps - 1, n_observed)`` float32."""
        return self.data[:, :-1]

    def targets(self) -> torch.Tensor:
        """All targets, ``(n_trajectories, n_steps - 1, n_observed)`` float32."""
        return self.data[:, 1:]
