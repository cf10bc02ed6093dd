"""Neural latent recovery in the Boolean world-model setting, with its untrained baseline.

The neural experiment of Zhang, Chen & Chen (2025) in the setting of their theory:
latents ``z ∈ {±1}^n``, observations ``x = psi(z)`` for a random bijection or a random
GF(2)-affine map ``psi`` (:func:`probekit.synthetic.boolean.make_world`), and task sets
for which the exact minimum-degree search makes ``z`` the unique lowest-degree solution
(1-juntas that cover every bit, :func:`probekit.synthetic.boolean.covering_juntas`),
next to controls for which it does not (fewer tasks than bits, one bit never covered).

One *run* (:func:`recovery_run`) trains a multi-task network
(:func:`probekit.train.multitask.train_multitask`) on every point of the cube and
scores its bottleneck representation against

* ``z`` (``recovery``: Hungarian-matched ``|corr|``, :func:`probekit.metrics.recovery.recovery_summary`),
* the network's own input coordinates ``u`` (``recovery_input``): ``u = x``, or ``u =
  E(x)`` in the input-basis ablation, i.e. the *transformed latent* ``E(psi(z))`` that a
  basis-mismatched learner would recover if it kept its input basis,

each also for the untrained network of the same architecture and seed
(:func:`probekit.train.multitask.untrained_multitask`): ``*_untrained`` and the paired
``gain = recovery - recovery_untrained``.

:func:`identifiability` runs the exact search on a task set in the latent frame. Over
all bijections the set of minimizers does not depend on the world (``Phi`` minimises iff
``Phi ∘ psi`` does for the identity world), so the latent-frame answer is the answer for
every world; the search itself is exhaustive only for ``n <= 3`` (all bijections) and
``n <= 5`` (affine maps — a necessary condition for uniqueness over all bijections).

References
----------
Zhang, Chen & Chen (2025), "When do neural networks learn world models?", ICML
(arXiv 2502.09297), Sec. 2-4 (setting, minimum-degree solutions) and Sec. 6 (multi-task
networks, input basis).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from probekit.errors import ProbekitError
from probekit.synthetic.boolean import BooleanWorld, TaskSet, covering_juntas, cube

__all__ = ["RECOVERY_METRICS", "identifiability", "seed_paired_difference", "recovery_conditions", "recovery_design",
           "recovery_run", "stable_seed",
           "summarize_recovery"]

#: per-run metrics summarised over seeds by :func:`summarize_recovery`
RECOVERY_METRICS = ("recovery", "recovery_untrained", "gain", "recovery_input", "recovery_input_untrained",
                    "matched_accuracy", "probe", "train_mse", "untrained_mse", "z_identified")


def recovery_conditions(n: int, counts: list[int], seed: Any = None) -> list[tuple[str, int, TaskSet]]:
    """Task sets of one seed: covering 1-juntas at each count, and an uncovered control.

    Parameters
    ----------
    n : int
        Latent bits.
    counts : list of int
        Task counts; the covering sets are nested prefixes of one draw of ``max(counts)``.
    seed : int, None or numpy.random.Generator

    Returns
    -------
    list of (condition, n_tasks, TaskSet)
        ``("cover", T, ...)`` for every ``T`` in ``counts`` (all bits covered iff ``T >= n``)
        and ``("uncovered", max(counts), ...)``: the same count with one bit no task uses.

    Raises
    ------
    ProbekitError
        Empty ``counts`` or counts < 1.
    """
    if not counts or any(int(c) < 1 for c in counts):
        raise ProbekitError(f"counts={counts}; expected a non-empty list of integers >= 1")
    rng = np.random.default_rng(seed)
    top = max(int(c) for c in counts)
    full = covering_juntas(n, top, 0, rng)
    out = [("cover", int(c), TaskSet(tables=full.tables[:, : int(c)], family="junta", k=1,
                                     relevant=full.relevant[: int(c)], descriptions=full.descriptions[: int(c)]))
           for c in sorted(set(int(c) for c in counts))]
    out.append(("uncovered", top, covering_juntas(n, top, 1, rng)))
    return out


def identifiability(tasks: TaskSet) -> dict[str, Any]:
    """Exact check that ``z`` is the unique lowest-degree representation for a task set.

    Parameters
    ----------
    tasks : TaskSet
        Tasks on ``{±1}^n``.

    Returns
    -------
    dict
        ``search_space`` ("bijection" for ``n <= 3``, "affine" for ``n <= 5``, ``None``
        beyond), ``z_identified`` (1.0 / 0.0; NaN when not searched: argmin of the total
        degree == the signed permutations of ``z``), ``n_minimizers``, ``n_signed_perms``.
    """
    from probekit.estimators.low_degree import LowDegreeSearch

    n = int(np.log2(tasks.tables.shape[0]))
    space = "bijection" if n <= 3 else "affine" if n <= 5 else None
    if space is None:
        return {"search_space": None, "z_identified": float("nan"), "n_minimizers": None, "n_signed_perms": None}
    rec = LowDegreeSearch(space=space).fit(tasks.tables).recovery(np.arange(2**n))
    return {"search_space": space, "z_identified": float(rec.recovered), "n_minimizers": int(rec.n_minimizers),
            "n_signed_perms": int(rec.n_signed_permutations)}


def recovery_run(world: BooleanWorld, tasks: TaskSet, config: Any, input_map: Any = None) -> dict[str, Any]:
    """Train one multi-task network on the whole cube and score it against ``z`` and its input.

    Parameters
    ----------
    world : BooleanWorld
    tasks : TaskSet
        Tasks on ``z`` (shape (2**n, n_tasks)).
    config : probekit.train.multitask.MultiTaskConfig
        The budget and architecture (``seed`` seeds the init and the probe split).
    input_map : array-like of int, shape (2**n,), optional
        A bijection ``E`` of the cube: the network sees ``E(x)`` (input-basis ablation).

    Returns
    -------
    dict
        The metrics of :data:`RECOVERY_METRICS` (except ``z_identified``), ``target_var``
        and ``seconds``; rows are in truth-table order of ``z``.

    Raises
    ------
    ProbekitError
        Tasks and world on different cubes.
    """
    from probekit.metrics.recovery import recovery_score, recovery_summary
    from probekit.train.multitask import apply_input_map, train_multitask, untrained_multitask

    if tasks.tables.shape[0] != 2**world.n:
        raise ProbekitError(f"tasks live on {tasks.tables.shape[0]} points; the world has {2**world.n}")
    t0 = time.time()
    z = cube(world.n)
    x = z[world.psi]
    u = apply_input_map(x, input_map) if input_map is not None else x
    y = tasks.tables
    res = train_multitask(u, y, config)
    base = untrained_multitask(u, y, replace(config))
    rep, rep0 = res.representation(u), base.representation(u)
    scores = recovery_summary(z, rep, seed=config.seed)
    trained, untrained = scores["matched_corr"], recovery_score(z, rep0)
    return {
        "recovery": trained, "recovery_untrained": untrained, "gain": trained - untrained,
        "recovery_input": recovery_score(u, rep), "recovery_input_untrained": recovery_score(u, rep0),
        "matched_accuracy": scores["matched_accuracy"], "probe": scores["probe"],
        "train_mse": res.final_mse, "untrained_mse": base.final_mse, "target_var": float(y.var(0).mean()),
        "seconds": time.time() - t0,
    }


def summarize_recovery(rows: list[dict], keys: tuple[str, ...], level: float = 0.95) -> list[dict]:
    """Mean and Student-t interval over seeds of every recovery metric, per group.

    Parameters
    ----------
    rows : list of dict
        One row per run with a ``seed`` column, the ``keys`` and :data:`RECOVERY_METRICS`.
    keys : tuple of str
        Columns that identify a cell (e.g. ``("world", "arch", "condition", "n_tasks")``).
    level : float

    Returns
    -------
    list of dict
        ``keys``, ``n_runs`` and, per metric, ``<metric>`` (mean) and ``<metric>_ci``
        (half-width, :func:`probekit.report.tables.mean_ci`); groups in first-seen order.
    """
    from probekit.report.tables import summarize_runs

    seeds = sorted({r["seed"] for r in rows})
    runs = [[r for r in rows if r["seed"] == s] for s in seeds]
    return summarize_runs(runs, keys, [m for m in RECOVERY_METRICS if any(m in r for r in rows)], level)


def seed_paired_difference(rows: list[dict], a: dict, b: dict, metric: str = "recovery",
                      metric_b: str | None = None, level: float = 0.95) -> tuple[float | None, float | None, int]:
    """Mean and t-interval over seeds of ``metric(a) - metric_b(b)``, paired by seed.

    Parameters
    ----------
    rows : list of dict
        Runs with a ``seed`` column.
    a, b : dict
        Column values that select the two cells (each must match exactly one run per seed).
    metric, metric_b : str
        Compared columns (``metric_b`` defaults to ``metric``).
    level : float

    Returns
    -------
    (mean, half_width, n) as :func:`probekit.report.tables.mean_ci` (n = paired seeds).

    Raises
    ------
    ProbekitError
        A selection that matches more than one run of a seed.
    """
    from probekit.report.tables import mean_ci

    def pick(sel: dict, m: str) -> dict[int, float]:
        out: dict[int, float] = {}
        for r in rows:
            if all(r.get(k) == v for k, v in sel.items()):
                if r["seed"] in out:
                    raise ProbekitError(f"selection {sel} matches more than one run of seed {r['seed']}")
                out[r["seed"]] = r[m]
        return out

    va, vb = pick(a, metric), pick(b, metric_b or metric)
    return mean_ci([va[s] - vb[s] for s in sorted(set(va) & set(vb))], level)


def stable_seed(*parts: Any) -> int:
    """Stable 32-bit seed from the parts: CRC32 of their ``str`` joined by ``|`` (no ``PYTHONHASHSEED``)."""
    import zlib

    return zlib.crc32("|".join(map(str, parts)).encode()) & 0xFFFFFFFF


def recovery_design(n: int, counts: list[int], n_seeds: int, worlds: list[str] | tuple[str, ...],
                    archs: list[str] | tuple[str, ...]) -> list[dict]:
    """All runs of the neural experiment: the theory set-up and the input-basis experiment.

    Per seed ``s``: one draw of task sets (:func:`recovery_conditions`, checked with
    :func:`identifiability`) shared by every world and architecture (paired comparisons);
    per world kind one world; then

    * ``experiment="theory"``: every world x condition x arch, input basis ``"matched"``
      (the network sees ``x``);
    * ``experiment="basis"``: a signed-permutation world (``x`` is ``z`` up to signs and
      order, so the input basis matches the latents) with the largest covering task set,
      seen as ``x`` (``"matched"``) or as ``E(x)`` for a random GF(2)-affine ``E``
      (``"ablation"``; uniform affine or bijective worlds would make ``E ∘ psi`` as
      random as ``psi``, so the ablation is only informative here).

    Parameters
    ----------
    n : int
    counts : list of int
    n_seeds : int
    worlds : sequence of {"bijection", "affine", "signed_permutation", "identity"}
    archs : sequence of {"mlp", "transformer"}

    Returns
    -------
    list of dict
        Keys ``experiment, world (BooleanWorld), input_basis, input_map (table or None),
        arch, seed, condition, n_tasks, tasks (TaskSet), ident (dict of identifiability)``.
        Seeds are stable (CRC32 of the names), independent of ``PYTHONHASHSEED``.
    """
    from probekit.synthetic.boolean import make_world, random_affine_map

    jobs = []
    for seed in range(int(n_seeds)):
        conds = recovery_conditions(n, counts, seed=stable_seed("tasks", n, seed))
        ident = [identifiability(ts) for _, _, ts in conds]
        cells = [("theory", make_world(n, w, stable_seed("world", w, n, seed)), "matched", None, c, i)
                 for w in worlds for c, i in zip(conds, ident)]
        sp = make_world(n, "signed_permutation", stable_seed("world", "sp", n, seed))
        top = max(k for k, c in enumerate(conds) if c[0] == "cover")
        e_map = random_affine_map(n, stable_seed("E", n, seed))
        cells += [("basis", sp, b, e, conds[top], ident[top]) for b, e in (("matched", None), ("ablation", e_map))]
        jobs += [dict(experiment=ex, world=w, input_basis=b, input_map=e, arch=a, seed=seed, condition=c[0],
                      n_tasks=c[1], tasks=c[2], ident=i) for ex, w, b, e, c, i in cells for a in archs]
    return jobs
