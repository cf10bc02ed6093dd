"""Run an image classifier on image files: logits, top-k predictions, accuracy."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from probekit.errors import ProbekitError
from probekit.models.base import LoadedModel


class Prediction(NamedTuple):
    """One ranked class of one image."""

    index: int
    """Class index."""
    name: str
    """Class name (``str(index)`` when the model has no names)."""
    probability: float
    """Softmax probability in ``[0, 1]``."""


def load_image(image):
    """Open ``image`` (path or ``PIL.Image``) as an RGB ``PIL.Image``.

    Parameters
    ----------
    image : path-like or PIL.Image.Image
        The image.

    Returns
    -------
    PIL.Image.Image
        In mode ``RGB``.

    Raises
    ------
    ProbekitError
        The file does not exist or is not a readable image.
    """
    from PIL import Image

    if isinstance(image, Image.Image):
        return image.convert("RGB")
    path = Path(image)
    if not path.is_file():
        raise ProbekitError(f"image file {str(path)!r} does not exist")
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except Exception as exc:  # noqa: BLE001
        raise ProbekitError(f"cannot read {str(path)!r} as an image: {type(exc).__name__}: {exc}") from exc


def logits_of(output) -> torch.Tensor:
    """Logits tensor from a model output (tensor, ``.logits`` object, tuple or dict).

    Parameters
    ----------
    output : object
        What the model's ``forward`` returned.

    Returns
    -------
    torch.Tensor of shape (batch, n_classes)

    Raises
    ------
    ProbekitError
        No tensor of logits can be found in ``output``.
    """
    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "logits") and isinstance(output.logits, torch.Tensor):
        return output.logits
    if isinstance(output, dict) and isinstance(output.get("logits"), torch.Tensor):
        return output["logits"]
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise ProbekitError(f"cannot find logits in a model output of type {type(output).__name__}")


def _check_loaded(loaded: LoadedModel) -> None:
    if not isinstance(loaded, LoadedModel) or loaded.kind != "image-classifier" or loaded.preprocess is None:
        what = getattr(loaded, "kind", type(loaded).__name__)
        raise ProbekitError(
            f"predict needs a LoadedModel of kind 'image-classifier' with a preprocess function, got {what!r}; "
            "load one with probekit.models.vision.load_vision_model"
        )


def classify(
    loaded: LoadedModel,
    images: Sequence[str | os.PathLike] | Sequence,
    batch_size: int = 32,
    progress: bool = True,
) -> torch.Tensor:
    """Logits of every image.

    Parameters
    ----------
    loaded:
        An image classifier from :func:`probekit.models.vision.load_vision_model`.
    images:
        ``n_samples`` image paths or ``PIL.Image`` objects.
    batch_size:
        Images per forward pass.
    progress:
        Show a tqdm bar over batches (default on).

    Returns
    -------
    torch.Tensor
        ``(n_samples, n_classes)`` float32 logits on the CPU.

    Raises
    ------
    ProbekitError
        Not an image classifier, no images, ``batch_size < 1``, or an unreadable image.
    """
    from tqdm.auto import tqdm

    _check_loaded(loaded)
    images = list(images)
    if not images:
        raise ProbekitError("no images given to classify")
    if int(batch_size) < 1:
        raise ProbekitError(f"batch_size must be >= 1, got {batch_size}")
    param = next(iter(loaded.model.parameters()), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.dtype.is_floating_point else torch.float32
    out = []
    starts = range(0, len(images), int(batch_size))
    with torch.inference_mode():
        for start in tqdm(starts, desc="classifying", disable=not progress):
            chunk = images[start : start + int(batch_size)]
            batch = torch.stack([loaded.preprocess(load_image(img)) for img in chunk]).to(device=device, dtype=dtype)
            out.append(logits_of(loaded.model(batch)).float().cpu())
    return torch.cat(out)


def predict(
    loaded: LoadedModel,
    image_paths: Sequence[str | os.PathLike] | Sequence,
    top_k: int = 5,
    batch_size: int = 32,
    progress: bool = True,
) -> list[list[Prediction]]:
    """Top-k classes of every image.

    Parameters
    ----------
    loaded:
        An image classifier from :func:`probekit.models.vision.load_vision_model`.
    image_paths:
        ``n_samples`` image paths (or ``PIL.Image`` objects).
    top_k:
        Classes kept per image (clipped to the number of classes).
    batch_size:
        Images per forward pass.
    progress:
        Show a tqdm bar (default on).

    Returns
    -------
    list of list of Prediction
        ``n_samples`` lists of ``top_k`` :class:`Prediction` ``(index, name,
        probability)``, most probable first.

    Raises
    ------
    ProbekitError
        ``top_k < 1``, plus everything :func:`classify` raises.
    """
    if int(top_k) < 1:
        raise ProbekitError(f"top_k must be >= 1, got {top_k}")
    logits = classify(loaded, image_paths, batch_size=batch_size, progress=progress)
    probs = torch.softmax(logits, dim=1)
    k = min(int(top_k), probs.shape[1])
    values, indices = probs.topk(k, dim=1)
    names = (loaded.info or {}).get("class_names") or None
    result = []
    for vals, idxs in zip(values.tolist(), indices.tolist()):
        result.append(
            [
                Prediction(int(i), str(names[i]) if names and i < len(names) else str(i), float(v))
                for v, i in zip(vals, idxs)
            ]
        )
    return result


def top_k_accuracy(predictions: list[list[Prediction]], labels, k: int = 1) -> float:
    """Fraction of images whose true class is among their first ``k`` predictions.

    Parameters
    ----------
    predictions:
        Output of :func:`predict` (at least ``k`` per image).
    labels:
        ``(n_samples,)`` true class indices.
    k:
        Ranks counted.

    Returns
    -------
    float
        Accuracy in ``[0, 1]``.

    Raises
    ------
    ProbekitError
        Length mismatch, no predictions, or fewer than ``k`` predictions per image.
    """
    labels = np.asarray(labels).reshape(-1)
    if len(predictions) != labels.size or labels.size == 0:
        raise ProbekitError(f"{len(predictions)} predictions but {labels.size} labels; they must match and be > 0")
    if any(len(p) < k for p in predictions):
        raise ProbekitError(f"top-{k} accuracy needs at least {k} predictions per image; call predict(top_k={k})")
    hits = [int(y) in {p.index for p in preds[:k]} for preds, y in zip(predictions, labels)]
    return float(np.mean(hits))


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def predict_folder_report(loaded: LoadedModel, directory, top_k: int = 5, batch_size: int = 32,
                          progress: bool = True) -> list[str]:
    """Lines for ``probekit predict``: each image's top-k classes, then accuracy.

    Accuracy is reported when the file names are ImageNet-style (``n01440764_tench.JPEG``;
    class index = rank of the wnid among the folder's sorted wnids, which is the
    ImageNet-1k order for a full sample of 1000 classes). Files that cannot be decoded as
    images are skipped, as ``probekit probe`` skips them: a ``UserWarning`` and the last
    line give their count and the first one.

    Parameters
    ----------
    loaded : LoadedModel
        An ``image-classifier`` with a ``preprocess``.
    directory : path-like
        Folder of image files (not searched recursively).
    top_k : int
        Classes listed per image.
    batch_size : int
        Images per forward pass.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of str

    Raises
    ------
    ProbekitError
        ``directory`` is not a folder, holds no image files, or none of them is readable;
        ``loaded`` is not an image classifier with a preprocess function.
    """
    from probekit.concepts.imagenet import imagenet_wnids, parse_imagenet_name

    folder = Path(directory)
    if not folder.is_dir():
        raise ProbekitError(f"--images {str(folder)!r} is not a folder")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ProbekitError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {str(folder)!r}")
    _check_loaded(loaded)
    paths, skipped = readable_images(paths)
    if not paths:
        raise ProbekitError(f"no readable image in {str(folder)!r}: {len(skipped)} file(s) could not be decoded "
                            f"(first: {skipped[0][0]}: {skipped[0][1]})")
    predictions = predict(loaded, paths, top_k=top_k, batch_size=batch_size, progress=progress)
    lines = []
    for path, preds in zip(paths, predictions):
        top = ", ".join(f"{p.name} ({p.probability:.2f})" for p in preds)
        lines.append(f"{path.name}: {top}")
    parsed = [parse_imagenet_name(p.name) for p in paths]
    if all(parsed) and len({w for w, _ in parsed}) == 1000:
        order = {w: i for i, w in enumerate(imagenet_wnids(folder))}
        labels = [order[w] for w, _ in parsed]
        lines.append(f"top-1 accuracy {top_k_accuracy(predictions, labels, 1):.3f}, "
                     f"top-{min(top_k, 5)} accuracy {top_k_accuracy(predictions, labels, min(top_k, 5)):.3f} "
                     f"on {len(paths)} images (labels from ImageNet file names)")
    if skipped:
        message = (f"skipped {len(skipped)} unreadable image file(s) in {str(folder)!r} "
                   f"(first: {Path(skipped[0][0]).name}: {skipped[0][1]})")
        warnings.warn(message, UserWarning, stacklevel=2)
        lines.append(message)
    return lines


def readable_images(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Split image files into those that decode and those that do not.

    Each file is decoded fully (JPEGs at reduced scale via ``draft``, which still reads
    every byte), as :func:`probekit.concepts.images.scan_image_folder` does.

    Parameters
    ----------
    paths : sequence of path-like
        Image files.

    Returns
    -------
    (list of Path, list of (str, str))
        The readable paths (order kept) and ``(path, "ErrorType: message")`` for each
        file that is not.
    """
    from PIL import Image

    good, skipped = [], []
    for path in paths:
        try:
            with Image.open(path) as img:
                img.draft("RGB", (64, 64))
                img.convert("RGB")
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a readable image"
            skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
            continue
        good.append(Path(path))
    return good, skipped
