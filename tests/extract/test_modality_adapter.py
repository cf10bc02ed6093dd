"""A new modality is one adapter class and one register_modality call.

Everything the library needs to feed a "vector" modality (rows of floats into a tiny
MLP) lives in this file: no other file of probekit knows the modality, yet extract(),
list-modules' output shapes, the input checks and a probe run through it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from probekit.concepts import ConceptDataset
from probekit.errors import ProbekitError
from probekit.extract import ExtractionConfig, describe_modules, extract, output_shapes
from probekit.extract.modalities import ADAPTERS, ModalityAdapter, register_modality, unregister_modality
from probekit.models import wrap_model
from probekit.models.base import KIND_MODALITY, LoadedModel
from probekit.pipeline import check_inputs
from probekit.probes import LogisticProbe

N_FEATURES = 4


class VectorInputs(ModalityAdapter):
    """Rows of ``N_FEATURES`` floats, fed as the ``input`` of an ``nn.Sequential``."""

    name = "vector"
    example_column = "vector"
    data_hint = "give rows of floats"

    def encode(self, loaded, batch, config):
        return {"input": torch.tensor(np.asarray(list(batch)), dtype=torch.float32)}

    def sample_inputs(self, loaded):
        return {"input": torch.zeros(1, N_FEATURES)}


@pytest.fixture
def vector_modality():
    register_modality(VectorInputs(), kinds=("vector-mlp",))
    yield
    unregister_modality("vector")


@pytest.fixture
def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(N_FEATURES, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))


@pytest.fixture
def vectors():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, N_FEATURES))
    labels = (x[:, 0] - x[:, 1] > 0).astype(np.int64)  # a linear concept of the input
    return ConceptDataset([tuple(row) for row in x], labels, "binary", name="vectors",
                          metadata={"modality": "vector"})


def test_extract_and_probe_through_a_registered_modality(vector_modality, mlp, vectors, tmp_path):
    loaded = wrap_model(mlp, kind="vector-mlp", name="toy-mlp")
    assert loaded.modality == "vector" and isinstance(loaded.adapter, VectorInputs)
    config = check_inputs(loaded, vectors, ExtractionConfig(modules=["0", "2"], batch_size=32))
    store, points = extract(loaded, vectors, config, tmp_path / "store", progress=False)
    # the independent reference: the layers applied by hand, all 120 rows at once
    x = torch.tensor(np.asarray(vectors.inputs), dtype=torch.float32)
    with torch.no_grad():
        first = mlp[0](x)
        third = mlp[2](mlp[1](first))
    by_module = {p.module: p.name for p in points}
    np.testing.assert_allclose(store.numpy(by_module["0"]), first.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(store.numpy(by_module["2"]), third.numpy(), rtol=1e-6, atol=1e-6)
    assert np.array_equal(store.example_index(), np.arange(120))
    assert store.manifest["identity"]["token_selection"] is None  # text-only keys stay unset
    examples = pd.read_parquet(tmp_path / "store" / "examples.parquet")
    assert list(examples["vector"]) == [str(v) for v in vectors.inputs]
    # a probe on the first layer (a full-rank linear map of x) finds the linear concept
    features = store.numpy(by_module["0"])
    train, test = np.arange(80), np.arange(80, 120)
    probe = LogisticProbe(device="cpu").fit(features[train], vectors.labels[train])
    accuracy = probe.score(features[test], vectors.labels[test])
    shuffled = LogisticProbe(device="cpu").fit(features[train], np.random.default_rng(1).permutation(
        vectors.labels[train]))
    assert accuracy >= 0.9 > shuffled.score(features[test], vectors.labels[test])


def test_unlabeled_inputs_of_a_registered_modality(vector_modality, mlp, vectors, tmp_path):
    loaded = wrap_model(mlp, kind="vector-mlp")
    store, points = extract(loaded, vectors.inputs, ExtractionConfig(modules=["0"], batch_size=50), tmp_path / "u",
                            progress=False)
    with torch.no_grad():
        reference = mlp[0](torch.tensor(np.asarray(vectors.inputs), dtype=torch.float32)).numpy()
    np.testing.assert_allclose(store.numpy(points[0].name), reference, rtol=1e-6, atol=1e-6)
    with pytest.raises(ProbekitError, match="inputs must be strings"):
        ConceptDataset.from_inputs(vectors.inputs, modality="text")  # texts and image paths stay checked


def test_sample_input_lists_the_modules_of_a_registered_modality(vector_modality, mlp):
    loaded = wrap_model(mlp, kind="vector-mlp")
    shapes = output_shapes(loaded)
    assert shapes["0"] == (1, 16) and shapes["2"] == (1, 8) and shapes["4"] == (1, 2)
    assert any(line.startswith("4 ") for line in describe_modules(loaded))


def test_options_and_data_of_other_modalities_are_refused(vector_modality, mlp, vectors, tmp_path):
    loaded = wrap_model(mlp, kind="vector-mlp")
    with pytest.raises(ProbekitError, match="max_tokens_per_batch=64 batches texts.*vector model"):
        extract(loaded, vectors, ExtractionConfig(modules=["0"], max_tokens_per_batch=64), tmp_path / "a",
                progress=False)
    with pytest.raises(ProbekitError, match="num_workers=2 decodes images.*vector model"):
        check_inputs(loaded, vectors, ExtractionConfig(modules=["0"], num_workers=2))
    texts = ConceptDataset.from_inputs(["a", "b"])
    with pytest.raises(ProbekitError, match="takes vector inputs.*holds text inputs; give rows of floats"):
        check_inputs(loaded, texts, ExtractionConfig(modules=["0"]))


def test_unregistering_removes_the_kind(mlp):
    register_modality(VectorInputs(), kinds=("vector-mlp",))
    with pytest.raises(ProbekitError, match="already belong"):
        register_modality(VectorInputs(), kinds=("causal-lm",))
    unregister_modality("vector")
    assert "vector" not in ADAPTERS and "vector-mlp" not in KIND_MODALITY
    assert KIND_MODALITY["causal-lm"] == "text"  # the refused registration changed nothing
    with pytest.raises(ValueError, match="vector-mlp"):
        LoadedModel(model=mlp, name="toy", kind="vector-mlp")
    with pytest.raises(ProbekitError, match="unknown model kind 'vector-mlp'"):
        wrap_model(mlp, kind="vector-mlp")


def test_a_modality_without_encoding_is_loud(mlp, tmp_path):
    class Bare(ModalityAdapter):
        name = "bare"

    register_modality(Bare(), kinds=("bare-kind",))
    try:
        loaded = wrap_model(mlp, kind="bare-kind")
        data = ConceptDataset([(0.0,) * N_FEATURES, (1.0,) * N_FEATURES], [0, 1], "binary")
        with pytest.raises(ProbekitError, match="no input encoding for 'bare' models"):
            extract(loaded, data, ExtractionConfig(modules=["0"]), tmp_path / "s", progress=False)
        with pytest.raises(ProbekitError, match="no sample input for a bare-kind model"):
            output_shapes(loaded)
    finally:
        unregister_modality("bare")
