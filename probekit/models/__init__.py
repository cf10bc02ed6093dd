"""Model loading: one :class:`LoadedModel` for language, vision and sequence models."""

from __future__ import annotations

from pathlib import Path

from probekit.models.base import MODEL_KINDS, LoadedModel
from probekit.models.context import check_max_length, context_length, context_limits
from probekit.models.embedded import EMBEDDED_LANGUAGE_MODELS, EmbeddedModel, embedded_path
from probekit.models.hashing import hash_files, hash_parameters, hash_weight_files
from probekit.models.language import cache_dir, load_language_model
from probekit.models.pixels import PixelProjection, pixel_projection_model
# ``predict`` (the function) is not re-exported: it would hide the module probekit.models.predict.
from probekit.models.predict import (
    Prediction,
    classify,
    load_image,
    logits_of,
    predict_folder_report,
    readable_images,
    top_k_accuracy,
)
from probekit.models.sequence import (
    LRU,
    LRURecurrence,
    SequenceGPT,
    build_sequence_model,
    computation_mode,
    count_parameters,
    hidden_states,
    record_module_output,
)
from probekit.models.vision import (
    HFImagePreprocess,
    ImagePreprocess,
    TimmPreprocess,
    load_state_dict_checked,
    load_vision_model,
    read_state_dict,
)
from probekit.models.wrap import infer_kind, wrap_model
from probekit.models.dsprites import DSPRITES_ENCODERS, Flatten, dsprites_encoder, encoder_features

VISION_PREFIXES = ("torchvision:", "timm:", "hf:", "efficientnet-lite")


def is_vision_model(name: str) -> bool:
    """True for vision specs.

    ``torchvision:``/``timm:`` names, embedded EfficientNet-Lite, a bare torchvision model
    name, or a local folder whose ``config.json`` names an image-classification
    architecture.

    Parameters
    ----------
    name : str
        A model spec (name, ``prefix:name`` or local path).

    Returns
    -------
    bool

    Raises
    ------
    ProbekitError
        A folder whose ``config.json`` cannot be read as a JSON object.
    """
    if name.startswith(VISION_PREFIXES):
        return True
    path = Path(name).expanduser()
    if not path.exists():
        import torchvision

        return name in torchvision.models.list_models()
    config = path / "config.json"
    if config.is_file():
        import json

        from probekit.errors import ProbekitError

        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ProbekitError(f"cannot read {str(config)!r} as a model config (JSON): {e}") from None
        if not isinstance(settings, dict):
            raise ProbekitError(f"{str(config)!r} holds a JSON {type(settings).__name__}, not a model config "
                                "(a JSON object)")
        archs = settings.get("architectures") or []
        if not isinstance(archs, list):
            archs = [archs]
        return any("ImageClassification" in str(a) for a in archs)
    return False


def expected_modality(name: str) -> str:
    """What the model named ``name`` will take, before loading it.

    ``"image"`` for vision specs (:func:`is_vision_model`), else ``"text"`` (the loaders
    :func:`load_model` dispatches to; a new loader adds its names here).

    Parameters
    ----------
    name : str
        A model spec.

    Returns
    -------
    str
        ``"image"`` or ``"text"``.

    Raises
    ------
    ProbekitError
        As :func:`is_vision_model`.
    """
    return "image" if is_vision_model(name) else "text"


def load_model(name: str, weights: str | None = None, random_init: bool = False, **kwargs) -> LoadedModel:
    """Load any supported model by name.

    Dispatches to :func:`probekit.models.vision.load_vision_model` for vision specs
    (see :func:`is_vision_model`) and to :func:`load_language_model` otherwise.

    Parameters
    ----------
    name : str
        A model spec: an embedded name, a Hugging Face name or local folder,
        ``torchvision:NAME``, ``timm:NAME``.
    weights : str, optional
        Vision models only: named weights or a weights file.
    random_init : bool
        The model's architecture at random initialisation (a baseline): for vision
        models see :func:`~probekit.models.vision.load_vision_model`, for language models
        :func:`load_language_model` (same config and tokenizer, weights drawn with a
        fixed seed, a ``weights_hash`` of its own).
    **kwargs
        ``dtype``, ``device``, ``device_map``, ``trust_remote_code``, ``padding_side``,
        ``seed``: passed through where they apply (vision models take ``device``,
        ``dtype`` and ``seed``).

    Returns
    -------
    LoadedModel

    Raises
    ------
    ProbekitError
        Unknown name or path, or options that do not apply (``weights`` for a language model).
    """
    from probekit.errors import ProbekitError

    if is_vision_model(name):
        from probekit.models.vision import load_vision_model

        return load_vision_model(name, weights=weights, device=kwargs.get("device") or "cpu",
                                 dtype=kwargs.get("dtype"), random_init=random_init,
                                 seed=kwargs.get("seed", 0))
    if weights is not None:
        raise ProbekitError("--weights applies to vision models (torchvision:NAME, ...); "
                            f"{name!r} is loaded as a language model")
    kwargs.pop("weights", None)
    return load_language_model(name, random_init=random_init, **kwargs)


__all__ = [
    "EMBEDDED_LANGUAGE_MODELS", "MODEL_KINDS", "VISION_PREFIXES",
    # loading
    "LoadedModel", "load_model", "load_language_model", "load_vision_model", "is_vision_model",
    "expected_modality",
    "wrap_model", "infer_kind",
    "EmbeddedModel", "embedded_path", "cache_dir", "load_state_dict_checked", "read_state_dict",
    "ImagePreprocess", "HFImagePreprocess", "TimmPreprocess",
    # context windows
    "context_length", "context_limits", "check_max_length",
    # weight hashes
    "hash_files", "hash_parameters", "hash_weight_files",
    # baselines and sequence models
    "PixelProjection", "pixel_projection_model",
    "LRU", "LRURecurrence", "SequenceGPT", "build_sequence_model", "computation_mode", "count_parameters",
    "hidden_states",
    "record_module_output",
    # image classification
    "Prediction", "classify", "load_image", "logits_of", "predict_folder_report", "readable_images",
    "top_k_accuracy",
]

__all__ += ["DSPRITES_ENCODERS", "Flatten", "dsprites_encoder", "encoder_features"]
