"""Latent recovery scores: how well a representation recovers ``z`` up to signed permutation.

For ground-truth latent bits ``z`` (n_samples, n_latents) and a learned representation
``r`` (n_samples, n_features), e.g. the trunk output of a multi-task network evaluated
on every point of the cube, the scores below are all in ``[0, 1]`` with 1 meaning
"``z`` is recovered up to a signed permutation" (each latent bit is a function of its
own unit):

* ``"matched_corr"`` (default): the Pearson correlation matrix ``C[j, k]`` of latent
  ``j`` with unit ``k`` (a constant unit has correlation 0); the Hungarian algorithm
  picks the one-to-one matching ``j -> k(j)`` maximising ``sum_j |C[j, k(j)]|``; the
  score is ``(1/n_latents) sum_j |C[j, k(j)]|`` (a latent left unmatched because
  ``n_features < n_latents`` contributes 0). It equals 1 iff every latent is an affine
  function of a distinct unit — for ±1 latents, iff ``r`` contains a signed permutation
  of ``z`` up to per-unit affine maps.
* ``"best_corr"``: ``(1/n_latents) sum_j max_k |C[j, k]|`` (units may be shared).
* ``"matched_accuracy"``: the same matching on single-unit *linear probes*: the
  accuracy ``A[j, k]`` of the best threshold rule ``z_j = ±sign(r_k - t)``, rescaled
  to ``2 A - 1`` (chance 0, perfect 1) and matched one-to-one.
* ``"probe"``: a logistic-regression probe from all units to each bit, scored on a
  held-out split, ``max(0, 2 acc - 1)`` averaged over bits. Invariant to any invertible
  linear map of ``r`` — it measures *linear* decodability, not alignment.

References
----------
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
(arXiv 2502.09297), Sec. 2 (learning the world model up to simple transforms, here
signed permutations) and Sec. 6 (probing representations);
Hyvärinen & Morioka (2016), NeurIPS, Sec. 5 (matched correlations / MCC);
Kuhn (1955), "The Hungarian method for the assignment problem".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from probekit.errors import ProbekitError, did_you_mean

__all__ = [
    "concept_recovery_scores",
    "summarise_concept_recovery",
    "read_concept_recovery_runs",
    "concept_recovery_markdown",
    "RECOVERY_METHODS",
    "RecoveryReport",
    "abs_correlation_matrix",
    "recovery_report",
    "recovery_score",
    "recovery_summary",
    "threshold_accuracy_matrix",
]

RECOVERY_METHODS = ("matched_corr", "best_corr", "matched_accuracy", "probe")


def _as_matrix(x: Any, name: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if hasattr(x, "detach") else x
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ProbekitError(f"{name} has shape {arr.shape}; expected (n_samples, n_columns)")
    if arr.shape[0] < 3 or arr.shape[1] < 1:
        raise ProbekitError(f"{name} has shape {arr.shape}; need >= 3 samples and >= 1 column")
    if not np.all(np.isfinite(arr)):
        raise ProbekitError(f"{name} contains NaN or inf")
    return arr


def _pair(z_true: Any, representation: Any) -> tuple[np.ndarray, np.ndarray]:
    z = _as_matrix(z_true, "z_true")
    r = _as_matrix(representation, "representation")
    if z.shape[0] != r.shape[0]:
        raise ProbekitError(
            f"z_true has {z.shape[0]} samples but representation has {r.shape[0]}; rows must pair up"
        )
    return z, r


def _std(x: np.ndarray) -> np.ndarray:
    s = x.std(axis=0)
    scale = np.maximum(1.0, np.abs(x).max(axis=0))
    return np.where(s <= 1e-10 * scale, 0.0, s)


def abs_correlation_matrix(z_true: Any, representation: Any) -> np.ndarray:
    """Absolute Pearson correlations ``|C[j, k]|`` of latents with units.

    Constant columns (``std <= 1e-10 * max(1, max|x|)``) get correlation 0 instead of NaN.

    Parameters
    ----------
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
    representation : array-like or torch.Tensor, shape (n_samples, n_features)

    Returns
    -------
    numpy.ndarray of float64, shape (n_latents, n_features), entries in [0, 1]

    Raises
    ------
    ProbekitError
        Mismatched rows, fewer than 3 samples, NaN/inf, or not 1-D/2-D.

    References
    ----------
    Hyvärinen & Morioka (2016), NeurIPS, Sec. 5.
    """
    z, r = _pair(z_true, representation)
    zc, rc = z - z.mean(0), r - r.mean(0)
    sz, sr = _std(z), _std(r)
    cov = zc.T @ rc / z.shape[0]
    denom = np.outer(sz, sr)
    c = np.divide(np.abs(cov), denom, out=np.zeros_like(cov), where=denom > 0)
    return np.clip(c, 0.0, 1.0)


def threshold_accuracy_matrix(z_true: Any, representation: Any) -> np.ndarray:
    """Accuracy of the best single-unit threshold probe for each (latent bit, unit) pair.

    ``A[j, k] = max_{t, s=±1} mean(sign(s (r_k - t)) == z_j)`` over all thresholds ``t``
    between sorted unit values (and the two trivial rules), so ``A >= max(p, 1-p)``
    where ``p`` is the frequency of ``z_j = +1``.

    Parameters
    ----------
    z_true : array-like, shape (n_samples, n_latents)
        Binary latents (±1; any two-valued column works, ``> 0`` is the positive class).
    representation : array-like, shape (n_samples, n_features)

    Returns
    -------
    numpy.ndarray of float64, shape (n_latents, n_features), entries in [0.5, 1]

    Raises
    ------
    ProbekitError
        As :func:`abs_correlation_matrix`.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 2 (recovery up to signed permutation).
    """
    z, r = _pair(z_true, representation)
    pos = (z > 0).astype(np.float64)  # (N, n_latents)
    n = z.shape[0]
    acc = np.empty((z.shape[1], r.shape[1]))
    for k in range(r.shape[1]):
        order = np.argsort(r[:, k], kind="stable")
        vals = r[order, k]
        p = pos[order]  # (N, n_latents)
        # rule "positive iff r > t" with t after position i: negatives below, positives above
        neg_below = np.vstack([np.zeros((1, z.shape[1])), np.cumsum(1 - p, axis=0)])
        pos_above = np.vstack([p.sum(0, keepdims=True), p.sum(0) - np.cumsum(p, axis=0)])
        correct = neg_below + pos_above  # (N+1, n_latents): split after i samples
        valid = np.ones(n + 1, dtype=bool)
        valid[1:n] = vals[1:] > vals[:-1]  # cannot split between equal values
        correct = correct[valid]
        best = np.maximum(correct.max(0), (n - correct).max(0))
        acc[:, k] = best / n
    return acc


def _matched(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = linear_sum_assignment(score, maximize=True)
    per = np.zeros(score.shape[0])
    units = np.full(score.shape[0], -1, dtype=np.int64)
    per[rows] = score[rows, cols]
    units[rows] = cols
    return per, units


def _probe_scores(z: np.ndarray, r: np.ndarray, test_size: float, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    n = z.shape[0]
    perm = rng.permutation(n)
    n_test = max(1, int(round(test_size * n)))
    test, train = perm[:n_test], perm[n_test:]
    if train.size < 2:
        raise ProbekitError(f"probe recovery needs >= 2 training samples; got {train.size}")
    rs = _std(r)
    keep = rs > 0
    out = np.zeros(z.shape[1])
    if not keep.any():
        return out
    x = (r[:, keep] - r[:, keep].mean(0)) / rs[keep]
    for j in range(z.shape[1]):
        yj = z[:, j] > 0
        if np.unique(yj[train]).size < 2:
            acc = float(np.mean(yj[test] == yj[train][0]))
        else:
            clf = LogisticRegression(C=1e4, max_iter=2000)
            clf.fit(x[train], yj[train])
            acc = float(clf.score(x[test], yj[test]))
        out[j] = max(0.0, 2.0 * acc - 1.0)
    return out


@dataclass(frozen=True)
class RecoveryReport:
    """Result of :func:`recovery_report`.

    Attributes
    ----------
    score : float
        Mean of ``per_latent``, in [0, 1].
    per_latent : numpy.ndarray of float64, shape (n_latents,)
    units : numpy.ndarray of int64, shape (n_latents,)
        Unit matched to each latent (``-1``: unmatched or not applicable).
    matrix : numpy.ndarray of float64, shape (n_latents, n_features) or (0, 0)
        The pairwise score matrix the matching used (|corr| or ``2A - 1``).
    method : str
    """

    score: float
    per_latent: np.ndarray
    units: np.ndarray
    matrix: np.ndarray
    method: str


def recovery_report(
    z_true: Any,
    representation: Any,
    method: str = "matched_corr",
    test_size: float = 0.5,
    seed: int = 0,
) -> RecoveryReport:
    """Latent recovery up to signed permutation, with per-latent detail.

    Parameters
    ----------
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
        Ground-truth latent bits (±1).
    representation : array-like or torch.Tensor, shape (n_samples, n_features)
        Learned representation, rows paired with ``z_true`` (e.g. the trunk output on
        every cube point).
    method : {"matched_corr", "best_corr", "matched_accuracy", "probe"}
        See the module docstring.
    test_size : float in (0, 1)
        Held-out fraction for ``"probe"``.
    seed : int
        Split seed for ``"probe"``.

    Returns
    -------
    RecoveryReport

    Raises
    ------
    ProbekitError
        Unknown method, mismatched rows, fewer than 3 samples, NaN/inf.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 2; Hyvärinen & Morioka (2016), NeurIPS, Sec. 5;
    Kuhn (1955).
    """
    if method not in RECOVERY_METHODS:
        raise ProbekitError(did_you_mean(str(method), RECOVERY_METHODS, "recovery method"))
    z, r = _pair(z_true, representation)
    if method in ("matched_corr", "best_corr"):
        mat = abs_correlation_matrix(z, r)
    elif method == "matched_accuracy":
        mat = 2.0 * threshold_accuracy_matrix(z, r) - 1.0
    else:
        if not 0 < test_size < 1:
            raise ProbekitError(f"test_size={test_size!r}; expected a float in (0, 1)")
        per = _probe_scores(z, r, float(test_size), int(seed))
        return RecoveryReport(
            float(per.mean()), per, np.full(z.shape[1], -1), np.zeros((0, 0)), method
        )
    if method == "best_corr":
        per, units = mat.max(axis=1), mat.argmax(axis=1).astype(np.int64)
    else:
        per, units = _matched(mat)
    return RecoveryReport(float(per.mean()), per, units, mat, method)


def recovery_score(z_true: Any, representation: Any, method: str = "matched_corr") -> float:
    """Single latent-recovery score in [0, 1] (see :func:`recovery_report`).

    Parameters
    ----------
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
    representation : array-like or torch.Tensor, shape (n_samples, n_features)
    method : {"matched_corr", "best_corr", "matched_accuracy", "probe"}

    Returns
    -------
    float
        1.0 when the representation is a signed permutation of ``z`` (up to per-unit
        affine maps).

    Raises
    ------
    ProbekitError
        See :func:`recovery_report`.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 2; Hyvärinen & Morioka (2016), NeurIPS, Sec. 5.
    """
    return recovery_report(z_true, representation, method).score


def recovery_summary(z_true: Any, representation: Any, seed: int = 0) -> dict[str, float]:
    """All recovery scores plus the MCC of :mod:`probekit.metrics.mcc`, as a dict.

    Keys: ``matched_corr``, ``best_corr``, ``matched_accuracy``, ``probe`` and ``mcc``
    (``mean_correlation_coefficient(z_true, r, method="pearson", sign_invariant=True,
    weak=False)`` on the non-constant units; 0.0 if every unit is constant).

    Parameters
    ----------
    z_true : array-like or torch.Tensor, shape (n_samples, n_latents)
    representation : array-like or torch.Tensor, shape (n_samples, n_features)
    seed : int
        Split seed of the probe.

    Returns
    -------
    dict of str -> float

    Raises
    ------
    ProbekitError
        See :func:`recovery_report`.

    References
    ----------
    Zhang, Chen & Chen (2025), ICML, Sec. 2; Hyvärinen & Morioka (2016), NeurIPS, Sec. 5.
    """
    from probekit.metrics.mcc import mean_correlation_coefficient

    z, r = _pair(z_true, representation)
    out = {m: recovery_report(z, r, m, seed=seed).score for m in RECOVERY_METHODS}
    keep = _std(r) > 0
    out["mcc"] = (
        float(mean_correlation_coefficient(z, r[:, keep], method="pearson", sign_invariant=True, weak=False))
        if keep.any()
        else 0.0
    )
    return out


def concept_recovery_scores(h: Any, v: Any, seed: int = 0) -> dict[str, float]:
    """R² and MCC of a learned representation against true concept valuations.

    Parameters
    ----------
    h : array-like, shape (n_samples, n_features)
        Learned representation of fresh samples.
    v : array-like, shape (n_samples, n_latents)
        True concept valuations ``Z A^T`` of the same samples.
    seed : int
        Split seed of the held-out scores.

    Returns
    -------
    dict
        ``r2``: in-sample R² of an affine least-squares map h -> v (mean over columns, as the
        reference code); ``r2_heldout``: :func:`probekit.metrics.identifiability.affine_r2`
        fit on one half, scored on the other; ``mcc_in``: MCC (matching and score) on the
        first half; ``mcc_out``: matching on one half, score on the other
        (:func:`probekit.metrics.mcc.mcc_report`).

    Raises
    ------
    ProbekitError
        As :func:`~probekit.metrics.identifiability.affine_r2` and
        :func:`~probekit.metrics.mcc.mcc_report`.

    References
    ----------
    Rajendran, Buchholz, Aragam, Schölkopf & Ravikumar (2024), "From Causal to Concept-Based
    Representation Learning", NeurIPS, Sec. 6 (R² of a linear regression to the valuations; MCC).
    """
    from probekit.metrics.identifiability import affine_r2
    from probekit.metrics.mcc import mcc_report, mean_correlation_coefficient

    h, v = np.asarray(h, dtype=np.float64), np.asarray(v, dtype=np.float64)
    half = v.shape[0] // 2
    return {
        "r2": float(affine_r2(h, v, test_size=None).mean),
        "r2_heldout": float(affine_r2(h, v, test_size=0.5, seed=seed).mean),
        "mcc_in": float(mean_correlation_coefficient(v[:half], h[:half])),
        "mcc_out": float(mcc_report(v[: 2 * half], h[: 2 * half], test_size=0.5, seed=seed).mcc),
    }


#: Scores of :func:`concept_recovery_scores` summarised over seeds.
CONCEPT_METRICS = ("r2", "r2_heldout", "mcc_in", "mcc_out")


def summarise_concept_recovery(rows: list[dict], reference: dict | None = None,
                               level: float = 0.95) -> list[dict]:
    """Per (setting, mixing, method): mean, sd and t-interval over seeds; paired gaps to PCA / ICA.

    Parameters
    ----------
    rows : list of dict
        One per (setting, mixing, seed, method) with the keys of :func:`concept_recovery_scores`
        and ``gen_seconds``; ``method`` is ``contrastive``, ``pca`` or ``ica``.
    reference : dict, optional
        ``{(setting, mixing): {"r2": ..., "mcc_out": ...}}`` shown beside the contrastive rows.
    level : float
        Level of the Student-t intervals (:func:`probekit.report.tables.mean_ci`).

    Returns
    -------
    list of dict
        ``setting, mixing, method, n_seeds``; per metric ``k``: ``k`` (mean), ``k_sd``,
        ``k_ci`` (half-width); ``max_gen_seconds``; ``ref_r2`` / ``ref_mcc_out`` (contrastive
        only); contrastive rows also ``mcc_out_minus_pca`` / ``mcc_out_minus_ica`` with
        ``_ci``: the mean over seeds of the per-seed MCC-out difference (same data and seed)
        and its t-interval half-width, and ``n_pairs``.
    """
    from probekit.report.tables import group_rows, mean_ci, mean_std

    order = ["contrastive", "pca", "ica"]
    groups = group_rows(rows, ("setting", "mixing", "method"))
    out = []
    for s, m, meth in sorted(groups, key=lambda k: (k[0], k[1], order.index(k[2]) if k[2] in order else 9)):
        sel = groups[(s, m, meth)]
        row = {"setting": s, "mixing": m, "method": meth, "n_seeds": len(sel)}
        for k in CONCEPT_METRICS:
            vals = [float(r[k]) for r in sel]
            row[k], row[k + "_sd"] = mean_std(vals)
            row[k + "_ci"] = mean_ci(vals, level)[1]
        row["max_gen_seconds"] = max(float(r["gen_seconds"]) for r in sel)
        ref = (reference or {}).get((s, m)) if meth == "contrastive" else None
        row["ref_r2"], row["ref_mcc_out"] = (ref["r2"], ref["mcc_out"]) if ref else (None, None)
        if meth == "contrastive":
            own = {int(r["seed"]): float(r["mcc_out"]) for r in sel}
            for base in ("pca", "ica"):
                other = {int(r["seed"]): float(r["mcc_out"]) for r in groups.get((s, m, base), [])}
                diffs = [own[k] - other[k] for k in sorted(own.keys() & other.keys())]
                row[f"mcc_out_minus_{base}"], row[f"mcc_out_minus_{base}_ci"], row["n_pairs"] = mean_ci(diffs, level)
        out.append(row)
    return out


def read_concept_recovery_runs(path) -> list[dict]:
    """Rows of a ``synthetic_runs.csv`` (P4 recipe) with numbers as float (``seed`` int).

    Raises
    ------
    ProbekitError
        The file is missing or lacks ``setting, mixing, seed, method, gen_seconds`` or a score column.
    """
    import csv
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ProbekitError(f"{str(path)!r} does not exist (give the --out folder of a synthetic run)")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        need = {"setting", "mixing", "seed", "method", "gen_seconds", *CONCEPT_METRICS}
        lacking = need - set(reader.fieldnames or [])
        if lacking:
            raise ProbekitError(f"{path} lacks the columns {sorted(lacking)}")
        text = ("setting", "mixing", "method")
        return [{k: (v if k in text else int(v) if k == "seed" else float(v) if v != "" else None)
                 for k, v in r.items()} for r in reader]


def concept_recovery_markdown(summary: list[dict], budget: str) -> str:
    """README table of :func:`summarise_concept_recovery`: MCC-out first, PCA / ICA beside it.

    Every row states ``budget``, the number of seeds and 95 % t-intervals (``mean ± half-width``).
    """
    def ci(r, k, digits=3):
        half = r.get(k + "_ci")
        return f"{r[k]:.{digits}f} ± {half:.{digits}f}" if half is not None else f"{r[k]:.{digits}f}"

    by = {(r["setting"], r["mixing"], r["method"]): r for r in summary}
    lines = ["| setting | mixing | budget | n seeds | **MCC-out** contrastive | MCC-out PCA | MCC-out ICA "
             "| contrastive − PCA | contrastive − ICA | R² contrastive | R² PCA / ICA | ref. MCC-out | ref. R² |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (s, m, meth), r in by.items():
        if meth != "contrastive":
            continue
        pca, ica = by.get((s, m, "pca")), by.get((s, m, "ica"))
        gaps = [f"{r[k]:+.3f} ± {r[k + '_ci']:.3f}" if r.get(k + "_ci") is not None else "–"
                for k in ("mcc_out_minus_pca", "mcc_out_minus_ica")]
        ref_m = f"{r['ref_mcc_out']:.3f}" if r["ref_mcc_out"] is not None else "–"
        ref_r = f"{r['ref_r2']:.3f}" if r["ref_r2"] is not None else "–"
        lines.append(f"| {s} | {m} | {budget} | {r['n_seeds']} | **{ci(r, 'mcc_out')}** | "
                     f"{ci(pca, 'mcc_out') if pca else '–'} | {ci(ica, 'mcc_out') if ica else '–'} | {gaps[0]} | "
                     f"{gaps[1]} | {ci(r, 'r2')} | {ci(pca, 'r2') if pca else '–'} | {ref_m} | {ref_r} |")
    return "\n".join(lines)
