"""extract() takes plain texts too: the rows equal those of the same texts with labels."""

import numpy as np
import pytest

from probekit.concepts import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract.runner import ExtractionConfig, extract
from probekit.models import load_model

TEXTS = ["The city of Paris is in France.", "The city of Rome is in Spain.", "Water is wet.", "Fire is cold."]


def test_plain_texts_extract_like_a_labeled_data_set(tmp_path, tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    config = ExtractionConfig(modules=["resid"], batch_size=2, max_length=32)
    plain, _ = extract(loaded, TEXTS, config, tmp_path / "plain", progress=False)
    labeled = ConceptDataset(TEXTS, np.array([1, 0, 1, 0]), "binary", name="x")
    reference, _ = extract(loaded, labeled, config, tmp_path / "labeled", progress=False)
    assert plain.modules == reference.modules
    for module in plain.modules:
        np.testing.assert_array_equal(plain.numpy(module), reference.numpy(module))
    columns = plain.to_dataset(modules=[]).column_names
    assert "text" in columns and "label" not in columns
    assert "label" in reference.to_dataset(modules=[]).column_names


def test_unlabeled_inputs_must_be_strings():
    with pytest.raises(ProbekitError, match="input 1 is a int"):
        ConceptDataset.from_inputs(["a", 3])
    with pytest.raises(ProbekitError, match="empty"):
        ConceptDataset.from_inputs([])


def test_an_unlabeled_data_set_cannot_be_probed():
    from probekit.probes import layer_sweep

    data = ConceptDataset.from_inputs(TEXTS)
    with pytest.raises(ProbekitError, match="has no labels"):
        layer_sweep({"x": np.ones((4, 3))}, {"x": 0}, data)
