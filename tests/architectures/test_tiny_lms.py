"""The tiny architecture factory itself: every model builds small, runs, and is reproducible."""

from __future__ import annotations

import pytest
import torch

from tests.architectures.tiny_lms import (
    ARCHITECTURES, SENTENCES, SPECIAL_TOKENS, model_kind, save_tiny_lm, tiny_lm, word_tokenizer,
)

REQUIRED = (
    "gpt2 gpt_neo gpt_neox gptj gpt_bigcode llama mistral mixtral qwen2 qwen2_moe qwen3 gemma gemma2 "
    "gemma3_text phi phi3 opt bloom falcon mpt olmo olmo2 cohere starcoder2 granite mamba mamba2 rwkv "
    "recurrent_gemma jamba t5 bart bert roberta distilbert electra albert deberta-v2 modernbert"
).split()

# architectures whose layer count is not 2 on purpose: ALBERT applies 1 shared layer 3
# times; RecurrentGemma needs a recurrent, a recurrent-or-attention and an attention layer
LAYERS = {"albert": 3, "recurrent_gemma": 3}


def test_matrix_covers_the_required_architectures():
    assert len(ARCHITECTURES) >= 40
    assert len(set(ARCHITECTURES)) == len(ARCHITECTURES)
    assert not set(REQUIRED) - set(ARCHITECTURES)
    assert {model_kind(a) for a in ARCHITECTURES} == {"causal-lm", "encoder", "encoder-decoder"}


@pytest.mark.parametrize("model_type", ARCHITECTURES)
def test_tiny_model_is_small_and_runs_left_padded(model_type):
    model, tokenizer, kind = tiny_lm(model_type)
    config = model.config
    assert config.model_type == model_type
    assert config.hidden_size <= 64
    assert config.num_hidden_layers == LAYERS.get(model_type, 2)
    assert config.vocab_size == len(tokenizer)
    assert config.pad_token_id == tokenizer.pad_token_id
    assert not model.training
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert sum(p.numel() for p in model.parameters()) < 300_000
    tokenizer.padding_side = "left"
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    inputs = dict(batch)
    if kind == "encoder-decoder":
        inputs["decoder_input_ids"] = batch["input_ids"]
    with torch.no_grad():
        out = model(**inputs)
    first = out.logits if kind != "encoder" else out.last_hidden_state
    width = config.vocab_size if kind != "encoder" else config.hidden_size
    assert first.shape == (len(SENTENCES), batch["input_ids"].shape[1], width)
    assert torch.isfinite(first).all()


def test_builds_are_reproducible():
    (a, _, _), (b, _, _) = tiny_lm("llama"), tiny_lm("llama")
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q), name


@pytest.mark.parametrize("side", ["left", "right"])
def test_word_tokenizer_pads_either_side(side):
    tokenizer = word_tokenizer()
    tokenizer.padding_side = side
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    assert set(batch) == {"input_ids", "attention_mask"}
    lengths = [len(s.split()) for s in SENTENCES]
    assert batch["attention_mask"].sum(-1).tolist() == lengths
    for row, mask, sentence in zip(batch["input_ids"], batch["attention_mask"], SENTENCES):
        real = row[mask.bool()]
        assert tokenizer.decode(real) == sentence
        assert (row[~mask.bool()] == tokenizer.pad_token_id).all()
        first_real = int(mask.nonzero().min())
        assert first_real == (0 if side == "right" else len(row) - len(real))


def test_word_tokenizer_specials_and_templates():
    tokenizer = word_tokenizer()
    ids = [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS]
    assert ids == list(range(len(SPECIAL_TOKENS)))
    assert tokenizer("zebra cat")["input_ids"] == [tokenizer.unk_token_id, tokenizer.convert_tokens_to_ids("cat")]
    bert = word_tokenizer("bert")("the cat")["input_ids"]
    assert bert[0] == tokenizer.cls_token_id and bert[-1] == tokenizer.sep_token_id and len(bert) == 4
    assert word_tokenizer("bos")("the cat")["input_ids"][0] == tokenizer.bos_token_id
    assert word_tokenizer(pad_id=1).pad_token_id == 1
    with pytest.raises(ValueError, match="template"):
        word_tokenizer("gpt")


def test_saved_folder_reloads_identically(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer, _ = save_tiny_lm("llama", tmp_path)
    again = AutoTokenizer.from_pretrained(tmp_path)
    assert again(SENTENCES)["input_ids"] == tokenizer(SENTENCES)["input_ids"]
    batch = tokenizer(SENTENCES[:1], return_tensors="pt")
    with torch.no_grad():
        expected = model(**batch).logits
        got = AutoModelForCausalLM.from_pretrained(tmp_path).eval()(**batch).logits
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
