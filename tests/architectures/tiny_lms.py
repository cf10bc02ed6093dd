"""Tiny random language models of many transformers architectures, built offline.

The architecture matrix of issue 12: every model here is built from its transformers
config class (no Hub access, no downloads) with 2 layers, hidden size 32-64, a few heads
and a word-level tokenizer whose vocabulary covers :data:`SENTENCES`. Everything is
deterministic (``torch.manual_seed(0)`` before each build), float32 and in eval mode.

Usage::

    from tests.architectures.tiny_lms import ARCHITECTURES, SENTENCES, tiny_lm
    model, tokenizer, kind = tiny_lm("llama")      # kind: "causal-lm" | "encoder" | "encoder-decoder"
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")

The config fields are set from a small table of *generic* values (``hidden_size``,
``num_hidden_layers``, ...), translated through each config class's ``attribute_map``
and kept only where the class has the field; :data:`OVERRIDES` holds what one
architecture needs beyond that (state sizes, layer patterns, expert counts, ...).
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import torch

SENTENCES = [
    "the cat sat on the mat",
    "a small dog runs in the green park every morning",
    "birds sing",
    "the old man and the young woman walk slowly to the market near the river",
]

_EXTRA_WORDS = (
    "a an the is was are be of to in on at by for with from and or not it this that "
    "red blue green big small old new good bad one two three four five cat dog bird fish "
    "man woman child house tree river city king queen paris france london england water fire "
    "runs walks sleeps eats sees likes has had will can . , ? !"
)

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[BOS]", "[EOS]", "[CLS]", "[SEP]", "[MASK]")

KINDS = ("causal-lm", "encoder", "encoder-decoder")


def vocabulary(pad_id: int = 0) -> list[str]:
    """The special tokens (``[PAD]`` at ``pad_id``), then every word of :data:`SENTENCES`
    and a few extra words."""
    words: list[str] = [t for t in SPECIAL_TOKENS if t != "[PAD]"]
    words.insert(pad_id, "[PAD]")
    for sentence in [*SENTENCES, _EXTRA_WORDS]:
        for word in sentence.split():
            if word not in words:
                words.append(word)
    return words


def word_tokenizer(template: str = "none", pad_id: int = 0):
    """A word-level ``PreTrainedTokenizerFast`` built offline with ``tokenizers``.

    Parameters
    ----------
    template:
        ``"none"`` (no special tokens added), ``"bos"`` (``[BOS] text``) or ``"bert"``
        (``[CLS] text [SEP]``).
    pad_id:
        Id of ``[PAD]`` (0 or 1; MPNet hard-codes its padding index to 1, as RoBERTa's
        tokenizers do).

    Returns
    -------
    transformers.PreTrainedTokenizerFast
        Lower-cases, splits on whitespace and punctuation; unknown words map to
        ``[UNK]``; pad token ``[PAD]`` (id 0); ``model_input_names`` are
        ``input_ids`` and ``attention_mask`` only (no ``token_type_ids``, which many
        decoders reject). ``padding_side`` may be set to ``"left"`` or ``"right"``.

    Raises
    ------
    ValueError
        An unknown ``template``.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    if pad_id not in (0, 1):
        raise ValueError(f"pad_id must be 0 or 1, not {pad_id!r}")
    vocab = {word: i for i, word in enumerate(vocabulary(pad_id))}
    backend = Tokenizer(WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    if template == "bos":
        backend.post_processor = processors.TemplateProcessing(
            single="[BOS] $A", pair="[BOS] $A $B", special_tokens=[("[BOS]", vocab["[BOS]"])]
        )
    elif template == "bert":
        backend.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B [SEP]",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )
    elif template != "none":
        raise ValueError(f"template must be 'none', 'bos' or 'bert', not {template!r}")
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "attention_mask"],
        padding_side="right",
    )


# generic config values; keys are canonical names (translated via attribute_map) or raw
# field names of some config classes; only those a class has are passed
_HIDDEN, _HEADS, _HEAD_DIM, _FFN, _LAYERS = 64, 4, 16, 128, 2
GENERIC = {
    "hidden_size": _HIDDEN,
    "d_model": _HIDDEN,
    "n_embd": _HIDDEN,
    "embedding_size": _HIDDEN,
    "num_hidden_layers": _LAYERS,
    "num_layers": _LAYERS,
    "n_layer": _LAYERS,
    "encoder_layers": _LAYERS,
    "decoder_layers": _LAYERS,
    "num_decoder_layers": _LAYERS,
    "num_attention_heads": _HEADS,
    "n_head": _HEADS,
    "encoder_attention_heads": _HEADS,
    "decoder_attention_heads": _HEADS,
    "num_key_value_heads": 2,
    "head_dim": _HEAD_DIM,
    "d_kv": _HEAD_DIM,
    "kv_channels": _HEAD_DIM,
    "intermediate_size": _FFN,
    "n_inner": _FFN,
    "d_ff": _FFN,
    "ffn_dim": _FFN,
    "encoder_ffn_dim": _FFN,
    "decoder_ffn_dim": _FFN,
    "ffn_hidden_size": _FFN,
    "moe_intermediate_size": 32,
    "shared_expert_intermediate_size": 32,
    "num_local_experts": 4,
    "num_experts": 4,
    "n_routed_experts": 4,
    "num_experts_per_tok": 2,
    "max_position_embeddings": 128,
    "n_positions": 128,
    "max_seq_len": 128,
    "n_ctx": 128,
    "context_length": 128,
}

# what one architecture needs beyond GENERIC (raw field names of its config class)
OVERRIDES: dict[str, dict] = {
    "albert": {"num_hidden_layers": 3, "num_hidden_groups": 1, "inner_group_num": 1, "embedding_size": 32},
    "gpt_neo": {"num_heads": _HEADS, "attention_types": [[["global", "local"], 1]], "window_size": 16},
    "distilbert": {"hidden_dim": _FFN},
    "mpt": {"n_heads": _HEADS, "n_layers": _LAYERS, "expansion_ratio": 2},
    "mamba": {"state_size": 8, "expand": 2, "conv_kernel": 4, "time_step_rank": 8},
    "mamba2": {"num_heads": 8, "head_dim": 16, "state_size": 8, "n_groups": 1, "expand": 2, "chunk_size": 16,
               "time_step_rank": 8},
    "falcon_mamba": {"state_size": 8, "expand": 2, "conv_kernel": 4, "time_step_rank": 8},
    "rwkv": {"attention_hidden_size": _HIDDEN, "intermediate_size": _FFN},
    "recurrent_gemma": {"num_hidden_layers": 3, "block_types": ["recurrent", "attention"], "lru_width": _HIDDEN,
                        "attention_window_size": 16, "num_key_value_heads": 1},
    "jamba": {"num_hidden_layers": 2, "attn_layer_period": 2, "attn_layer_offset": 1, "expert_layer_period": 2,
              "expert_layer_offset": 1, "mamba_d_state": 8, "mamba_dt_rank": 8, "use_mamba_kernels": False},
    "t5": {"num_heads": _HEADS},
    "mt5": {"num_heads": _HEADS},
    "gpt_bigcode": {"n_head": _HEADS},
    "bloom": {"n_head": _HEADS},
    "falcon": {"num_kv_heads": _HEADS},
    "xlm": {"emb_dim": _HIDDEN, "n_layers": _LAYERS, "n_heads": _HEADS},
    "funnel": {"block_sizes": [1, 1], "num_decoder_layers": 1, "d_head": _HEAD_DIM, "n_head": _HEADS},
    "ctrl": {"dff": _FFN},
    "codegen": {"rotary_dim": 8, "n_ctx": 128},
    "gptj": {"rotary_dim": 8},
    "gemma3_text": {"sliding_window": 4, "query_pre_attn_scalar": _HEAD_DIM},
    "gemma2": {"sliding_window": 4, "query_pre_attn_scalar": _HEAD_DIM},
    "cohere2": {"sliding_window": 4, "num_hidden_layers": 2},
    "modernbert": {"local_attention": 4, "global_attn_every_n_layers": 2},
    "reformer": {},
    "phimoe": {"sliding_window": None},
}

ENCODERS = {
    "bert", "roberta", "distilbert", "electra", "albert", "deberta", "deberta-v2", "modernbert",
    "camembert", "xlm-roberta", "megatron-bert", "mpnet", "roformer", "squeezebert", "convbert",
    "ernie", "data2vec-text", "mobilebert", "rembert", "nystromformer", "ibert", "layoutlm",
    "funnel", "xlm", "esm", "luke", "canine", "xmod", "big_bird", "nomic_bert", "neobert",
}
ENCODER_DECODERS = {"t5", "mt5", "bart", "mbart", "pegasus", "marian", "led", "plbart", "blenderbot",
                    "blenderbot-small", "m2m_100", "nllb-moe", "prophetnet", "umt5", "longt5", "switch_transformers"}

ARCHITECTURES = [
    # decoders (causal LMs)
    "gpt2", "gpt_neo", "gpt_neox", "gptj", "gpt_bigcode", "llama", "mistral", "mixtral", "qwen2", "qwen2_moe",
    "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3_text", "phi", "phi3", "opt", "bloom", "falcon", "mpt",
    "olmo", "olmo2", "olmoe", "cohere", "cohere2", "starcoder2", "granite", "granitemoe", "xglm", "codegen",
    "stablelm", "persimmon", "biogpt", "nemotron", "glm", "glm4", "helium", "gpt_neox_japanese", "openai-gpt",
    "ctrl", "smollm3",
    # state-space, recurrent and hybrid
    "mamba", "mamba2", "falcon_mamba", "rwkv", "recurrent_gemma", "jamba",
    # encoders
    "bert", "roberta", "distilbert", "electra", "albert", "deberta", "deberta-v2", "modernbert", "camembert",
    "xlm-roberta", "megatron-bert", "mpnet", "roformer", "convbert",
    # encoder-decoders
    "t5", "mt5", "bart", "mbart", "pegasus", "marian",
]


def model_kind(model_type: str) -> str:
    """``"encoder"``, ``"encoder-decoder"`` or ``"causal-lm"`` for a transformers model type."""
    if model_type in ENCODER_DECODERS:
        return "encoder-decoder"
    if model_type in ENCODERS:
        return "encoder"
    return "causal-lm"


def tiny_config(model_type: str, tokenizer=None):
    """The transformers config of the tiny ``model_type`` (see the module docstring).

    Raises
    ------
    ValueError
        ``model_type`` unknown to the installed transformers.
    """
    from transformers import AutoConfig, CONFIG_MAPPING

    tokenizer = tokenizer if tokenizer is not None else _tokenizer(model_type)
    cls = CONFIG_MAPPING[model_type]
    fields = _field_names(cls)
    kwargs = {}
    for key, value in GENERIC.items():
        name = key if key in fields else cls.attribute_map.get(key, key)
        if name in fields:
            kwargs[name] = value
    kwargs.update(OVERRIDES.get(model_type, {}))
    kwargs["vocab_size"] = len(tokenizer)
    for name in ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id", "sep_token_id",
                 "cls_token_id"):
        if name in fields or name in ("pad_token_id", "bos_token_id", "eos_token_id"):
            token = name[: -len("_token_id")]
            token = {"decoder_start": "pad"}.get(token, token)
            kwargs[name] = getattr(tokenizer, f"{token}_token_id")
    return AutoConfig.for_model(model_type, **kwargs)


def tiny_lm(model_type: str, template: str | None = None):
    """A tiny random ``model_type`` model, its tokenizer and its kind.

    Parameters
    ----------
    model_type:
        A transformers ``model_type`` (``"gpt2"``, ``"llama"``, ``"t5"``, ...), e.g. one
        of :data:`ARCHITECTURES`.
    template:
        Tokenizer template (see :func:`word_tokenizer`); default ``"bert"`` for
        encoders, ``"none"`` otherwise.

    Returns
    -------
    (torch.nn.Module, PreTrainedTokenizerFast, str)
        The model (``AutoModelForCausalLM`` for decoders, ``AutoModelForSeq2SeqLM`` for
        encoder-decoders, ``AutoModel`` for encoders; float32, eval mode, weights from
        ``torch.manual_seed(0)``), the tokenizer and ``"causal-lm"`` /
        ``"encoder"`` / ``"encoder-decoder"``.
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    kind = model_kind(model_type)
    tokenizer = _tokenizer(model_type, template)
    config = tiny_config(model_type, tokenizer)
    auto = {"causal-lm": AutoModelForCausalLM, "encoder": AutoModel, "encoder-decoder": AutoModelForSeq2SeqLM}
    torch.manual_seed(0)
    model = auto[kind].from_config(config, dtype=torch.float32)
    return model.eval(), tokenizer, kind


# model types whose padding index is fixed in the modelling code, not read from the config
PAD_ID = {"mpnet": 1}


def save_tiny_lm(model_type: str, folder, template: str | None = None):
    """Write the tiny ``model_type`` model and its tokenizer to ``folder`` (a Hugging Face
    folder ``from_pretrained`` can load) and return ``(model, tokenizer, kind)``.

    Note: transformers 5 ignores the saved tokenizer class for some model types and
    builds its own (a ``qwen2`` folder loads as a ``Qwen2Tokenizer`` that maps these
    words to other ids); compare ``AutoTokenizer.from_pretrained(folder)`` with the
    returned tokenizer before relying on a folder's tokenizer.
    """
    model, tokenizer, kind = tiny_lm(model_type, template)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return model, tokenizer, kind


def _tokenizer(model_type: str, template: str | None = None):
    template = template or ("bert" if model_kind(model_type) == "encoder" else "none")
    return word_tokenizer(template, pad_id=PAD_ID.get(model_type, 0))


@lru_cache(maxsize=None)
def _field_names(cls) -> frozenset[str]:
    import inspect

    if dataclasses.is_dataclass(cls):
        names = {f.name for f in dataclasses.fields(cls)}
    else:
        names = set()
    names |= set(inspect.signature(cls.__init__).parameters)
    return frozenset(names)
