import pytest

from probekit.errors import ProbekitError
from probekit.evaluation.heldout_texts import load_heldout_texts


def test_csv_keeps_true_statements_and_txt_keeps_lines(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("statement,label\nA is A.,1\nA is B.,0\nB is B.,True\nC is C.,1\n")
    assert load_heldout_texts(csv, 2) == ["A is A.", "B is B."]
    txt = tmp_path / "s.txt"
    txt.write_text("one\n\n two \nthree\n")
    assert load_heldout_texts(txt, 5) == ["one", "two", "three"]


def test_missing_file_or_column_is_loud(tmp_path):
    with pytest.raises(ProbekitError, match="--heldout"):
        load_heldout_texts(tmp_path / "nope.csv")
    bad = tmp_path / "b.csv"
    bad.write_text("text,label\nx,1\n")
    with pytest.raises(ProbekitError, match="statement"):
        load_heldout_texts(bad)
