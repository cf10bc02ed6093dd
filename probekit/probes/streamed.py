"""Ridge regression probes from streamed sufficient statistics: a layer is read in row chunks, never whole.

The protocol is the engine's ridge (:func:`probekit.probes.engine.ridge_cv` after
standardizing on the outer training rows): penalty by efficient leave-one-out when no
group holds two rows, else by mean held-out R² over the inner group folds; refit on the
outer training rows. Everything it needs is a sum over rows — counts, ``sum x``,
``sum x^2``, ``X^T X``, ``X^T y``, ``sum y``, ``sum y^2`` per block of rows (float64) —
plus, for leave-one-out, one more pass for the hat-matrix diagonal, and one pass for the
held-out predictions. Memory is ``O(d^2)`` per block and ``O(n)`` for labels and
predictions, whatever the number of rows.
"""

from __future__ import annotations

import numpy as np
import torch

from probekit.errors import ProbekitError

__all__ = ["streamed_ridge_out_of_fold"]


def _chunks(n: int, chunk_rows: int):
    for start in range(0, n, chunk_rows):
        yield start, min(n, start + chunk_rows)


def _read(rows, start, stop) -> torch.Tensor:
    """Rows ``start:stop`` as float64.

    Raises
    ------
    ProbekitError
        NaN or infinite activations.
    """
    X = torch.as_tensor(np.asarray(rows[start:stop], dtype=np.float64))
    if not torch.isfinite(X).all():
        raise ProbekitError(f"activations of rows {start}..{stop - 1} contain NaN or infinite values")
    return X


def block_stats(rows, Y: np.ndarray, block: np.ndarray, n_blocks: int, chunk_rows: int) -> dict:
    """Sums per block over ``rows`` read ``chunk_rows`` at a time.

    Parameters
    ----------
    rows:
        ``(n, d)`` array-like with slicing (a memory map or :class:`~probekit.store.reader.StoredRows`).
    Y:
        ``(n, S)`` targets.
    block:
        ``(n_sets, n)`` block index of each row in each of ``n_sets`` partitions (-1: in none).
    n_blocks:
        Blocks per partition.

    Returns
    -------
    dict
        ``n`` ``(P, K)``, ``x`` ``(P, K, d)``, ``xx`` ``(P, K, d)`` (squares), ``G``
        ``(P, K, d, d)``, ``xy`` ``(P, K, d, S)``, ``y`` ``(P, K, S)``, ``yy`` ``(P, K, S)``.
    """
    n, d = rows.shape
    P, S = block.shape[0], Y.shape[1]
    out = {"n": torch.zeros(P, n_blocks, dtype=torch.float64), "x": torch.zeros(P, n_blocks, d, dtype=torch.float64),
           "xx": torch.zeros(P, n_blocks, d, dtype=torch.float64),
           "G": torch.zeros(P, n_blocks, d, d, dtype=torch.float64),
           "xy": torch.zeros(P, n_blocks, d, S, dtype=torch.float64),
           "y": torch.zeros(P, n_blocks, S, dtype=torch.float64), "yy": torch.zeros(P, n_blocks, S, dtype=torch.float64)}
    Yt = torch.as_tensor(Y, dtype=torch.float64)
    for start, stop in _chunks(n, chunk_rows):
        X, y = _read(rows, start, stop), Yt[start:stop]
        for p in range(P):
            for k in range(n_blocks):
                sel = torch.as_tensor(np.flatnonzero(block[p, start:stop] == k))
                if len(sel) == 0:
                    continue
                Xs, ys = X[sel], y[sel]
                out["n"][p, k] += len(sel)
                out["x"][p, k] += Xs.sum(0)
                out["xx"][p, k] += Xs.square().sum(0)
                out["G"][p, k] += Xs.T @ Xs
                out["xy"][p, k] += Xs.T @ ys
                out["y"][p, k] += ys.sum(0)
                out["yy"][p, k] += ys.square().sum(0)
    return out


def _pick(stats: dict, p: int, keep) -> dict:
    """Sums over the blocks ``keep`` (a boolean mask) of partition ``p``."""
    return {k: v[p][torch.as_tensor(keep)].sum(0) for k, v in stats.items()}


def _standardized(s: dict, mean, scale) -> dict:
    """The same sums for ``z = (x - mean) / scale``."""
    n, sx, G, sxy, sy = s["n"], s["x"], s["G"], s["xy"], s["y"]
    sz = (sx - n * mean) / scale
    Gz = (G - torch.outer(mean, sx) - torch.outer(sx, mean) + n * torch.outer(mean, mean)) / torch.outer(scale, scale)
    zy = (sxy - mean[:, None] * sy[None]) / scale[:, None]
    return {"n": n, "z": sz, "G": Gz, "zy": zy, "y": sy, "yy": s["yy"]}


def _fit(s: dict, alphas: torch.Tensor):
    """Ridge with intercept on standardized sums: coefficients ``(nA, d, S)``, intercepts ``(nA, S)``, basis."""
    n = s["n"]
    zbar, ybar = s["z"] / n, s["y"] / n
    C = s["G"] - n * torch.outer(zbar, zbar)
    Cy = s["zy"] - n * zbar[:, None] * ybar[None]
    lam, V = torch.linalg.eigh(C)
    lam = lam.clamp(min=0)
    VtCy = V.T @ Cy  # (d, S)
    coef = V[None] @ (VtCy[None] / (lam[None, :, None] + alphas[:, None, None]))
    return coef, ybar[None] - torch.einsum("d,ads->as", zbar, coef), (V, lam, VtCy, zbar, ybar)


def _r2_on(s: dict, coef, intercept):
    """R² of ``z @ coef + intercept`` on the rows summarized by standardized sums ``s``: ``(nA, S)``."""
    n, sz, G, zy, sy, syy = s["n"], s["z"], s["G"], s["zy"], s["y"], s["yy"]
    quad = torch.einsum("ads,de,aes->as", coef, G, coef)
    sse = syy - 2 * torch.einsum("ads,ds->as", coef, zy) - 2 * intercept * sy + quad \
        + 2 * intercept * torch.einsum("ads,d->as", coef, sz) + n * intercept.square()
    sst = (syy - sy.square() / n).clamp(min=torch.finfo(torch.float64).tiny)
    return 1 - sse / sst


def _mean_scale(s: dict, standardize: bool):
    n = s["n"]
    mean = s["x"] / n
    var = (s["xx"] / n - mean.square()).clamp(min=0)
    scale = var.sqrt()
    tiny = 10 * torch.finfo(torch.float64).eps * mean.abs().clamp(min=1.0)
    scale = torch.where(scale <= tiny, torch.ones_like(scale), scale)
    if not standardize:
        return torch.zeros_like(mean), torch.ones_like(mean)
    return mean, scale


def streamed_ridge_out_of_fold(rows, Y: np.ndarray, splits: list, inner: list | None, alphas, standardize=True,
                               chunk_rows: int = 8192):
    """Held-out ridge predictions of one layer over outer folds, reading ``rows`` in chunks.

    Parameters
    ----------
    rows:
        ``(n, d)`` activations, sliceable by rows (memory map, :class:`StoredRows`).
    Y:
        ``(n, S)`` float targets, one column per label set.
    splits:
        Outer ``[(train, test), ...]`` over the ``n`` rows.
    inner:
        ``None``: leave-one-out penalty choice; else per outer fold a list of inner
        ``(train, test)`` position splits of its training rows (shared by every label set).
    alphas:
        Penalties.
    chunk_rows:
        Rows read at a time.

    Returns
    -------
    (decision, best)
        ``decision`` ``(S, n)`` float64 held-out predictions; ``best`` ``(S, n_folds)``
        index into ``alphas``.
    """
    n = rows.shape[0]
    F, S = len(splits), Y.shape[1]
    a = torch.as_tensor([float(x) for x in alphas], dtype=torch.float64)
    J = 1 if inner is None else max(len(i) for i in inner)
    block = np.full((F, n), -1)
    for f, (train, _) in enumerate(splits):
        if inner is None:
            block[f, train] = 0
        else:
            for j, (_, te) in enumerate(inner[f]):
                block[f, np.asarray(train)[te]] = j
    stats = block_stats(rows, Y, block, J, chunk_rows)
    fits, best = [], torch.zeros(S, F, dtype=torch.long)
    for f in range(F):
        total = _pick(stats, f, np.ones(J, dtype=bool))
        mean, scale = _mean_scale(total, standardize)
        if inner is None:
            score = None  # leave-one-out: a second pass below
        else:
            score = torch.zeros(len(a), S, dtype=torch.float64)
            for j in range(len(inner[f])):
                held = np.arange(J) == j
                coef, b, _ = _fit(_standardized(_pick(stats, f, ~held), mean, scale), a)
                score += _r2_on(_standardized(_pick(stats, f, held), mean, scale), coef, b) / len(inner[f])
        coef, b, basis = _fit(_standardized(total, mean, scale), a)
        fits.append([mean, scale, coef, b, basis, score])
    if inner is None:
        _loo_scores(rows, Y, block, fits, a, chunk_rows)
    decision = np.full((S, n), np.nan)
    for f, (mean, scale, coef, b, _, score) in enumerate(fits):
        best[:, f] = score.argmax(0)  # (S,), the first maximum
        fits[f] = (mean, scale, coef[best[:, f], :, torch.arange(S)].T, b[best[:, f], torch.arange(S)])
    for start, stop in _chunks(n, chunk_rows):
        X = _read(rows, start, stop)
        for f, (_, test) in enumerate(splits):
            sel = np.flatnonzero((np.asarray(test) >= start) & (np.asarray(test) < stop))
            if len(sel) == 0:
                continue
            idx = np.asarray(test)[sel]
            mean, scale, coef, b = fits[f]
            Z = (X[torch.as_tensor(idx - start)] - mean) / scale
            decision[:, idx] = (Z @ coef + b).T.numpy()
    return decision, best.numpy()


def _loo_scores(rows, Y, block, fits, alphas, chunk_rows):
    """Second pass: minus the mean squared leave-one-out residual per penalty, into ``fits[f][5]``."""
    n = rows.shape[0]
    Yt = torch.as_tensor(Y, dtype=torch.float64)
    sums = [torch.zeros(len(alphas), Y.shape[1], dtype=torch.float64) for _ in fits]
    for start, stop in _chunks(n, chunk_rows):
        X, y = _read(rows, start, stop), Yt[start:stop]
        for f, (mean, scale, _, _, (V, lam, VtCy, zbar, ybar), _) in enumerate(fits):
            sel = torch.as_tensor(np.flatnonzero(block[f, start:stop] == 0))
            if len(sel) == 0:
                continue
            Pm = ((X[sel] - mean) / scale - zbar) @ V  # (r, d) rows in the eigenbasis
            inv = 1.0 / (lam[None] + alphas[:, None])  # (nA, d)
            fitted = torch.einsum("rd,ad,ds->ars", Pm, inv, VtCy)
            count = fits[f][0].new_tensor(float((block[f] == 0).sum()))
            h = 1.0 / count + Pm.square() @ inv.T  # (r, nA)
            loo = (y[sel] - ybar)[None] - fitted
            sums[f] += (loo / (1 - h.T)[..., None]).square().sum(1)
    for f in range(len(fits)):
        fits[f][5] = -sums[f]
