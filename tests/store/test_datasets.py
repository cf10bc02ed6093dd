"""ActivationStore.to_dataset carries each row's example, text, label and group; merged
stores carry them too; stores written before examples were saved stay readable."""

import numpy as np
import pandas as pd
import pytest

from probekit.concepts import load_concept_dataset
from probekit.extract.runner import ExtractionConfig, extract
from probekit.models import load_model
from probekit.store import ActivationStore, merge_stores
from probekit.store.datasets import EXAMPLES_NAME


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(str(tiny_model_dir))


def _data(tiny_csv):
    return load_concept_dataset(str(tiny_csv), text_column="sentence", label_column="truth", group_column="pair")


CONFIG = ExtractionConfig(modules=["resid"], token_selection="all", batch_size=4, max_length=32, check=False)


def test_dataset_columns_follow_each_row_to_its_example(loaded, tiny_csv, tmp_path):
    store, _ = extract(loaded, _data(tiny_csv), CONFIG, tmp_path / "s", progress=False)
    ds = store.to_dataset()
    frame = pd.read_csv(tiny_csv)  # the reference: the file itself, row = example index
    index = store.example_index()
    assert ds.num_rows == store.n_samples > len(frame)  # several token rows per example
    assert ds.column_names[:6] == ["example_index", "position", "text", "label", "group", store.modules[0]]
    np.testing.assert_array_equal(ds["example_index"][:], index)
    assert list(ds["text"]) == frame["sentence"].to_numpy()[index].tolist()
    assert list(ds["group"]) == frame["pair"].to_numpy()[index].tolist()
    assert ds.features["label"].names == ["0", "1"]
    np.testing.assert_array_equal(np.asarray(ds["label"]), frame["truth"].to_numpy()[index])
    module = store.modules[-1]
    np.testing.assert_array_equal(np.asarray(ds.with_format("numpy")[module]), store.numpy(module))
    assert ds.features[module].length == store.numpy(module).shape[1]


def test_merged_parts_carry_the_examples(loaded, tiny_csv, tmp_path):
    data = _data(tiny_csv)
    parts = [extract(loaded, data, CONFIG, tmp_path / f"p{i}", progress=False, shard=(i, 2))[0].directory
             for i in range(2)]
    merged = merge_stores(tmp_path / "merged", parts)
    assert list(merged.to_dataset()["text"]) == [data.inputs[i] for i in merged.example_index()]


def test_a_store_without_examples_is_readable_and_a_rerun_adds_them(loaded, tiny_csv, tmp_path):
    data = _data(tiny_csv)
    store, _ = extract(loaded, data, CONFIG, tmp_path / "s", progress=False)
    (tmp_path / "s" / EXAMPLES_NAME).unlink()  # as written by an older probekit
    shards = {s["file"]: (tmp_path / "s" / s["file"]).stat().st_mtime_ns for s in store.manifest["shards"]}
    with pytest.warns(UserWarning, match="no examples.parquet"):
        old = ActivationStore(tmp_path / "s").to_dataset()
    assert "text" not in old.column_names and old.num_rows == store.n_samples
    again, _ = extract(loaded, data, CONFIG, tmp_path / "s", progress=False)
    assert {f: (tmp_path / "s" / f).stat().st_mtime_ns for f in shards} == shards  # nothing recomputed
    assert list(again.to_dataset()["text"])[:3] == [data.inputs[i] for i in again.example_index()[:3]]


def test_examples_of_other_data_are_not_used(loaded, tiny_csv, tmp_path):
    data = _data(tiny_csv)
    extract(loaded, data, CONFIG, tmp_path / "a", progress=False)
    other = data.subset(np.arange(6))
    store, _ = extract(loaded, other, CONFIG, tmp_path / "b", progress=False)
    (tmp_path / "b" / EXAMPLES_NAME).write_bytes((tmp_path / "a" / EXAMPLES_NAME).read_bytes())
    with pytest.warns(UserWarning, match="no examples.parquet"):
        assert "text" not in store.to_dataset().column_names
