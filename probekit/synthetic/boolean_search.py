"""The ideal low-degree learner's experiment: exact searches over random worlds and task sets.

One *trial* (:func:`search_trial`) draws a world ``x = psi(z)`` and a task set, runs
:class:`probekit.estimators.low_degree.LowDegreeSearch` on the tasks seen as functions of
``x`` and records whether the set of minimisers of the total head degree is exactly the
signed permutations of ``z`` (``recovered``), whether ``z`` is among the minimisers and
whether every latent bit is some task's relevant bit. :func:`summarize_search` gives each
(setting, criterion, family, task count) cell its rates, with the exact 95 % Clopper-Pearson
interval of the recovery rate.

References
----------
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
(arXiv 2502.09297), Sec. 3-4; ../shared/design/papers.md, section P1 (the exact
minimum-degree search over signed permutations and GF(2)-affine maps, brute force over all
bijections for n <= 3).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from probekit.errors import ProbekitError

__all__ = ["SEARCH_FAMILIES", "SEARCH_SETTINGS", "search_pivot", "search_trial", "summarize_search"]

#: family name -> (task family of :func:`probekit.synthetic.boolean.sample_tasks`, its ``k``)
SEARCH_FAMILIES: dict[str, tuple[str, int | None]] = {
    "1-junta": ("junta", 1), "2-junta": ("junta", 2), "parity": ("parity", None), "degree<=2": ("degree", 2)}
#: setting name -> (n, world kind, search space)
SEARCH_SETTINGS: dict[str, tuple[int, str, str]] = {
    "n3-bijection": (3, "bijection", "bijection"), "n3-affine": (3, "affine", "affine"),
    "n4-affine": (4, "affine", "affine"), "n4-bijworld-affine": (4, "bijection", "affine")}

_REC_INTS = ("recovered", "truth_is_minimizer", "truth_reachable")
_REC_VALUES = ("n_minimizers", "n_signed_permutations", "min_cost", "latent_cost", "min_total_degree",
               "latent_total_degree", "stored_signed_fraction")


def search_trial(setting: str, criterion: str, family: str, n_tasks: int, trial: int) -> dict[str, Any]:
    """One exact search on a random world and task set (seeded by the cell and the trial).

    Parameters
    ----------
    setting : str
        A key of :data:`SEARCH_SETTINGS` (latent bits, world kind, search space).
    criterion : {"degree", "influence"}
        Cost of a representation (:class:`~probekit.estimators.low_degree.LowDegreeSearch`).
    family : str
        A key of :data:`SEARCH_FAMILIES`.
    n_tasks : int
        Tasks in the set (>= 1).
    trial : int
        Trial index; the world and tasks come from ``default_rng([stable_seed(setting, family,
        n_tasks, trial)])``, the same for every criterion.

    Returns
    -------
    dict
        ``setting, n, world, space, criterion, family, n_tasks, trial``, the 0/1 ints
        ``recovered, truth_is_minimizer, truth_reachable, covers_all_bits`` and the search's
        ``n_minimizers, n_signed_permutations, min_cost, latent_cost, min_total_degree,
        latent_total_degree, stored_signed_fraction``.

    Raises
    ------
    ProbekitError
        Unknown setting or family, ``n_tasks < 1`` (and the search's own errors).
    """
    from probekit.estimators.low_degree import LowDegreeSearch
    from probekit.synthetic.boolean import make_world, sample_tasks
    from probekit.synthetic.boolean_recovery import stable_seed

    if setting not in SEARCH_SETTINGS:
        raise ProbekitError(f"search setting {setting!r}; expected one of {sorted(SEARCH_SETTINGS)}")
    if family not in SEARCH_FAMILIES:
        raise ProbekitError(f"task family {family!r}; expected one of {sorted(SEARCH_FAMILIES)}")
    if int(n_tasks) < 1:
        raise ProbekitError(f"n_tasks={n_tasks}; expected an integer >= 1")
    n, world_kind, space = SEARCH_SETTINGS[setting]
    fam, k = SEARCH_FAMILIES[family]
    rng = np.random.default_rng([stable_seed(setting, family, n_tasks, trial)])
    world = make_world(n, world_kind, rng)
    tasks = sample_tasks(fam, n, n_tasks, k=k, seed=rng)
    rec = LowDegreeSearch(space=space, criterion=criterion).fit(world.tasks_on_observations(tasks)).recovery(world.psi)
    return {"setting": setting, "n": n, "world": world_kind, "space": space, "criterion": criterion,
            "family": family, "n_tasks": int(n_tasks), "trial": int(trial),
            **{key: int(getattr(rec, key)) for key in _REC_INTS}, "covers_all_bits": int(tasks.covers_all),
            **{key: getattr(rec, key) for key in _REC_VALUES}}


def summarize_search(rows: list[dict], order: dict[str, list] | None = None) -> list[dict]:
    """Per (setting, criterion, family, n_tasks) cell: rates over its trials.

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`search_trial`.
    order : dict of list, optional
        ``{"settings": [...], "criteria": [...], "families": [...]}``: the output order of
        the cells (then by ``n_tasks``); default: sorted names.

    Returns
    -------
    list of dict
        ``setting, criterion, family, n_tasks, trials``, ``recovery_rate`` with
        ``recovery_rate_ci`` (exact 95 % Clopper-Pearson ``[low, high]``),
        ``truth_min_rate``, ``coverage_rate``, ``recovery_if_covered`` (NaN when no trial
        covers every bit), ``theory_coverage_1junta`` (P(independent 1-juntas cover every
        bit); NaN for other families), ``mean_n_minimizers``, ``n_signed_perms``,
        ``mean_min_minus_latent`` (mean ``min_cost - latent_cost``, <= 0).
    """
    from scipy.stats import binomtest

    from probekit.report.tables import group_rows
    from probekit.synthetic.boolean import coverage_probability

    groups = group_rows(rows, ("setting", "criterion", "family", "n_tasks"))
    order = order or {k: sorted({key[i] for key in groups}) for i, k in enumerate(("settings", "criteria", "families"))}
    keys = sorted(groups, key=lambda g: (order["settings"].index(g[0]), order["criteria"].index(g[1]),
                                         order["families"].index(g[2]), g[3]))
    summary = []
    for setting, criterion, family, count in keys:
        rs = groups[(setting, criterion, family, count)]
        cov = [r["recovered"] for r in rs if r["covers_all_bits"]]
        hits = sum(r["recovered"] for r in rs)
        summary.append({
            "setting": setting, "criterion": criterion, "family": family, "n_tasks": count, "trials": len(rs),
            "recovery_rate": hits / len(rs), "recovery_rate_ci": list(binomtest(hits, len(rs)).proportion_ci()),
            "truth_min_rate": float(np.mean([r["truth_is_minimizer"] for r in rs])),
            "coverage_rate": float(np.mean([r["covers_all_bits"] for r in rs])),
            "recovery_if_covered": float(np.mean(cov)) if cov else math.nan,
            "theory_coverage_1junta": coverage_probability(rs[0]["n"], count, 1) if family == "1-junta" else math.nan,
            "mean_n_minimizers": float(np.mean([r["n_minimizers"] for r in rs])),
            "n_signed_perms": rs[0]["n_signed_permutations"],
            "mean_min_minus_latent": float(np.mean([r["min_cost"] - r["latent_cost"] for r in rs])),
        })
    return summary


def search_pivot(summary: list[dict], settings: list[str], criteria: list[str], families: list[str],
                 counts: list[int], budget: str = "") -> list[dict]:
    """Printable rows of :func:`summarize_search`: one per (setting, criterion, family), one column per count.

    Parameters
    ----------
    summary : list of dict
        Rows of :func:`summarize_search`.
    settings, criteria, families : list of str
        Row order.
    counts : list of int
        Column order (task counts).
    budget : str
        Text of every row's ``budget`` column (e.g. ``"cpu · 20 trials"``).

    Returns
    -------
    list of dict
        ``setting, criterion, family, budget`` and ``"T=<count>"`` cells
        ``"<recovery>/<truth is a minimizer>/<coverage>"`` rates (``"-"`` where not run);
        per setting with the 1-junta family, a ``criterion="theory"`` row with
        P(independent 1-juntas cover every bit) (exact, so its budget is ``"exact"``).
    """
    from probekit.synthetic.boolean import coverage_probability

    rows = []
    for setting in settings:
        for crit in criteria:
            for fam in families:
                cells = {s["n_tasks"]: s for s in summary
                         if (s["setting"], s["criterion"], s["family"]) == (setting, crit, fam)}
                row = {"setting": setting, "criterion": crit, "family": fam, "budget": budget}
                for t in counts:
                    c = cells.get(t)
                    row[f"T={t}"] = (f"{c['recovery_rate']:.2f}/{c['truth_min_rate']:.2f}/{c['coverage_rate']:.2f}"
                                     if c else "-")
                rows.append(row)
        if "1-junta" in families:
            row = {"setting": setting, "criterion": "theory", "family": "P(1-juntas cover)", "budget": "exact"}
            row.update({f"T={t}": f"{coverage_probability(SEARCH_SETTINGS[setting][0], t, 1):.3f}" for t in counts})
            rows.append(row)
    return rows
