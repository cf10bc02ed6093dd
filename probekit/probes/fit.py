"""Fitting linear probes with the batched engine: one training set, many layers and label sets.

:func:`fit_linear` is today's ``LogisticProbe`` / ``RidgeProbe`` protocol (standardize on
the training rows, choose the penalty by inner group-aware CV on those rows, refit) for a
stack of layers and label sets at once; :func:`out_of_fold` runs it over outer folds and
layer chunks and returns held-out decision values.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import torch

from probekit.devices import resolve_device
from probekit.errors import ProbekitError
from probekit.probes import engine as E
from probekit.probes.splits import has_shared_groups, inner_splits, splits_by_groups

DEFAULT_CS = (1e-3, 1e-2, 1e-1, 1.0)
DEFAULT_ALPHAS = tuple(np.logspace(-2, 5, 15))
METHODS = ("logistic", "ridge")

#: Default working set (MiB) of the layer chunks in flight. On CPU it is sized for the
#: solver's designs to stay in cache: on the cities store (31 layers of 808 × 576, two
#: workers) chunks of one layer probed in a median 7.1 s (6.9-8.3 s, four runs) against
#: 7.9 s (7.5-8.0 s) for chunks of two layers (256 MiB).
CHUNK_MB = {"cpu": 64.0, "cuda": 4096.0}

#: Default bound (MiB) on one layer's working set above which ridge regression streams.
STREAM_MB = {"cpu": 256.0, "cuda": 4096.0}


__all__ = ["EngineSettings", "fit_linear", "out_of_fold"]


@dataclass
class EngineSettings:
    """How the engine fits probes.

    Attributes
    ----------
    method:
        ``logistic`` (L2 logistic regression; classification only) or ``ridge``
        (regression, or ridge classification on ±1 targets). ``None``: logistic for
        classification, ridge for continuous targets.
    Cs, alphas:
        Penalty grids (logistic ``C``; ridge ``alpha``).
    cv:
        Inner folds for the penalty.
    max_iter, tol:
        Logistic solver iterations and gradient-norm tolerance.
    standardize:
        Z-score features with training-row statistics.
    dtype:
        ``float32`` (default) or ``float64``.
    device:
        ``auto`` (CUDA when available), ``cpu`` or ``cuda[:N]``.
    chunk_mb:
        Bound on the working set of the layer chunks in flight (MiB: their activations,
        rotated fold designs and stacked inner-fold designs) in :func:`out_of_fold`; a
        chunk holds at least one layer. ``None``: :data:`CHUNK_MB` (64 on CPU, 4096 on CUDA).
    workers:
        Layer chunks solved at once on CPU, each in its own thread with one torch
        thread (the solver's many small operations gain little from torch's
        intra-op threads); ``None``: ``torch.get_num_threads()``. CUDA: always 1.
    random_state:
        Seed of the inner folds.
    stream:
        Ridge regression from streamed sufficient statistics, reading each layer in
        chunks of ``stream_rows`` rows (:mod:`probekit.probes.streamed`: a store larger
        than memory); ``None``: when one layer's working set exceeds ``chunk_mb``
        (``None``: :data:`STREAM_MB`, 256 on CPU, 4096 on CUDA).
    stream_rows:
        Rows per chunk when streaming.
    """

    method: str | None = None
    Cs: tuple = DEFAULT_CS
    alphas: tuple = DEFAULT_ALPHAS
    cv: int = 3
    max_iter: int = 300
    tol: float = 1e-4
    standardize: bool = True
    dtype: str = "float32"
    device: str | None = "auto"
    chunk_mb: float | None = None
    random_state: int = 0
    stream: bool | None = None
    stream_rows: int = 8192
    workers: int | None = None

    def method_for(self, task: str) -> str:
        """The method used for ``task``.

        Raises
        ------
        ProbekitError
            An unknown method, or logistic regression for a continuous target.
        """
        method = self.method or ("ridge" if task == "continuous" else "logistic")
        if method not in METHODS:
            raise ProbekitError(f"unknown probe method {method!r}; use one of {METHODS}")
        if method == "logistic" and task == "continuous":
            raise ProbekitError("logistic probes need class labels; use method='ridge' for a continuous target")
        return method


def ridge_targets(codes: np.ndarray, n_classes: int, task: str) -> np.ndarray:
    """Ridge targets ``(n, S, t)``: the values (regression) or ±1 class indicators.

    Binary: one column (+1 for class 1); multiclass: one-vs-all columns, as
    ``RidgeClassifier``. ``codes`` is ``(S, n)``.
    """
    if task == "continuous":
        return codes.T[:, :, None].astype(np.float64)
    if n_classes == 2:
        return (2.0 * (codes.T == 1) - 1)[:, :, None]
    return 2.0 * (codes.T[:, :, None] == np.arange(n_classes)) - 1


def _inner(codes, groups, settings, method, classification):
    """Inner splits per label set (``None`` = ridge's leave-one-out), as the sklearn probes choose them."""
    if method == "ridge" and not has_shared_groups(groups):
        return None
    if splits_by_groups(groups, settings.cv):  # GroupKFold: one set of folds serves every label set
        return [inner_splits(None, codes[0], groups, settings.cv, False, settings.random_state)] * len(codes)
    return [inner_splits(None, y, groups, settings.cv, classification and method == "logistic",
                          settings.random_state) for y in codes]


def fit_linear(X: torch.Tensor, codes: np.ndarray, groups, task: str, n_classes: int,
               settings: EngineSettings, basis=None, stats: dict | None = None):
    """Fit one probe per (layer, label set) on the same rows.

    Parameters
    ----------
    X:
        ``(B, n, d)`` float tensor (on the engine's device and dtype).
    codes:
        ``(S, n)`` class indices ``0..n_classes-1`` (classification) or float targets.
    groups:
        ``(n,)`` group ids or ``None`` (inner folds keep a group together).
    task:
        ``binary``, ``multiclass`` or ``continuous``.
    n_classes:
        Number of classes (ignored for continuous).
    basis:
        Optional ``(Q, lam)`` logistic preconditioner basis (see
        :func:`probekit.probes.engine.preconditioner_basis`); default from ``X``.
    stats:
        When given, logistic fits set ``stats["n_iter"]`` (most solver iterations run).

    Returns
    -------
    (coef, intercept, penalty)
        ``coef`` ``(B, S, k, d)`` in the original feature space, ``intercept``
        ``(B, S, k)``, ``penalty`` ``(B, S)`` chosen ``C`` or ``alpha``. ``k`` is 1 for
        regression and binary tasks, ``n_classes`` for multiclass.
    """
    method = settings.method_for(task)
    mean, scale = E.standardize_stats(X, settings.standardize)
    Z = (X - mean) / scale
    inner = _inner(codes, groups, settings, method, task != "continuous")
    if method == "logistic":
        k = 1 if n_classes == 2 else n_classes
        F = E.with_ones(Z)
        Q, lam = basis if basis is not None else E.preconditioner_basis(F)
        labels = torch.as_tensor(codes, dtype=torch.long, device=X.device)
        V, best, _ = E.logistic_cv(F @ Q, Q, lam, labels, inner, settings.Cs, k, stats=stats,
                                   tol=settings.tol, max_iter=settings.max_iter)
        B, p, S, _ = V.shape
        Wt = (Q @ V.reshape(B, p, S * k)).reshape(B, p, S, k)
        coef_z, b_z = Wt[:, :-1].permute(0, 2, 3, 1), Wt[:, -1]
        grid = settings.Cs
    else:
        targets = torch.as_tensor(ridge_targets(codes, n_classes, task), dtype=X.dtype, device=X.device)
        coef_z, b_z, best = E.ridge_cv(Z, targets, settings.alphas, inner, classification=task != "continuous")
        coef_z = coef_z.transpose(-1, -2)  # (B, S, t, d)
        grid = settings.alphas
    coef = coef_z / scale[:, None]
    intercept = b_z - (coef * mean[:, None]).sum(-1)
    penalty = torch.as_tensor([float(g) for g in grid], dtype=torch.float64)[best.cpu()]
    return coef, intercept, penalty


def decisions(X: torch.Tensor, coef: torch.Tensor, intercept: torch.Tensor) -> torch.Tensor:
    """Decision values ``(B, S, n, k)`` of ``X`` ``(B, n, d)``: logits or ridge predictions."""
    return torch.einsum("bnd,bskd->bsnk", X, coef) + intercept[:, :, None, :]


def _budget_mb(settings: EngineSettings, device: torch.device, defaults: dict) -> float:
    """``settings.chunk_mb``, or the default of ``defaults`` (:data:`CHUNK_MB` / :data:`STREAM_MB`) for the device."""
    if settings.chunk_mb is not None:
        return float(settings.chunk_mb)
    return defaults["cuda" if device.type == "cuda" else "cpu"]


def _chunks(features: list, per_layer_bytes: float, settings: EngineSettings, device: torch.device,
            workers: int = 1):
    """Consecutive runs of same-shape layers; ``workers`` of them together within ``chunk_mb`` at ``per_layer_bytes`` a layer."""
    budget = _budget_mb(settings, device, CHUNK_MB)
    per = max(1, int(budget / workers * 2**20 // max(1.0, per_layer_bytes)))
    runs, start = [], 0
    for i in range(1, len(features) + 1):
        if i == len(features) or np.shape(features[i]) != np.shape(features[start]):
            runs += [(j, min(j + per, i)) for j in range(start, i, per)]
            start = i
    return runs


def _working_bytes(n: int, d: int, splits: list, inner: list | None, method: str, itemsize: int) -> float:
    """Bytes one layer takes while it is probed: its activations, the rotated fold designs, the stacked inner designs."""
    if method != "logistic" or inner is None:
        return 4.0 * n * d * itemsize
    blocks, width = E._label_blocks(inner)
    inner_rows = sum(len(tr) for f, per_fold in enumerate(blocks) for sets in per_fold for tr, _ in inner[f][sets[0]])
    outer_rows = sum(len(tr) for tr, _ in splits)
    return float(itemsize) * (d + 1) * (n * (len(splits) + 1) + 2 * inner_rows + 2 * outer_rows)


def _read_layers(features: list, lo: int, hi: int, device, dtype) -> torch.Tensor:
    """Layers ``lo..hi-1`` stacked ``(hi - lo, n, d)`` on the engine's device and dtype (read now, one chunk)."""
    with warnings.catch_warnings():  # read-only memory maps: the stack copies, nothing writes to them
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        X = torch.stack([torch.as_tensor(np.asarray(f), device=device).to(dtype) for f in features[lo:hi]])
    if not torch.isfinite(X).all():
        raise ProbekitError(f"activations of layer(s) {lo}..{hi - 1} contain NaN or infinite values")
    return X


def out_of_fold(features: list, codes: np.ndarray, groups: np.ndarray, task: str, splits: list,
                settings: EngineSettings, progress=None):
    """Held-out decision values of every layer and label set over the outer folds.

    Parameters
    ----------
    features:
        List of ``(n_samples, d)`` arrays (one per layer; any float dtype, memory-mapped is fine).
    codes:
        ``(S, n_samples)`` class indices or float targets, one row per label set.
    groups:
        ``(n_samples,)`` group ids (inner folds keep groups together).
    splits:
        Outer ``[(train_index, test_index), ...]``.
    progress:
        Optional callable ``progress(n_layers_done)``.

    Returns
    -------
    (decision, penalty)
        ``decision`` ``(n_layers, S, n_samples, k)`` float64 numpy (rows in no test fold
        are NaN); ``penalty`` ``(n_layers, S, n_folds)`` chosen penalties.

    Raises
    ------
    ProbekitError
        Unknown method/device/dtype, ``workers`` below 1, or non-finite activations.
    """
    device, dtype = resolve_device(settings.device), E.resolve_dtype(settings.dtype)
    method = settings.method_for(task)
    n_classes = int(codes.max()) + 1 if task != "continuous" else 0
    k = n_classes if (task != "continuous" and n_classes > 2) else 1
    S, n = codes.shape
    decision = np.full((len(features), S, n, k), np.nan)
    penalty = np.zeros((len(features), S, len(splits)))
    inner = None
    if method == "logistic":
        inner = [_inner(codes[:, train], groups[train], settings, method, True) for train, _ in splits]
    d = max((int(np.shape(f)[1]) for f in features), default=0)
    per_layer = _working_bytes(n, d, splits, inner, method, torch.finfo(dtype).bits // 8)
    if _streams(method, task, per_layer, settings, device):
        return _streamed(features, codes, groups, splits, settings, progress)
    workers = _workers(settings, device, len(features))

    def solve(lo: int, hi: int) -> int:
        X = _read_layers(features, lo, hi, device, dtype)
        if method == "logistic":
            labels = torch.as_tensor(codes, dtype=torch.long, device=device)
            dec, best, _ = E.logistic_folds(X, labels, splits, inner, settings.Cs, k, settings.standardize,
                                            tol=settings.tol, max_iter=settings.max_iter)
            decision[lo:hi] = dec.cpu().numpy()
            penalty[lo:hi] = np.asarray(settings.Cs, dtype=float)[best.cpu().numpy()].transpose(0, 2, 1)
        else:
            for f, (train, test) in enumerate(splits):
                train_t, test_t = torch.as_tensor(train, device=device), torch.as_tensor(test, device=device)
                coef, intercept, pen = fit_linear(X[:, train_t], codes[:, train], groups[train], task, n_classes,
                                                  settings)
                decision[lo:hi, :, test] = decisions(X[:, test_t], coef, intercept).double().cpu().numpy()
                penalty[lo:hi, :, f] = pen.numpy()
        return hi - lo

    run_chunks(_chunks(features, per_layer, settings, device, workers), solve, workers, progress)
    return decision, penalty


def _workers(settings: EngineSettings, device: torch.device, n_layers: int) -> int:
    """Layer chunks to solve at once (see ``EngineSettings.workers``).

    Raises
    ------
    ProbekitError
        ``workers`` below 1.
    """
    if settings.workers is not None and int(settings.workers) < 1:
        raise ProbekitError(f"engine workers must be at least 1; got {settings.workers!r}")
    if device.type != "cpu":
        return 1
    wanted = int(settings.workers) if settings.workers is not None else torch.get_num_threads()
    return max(1, min(wanted, n_layers))


def run_chunks(chunks: list, solve, workers: int, progress=None) -> None:
    """``solve(lo, hi)`` for every chunk: in order, or ``workers`` at once in threads of one torch thread each.

    Torch releases the GIL inside its operations, so the threads run on separate cores;
    each sets its own (thread-local) OpenMP thread count to 1, and the caller's count is
    restored afterwards. The first error of any chunk is raised once the others stop;
    chunks not started by then are cancelled.

    Parameters
    ----------
    chunks:
        ``[(lo, hi), ...]`` layer ranges.
    solve:
        ``solve(lo, hi) -> n_layers_done``; writes its results itself (disjoint per chunk).
    workers:
        Chunks at once (1: in order, in the caller's thread with its torch threads).
    progress:
        Optional ``progress(n_layers_done)``, called in the caller's thread as each chunk finishes.
    """
    if workers <= 1 or len(chunks) <= 1:
        for lo, hi in chunks:
            done = solve(lo, hi)
            if progress is not None:
                progress(done)
        return
    threads = torch.get_num_threads()

    def task(lo: int, hi: int) -> int:
        torch.set_num_threads(1)
        return solve(lo, hi)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probekit-engine")
    try:
        futures = [pool.submit(task, lo, hi) for lo, hi in chunks]
        for future in as_completed(futures):
            done = future.result()
            if progress is not None:
                progress(done)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(threads)


def _streams(method: str, task: str, per_layer: float, settings: EngineSettings, device) -> bool:
    """Whether to fit ridge regression from streamed statistics (see ``EngineSettings.stream``)."""
    if method != "ridge" or task != "continuous":
        return False
    if settings.stream is not None:
        return bool(settings.stream)
    budget = _budget_mb(settings, device, STREAM_MB)
    return per_layer > budget * 2**20


def _streamed(features: list, codes: np.ndarray, groups: np.ndarray, splits: list, settings: EngineSettings,
              progress=None):
    """:func:`out_of_fold` for ridge regression, one layer at a time, read in row chunks."""
    from probekit.probes.streamed import streamed_ridge_out_of_fold

    S, n = codes.shape
    inner = None
    if has_shared_groups(groups):
        inner = [inner_splits(None, codes[0, train], groups[train], settings.cv, False, settings.random_state)
                 for train, _ in splits]
    decision = np.full((len(features), S, n, 1), np.nan)
    penalty = np.zeros((len(features), S, len(splits)))
    for i, rows in enumerate(features):
        dec, best = streamed_ridge_out_of_fold(rows, codes.T.astype(np.float64), splits, inner, settings.alphas,
                                               settings.standardize, settings.stream_rows)
        decision[i, :, :, 0] = dec
        penalty[i] = np.asarray(settings.alphas, dtype=float)[best]
        if progress is not None:
            progress(1)
    return decision, penalty


def predictions(decision: np.ndarray, task: str) -> np.ndarray:
    """Predicted class index (classification) or value (regression) from decision values ``(..., k)``."""
    if task == "continuous":
        return decision[..., 0]
    return (decision[..., 0] > 0).astype(int) if decision.shape[-1] == 1 else decision.argmax(-1)
