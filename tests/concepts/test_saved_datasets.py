"""--dataset accepts folders written by datasets' save_to_disk: a Dataset, or a DatasetDict split."""

import datasets
import numpy as np
import pytest

from probekit.cli import main
from probekit.concepts import load_concept_dataset
from probekit.errors import ProbekitError
from probekit.store import ActivationStore

ROWS = {"statement": ["Paris is in France.", "Paris is in Spain.", "Rome is in Italy.", "Rome is in Peru.",
                      "Oslo is in Norway.", "Oslo is in Chile."],
        "label": [1, 0, 1, 0, 1, 0], "pair": ["p", "p", "r", "r", "o", "o"]}


@pytest.fixture
def saved(tmp_path):
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "single"))
    test = {k: v[:4] for k, v in ROWS.items()}
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(ROWS),
                          "test": datasets.Dataset.from_dict(test)}).save_to_disk(str(tmp_path / "dict"))
    return tmp_path


def test_a_saved_dataset_folder_loads_like_its_rows(saved):
    data = load_concept_dataset(str(saved / "single"), group_column="pair")
    assert data.inputs == ROWS["statement"] and data.name == "single"
    np.testing.assert_array_equal(data.labels, ROWS["label"])
    assert list(data.groups) == ROWS["pair"]


def test_a_datasetdict_split(saved):
    test = load_concept_dataset(f"{saved / 'dict'}:test")
    assert test.inputs == ROWS["statement"][:4] and test.name == "dict-test"
    assert load_concept_dataset(str(saved / "dict")).inputs == ROWS["statement"]  # bare folder: train


def test_a_missing_split_lists_the_splits(saved):
    with pytest.raises(ProbekitError, match=r"split 'valid' is not in the DatasetDict.*its splits: train, test"):
        load_concept_dataset(f"{saved / 'dict'}:valid")
    with pytest.raises(ProbekitError, match="single Dataset, not a DatasetDict"):
        load_concept_dataset(f"{saved / 'single'}:test")


def test_cli_extract_from_a_saved_split(saved, tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "store"
    assert main(["extract", "--model", str(tiny_model_dir), "--dataset", f"{saved / 'dict'}:test",
                 "--max-length", "32", "--quiet", "--no-check", "--out", str(out)]) == 0
    assert list(ActivationStore(out).to_dataset()["text"]) == ROWS["statement"][:4]
    assert main(["extract", "--model", str(tiny_model_dir), "--dataset", f"{saved / 'dict'}:dev",
                 "--quiet", "--out", str(tmp_path / "x")]) == 2
    assert "its splits: train, test" in capsys.readouterr().err
