"""Merge steering runs that share questions and folds (e.g. one method added to an earlier run).

A steering run (``recipes/concept_recovery.py steer``) writes ``steer_runs.csv`` (one row per
fold × method × draw × α) and ``steer_per_question.csv`` (held-out MC2 per question). Two runs on
the same cached activations, folds and heads differ only in the methods they evaluated; their
unsteered and uniform-answer rows must then be identical, and merging gives the tables one run
with every method would have given.
"""

from __future__ import annotations

from probekit.errors import ProbekitError

__all__ = ["merge_steering_runs"]

_SHARED = ("baseline", "uniform_answers")


def _key(row: dict) -> tuple:
    return (row["method"], float(row["alpha"]), int(row.get("draw") or 0), int(row["fold"]))


def _shared_signature(rows: list[dict], per_question: list[dict]) -> tuple:
    run = sorted((_key(r), round(float(r["MC2"]), 12)) for r in rows if r["method"] in _SHARED)
    perq = sorted((int(q["fold"]), int(q["question"]), round(float(q["MC2"]), 12))
                  for q in per_question if q["method"] == "baseline")
    return tuple(run), tuple(perq)


def merge_steering_runs(runs: list[tuple[list[dict], list[dict]]]) -> tuple[list[dict], list[dict]]:
    """One ``(rows, per_question)`` from several runs of the same questions and folds.

    Parameters
    ----------
    runs : list of (rows, per_question)
        As :func:`probekit.evaluation.steering_summary.read_steering_run` returns them.

    Returns
    -------
    (rows, per_question)
        The unsteered / uniform-answer rows once (from the first run), then every run's
        steered rows in order.

    Raises
    ------
    ProbekitError
        No run; the runs' unsteered or uniform-answer rows differ (other questions, folds or
        model: they are not parts of one experiment); or a (method, α, draw, fold) appears in
        two runs.
    """
    if not runs:
        raise ProbekitError("merge_steering_runs: no run given")
    first = _shared_signature(*runs[0])
    rows = [r for r in runs[0][0] if r["method"] in _SHARED]
    per_question = [q for q in runs[0][1] if q["method"] in _SHARED]
    seen: dict[tuple, int] = {}
    for i, (r_rows, r_perq) in enumerate(runs):
        if _shared_signature(r_rows, r_perq) != first:
            raise ProbekitError(f"run {i + 1}'s unsteered / uniform-answer rows differ from run 1's: the runs "
                                "do not share questions, folds and model, so they cannot be merged")
        for r in r_rows:
            if r["method"] in _SHARED:
                continue
            k = _key(r)
            if k in seen:
                raise ProbekitError(f"method {k[0]!r} at alpha {k[1]:g}, draw {k[2]}, fold {k[3]} is in run "
                                    f"{seen[k] + 1} and run {i + 1}; give each (method, alpha) once")
            seen[k] = i
            rows.append(r)
        per_question += [q for q in r_perq if q["method"] not in _SHARED]
    return rows, per_question
