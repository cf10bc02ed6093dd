"""Shared fixtures: tiny random models built from configs (no hub), real data paths."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

REPO = Path(__file__).resolve().parents[1]
# processes the tests spawn (torch.multiprocessing copies this sys.path; torchrun reads
# PYTHONPATH) import ``tests.*`` helpers too, and the ``pytest`` command (unlike
# ``python -m pytest``) does not put the repository on the path
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
SHARED_DATA = Path(os.environ.get("PROBEKIT_SHARED_DATA", REPO.parent / "shared" / "data"))


def minilm_tokenizer_dir() -> Path:
    from probekit.models.embedded import embedded_path

    return embedded_path("minilm-l6")


def _tiny_config(kind: str, vocab_size: int):
    from transformers import BertConfig, GPT2Config, GPTNeoXConfig, LlamaConfig

    if kind == "llama":
        return LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                           num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                           architectures=["LlamaForCausalLM"])
    if kind == "gpt2":
        return GPT2Config(vocab_size=vocab_size, n_embd=32, n_layer=3, n_head=4, n_positions=128,
                          architectures=["GPT2LMHeadModel"])
    if kind == "gpt_neox":
        return GPTNeoXConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                             num_attention_heads=4, max_position_embeddings=128,
                             architectures=["GPTNeoXForCausalLM"])
    if kind == "bert":
        return BertConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                          num_attention_heads=4, max_position_embeddings=128, architectures=["BertModel"])
    raise ValueError(kind)


def build_tiny_model(kind: str, folder: Path, seed: int = 0) -> Path:
    """Save a tiny random model of ``kind`` plus the MiniLM tokenizer into ``folder``."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_tokenizer_dir())
    config = _tiny_config(kind, tokenizer.vocab_size)
    torch.manual_seed(seed)
    auto = AutoModel if kind == "bert" else AutoModelForCausalLM
    model = auto.from_config(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A folder holding a tiny random Llama + tokenizer: loads like any local checkpoint."""
    return build_tiny_model("llama", tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Folders of tiny random Llama, GPT-2, GPT-NeoX and BERT models."""
    return {k: build_tiny_model(k, tmp_path_factory.mktemp(f"tiny-{k}"))
            for k in ("llama", "gpt2", "gpt_neox", "bert")}


#: (city, its country, a wrong country): each city gives a true and a false statement (a group)
FACTS = [("Paris", "France", "Italy"), ("Rome", "Italy", "Spain"), ("Madrid", "Spain", "France"),
         ("Berlin", "Germany", "Poland"), ("Warsaw", "Poland", "Germany"), ("Lisbon", "Portugal", "Spain"),
         ("Oslo", "Norway", "Sweden"), ("Stockholm", "Sweden", "Norway"), ("Vienna", "Austria", "Hungary"),
         ("Budapest", "Hungary", "Austria"), ("Prague", "Czechia", "Poland"), ("Dublin", "Ireland", "Wales")]


def write_facts_csv(path: Path, facts=FACTS) -> Path:
    """Write ``sentence,truth,pair`` rows: a true and a false statement per city (group = city)."""
    import csv

    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sentence", "truth", "pair"])
        for city, right, wrong in facts:
            w.writerow([f"{city} is a city in {right}.", 1, city])
            w.writerow([f"{city} is a city in {wrong}.", 0, city])
    return path


@pytest.fixture
def tiny_csv(tmp_path):
    """A small hand-written binary concept CSV with groups (true/false twins): the first 10 facts."""
    return write_facts_csv(tmp_path / "facts.csv", FACTS[:10])


@pytest.fixture
def one_torch_thread():
    """Run a test on one torch thread (tiny problems: two threads on a shared CPU spin and run ~10x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
