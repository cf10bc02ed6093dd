"""Delay embeddings and how well a representation reconstructs unobserved dynamics.

* Takens delay vectors ``[x_t, x_{t-tau}, ..., x_{t-(m-1) tau}]``
  (:func:`delay_vectors`), with ``tau`` at the first minimum of the
  time-delayed mutual information (:func:`first_minimum_mi`, Fraser & Swinney
  1986) and ``m`` from false nearest neighbours (:func:`false_nearest_neighbours`,
  Kennel, Brown & Abarbanel 1992); :func:`takens_embedding` does both.
* Decoding of unobserved coordinates from any representation
  (:func:`decoding_r2`: linear or MLP regression, train/test split by
  trajectory, never by time point).
* Forecast quality: :func:`mase` (mean absolute scaled error against the
  persistence forecast) and autoregressive multi-step rollouts
  (:func:`rollout`, :func:`rollout_error`).

Arrays of trajectories are ``(n_trajectories, n_steps)`` or
``(n_trajectories, n_steps, n_features)``; every computation here is float64.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.neighbors import NearestNeighbors
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from probekit.errors import ProbekitError

__all__ = [
    "DecodingResult",
    "LINEAR_ALPHAS",
    "RolloutError",
    "TakensEmbedding",
    "choose_embedding_dimension",
    "decoding_r2",
    "delay_vectors",
    "false_nearest_neighbours",
    "first_minimum_mi",
    "flatten_trajectories",
    "mase",
    "mutual_information",
    "rollout",
    "rollout_error",
    "takens_embedding",
]

REGRESSORS = ("linear", "elasticnet", "mlp")


def _trajectories(x, name: str = "x") -> np.ndarray:
    """Scalar series as ``(n_trajectories, n_steps)`` float64."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ProbekitError(f"{name} must be a scalar series of shape (n_steps,), (n_trajectories, n_steps) "
                            f"or (n_trajectories, n_steps, 1); got {np.asarray(x).shape}")
    if not np.all(np.isfinite(arr)):
        raise ProbekitError(f"{name} contains NaN or infinite values")
    return arr


def delay_vectors(x, m: int, tau: int) -> np.ndarray:
    """Takens delay vectors of a scalar series.

    Parameters
    ----------
    x : array_like of shape (n_steps,), (n_trajectories, n_steps) or (n_trajectories, n_steps, 1)
    m : int
        Embedding dimension (number of delays, >= 1).
    tau : int
        Delay in samples (>= 1).

    Returns
    -------
    ndarray of shape (n_trajectories, n_steps - (m - 1) * tau, m), float64
        Row ``j`` is the vector at time ``t = j + (m - 1) * tau``:
        ``[x_t, x_{t - tau}, ..., x_{t - (m - 1) tau}]`` (only the past, so it is
        aligned with the state at time ``t``). A 1-D input gives a leading axis of 1.

    Raises
    ------
    ProbekitError
        ``m`` or ``tau`` < 1, or the series is shorter than ``(m - 1) * tau + 1``.

    References
    ----------
    Takens, F. (1981). Detecting strange attractors in turbulence. LNM 898, Thm. 1.
    """
    arr = _trajectories(x)
    m, tau = int(m), int(tau)
    if m < 1 or tau < 1:
        raise ProbekitError(f"m and tau must be >= 1; got m={m}, tau={tau}")
    span = (m - 1) * tau
    n = arr.shape[1] - span
    if n < 1:
        raise ProbekitError(f"series of {arr.shape[1]} steps is too short for m={m}, tau={tau} "
                            f"(needs > {span} steps)")
    return np.stack([arr[:, span - i * tau: span - i * tau + n] for i in range(m)], axis=-1)


def mutual_information(x, max_lag: int = 100, n_bins: int = 32) -> np.ndarray:
    """Time-delayed mutual information ``I(x_t; x_{t+lag})`` for ``lag = 0..max_lag``, in nats.

    Histogram estimate on ``n_bins`` equal-width bins spanning the data, pooled over
    trajectories.

    Parameters
    ----------
    x : array_like of shape (n_steps,) or (n_trajectories, n_steps)
    max_lag : int
    n_bins : int

    Returns
    -------
    ndarray of shape (max_lag + 1,), float64

    Raises
    ------
    ProbekitError
        ``max_lag`` not smaller than the series length, ``n_bins`` < 2, constant series.

    References
    ----------
    Fraser, A. M. & Swinney, H. L. (1986). Independent coordinates for strange attractors
    from mutual information. Phys. Rev. A 33, eq. 12.
    """
    arr = _trajectories(x)
    if not 0 <= int(max_lag) < arr.shape[1] - 1:
        raise ProbekitError(f"max_lag must be in [0, n_steps - 2] = [0, {arr.shape[1] - 2}]; got {max_lag}")
    if int(n_bins) < 2:
        raise ProbekitError(f"n_bins must be >= 2; got {n_bins}")
    lo, hi = arr.min(), arr.max()
    if hi <= lo:
        raise ProbekitError("x is constant; mutual information is undefined")
    codes = np.minimum(((arr - lo) / (hi - lo) * n_bins).astype(np.int64), n_bins - 1)
    out = np.empty(int(max_lag) + 1)
    for lag in range(int(max_lag) + 1):
        a = codes[:, : arr.shape[1] - lag].ravel()
        b = codes[:, lag:].ravel()
        joint = np.bincount(a * n_bins + b, minlength=n_bins * n_bins).reshape(n_bins, n_bins).astype(np.float64)
        joint /= joint.sum()
        pa, pb = joint.sum(1), joint.sum(0)
        nz = joint > 0
        out[lag] = float(np.sum(joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])))
    return out


def first_minimum_mi(x, max_lag: int = 100, n_bins: int = 32) -> int:
    """Delay ``tau`` at the first local minimum of :func:`mutual_information`.

    Falls back to the global minimum over ``1..max_lag`` when there is no local minimum.

    Parameters
    ----------
    x : array_like of shape (n_steps,) or (n_trajectories, n_steps)
        The observed series (float); trajectories are pooled.
    max_lag : int
        Largest delay tried, in samples (``< n_steps - 1``).
    n_bins : int
        Histogram bins of the mutual-information estimate (``>= 2``).

    Returns
    -------
    int
        ``tau >= 1`` in samples.

    Raises
    ------
    ProbekitError
        As :func:`mutual_information`: ``max_lag`` not smaller than the series length,
        ``n_bins`` < 2, constant series.

    References
    ----------
    Fraser & Swinney (1986), Phys. Rev. A 33, Sec. III (first minimum criterion).
    """
    ami = mutual_information(x, max_lag, n_bins)
    for lag in range(1, len(ami) - 1):
        if ami[lag] < ami[lag - 1] and ami[lag] <= ami[lag + 1]:
            return lag
    return int(np.argmin(ami[1:]) + 1) if len(ami) > 1 else 1


def false_nearest_neighbours(x, tau: int, max_dim: int = 10, r_tol: float = 15.0, a_tol: float = 2.0,
                             theiler: int | None = None, max_points: int = 5000,
                             seed: int = 0) -> np.ndarray:
    """Fraction of false nearest neighbours for embedding dimensions ``1..max_dim``.

    A neighbour ``s`` of ``t`` in dimension ``m`` (distance ``R_m``) is false when
    adding coordinate ``m + 1`` separates them: ``|x_{t - m tau} - x_{s - m tau}| / R_m > r_tol``
    (criterion 1), or ``R_{m+1} / R_A > a_tol`` with ``R_A`` the standard deviation of
    ``x`` (criterion 2).

    Parameters
    ----------
    x : array_like of shape (n_steps,) or (n_trajectories, n_steps)
    tau : int
        Delay in samples.
    max_dim : int
    r_tol, a_tol : float
        Kennel et al.'s thresholds (15 and 2 in the paper).
    theiler : int, optional
        Neighbours closer than this many samples in the same trajectory are
        skipped (temporal, not geometric neighbours); default ``tau``.
    max_points : int
        At most this many query points (random, all points remain candidate neighbours).
    seed : int
        Seeds the choice of query points.

    Returns
    -------
    ndarray of shape (max_dim,), float64
        Entry ``m - 1`` is the false-neighbour fraction of dimension ``m``.

    Raises
    ------
    ProbekitError
        Series too short for ``max_dim`` and ``tau``.

    References
    ----------
    Kennel, M. B., Brown, R. & Abarbanel, H. D. I. (1992). Determining embedding dimension
    for phase-space reconstruction using a geometrical construction. Phys. Rev. A 45,
    eq. 4 (criterion 1) and eq. 5 (criterion 2).
    """
    arr = _trajectories(x)
    tau, max_dim = int(tau), int(max_dim)
    theiler = tau if theiler is None else int(theiler)
    if max_dim < 1:
        raise ProbekitError(f"max_dim must be >= 1; got {max_dim}")
    full = delay_vectors(arr, max_dim + 1, tau)  # (n_traj, n, max_dim + 1): lags 0..max_dim
    n_traj, n_per, _ = full.shape
    vecs = full.reshape(-1, max_dim + 1)
    traj = np.repeat(np.arange(n_traj), n_per)
    time = np.tile(np.arange(n_per), n_traj)
    r_a = arr.std()
    rng = np.random.default_rng(seed)
    n_all = vecs.shape[0]
    query = rng.choice(n_all, size=min(max_points, n_all), replace=False)
    n_neigh = min(n_all, 2 * theiler + 2)
    fractions = np.empty(max_dim)
    for m in range(1, max_dim + 1):
        emb = vecs[:, :m]
        nn = NearestNeighbors(n_neighbors=n_neigh).fit(emb)
        dist, idx = nn.kneighbors(emb[query])
        ok = (traj[idx] != traj[query][:, None]) | (np.abs(time[idx] - time[query][:, None]) > theiler)
        has = ok.any(axis=1)
        first = ok.argmax(axis=1)
        rows = np.arange(len(query))[has]
        nb = idx[rows, first[has]]
        r_m = dist[rows, first[has]]
        q = query[has]
        extra = np.abs(vecs[q, m] - vecs[nb, m])
        r_next = np.sqrt(r_m**2 + extra**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            crit1 = np.where(r_m > 0, extra / r_m > r_tol, extra > 0)
        crit2 = r_next / r_a > a_tol
        fractions[m - 1] = float(np.mean(crit1 | crit2)) if len(q) else float("nan")
    return fractions


def choose_embedding_dimension(fnn_fractions, threshold: float = 0.01) -> int:
    """Smallest dimension whose false-neighbour fraction is below ``threshold``.

    When none is, the dimension with the smallest fraction (noise keeps FNN above zero).

    Parameters
    ----------
    fnn_fractions : array_like of shape (max_dim,)
        Output of :func:`false_nearest_neighbours`.
    threshold : float

    Returns
    -------
    int
        ``m >= 1``.

    Raises
    ------
    ProbekitError
        ``fnn_fractions`` not a non-empty 1-D array.

    References
    ----------
    Kennel, Brown & Abarbanel (1992), Phys. Rev. A 45, Sec. III (the embedding dimension
    is where the fraction of false neighbours drops to ~zero).
    """
    f = np.asarray(fnn_fractions, dtype=np.float64)
    if f.ndim != 1 or len(f) == 0:
        raise ProbekitError(f"fnn_fractions must be a non-empty 1-D array; got shape {f.shape}")
    below = np.flatnonzero(f < threshold)
    return int(below[0] + 1) if len(below) else int(np.nanargmin(f) + 1)


@dataclass
class TakensEmbedding:
    """Result of :func:`takens_embedding`.

    Attributes
    ----------
    vectors : ndarray of shape (n_trajectories, n_steps - start, m), float64
    m, tau : int
        Chosen embedding dimension and delay (samples).
    start : int
        ``(m - 1) * tau``: time index of the first vector.
    mutual_information : ndarray of shape (max_lag + 1,)
    fnn_fractions : ndarray of shape (max_dim,)
    """

    vectors: np.ndarray
    m: int
    tau: int
    start: int
    mutual_information: np.ndarray
    fnn_fractions: np.ndarray

    def summary(self) -> dict:
        """JSON-ready summary (no vectors)."""
        return {"m": self.m, "tau": self.tau, "start": self.start,
                "mutual_information": self.mutual_information.tolist(),
                "fnn_fractions": self.fnn_fractions.tolist()}


def takens_embedding(x, m: int | None = None, tau: int | None = None, max_lag: int = 100,
                     n_bins: int = 32, max_dim: int = 10, fnn_threshold: float = 0.01,
                     max_points: int = 5000, seed: int = 0) -> TakensEmbedding:
    """Delay-embed ``x`` with ``tau`` from mutual information and ``m`` from FNN (unless given).

    Parameters
    ----------
    x : array_like of shape (n_steps,) or (n_trajectories, n_steps)
    m, tau : int, optional
        Fixed values; chosen automatically when ``None``.
    max_lag, n_bins : see :func:`first_minimum_mi`.
    max_dim, fnn_threshold, max_points, seed : see :func:`false_nearest_neighbours`
        and :func:`choose_embedding_dimension`. ``max_dim`` is lowered for short series so
        that the delay vectors of dimension ``max_dim + 1`` leave at least half of each
        trajectory (``fnn_fractions`` then has fewer entries).

    Returns
    -------
    TakensEmbedding

    References
    ----------
    Takens (1981); Fraser & Swinney (1986), Phys. Rev. A 33; Kennel, Brown & Abarbanel
    (1992), Phys. Rev. A 45. Used as the baseline in Ostrow, Eisen & Fiete (2024),
    arXiv 2406.11993, Sec. 3.
    """
    arr = _trajectories(x)
    max_lag = min(int(max_lag), arr.shape[1] - 2)
    ami = mutual_information(arr, max_lag, n_bins)
    if tau is None:
        tau = first_minimum_mi(arr, max_lag, n_bins)
    # keep at least half of every trajectory for the FNN statistics
    max_dim = max(1, min(int(max_dim), (arr.shape[1] // 2) // int(tau) - 1))
    fnn = false_nearest_neighbours(arr, tau, max_dim=max_dim, max_points=max_points, seed=seed)
    if m is None:
        m = choose_embedding_dimension(fnn, fnn_threshold)
    vecs = delay_vectors(arr, m, tau)
    return TakensEmbedding(vecs, int(m), int(tau), (int(m) - 1) * int(tau), ami, fnn)


def flatten_trajectories(*arrays, start: int = 0, stride: int = 1):
    """Stack time points of trajectory arrays into sample rows, with trajectory ids.

    Parameters
    ----------
    *arrays : ndarray of shape (n_trajectories, n_steps, n_features_i)
        Same ``n_trajectories`` and ``n_steps``.
    start : int
        First time index kept (e.g. to skip a model's warm-up).
    stride : int
        Keep every ``stride``-th time point.

    Returns
    -------
    tuple
        ``(*flat, groups)``: each ``flat`` of shape ``(n_samples, n_features_i)`` and
        ``groups`` of shape ``(n_samples,)`` int64 (trajectory index).

    Raises
    ------
    ProbekitError
        Shapes disagree or nothing is left.
    """
    if not arrays:
        raise ProbekitError("need at least one array")
    shapes = {np.shape(a)[:2] for a in arrays}
    if len(shapes) != 1 or any(np.ndim(a) != 3 for a in arrays):
        raise ProbekitError(f"arrays must be (n_trajectories, n_steps, n_features) with equal leading dims; "
                            f"got {[np.shape(a) for a in arrays]}")
    n_traj, n_steps = shapes.pop()
    t = np.arange(int(start), n_steps, int(stride))
    if len(t) == 0:
        raise ProbekitError(f"start={start} leaves no time points of {n_steps}")
    flat = [np.asarray(a)[:, t].reshape(n_traj * len(t), -1) for a in arrays]
    groups = np.repeat(np.arange(n_traj), len(t))
    return (*flat, groups)


@dataclass
class DecodingResult:
    """Result of :func:`decoding_r2`.

    Attributes
    ----------
    r2 : float
        Test R², averaged over targets.
    r2_per_target : list of float
    regressor : str
    n_train, n_test : int
        Samples used.
    n_train_groups, n_test_groups : int
        Trajectories in each split.
    """

    r2: float
    r2_per_target: list = field(default_factory=list)
    regressor: str = "linear"
    n_train: int = 0
    n_test: int = 0
    n_train_groups: int = 0
    n_test_groups: int = 0

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return asdict(self)


#: Ridge penalties of the ``linear`` decoder (chosen by efficient leave-one-out CV).
LINEAR_ALPHAS = tuple(np.logspace(-6, 3, 10))


class _EngineRidge:
    """``make_pipeline(StandardScaler(), RidgeCV(LINEAR_ALPHAS))`` fitted by the probe engine.

    Standardizes with the training rows' statistics, then one
    :func:`probekit.probes.engine.ridge_cv` solve (float64, CPU): every penalty from one
    eigendecomposition, one penalty shared by all targets chosen by the mean squared
    leave-one-out residual, as ``RidgeCV(cv=None)`` (shown equal in the tests).
    """

    def __init__(self, alphas=LINEAR_ALPHAS) -> None:
        self.alphas = alphas

    def fit(self, x: np.ndarray, y: np.ndarray) -> "_EngineRidge":
        from probekit.probes.engine import ridge_cv

        self.scaler_ = StandardScaler().fit(x)
        z = torch.as_tensor(self.scaler_.transform(x), dtype=torch.float64)[None]
        t = torch.as_tensor(np.asarray(y, dtype=np.float64).reshape(len(x), -1), dtype=torch.float64)[:, None, :]
        coef, intercept, best = ridge_cv(z, t, self.alphas)
        self.coef_, self.intercept_ = coef[0, 0].numpy(), intercept[0, 0].numpy()
        self.alpha_ = float(self.alphas[int(best[0, 0])])
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.scaler_.transform(x) @ self.coef_ + self.intercept_


def _regressor(name: str, seed: int):
    if name == "linear":
        return _EngineRidge()
    if name == "elasticnet":
        return make_pipeline(StandardScaler(), ElasticNet(alpha=0.1, l1_ratio=0.5, max_iter=2000))
    if name == "mlp":
        mlp = MLPRegressor(hidden_layer_sizes=(100,), max_iter=200, early_stopping=True,
                           learning_rate_init=1e-3, random_state=seed)
        return TransformedTargetRegressor(make_pipeline(StandardScaler(), mlp), transformer=StandardScaler())
    raise ProbekitError(f"unknown regressor {name!r}; valid: {REGRESSORS}")


def decoding_r2(features, targets, groups=None, regressor: str = "linear", test_fraction: float = 0.2,
                max_train: int | None = 20000, seed: int = 0) -> DecodingResult:
    """R² of decoding ``targets`` (e.g. unobserved coordinates) from ``features`` on held-out trajectories.

    Parameters
    ----------
    features : array_like of shape (n_samples, n_features)
        E.g. hidden states or delay vectors (cast to float64).
    targets : array_like of shape (n_samples,) or (n_samples, n_targets)
    groups : array_like of shape (n_samples,), optional
        Trajectory of every sample; the split keeps whole trajectories together.
        ``None`` splits samples at random (optimistic for time series: neighbouring
        time points leak across the split).
    regressor : {'linear', 'elasticnet', 'mlp'}
        ``'linear'``: standardised ridge with alpha by efficient LOO CV (one alpha for all
        targets), fitted by the probe engine (:class:`_EngineRidge`);
        ``'elasticnet'``: the reference code's ElasticNet(alpha=0.1, l1_ratio=0.5);
        ``'mlp'``: one hidden layer of 100 ReLU units, Adam, at most 200 epochs with
        early stopping, standardised inputs and targets (convergence warnings silenced).
    test_fraction : float
        Fraction of trajectories (or samples) held out.
    max_train : int or None
        Subsample at most this many training rows (speed).
    seed : int

    Returns
    -------
    DecodingResult
        ``r2`` is the mean over targets of sklearn's ``r2_score`` on the test split.

    Raises
    ------
    ProbekitError
        Shapes disagree, unknown regressor, fewer than 2 groups, bad ``test_fraction``.

    References
    ----------
    Ostrow, Eisen & Fiete (2024), arXiv 2406.11993, Sec. 3 (decoding R² of the unobserved
    Lorenz coordinates from hidden states with ElasticNet and MLP regression).
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ProbekitError(f"features (n_samples, n_features) and targets (n_samples, n_targets) must share "
                            f"n_samples; got {np.shape(features)} and {np.shape(targets)}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ProbekitError("features or targets contain NaN or infinite values")
    if regressor not in REGRESSORS:
        raise ProbekitError(f"unknown regressor {regressor!r}; valid: {REGRESSORS}")
    if not 0 < test_fraction < 1:
        raise ProbekitError(f"test_fraction must be in (0, 1); got {test_fraction}")
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (x.shape[0],):
            raise ProbekitError(f"groups must have shape ({x.shape[0]},); got {groups.shape}")
        n_groups = len(np.unique(groups))
        if n_groups < 2:
            raise ProbekitError(f"need at least 2 trajectories (groups) to split by trajectory; got {n_groups}")
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
        train, test = next(splitter.split(x, y, groups))
    else:
        train, test = next(ShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed).split(x))
    rng = np.random.default_rng(seed)
    if max_train is not None and len(train) > max_train:
        train = rng.choice(train, size=max_train, replace=False)
    model = _regressor(regressor, seed)
    yt = y[train] if y.shape[1] > 1 else y[train, 0]
    with warnings.catch_warnings():
        # the MLP stops at max_iter without early-stopping convergence on some inputs; its
        # test R2 is still what is reported
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x[train], yt)
    pred = np.asarray(model.predict(x[test])).reshape(len(test), -1)
    per = r2_score(y[test], pred, multioutput="raw_values")
    return DecodingResult(
        r2=float(np.mean(per)), r2_per_target=[float(v) for v in per], regressor=regressor,
        n_train=int(len(train)), n_test=int(len(test)),
        n_train_groups=int(len(np.unique(groups[train]))) if groups is not None else 0,
        n_test_groups=int(len(np.unique(groups[test]))) if groups is not None else 0,
    )


def mase(y_true, y_pred, time_axis: int = 1) -> float:
    """Mean absolute scaled error of one-step forecasts.

    ``MASE = mean |y_pred - y_true| / mean |y_true[t] - y_true[t - 1]|``: the forecast's
    MAE over the MAE of the persistence forecast ``y_hat_t = y_{t-1}`` on the same
    series. Below 1 = better than persistence.

    Parameters
    ----------
    y_true, y_pred : array_like, same shape, e.g. (n_trajectories, n_steps, n_features)
        Targets and one-step predictions (same units).
    time_axis : int
        Axis of time (default 1; use 0 for a single ``(n_steps, n_features)`` series).

    Returns
    -------
    float

    Raises
    ------
    ProbekitError
        Shapes differ, fewer than 2 time steps, or a constant series (zero denominator).

    References
    ----------
    Hyndman, R. J. & Koehler, A. B. (2006). Another look at measures of forecast accuracy.
    Int. J. Forecasting 22, eq. in Sec. 3.4; used by Ostrow, Eisen & Fiete (2024),
    arXiv 2406.11993 (and the reference code's ``mase``).
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ProbekitError(f"y_true and y_pred must have the same shape; got {t.shape} and {p.shape}")
    if t.ndim == 0 or t.shape[time_axis] < 2:
        raise ProbekitError(f"need at least 2 time steps along axis {time_axis}; got shape {t.shape}")
    denom = np.mean(np.abs(np.diff(t, axis=time_axis)))
    if denom == 0:
        raise ProbekitError("y_true is constant in time; the persistence MAE (denominator) is 0")
    return float(np.mean(np.abs(p - t)) / denom)


@torch.no_grad()
def rollout(model: torch.nn.Module, context: torch.Tensor, horizon: int,
            max_context: int | None = None) -> torch.Tensor:
    """Autoregressive forecast: feed the model its own predictions for ``horizon`` steps.

    Parameters
    ----------
    model : nn.Module
        Next-step predictor ``(batch, pos, d) -> (batch, pos, d)``; run in eval mode.
    context : Tensor of shape (batch, n_context, d)
        Observed history (model units, e.g. standardised).
    horizon : int
        Steps to forecast.
    max_context : int, optional
        Keep only the last ``max_context`` positions as input (for models with a
        fixed context length).

    Returns
    -------
    Tensor of shape (batch, horizon, d)
        ``out[:, h]`` forecasts the observation ``h + 1`` steps after the context.

    Raises
    ------
    ProbekitError
        ``horizon`` < 1 or an empty context.
    """
    if int(horizon) < 1 or context.ndim != 3 or context.shape[1] < 1:
        raise ProbekitError(f"need horizon >= 1 and context (batch, n_context >= 1, d); got horizon={horizon}, "
                            f"context shape {tuple(context.shape)}")
    was_training = model.training
    model.eval()
    seq = context
    preds = []
    try:
        for _ in range(int(horizon)):
            inp = seq if max_context is None else seq[:, -int(max_context):]
            nxt = model(inp)[:, -1:]
            preds.append(nxt)
            seq = torch.cat([seq, nxt], dim=1)
    finally:
        model.train(was_training)
    return torch.cat(preds, dim=1)


@dataclass
class RolloutError:
    """Result of :func:`rollout_error`.

    Attributes
    ----------
    nrmse : ndarray of shape (horizon,)
        Root mean squared forecast error at each lead time, divided by the standard
        deviation of the series.
    persistence_nrmse : ndarray of shape (horizon,)
        Same for the constant forecast (last context value).
    horizon, context : int
    """

    nrmse: np.ndarray
    persistence_nrmse: np.ndarray
    horizon: int
    context: int

    def to_dict(self) -> dict:
        """JSON-ready dictionary."""
        return {"nrmse": self.nrmse.tolist(), "persistence_nrmse": self.persistence_nrmse.tolist(),
                "horizon": self.horizon, "context": self.context}


def rollout_error(model: torch.nn.Module, sequences, context: int, horizon: int,
                  max_context: int | None = None) -> RolloutError:
    """Multi-step forecast error of ``model`` from the first ``context`` steps of each sequence.

    Parameters
    ----------
    model : nn.Module
    sequences : Tensor or ndarray of shape (batch, n_steps, d)
        Observed sequences in model units; ``n_steps >= context + horizon``.
    context, horizon : int
    max_context : int, optional
        See :func:`rollout`.

    Returns
    -------
    RolloutError

    Raises
    ------
    ProbekitError
        Sequences shorter than ``context + horizon``.

    References
    ----------
    Ostrow, Eisen & Fiete (2024), arXiv 2406.11993 (multi-step rollouts of the trained models).
    """
    seq = torch.as_tensor(np.asarray(sequences) if not isinstance(sequences, torch.Tensor) else sequences)
    if seq.ndim != 3 or seq.shape[1] < context + horizon or context < 1:
        raise ProbekitError(f"sequences must be (batch, n_steps >= context + horizon = {context + horizon}, d); "
                            f"got {tuple(seq.shape)}")
    dev = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    ctx = seq[:, :context].to(dev, dtype)
    pred = rollout(model, ctx, horizon, max_context).double().cpu().numpy()
    truth = seq[:, context:context + horizon].double().cpu().numpy()
    scale = float(seq.double().std())
    if scale == 0:
        raise ProbekitError("sequences are constant; cannot normalise the error")
    nrmse = np.sqrt(np.mean((pred - truth) ** 2, axis=(0, 2))) / scale
    last = seq[:, context - 1:context].double().cpu().numpy()
    pers = np.sqrt(np.mean((last - truth) ** 2, axis=(0, 2))) / scale
    return RolloutError(nrmse, pers, int(horizon), int(context))
