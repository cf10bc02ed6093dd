import json

import numpy as np
import pandas as pd
import pytest

from probekit.concepts import ConceptDataset, load_concept_dataset
from probekit.errors import ProbekitError


def test_csv_with_column_mapping(tiny_csv):
    ds = load_concept_dataset(tiny_csv, text_column="sentence", label_column="truth", group_column="pair")
    assert len(ds) == 20 and ds.task == "binary" and set(ds.labels) == {0, 1}
    assert ds.groups[0] == ds.groups[1] == "Paris"


def test_jsonl_parquet_and_datasets_object(tmp_path):
    rows = [{"text": f"s{i}", "label": ["cat", "dog", "eel"][i % 3]} for i in range(9)]
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    ds = load_concept_dataset(tmp_path / "d.jsonl")
    assert ds.task == "multiclass" and ds.label_names == ["cat", "dog", "eel"]
    pd.DataFrame({"text": ["a", "b", "c", "d"] * 5, "y": np.linspace(0, 1, 20)}).to_parquet(tmp_path / "d.parquet")
    ds = load_concept_dataset(tmp_path / "d.parquet", label_column="y")
    assert ds.task == "continuous" and ds.labels.dtype == np.float64
    import datasets

    hf = datasets.Dataset.from_dict({"statement": ["x", "y"], "label": [0, 1]})
    assert load_concept_dataset(hf).inputs == ["x", "y"]


def test_true_false_strings(tmp_path):
    (tmp_path / "d.csv").write_text("text,label\na,True\nb,False\n")
    assert load_concept_dataset(tmp_path / "d.csv").labels.tolist() == [1, 0]


@pytest.mark.parametrize("content,kwargs,message", [
    ("text,label\na,1\nb,0\n", {"label_column": "truth"}, "available columns: text, label"),
    ("text,label\n", {}, "empty"),
    ("text,label\na,1\nb,\nc,0\n", {}, "missing or NaN"),
    ("text,label\na,1\nb,1\n", {}, "single class"),
    ("words,label\na,1\nb,0\n", {}, "no text column"),
])
def test_bad_data_is_a_clear_error(tmp_path, content, kwargs, message):
    (tmp_path / "d.csv").write_text(content)
    with pytest.raises(ProbekitError, match=message):
        load_concept_dataset(tmp_path / "d.csv", **kwargs)


def test_unknown_name_and_missing_file():
    with pytest.raises(ProbekitError, match="cities"):
        load_concept_dataset("citys")
    with pytest.raises(ProbekitError, match="does not exist"):
        load_concept_dataset("nope/missing.csv")


def test_fingerprint_and_subset():
    ds = ConceptDataset(["a", "b", "c"], [0, 1, 0], "binary", groups=["g", "g", "h"])
    sub = ds.subset(np.array([0, 1]))
    assert len(sub) == 2 and sub.fingerprint != ds.fingerprint
    assert ds.fingerprint == ConceptDataset(["a", "b", "c"], [0, 1, 0], "binary").fingerprint
