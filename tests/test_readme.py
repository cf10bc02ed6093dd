"""README.md's Python code blocks run in the suite.

The blocks run as written except for one substitution: ``load_model("smollm2-135m")``
loads a tiny random Llama with SmolLM2's depth (30 blocks, width 32) instead, so every
hook-point name the block uses exists and the block runs in seconds (the real model
takes over a minute to extract the 808 statements on a CPU). Files the block writes go
to a temporary working directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
EMBEDDED_CALL = 'load_model("smollm2-135m")'


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the ```python fenced blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


@pytest.fixture(scope="module")
def smollm2_shaped_model(tmp_path_factory) -> Path:
    """A tiny random Llama with SmolLM2-135M's number of blocks (30), saved with a tokenizer."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from probekit.models.embedded import embedded_path

    folder = tmp_path_factory.mktemp("smollm2-shaped")
    tokenizer = AutoTokenizer.from_pretrained(embedded_path("minilm-l6"))
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=64,
                         num_hidden_layers=30, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=128, architectures=["LlamaForCausalLM"])
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_readme_has_python_blocks():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python block"
    assert all(block.strip() for block in blocks)


def test_readme_python_blocks_run(smollm2_shaped_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for i, block in enumerate(python_blocks(README.read_text(encoding="utf-8"))):
        code = block.replace(EMBEDDED_CALL, f"load_model({str(smollm2_shaped_model)!r})")
        exec(compile(code, f"README.md python block {i}", "exec"), namespace)
    # the library block: a probe fitted on a stored layer, and a recorder run
    X, data, probe, acts = (namespace[k] for k in ("X", "data", "probe", "acts"))
    assert X.shape == (len(data.inputs), 32) and len(data.inputs) == 808
    assert probe.predict(np.asarray(X)).shape == (len(data.inputs),)
    assert (tmp_path / "acts" / "manifest.json").is_file()
    assert sorted(acts, key=lambda k: int(k.rsplit(".", 1)[1])) == [f"model.layers.{i}" for i in range(30)]
    assert all(torch.isfinite(a).all() for a in acts.values())
