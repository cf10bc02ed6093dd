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
