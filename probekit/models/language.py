"""Load Hugging Face language models: hub id, local folder, local ``.gguf``, embedded names."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import torch

from probekit.errors import ProbekitError, closest
from probekit.models.base import LoadedModel
from probekit.models.embedded import EMBEDDED_LANGUAGE_MODELS, embedded_path
from probekit.models.hashing import WEIGHT_SUFFIXES, hash_files, hash_parameters, hash_weight_files

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(?:/[\w.-]+)?$")  # owner/name, or a plain id such as gpt2
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def cache_dir() -> Path:
    """Where probekit caches dequantized GGUF models.

    ``$PROBEKIT_CACHE_DIR`` if set, else ``$HF_HOME/probekit`` if ``HF_HOME`` is set,
    else the platform's user cache folder (``~/.cache/probekit`` on Linux).
    """
    if os.environ.get("PROBEKIT_CACHE_DIR"):
        return Path(os.environ["PROBEKIT_CACHE_DIR"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "probekit"
    import platformdirs

    return Path(platformdirs.user_cache_dir("probekit"))


def load_language_model(
    name: str,
    dtype: str | None = None,
    device: str | None = None,
    device_map: str | dict | None = None,
    trust_remote_code: bool = False,
    padding_side: str = "right",
    random_init: bool = False,
    seed: int = 0,
) -> LoadedModel:
    """Load a text model and its tokenizer, ready for extraction.

    Parameters
    ----------
    name:
        An embedded name (``smollm2-135m``, ``minilm-l6``), a local folder with
        ``config.json``, a local ``.gguf`` file, or a Hugging Face hub id (needs network).
    dtype:
        ``float32`` (default), ``float16``, ``bfloat16`` or ``auto``; passed to transformers.
    device:
        Torch device to move the model to (``cpu``, ``cuda:0``); ignored with ``device_map``.
    device_map:
        Passed to ``from_pretrained`` (accelerate), e.g. ``"auto"``.
    trust_remote_code:
        Passed to transformers; off unless the user asks.
    padding_side:
        ``right`` or ``left``; extraction is correct with both.
    random_init:
        A baseline: the same architecture and config (and the same tokenizer) with its
        weights at transformers' random initialisation, drawn with ``torch.manual_seed(seed)``
        (the global RNG state is restored afterwards). Its ``weights_hash`` hashes the
        random parameters, so its activation stores never mix with the pretrained ones.
    seed:
        Seed of the random initialisation (only with ``random_init``).

    Returns
    -------
    LoadedModel
        ``kind`` is ``causal-lm`` for decoder models, ``encoder-decoder`` for seq2seq
        models (loaded with their LM head, so decoder inputs can be given) and ``encoder``
        otherwise.

    Raises
    ------
    ProbekitError
        Unknown name or path (closest embedded names listed), a folder without a model
        (no config.json, unreadable config, no or damaged weights, no tokenizer), a
        file that is not a readable GGUF model, a hub id that cannot be reached, an
        unknown dtype, or ``device_map`` with ``random_init`` (give ``device``).
    """
    if dtype not in (None, "auto", *DTYPES):
        raise ProbekitError(f"unknown dtype {dtype!r}; valid: auto, {', '.join(DTYPES)}")
    if padding_side not in ("left", "right"):
        raise ProbekitError(f"padding_side must be 'left' or 'right', not {padding_side!r}")
    if random_init and device_map is not None:
        raise ProbekitError(f"device_map={device_map!r} places pretrained weights; a random-init model is built "
                            "in memory: give device (e.g. cuda:0) instead")
    kwargs = {"trust_remote_code": trust_remote_code}
    if device_map is not None:
        kwargs["device_map"] = device_map
    torch_dtype = "auto" if dtype == "auto" else DTYPES[dtype or "float32"]

    source, path = _resolve_source(name)
    folder, weights_hash = _weights_folder(name, path, random_init)
    model, tokenizer, kind = _from_pretrained(str(folder), torch_dtype, kwargs, name,
                                              random_seed=seed if random_init else None)
    if random_init:
        weights_hash, source = None, f"random init (seed {seed}) of the architecture of {source}"
    if device is not None and device_map is None:
        model.to(device)
    model.eval()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    tokenizer.padding_side = padding_side
    info = {
        "architecture": type(model).__name__,
        "model_type": model.config.model_type,
        "n_parameters": sum(p.numel() for p in model.parameters()),
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "random_init": bool(random_init),
        "seed": seed if random_init else None,
    }
    extra = f"{name} random seed={seed}" if random_init else ""
    return LoadedModel(
        model=model, name=name, kind=kind, tokenizer=tokenizer,
        weights_hash=weights_hash or hash_parameters(model, extra=extra), source=source, info=info,
    )


def _resolve_source(name: str) -> tuple[str, Path | None]:
    """Where a language model comes from: ``(source, local path or None for a hub id)``.

    Raises
    ------
    ProbekitError
        Not an embedded name, an existing file or folder, or a hub id (closest embedded
        names listed).
    """
    path = Path(name).expanduser()
    if name in EMBEDDED_LANGUAGE_MODELS:
        path = embedded_path(name)
        return str(path), path
    if path.exists():
        return str(path.resolve()), path
    if HUB_ID.match(name) and not name.startswith((".", "/", "~")):
        return name, None
    valid = list(EMBEDDED_LANGUAGE_MODELS)
    raise ProbekitError(
        f"unknown model {name!r}: not an embedded name, an existing file or folder, or a hub id "
        f"(gpt2, owner/name). Embedded names: {', '.join(valid)}; closest: "
        f"{', '.join(closest(name, valid, n=3))}"
    )


def _weights_folder(name: str, path: Path | None, random_init: bool) -> tuple[str | Path, str | None]:
    """The folder (or hub id) transformers loads, and the hash of its weight files
    (``None`` for a hub id; a GGUF file is dequantized into a cached folder first).

    Raises
    ------
    ProbekitError
        A file that is not ``.gguf``, a folder without ``config.json``, or without
        weight files (unless ``random_init``).
    """
    if path is None:
        return name, None
    if path.is_file():
        if path.suffix != ".gguf":
            raise ProbekitError(
                f"{str(path)!r} is a file but not a .gguf model; give a model folder "
                "(with config.json), a .gguf file, an embedded name or a hub id"
            )
        return _dequantized_gguf(path)
    if not (path / "config.json").exists():
        raise ProbekitError(f"folder {str(path)!r} has no config.json: it is not a Hugging Face model folder")
    weights_hash = hash_weight_files(path)
    if weights_hash is None and not random_init:
        raise ProbekitError(
            f"folder {str(path)!r} has config.json but no weight files ({', '.join(WEIGHT_SUFFIXES)}); "
            "copy the model's *.safetensors (or pytorch_model.bin) files into it"
        )
    return path, weights_hash


def _load_errors() -> tuple[type[BaseException], ...]:
    """Errors transformers / safetensors / torch raise for a folder they cannot load (missing or damaged files)."""
    import pickle

    from safetensors import SafetensorError

    return (OSError, ValueError, KeyError, TypeError, RuntimeError, ImportError, AttributeError, EOFError,
            pickle.UnpicklingError, SafetensorError)


def _load_failed(name: str, what: str, e: Exception) -> ProbekitError:
    first = (str(e).strip().splitlines() or [""])[0][:300]
    return ProbekitError(
        f"could not load the {what} of model {name!r} ({type(e).__name__}: {first}); a model folder needs "
        "config.json, weight files (*.safetensors or pytorch_model.bin) and tokenizer files. Hub ids need "
        "network access; offline, use a local folder, a .gguf file, or an embedded name: "
        f"{', '.join(EMBEDDED_LANGUAGE_MODELS)}"
    )


def _dtype_kwarg(dtype) -> dict:
    """``from_pretrained``'s dtype keyword: ``dtype`` from transformers 5 on, ``torch_dtype`` before."""
    import transformers

    return {"dtype" if int(transformers.__version__.split(".")[0]) >= 5 else "torch_dtype": dtype}


def _random_init(auto, config, torch_dtype, kwargs: dict, seed: int):
    """``auto.from_config(config)`` with weights drawn after ``torch.manual_seed(seed)``, global RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = auto.from_config(config, trust_remote_code=kwargs["trust_remote_code"])
    return model if torch_dtype == "auto" else model.to(torch_dtype)


def _from_pretrained(folder: str, torch_dtype, kwargs: dict, name: str, random_seed: int | None = None):
    """Config, model and tokenizer of ``folder``; every load failure is a :class:`ProbekitError`.

    ``random_seed`` not ``None``: the model is built from the config at random
    initialisation with that seed (see :func:`_random_init`); the weights are not read.
    """
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    LOAD_ERRORS = _load_errors()
    try:
        config = AutoConfig.from_pretrained(folder, trust_remote_code=kwargs["trust_remote_code"])
    except LOAD_ERRORS as e:
        raise _load_failed(name, "config", e) from None
    architectures = config.architectures or []
    causal = any("CausalLM" in a or "LMHeadModel" in a for a in architectures) or (
        not architectures and getattr(config, "is_decoder", False)
    )
    seq2seq = bool(getattr(config, "is_encoder_decoder", False))
    auto = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM if causal else AutoModel
    try:
        if random_seed is not None:
            model = _random_init(auto, config, torch_dtype, kwargs, random_seed)
        else:
            model = auto.from_pretrained(folder, **_dtype_kwarg(torch_dtype), **kwargs)
    except LOAD_ERRORS as e:
        raise _load_failed(name, "weights", e) from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=kwargs["trust_remote_code"])
    except LOAD_ERRORS as e:
        raise _load_failed(name, "tokenizer", e) from None
    if tokenizer is None or isinstance(tokenizer, bool):
        raise ProbekitError(f"model {name!r} has no tokenizer files; a text model folder needs them")
    return model, tokenizer, "encoder-decoder" if seq2seq else "causal-lm" if causal else "encoder"


def _dequantized_gguf(gguf: Path) -> tuple[Path, str]:
    """Dequantize a GGUF file once into a safetensors folder in :func:`cache_dir`.

    Returns the cached folder and the GGUF file's hash. The folder is built in a
    temporary directory and renamed into place, so an interrupted conversion never
    leaves a half-written cache entry.
    """
    file_hash = hash_files([gguf])
    target = cache_dir() / "gguf" / f"{gguf.stem}-{file_hash}"
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return target, file_hash
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    with tqdm(total=1, desc=f"dequantizing {gguf.name} (once; cached in {target.parent})") as bar:
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name, **_dtype_kwarg(torch.float32)
            )
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        except Exception as e:  # noqa: BLE001 - any parser failure means "not a readable GGUF model"
            first = (str(e).strip().splitlines() or [""])[0][:300]
            raise ProbekitError(
                f"could not read {str(gguf)!r} as a GGUF model ({type(e).__name__}: {first}); give a GGUF file "
                "of a supported architecture (llama, mistral, qwen2, gpt2, ...), or a model folder"
            ) from None
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
        try:
            model.config.architectures = [type(model).__name__]
            model.config.save_pretrained(tmp)
            if getattr(model, "generation_config", None) is not None:
                model.generation_config.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
            save_file(_unshared_state_dict(model), str(tmp / "model.safetensors"), metadata={"format": "pt"})
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        bar.update(1)
    return target, file_hash


def _unshared_state_dict(model) -> dict:
    """State dict with each shared (tied) tensor kept once, under its first name.

    Tied output embeddings (``lm_head.weight`` = ``model.embed_tokens.weight``) are
    saved as the input embedding only, the Hugging Face convention; ``from_pretrained``
    ties them again from ``tie_word_embeddings``.
    """
    seen, state = set(), {}
    for name, tensor in model.state_dict().items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape))
        if key in seen:
            continue
        seen.add(key)
        state[name] = tensor.detach().contiguous()
    return state
