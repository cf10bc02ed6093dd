import csv

from probekit.report.tables import write_rows_csv


def test_rows_of_different_keys_become_one_table(tmp_path):
    path = tmp_path / "t.csv"
    write_rows_csv([{"a": 1, "b": 0.123456789}, {"b": None, "c": "x"}], path, float_format=".3g")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["a", "b", "c"]
    assert rows[0] == {"a": "1", "b": "0.123", "c": ""} and rows[1] == {"a": "", "b": "", "c": "x"}


def test_empty_rows_write_nothing_and_floats_stay_full_by_default(tmp_path):
    write_rows_csv([], tmp_path / "none.csv")
    assert not (tmp_path / "none.csv").exists()
    write_rows_csv([{"v": 0.123456789}], tmp_path / "full.csv")
    assert "0.123456789" in (tmp_path / "full.csv").read_text()


def test_format_helpers_against_hand_written_cells():
    import math

    import pytest

    from probekit.errors import ProbekitError
    from probekit.report.tables import format_mean_std, format_table, format_value, group_rows, mean_std, nan_to_none

    assert format_value(None) == "-" and format_value(float("nan")) == "-" and format_value(3) == "3"
    assert format_value(0.12345) == "0.123" and format_value(0.12345, ".1f") == "0.1"
    assert format_value(0.0001234, sci_below=1e-3) == "1.23e-04" and format_value(0.0, sci_below=1e-3) == "0.000"
    assert format_mean_std(0.9861, 0.0123) == "98.6 ± 1.2" and format_mean_std(0.5) == "50.0"
    assert format_mean_std(None) == "—" and format_mean_std(0.25, None, 1.0, 2) == "0.25"
    assert format_table(["a", "bb"], [["1", "22"]]) == "| a | bb |\n|---|----|\n| 1 | 22 |"
    assert format_table(["a", "bb"], [["1", "2"]], "plain") == "a  bb\n-----\n1   2"
    with pytest.raises(ProbekitError, match="plain"):
        format_table(["a"], [], "latex")
    assert mean_std([1.0, 2.0, 3.0, None, float("nan")]) == (2.0, 1.0)
    assert mean_std([4.0]) == (4.0, 0.0) and mean_std([None]) == (None, None)
    rows = [{"k": "b", "v": 1}, {"k": "a", "v": 2}, {"k": "b", "v": 3}]
    groups = group_rows(rows, ["k"])
    assert list(groups) == [("b",), ("a",)] and [r["v"] for r in groups[("b",)]] == [1, 3]
    cleaned = nan_to_none({"x": [1.0, float("nan")], "y": {"z": math.nan}})
    assert cleaned == {"x": [1.0, None], "y": {"z": None}}


def test_mean_ci_is_scipys_t_interval():
    import numpy as np
    import pytest
    from scipy import stats

    from probekit.errors import ProbekitError
    from probekit.report.tables import mean_ci

    values = [0.61, 0.58, 0.66, None, float("nan")]
    mean, half, n = mean_ci(values)
    kept = np.array([0.61, 0.58, 0.66])
    low, high = stats.t.interval(0.95, 2, loc=kept.mean(), scale=stats.sem(kept))
    assert n == 3 and mean == pytest.approx(kept.mean())
    assert (mean - half, mean + half) == pytest.approx((low, high))
    assert mean_ci([0.5]) == (0.5, None, 1) and mean_ci([]) == (None, None, 0)
    with pytest.raises(ProbekitError, match="level"):
        mean_ci(kept, level=95)


def test_summarize_runs_groups_across_seeds():
    import pytest

    from probekit.report.tables import mean_ci, summarize_runs

    runs = [[{"model": "lru", "d": 10, "r2": 0.9}, {"model": "gpt", "d": 10, "r2": 0.5}],
            [{"model": "lru", "d": 10, "r2": 0.8}, {"model": "gpt", "d": 10, "r2": 0.7}],
            [{"model": "lru", "d": 10, "r2": 0.85}]]
    rows = summarize_runs(runs, ("model", "d"), ["r2"])
    assert [(r["model"], r["n_runs"]) for r in rows] == [("lru", 3), ("gpt", 2)]
    assert rows[0]["r2"] == pytest.approx(0.85) and rows[0]["r2_ci"] == pytest.approx(mean_ci([0.9, 0.8, 0.85])[1])
    assert rows[1]["r2"] == pytest.approx(0.6)
