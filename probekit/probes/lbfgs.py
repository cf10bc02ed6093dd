"""Batched L-BFGS for the layer sweep: many zero-padded designs × columns of L2 logistic problems.

Each design ``G`` ``(n, p)`` is its own rows of a rotated, standardized activation matrix
(zero-padded to a common row count: a zero row adds a constant to the loss and nothing
to gradient or curvature); each column is one problem on it (a label set × a ``C``).
Every iteration costs two batched products over the designs still iterating, so
problems that converged leave the batch: a design whose columns all converged is
dropped, and the columns still iterating are packed to the front (:func:`_compact`),
whenever that makes the products cheaper by a fifth or more.

References
----------
Nocedal, J. & Wright, S. (2006). Numerical Optimization, 2nd ed., Algorithm 7.4 (L-BFGS
two-loop recursion).
"""

from __future__ import annotations

import torch

__all__ = ["sweep_lbfgs"]


def _z(GT: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """Logits ``(B, m, k, n)`` of designs ``GT`` ``(B, p, n)`` (transposed) at ``V`` ``(B, m, k, p)``."""
    B, m, k, p = V.shape
    return (V.reshape(B, m * k, p) @ GT).reshape(B, m, k, GT.shape[-1])


def _residual(z: torch.Tensor, Y: torch.Tensor, k: int, curvature: bool = False):
    """``dloss/dz`` ``(B, m, k, n)`` and, when asked, the diagonal curvature ``p (1 - p)``."""
    pr = torch.sigmoid(z) if k == 1 else torch.softmax(z, dim=2)
    return pr - Y, (pr * (1 - pr) if curvature else None)


def _rows_product(R: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """``(B, m, k, n) x (B, n, p) -> (B, m, k, p)``: a sum over rows."""
    B, m, k, n = R.shape
    return (R.reshape(B, m * k, n) @ G).reshape(B, m, k, G.shape[-1])


def _intercept_part(V: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``q^T v`` ``(B, m, k)`` for every column of ``V`` ``(B, m, k, p)``, ``q`` ``(B, p)`` (no temporary)."""
    return torch.einsum("bmkp,bp->bmk", V, q)


def _gradient(G, q, V, r, inv_C, n_eff):
    """``(G^T r + inv_C (I - q q^T) V) / n_eff`` ``(B, m, k, p)``; the intercept coordinate ``q`` is unpenalized.

    ``r`` ``(B, m, k, n)`` is scaled in place.
    """
    B, m, k, p = V.shape
    pen = torch.addcmul(V, _intercept_part(V, q)[..., None], q[:, None, None, :], value=-1.0)
    pen.mul_((inv_C / n_eff[:, None])[:, :, None, None])
    r.div_(n_eff[:, None, None, None])
    return torch.baddbmm(pen.reshape(B, m * k, p), r.reshape(B, m * k, -1), G).view(B, m, k, p)


def _hessian_diagonal(G2, q, curv, inv_C, n_eff):
    """Diagonal of every problem's Hessian in the rotated basis, ``(B, m, k, p)`` (Jacobi preconditioner)."""
    h = _rows_product(curv, G2) + inv_C[:, :, None, None] * (1 - q.square())[:, None, None, :]
    return (h / n_eff[:, None, None, None]).clamp(min=1e-12)


def _dots(a, b):
    return torch.einsum("bmkp,bmkp->bm", a, b)  # (B, m); einsum: no temporary product


def _step_length(z, Gd, Y, k, q, V, d, inv_C, newton_steps: int = 1):
    """Step ``t`` ``(B, m)`` along ``d``: Newton steps on the exact 1-D objective from ``t = 1``.

    Only elementwise work on the logits ``z + t G d`` (no matrix product), and no function
    values (their float32 rounding near the optimum misleads Armijo tests): the 1-D
    objective is convex, and its derivative is exact to rounding.
    """
    qV, qd = _intercept_part(V, q), _intercept_part(d, q)  # (B, m, k)
    a1 = inv_C * (_dots(V, d) - (qV * qd).sum(-1))
    a2 = inv_C * (_dots(d, d) - (qd * qd).sum(-1))
    t = torch.ones_like(a1)
    Gd2 = Gd * Gd
    for _ in range(newton_steps):
        zt = torch.addcmul(z, t[:, :, None, None], Gd)
        if k == 1:
            s = torch.sigmoid(zt)
            d1 = _dots(Gd, s - Y)
            d2 = _dots(Gd2, s * (1 - s))
        else:
            pr = torch.softmax(zt, dim=2)
            d1 = _dots(Gd, pr - Y)
            gp = (Gd * pr).sum(2)
            d2 = ((Gd2 * pr).sum(2) - gp * gp).sum(-1)
        t = (t - (d1 + a1 + a2 * t) / (d2 + a2).clamp(min=1e-30)).clamp(min=1e-4, max=10.0)
    return t


def _two_loop(g, h, memory):
    """L-BFGS direction ``-H g`` with the diagonal ``1 / h`` as initial inverse Hessian."""
    u, alphas = g.neg(), []  # the recursion is linear: run it on -g
    for s, y, rho in reversed(memory):
        a = rho * _dots(s, u)
        u.addcmul_(a[:, :, None, None], y, value=-1.0)
        alphas.append(a)
    u.div_(h)
    for (s, y, rho), a in zip(memory, reversed(alphas)):
        b = rho * _dots(y, u)
        u.addcmul_((a - b)[:, :, None, None], s)
    return u



#: Cost of a batched product per design, in units of one column: the products read every
#: design's rows from memory whatever the number of columns (measured on one CPU core:
#: 24 columns cost about 1.5 × 6 columns).
PRODUCT_OVERHEAD = 30.0

_DESIGNS = ("G", "GT", "G2")  # large: compacted in place (a fresh copy costs more than a product)
_PER_DESIGN = ("q", "n_eff", "rows", "layer")
_PER_COLUMN = ("cols", "Y", "inv_C", "V", "z", "g", "h", "active")


class _Batch:
    """The designs and columns still iterating, with where each came from (``rows``, ``cols``) and the solver state."""

    def __init__(self, G, q, Y, inv_C, n_eff, k: int, V0, tol: float, basis=None):
        B, m = V0.shape[:2]
        self.rows = torch.arange(B, device=G.device)
        self.Q, self.layer = basis if basis is not None else (None, torch.zeros(B, dtype=torch.long, device=G.device))
        self.layers_in_batch = len(self.layer.unique())  # one layer (the CPU default): no grouping in _converged
        self.cols = torch.arange(m, device=G.device).expand(B, m)
        self.G, self.GT, self.G2 = G, G.transpose(1, 2).contiguous(), G.square()  # products on contiguous operands
        self.q, self.n_eff, self.Y, self.inv_C, self.V = q, n_eff, Y, inv_C, V0.clone()
        if V0.any():
            self.z = _z(self.GT, self.V)
        else:  # a cold start: the logits are zero, no product needed
            self.z = self.V.new_zeros(B, m, self.V.shape[2], G.shape[1])
        r, curv = _residual(self.z, Y, k, curvature=True)
        self.g = _gradient(G, q, self.V, r, inv_C, n_eff)
        self.h = _hessian_diagonal(self.G2, q, curv, inv_C, n_eff)
        self.hist: list = []
        self.active = ~_converged(self, self.g, torch.ones_like(self.inv_C, dtype=torch.bool), tol)

    def store(self, out: torch.Tensor) -> None:
        """Write the current solutions into ``out`` ``(B0, m0, k, p)`` at their original places."""
        out[self.rows[:, None], self.cols] = self.V


def _converged(b: _Batch, g: torch.Tensor, active: torch.Tensor, tol: float) -> torch.Tensor:
    """Problems ``(B, m)`` whose largest gradient entry is at most ``tol``.

    Without a basis the entries are the rotated ones. With ``b.Q`` they are those of the
    standardized features and the intercept, ``Q g`` (scikit-learn's lbfgs ``gtol`` test on
    the same objective), computed only for the active problems where the rotated
    gradient's norm does not decide (``|Q g|_inf`` lies between ``|g|_2 / sqrt(p)`` and
    ``|g|_2``). On the cities store this test stops the slowest problems (the real labels
    at ``C = 1``) after 25 iterations on average instead of 35.
    """
    if b.Q is None:
        return g.abs().amax((2, 3)) <= tol
    p = g.shape[-1]
    sq = torch.einsum("bmkp,bmkp->bmk", g, g).amax(-1)  # (B, m): the largest squared norm over classes
    done = sq <= tol * tol
    idx = (active & (sq > tol * tol) & (sq <= p * tol * tol)).nonzero()
    if len(idx):
        rows, cols = idx.unbind(1)
        gc, layers = g[rows, cols], b.layer[rows]  # (c, k, p), (c,)
        if b.layers_in_batch == 1:
            gmax = (gc @ b.Q[layers[0]].T).abs().amax((1, 2))
        else:
            gmax = torch.empty(len(idx), dtype=g.dtype, device=g.device)
            for l in layers.unique().tolist():
                sel = layers == l
                gmax[sel] = (gc[sel] @ b.Q[l].T).abs().amax((1, 2))
        done[rows, cols] = gmax <= tol
    return done


def _keep_in_place(A: torch.Tensor, keep: list) -> torch.Tensor:
    """``A[keep]`` for increasing ``keep``, moving rows within ``A``'s own memory: a view of its first ``len(keep)`` rows."""
    for i, j in enumerate(keep):
        if i != j:
            A[i].copy_(A[j])
    return A[:len(keep)]


def _compact(b: _Batch, out: torch.Tensor, min_gain: float = 0.2) -> bool:
    """Drop finished designs and pack each design's active columns first, when that saves ``min_gain`` of a product.

    Solutions leaving the batch are written into ``out``. Returns whether any problem is still active.
    """
    active = b.active
    B, m = active.shape
    counts = active.sum(1)
    n_designs, width = int((counts > 0).sum()), int(counts.max()) if B else 0
    if n_designs == 0:
        return False
    if n_designs * (PRODUCT_OVERHEAD + width) > (1 - min_gain) * B * (PRODUCT_OVERHEAD + m):
        return True
    b.store(out)
    sel = (counts > 0).nonzero()[:, 0]
    order = torch.argsort((~active[sel]).to(torch.int8), dim=1, stable=True)[:, :width]  # active columns first
    rows = sel[:, None]
    for name in _DESIGNS:
        setattr(b, name, _keep_in_place(getattr(b, name), sel.tolist()))
    for name in _PER_DESIGN:
        setattr(b, name, getattr(b, name)[sel])
    for name in _PER_COLUMN:
        setattr(b, name, getattr(b, name)[rows, order])
    b.hist = [(s[rows, order], y[rows, order], rho[rows, order]) for s, y, rho in b.hist]
    return True


def _iterate(b: _Batch, k: int, refresh: bool, memory: int, tol: float) -> None:
    """One L-BFGS iteration of every active problem of ``b`` (converged ones stay put)."""
    g, h, active = b.g, b.h, b.active
    d = _two_loop(g, h, b.hist) if b.hist else -g / h
    uphill = active & (_dots(g, d) >= 0)
    if uphill.any():  # not a descent direction: the preconditioned gradient instead
        d = torch.where(uphill[:, :, None, None], -g / h, d)
    if not active.all():
        d.masked_fill_(~active[:, :, None, None], 0.0)
    Gd = _z(b.GT, d)
    t = torch.where(active, _step_length(b.z, Gd, b.Y, k, b.q, b.V, d, b.inv_C), 0.0)
    s = t[:, :, None, None] * d
    b.V.add_(s)
    b.z.addcmul_(t[:, :, None, None], Gd)
    r, curv = _residual(b.z, b.Y, k, curvature=refresh)
    b.g = _gradient(b.G, b.q, b.V, r, b.inv_C, b.n_eff)
    y = b.g - g
    sy = _dots(s, y)
    b.hist.append((s, y, torch.where(sy > 1e-12, 1.0 / sy.clamp(min=1e-30), 0.0)))
    if len(b.hist) > memory:
        b.hist.pop(0)
    b.active = active & ~_converged(b, b.g, active, tol) & torch.isfinite(t)
    if curv is not None:
        b.h = _hessian_diagonal(b.G2, b.q, curv, b.inv_C, b.n_eff)


def sweep_lbfgs(G, q, Y, inv_C, n_eff, k: int, V0, tol: float = 1e-4, max_iter: int = 300, memory: int = 4,
                refresh: int = 10, basis=None):
    """Batched L-BFGS for many zero-padded designs × columns, with a Jacobi preconditioner.

    Parameters
    ----------
    G:
        ``(B, n, p)`` rotated designs (rows past a design's ``n_eff`` are zeros). Used as
        workspace: finished designs are overwritten, so pass a tensor not needed afterwards.
    q:
        ``(B, p)`` intercept coordinate of each design's basis (unpenalized).
    Y:
        ``(B, m, k, n)`` targets: 0/1 (binary, ``k = 1``) or one-hot over the ``k`` classes.
    inv_C:
        ``(B, m)`` ``1 / C`` per column.
    n_eff:
        ``(B,)`` real rows per design (the objective is divided by it).
    V0:
        ``(B, m, k, p)`` start.
    tol:
        A problem stops when its largest gradient entry is at most ``tol``: in the
        coordinates of the standardized features and the intercept when ``basis`` is
        given (scikit-learn's lbfgs ``gtol`` test on the same objective), else in the
        rotated ones. Finished problems leave the batch (:func:`_compact`).
    memory, refresh:
        L-BFGS memory; iterations between updates of the Hessian diagonal.
    basis:
        Optional ``(Q, layer)``: ``Q`` ``(L, p, p)`` the rotations (design ``b`` is
        ``[Z, 1] Q[layer[b]]`` for standardized features ``Z``), ``layer`` ``(B,)`` long.

    Returns
    -------
    (V, n_iter)
        ``(B, m, k, p)`` solutions and the iterations run.
    """
    b = _Batch(G, q, Y, inv_C, n_eff, k, V0, tol, basis)
    out = V0.clone()
    it = 0
    for it in range(1, max_iter + 1):
        if not _compact(b, out):
            break
        _iterate(b, k, it % refresh == 0, memory, tol)
    b.store(out)
    return out, it
