import pytest

from probekit.errors import ProbekitError
from probekit.evaluation.steering_merge import merge_steering_runs


def _run(methods, shift=0.0):
    rows = [{"fold": f, "method": m, "alpha": 0.0, "MC2": v} for f in (0, 1)
            for m, v in (("baseline", 0.4 + f / 10), ("uniform_answers", 0.5))]
    perq = [{"fold": q % 2, "method": "baseline", "draw": 0, "alpha": 0.0, "question": q, "MC2": 0.3 + q / 100 + shift}
            for q in range(4)]
    for m in methods:
        rows += [{"fold": f, "method": m, "draw": 0, "alpha": 2.0, "MC2": 0.6} for f in (0, 1)]
        perq += [{"fold": q % 2, "method": m, "draw": 0, "alpha": 2.0, "question": q, "MC2": 0.6} for q in range(4)]
    return rows, perq


def test_merge_keeps_shared_rows_once_and_every_method():
    rows, perq = merge_steering_runs([_run(["a"]), _run(["b", "c"])])
    assert [r["method"] for r in rows].count("baseline") == 2  # one per fold, not one per run
    assert [r["method"] for r in rows if r["alpha"]] == ["a", "a", "b", "b", "c", "c"]
    assert sum(q["method"] == "baseline" for q in perq) == 4 and sum(q["method"] == "c" for q in perq) == 4
    one = _run(["a", "b", "c"])
    assert sorted(map(str, rows)) == sorted(map(str, one[0])) and sorted(map(str, perq)) == sorted(map(str, one[1]))


def test_merge_refuses_other_experiments_and_duplicates():
    with pytest.raises(ProbekitError, match="cannot be merged"):
        merge_steering_runs([_run(["a"]), _run(["b"], shift=0.01)])
    with pytest.raises(ProbekitError, match="method 'a' at alpha 2, draw 0, fold 0 is in run 1 and run 2"):
        merge_steering_runs([_run(["a"]), _run(["a"])])
    with pytest.raises(ProbekitError, match="no run"):
        merge_steering_runs([])
