"""Concept data sets from a folder of images.

Inputs are image file paths; labels come either from the pixels (brightness,
colourfulness, saturation, dominant hue) or from the class of each image (sub-folder
name, or ImageNet-style file name ``n01440764_tench.JPEG``).

Pixel concepts are computed once per image on a small copy (``pixel_size`` x
``pixel_size``, default 64) -- cheap enough for thousands of photos on a laptop, and the
same for every model probed afterwards.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from probekit.concepts.dataset import ConceptDataset
from probekit.concepts.imagenet import (
    IMAGENET_NUM_CLASSES,
    LAST_ANIMAL_INDEX,
    default_imagenet_sample_dir,
    imagenet_class_names,
    imagenet_wnids,
    parse_imagenet_name,
    wnids_in_directory,
)
from probekit.errors import ProbekitError, did_you_mean

#: Classification concepts (binary by median split for pixel statistics).
IMAGE_CONCEPTS = ("brightness", "colourfulness", "saturation", "hue", "class", "animal", "class-lt-500")
#: Regression concepts (continuous pixel statistics).
CONTINUOUS_IMAGE_CONCEPTS = ("brightness-value", "colourfulness-value", "saturation-value")
#: Every concept name :func:`image_folder` accepts.
ALL_IMAGE_CONCEPTS = IMAGE_CONCEPTS + CONTINUOUS_IMAGE_CONCEPTS
#: US spellings accepted as aliases.
_ALIASES = {"colorfulness": "colourfulness", "colorfulness-value": "colourfulness-value"}
#: Names of the dominant-hue classes (index = label of the ``hue`` concept).
HUE_NAMES = ("red", "yellow", "green", "cyan", "blue", "magenta", "achromatic")
#: Mean saturation x value below which an image counts as ``achromatic`` for ``hue``.
ACHROMATIC_THRESHOLD = 0.05
#: File suffixes taken as images when guessing the label source (every file is still tried).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
#: Label sources understood by :func:`scan_image_folder`.
LABEL_SOURCES = ("auto", "subfolders", "imagenet", "none")

_PIXEL_KEYS = {"brightness": "brightness", "colourfulness": "colourfulness", "saturation": "saturation"}


def pixel_statistics(image) -> dict[str, float]:
    """Brightness, colourfulness, saturation and dominant hue of one image.

    Parameters
    ----------
    image:
        A ``PIL.Image`` (any mode; converted to RGB) or a uint8 array
        ``(height, width, 3)``.

    Returns
    -------
    dict
        ``brightness``: mean luma ``Y = 0.299 R + 0.587 G + 0.114 B`` of the
        gamma-encoded pixels, in ``[0, 1]`` (ITU-R BT.601);
        ``colourfulness``: Hasler & Suesstrunk metric
        ``M = sqrt(s_rg^2 + s_yb^2) + 0.3 sqrt(m_rg^2 + m_yb^2)`` with
        ``rg = R - G``, ``yb = (R + G) / 2 - B`` on the 0..255 scale (0 for grey images,
        about 100+ for very colourful ones);
        ``saturation``: mean HSV saturation in ``[0, 1]``;
        ``hue``: index into :data:`HUE_NAMES` of the 60-degree hue sector (centred on
        red 0, yellow 60, green 120, cyan 180, blue 240, magenta 300 degrees) with the
        largest saturation x value weight, or ``6`` (``achromatic``) when the mean
        saturation x value is below :data:`ACHROMATIC_THRESHOLD`.

    Raises
    ------
    ProbekitError
        An array that is not ``(height, width, 3)``.

    References
    ----------
    D. Hasler and S. Suesstrunk, "Measuring colourfulness in natural images", Proc. SPIE
    5007, Human Vision and Electronic Imaging VIII, 2003 -- Eq. 3 (the ``M^(3)`` metric).
    """
    from PIL import Image

    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ProbekitError(f"pixel_statistics expects an array (height, width, 3), got shape {image.shape}")
        image = Image.fromarray(np.asarray(image, dtype=np.uint8), mode="RGB")
    rgb_img = image.convert("RGB")
    rgb = np.asarray(rgb_img, dtype=np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    brightness = float((0.299 * r + 0.587 * g + 0.114 * b).mean() / 255.0)
    rg = r - g
    yb = 0.5 * (r + g) - b
    colourfulness = float(
        np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    )
    hsv = np.asarray(rgb_img.convert("HSV"), dtype=np.float64) / 255.0
    hue_deg, sat, val = hsv[..., 0] * 360.0, hsv[..., 1], hsv[..., 2]
    weight = sat * val
    if weight.mean() < ACHROMATIC_THRESHOLD:
        hue = len(HUE_NAMES) - 1
    else:
        sector = (np.floor(((hue_deg + 30.0) % 360.0) / 60.0).astype(np.int64)) % 6
        hue = int(np.argmax(np.bincount(sector.ravel(), weights=weight.ravel(), minlength=6)))
    return {
        "brightness": brightness,
        "colourfulness": colourfulness,
        "saturation": float(sat.mean()),
        "hue": hue,
    }


@dataclass
class ImageFolderScan:
    """Everything read from an image folder once; concept data sets are cut from it.

    Attributes
    ----------
    paths:
        ``n_samples`` readable image paths (str), in sorted order.
    stats:
        Pixel statistics, each ``(n_samples,)``: ``brightness``, ``colourfulness``,
        ``saturation`` (float64) and ``hue`` (int64); see :func:`pixel_statistics`.
    class_index:
        ``(n_samples,)`` int64 class per image, or ``None`` when the folder has no labels.
    class_names:
        Class names, index = class value (1000 ImageNet names for ImageNet labels).
    label_source:
        ``"subfolders"``, ``"imagenet"`` or ``"none"``.
    skipped:
        ``(path, reason)`` of every file that could not be read as an image.
    directory, pixel_size:
        The arguments of the scan.
    """

    paths: list[str]
    stats: dict[str, np.ndarray]
    class_index: np.ndarray | None
    class_names: list[str] | None
    label_source: str
    skipped: list[tuple[str, str]] = field(default_factory=list)
    directory: str = ""
    pixel_size: int = 64

    @property
    def is_imagenet(self) -> bool:
        """Whether ``class_index`` holds ImageNet-1k class indices."""
        return self.label_source == "imagenet"


def _list_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def _imagenet_index(wnid_per_file: list[str], text_per_file: list[str], directory: Path, wnids) -> np.ndarray:
    """Class index for each file's WordNet id (see :func:`scan_image_folder`)."""
    reference: list[str] | None = None
    if wnids is not None:
        reference = list(wnids) if not isinstance(wnids, (str, os.PathLike)) else imagenet_wnids(wnids)
        if len(reference) != IMAGENET_NUM_CLASSES:
            raise ProbekitError(f"wnids lists {len(reference)} WordNet ids; ImageNet-1k needs 1000")
        reference = sorted(reference)
    elif len(set(wnid_per_file)) == IMAGENET_NUM_CLASSES:
        reference = sorted(set(wnid_per_file))
    else:
        here = wnids_in_directory(directory)
        if len(here) == IMAGENET_NUM_CLASSES:
            reference = here
        elif default_imagenet_sample_dir() is not None:
            reference = imagenet_wnids(default_imagenet_sample_dir())
    if reference is not None:
        position = {w: i for i, w in enumerate(reference)}
        missing = sorted({w for w in wnid_per_file if w not in position})
        if missing:
            raise ProbekitError(
                f"WordNet id(s) {', '.join(missing[:5])} are not ImageNet-1k classes "
                f"({len(missing)} unknown); check the file names in {str(directory)!r}"
            )
        return np.array([position[w] for w in wnid_per_file], dtype=np.int64)
    # Last resort: match the readable name in the file name against torchvision's names.
    names = imagenet_class_names()
    norm = [_norm_name(n) for n in names]
    lookup: dict[str, int] = {}
    for i, n in enumerate(norm):
        lookup[n] = -1 if n in lookup else i
    out = []
    for wnid, text in zip(wnid_per_file, text_per_file):
        idx = lookup.get(_norm_name(text), None)
        if idx is None or idx < 0:
            raise ProbekitError(
                f"cannot place WordNet id {wnid} ({text!r}) in the ImageNet-1k class order: the folder "
                "does not name all 1000 classes; pass wnids= (a folder with one ImageNet-style file per "
                "class, or the list of 1000 WordNet ids) or set PROBEKIT_SHARED_DATA"
            )
        out.append(idx)
    return np.array(out, dtype=np.int64)


def _norm_name(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def scan_image_folder(
    directory: str | os.PathLike,
    *,
    labels: str = "auto",
    wnids=None,
    pixel_size: int = 64,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> ImageFolderScan:
    """Read every image of a folder once: readable paths, pixel statistics, class labels.

    Parameters
    ----------
    directory:
        Folder of images. Either flat (``n01440764_tench.JPEG``, ...) or one sub-folder
        per class (``cats/``, ``dogs/``, or ImageNet's ``n01440764/``).
    labels:
        One of :data:`LABEL_SOURCES`. ``"auto"``: sub-folders when the folder has
        sub-folders, else ImageNet file names when every file name starts with a
        WordNet id (among files with an image suffix), else ``"none"`` (pixel concepts
        only). Files directly in a folder that has sub-folders are ignored.
    wnids:
        Reference for ImageNet class indices: a list of the 1000 WordNet ids or a folder
        naming them (see :func:`probekit.concepts.imagenet.imagenet_wnids`). Default: the
        scanned folder itself when it names all 1000 classes, else the shared
        ``imagenet-sample`` folder when found, else matching the names in the file names
        against torchvision's class names.
    pixel_size:
        Side in pixels of the small copy the pixel statistics are computed on
        (default 64).
    limit:
        Keep a random subset of at most this many files (seeded by ``seed``, sorted
        order kept); ``None`` keeps all.
    seed:
        Seed of that subset.
    progress:
        Show a tqdm bar while reading (default on).

    Returns
    -------
    ImageFolderScan

    Raises
    ------
    ProbekitError
        The folder does not exist; an unknown ``labels`` value; ``labels="imagenet"``
        with file names that are not ImageNet-style; ``labels="subfolders"`` without
        sub-folders; no file could be read as an image; a bad ``pixel_size``/``limit``.

    Warns
    -----
    UserWarning
        When some files could not be read as images (they are skipped); the message
        gives their count and the first one.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ProbekitError(f"image folder {str(root)!r} does not exist or is not a directory")
    if labels not in LABEL_SOURCES:
        raise ProbekitError(did_you_mean(str(labels), LABEL_SOURCES, "label source"))
    if int(pixel_size) < 4:
        raise ProbekitError(f"pixel_size must be at least 4 pixels, got {pixel_size}")
    if limit is not None and int(limit) < 1:
        raise ProbekitError(f"limit must be a positive number of images or None, got {limit}")
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    labels = _label_source(root, subdirs, labels)
    entries = _entries(root, subdirs, labels, limit, seed)
    paths, raw, stats, skipped = _read_images(entries, int(pixel_size), progress)
    if not paths:
        first = f" (first: {skipped[0][0]}: {skipped[0][1]})" if skipped else ""
        raise ProbekitError(
            f"no readable image in {str(root)!r}: {len(skipped)} file(s) could not be opened as images{first}"
        )
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} unreadable or non-image file(s) in {str(root)!r} "
            f"(first: {Path(skipped[0][0]).name}: {skipped[0][1]})",
            UserWarning,
            stacklevel=2,
        )
    source, class_index, class_names = _classes(root, labels, paths, raw, wnids)
    return ImageFolderScan(
        paths=paths,
        stats={
            "brightness": np.asarray(stats["brightness"], dtype=np.float64),
            "colourfulness": np.asarray(stats["colourfulness"], dtype=np.float64),
            "saturation": np.asarray(stats["saturation"], dtype=np.float64),
            "hue": np.asarray(stats["hue"], dtype=np.int64),
        },
        class_index=class_index,
        class_names=class_names,
        label_source=source,
        skipped=skipped,
        directory=str(root),
        pixel_size=int(pixel_size),
    )


def _label_source(root: Path, subdirs: list[Path], labels: str) -> str:
    """Resolve ``labels="auto"`` (sub-folders, else ImageNet file names, else none)."""
    if labels == "auto":
        if subdirs:
            labels = "subfolders"
        else:
            files = [p for p in root.iterdir() if p.is_file() and not p.name.startswith(".")]
            pictures = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
            parsed = [parse_imagenet_name(p.name) for p in pictures]
            labels = "imagenet" if pictures and all(x is not None for x in parsed) else "none"
    if labels == "subfolders" and not subdirs:
        raise ProbekitError(f"labels='subfolders' but {str(root)!r} has no sub-folders; use labels='auto'")
    return labels


def _entries(root: Path, subdirs: list[Path], labels: str, limit: int | None,
             seed: int) -> list[tuple[Path, str | None]]:
    """Candidate files with their sub-folder name (``None`` for a flat folder), a seeded
    random subset of at most ``limit`` in sorted order."""
    entries: list[tuple[Path, str | None]] = []
    if labels == "subfolders":
        for sub in subdirs:
            entries.extend((p, sub.name) for p in _list_files(sub))
    else:
        entries = [(p, None) for p in sorted(root.iterdir()) if p.is_file() and not p.name.startswith(".")]
    if limit is not None and len(entries) > int(limit):
        keep = np.sort(np.random.default_rng(seed).choice(len(entries), size=int(limit), replace=False))
        entries = [entries[i] for i in keep]
    return entries


def _read_images(entries, size: int, progress: bool):
    """Open every entry once: readable paths, their raw labels, pixel statistics, and the
    ``(path, reason)`` of each file that is not a readable image."""
    from PIL import Image
    from tqdm.auto import tqdm

    paths: list[str] = []
    raw: list[str | None] = []
    skipped: list[tuple[str, str]] = []
    stats: dict[str, list] = {"brightness": [], "colourfulness": [], "saturation": [], "hue": []}
    for path, folder in tqdm(entries, desc="reading images", disable=not progress):
        try:
            with Image.open(path) as img:
                img.draft("RGB", (size, size))
                small = img.convert("RGB").resize((size, size), Image.BILINEAR)
        except Exception as exc:  # noqa: BLE001 - any decoder failure means "not a readable image"
            skipped.append((str(path), f"{type(exc).__name__}: {exc}"))
            continue
        values = pixel_statistics(small)
        for key in stats:
            stats[key].append(values[key])
        paths.append(str(path))
        raw.append(folder)
    return paths, raw, stats, skipped


def _classes(root: Path, labels: str, paths: list[str], raw: list, wnids):
    """``(label source, class index per image, class names)`` (``None``s without labels)."""
    if labels == "subfolders":
        folder_names = sorted({r for r in raw if r is not None})
        parsed = [parse_imagenet_name(n) for n in folder_names]
        if all(p is not None and p[1] == "" for p in parsed):
            index = _imagenet_index([str(r) for r in raw], ["" for _ in raw], root, wnids)
            return "imagenet", index, imagenet_class_names()
        pos = {n: i for i, n in enumerate(folder_names)}
        return labels, np.array([pos[r] for r in raw], dtype=np.int64), folder_names
    if labels == "imagenet":
        parsed = [parse_imagenet_name(p) for p in paths]
        bad = [p for p, q in zip(paths, parsed) if q is None]
        if bad:
            raise ProbekitError(
                f"labels='imagenet' but {len(bad)} file name(s) do not start with a WordNet id "
                f"(first: {Path(bad[0]).name!r}; expected e.g. 'n01440764_tench.JPEG')"
            )
        index = _imagenet_index([q[0] for q in parsed], [q[1] for q in parsed], root, wnids)
        return labels, index, imagenet_class_names()
    return labels, None, None


def concept_from_scan(scan: ImageFolderScan, concept: str, name: str | None = None) -> ConceptDataset:
    """Cut one concept data set out of a :class:`ImageFolderScan`.

    Parameters
    ----------
    scan:
        The folder scan.
    concept:
        One of :data:`ALL_IMAGE_CONCEPTS`:

        ``brightness`` / ``colourfulness`` / ``saturation``
            binary: 1 when the image's statistic is strictly above the folder median,
            else 0 (``label_names = ["darker", "brighter"]`` etc.).
        ``brightness-value`` / ``colourfulness-value`` / ``saturation-value``
            continuous: the statistic itself (see :func:`pixel_statistics` for units).
        ``hue``
            multiclass dominant hue, labels index :data:`HUE_NAMES`.
        ``class``
            multiclass class index (ImageNet index, or sorted sub-folder index).
        ``animal``
            binary ImageNet animal (class 0..397) = 1 vs everything else = 0.
        ``class-lt-500``
            binary ImageNet class index < 500 = 1.
    name:
        Data-set name; default ``concept``.

    Returns
    -------
    ConceptDataset
        Inputs are the image paths (str).

    Raises
    ------
    ProbekitError
        Unknown concept (with the valid names); a label concept on a folder without
        labels; ``animal`` / ``class-lt-500`` on labels that are not ImageNet classes;
        a concept with a single class in this folder.
    """
    concept = _ALIASES.get(concept, concept)
    if concept not in ALL_IMAGE_CONCEPTS:
        raise ProbekitError(did_you_mean(str(concept), ALL_IMAGE_CONCEPTS, "image concept"))
    name = name or concept
    meta = {
        "source": scan.directory,
        "modality": "image",
        "concept": concept,
        "label_source": scan.label_source,
        "pixel_size": scan.pixel_size,
        "n_skipped": len(scan.skipped),
    }
    base = concept.removesuffix("-value")
    if base in _PIXEL_KEYS:
        values = scan.stats[_PIXEL_KEYS[base]]
        if concept.endswith("-value"):
            return ConceptDataset(scan.paths, values, "continuous", name=name, metadata=meta)
        median = float(np.median(values))
        meta["median"] = median
        lo_hi = {
            "brightness": ["darker", "brighter"],
            "colourfulness": ["less colourful", "more colourful"],
            "saturation": ["less saturated", "more saturated"],
        }[base]
        return ConceptDataset(
            scan.paths, (values > median).astype(np.int64), "binary", name=name, label_names=lo_hi, metadata=meta
        )
    if concept == "hue":
        return ConceptDataset(
            scan.paths, scan.stats["hue"], "multiclass", name=name, label_names=list(HUE_NAMES), metadata=meta
        )
    if scan.class_index is None:
        raise ProbekitError(
            f"concept {concept!r} needs class labels, but {scan.directory!r} has none (no sub-folders, "
            "no ImageNet-style file names); pixel concepts work: brightness, colourfulness, saturation, hue"
        )
    if concept == "class":
        return ConceptDataset(
            scan.paths, scan.class_index, "multiclass", name=name, label_names=list(scan.class_names or []), metadata=meta
        )
    if not scan.is_imagenet:
        raise ProbekitError(
            f"concept {concept!r} needs ImageNet class labels (file names like n01440764_tench.JPEG or "
            f"WordNet-id sub-folders); {scan.directory!r} has sub-folder classes {scan.class_names[:5]}"
        )
    if concept == "animal":
        meta["rule"] = f"class index <= {LAST_ANIMAL_INDEX}"
        labels = (scan.class_index <= LAST_ANIMAL_INDEX).astype(np.int64)
        return ConceptDataset(scan.paths, labels, "binary", name=name, label_names=["artefact", "animal"], metadata=meta)
    meta["rule"] = "class index < 500"
    labels = (scan.class_index < 500).astype(np.int64)
    return ConceptDataset(scan.paths, labels, "binary", name=name, label_names=["class>=500", "class<500"], metadata=meta)


def image_folder(
    directory: str | os.PathLike,
    concept: str = "class",
    *,
    labels: str = "auto",
    wnids=None,
    pixel_size: int = 64,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    name: str | None = None,
) -> ConceptDataset:
    """One concept data set from a folder of images.

    Parameters
    ----------
    directory:
        Folder of images (flat, or one sub-folder per class).
    concept:
        Concept name, one of :data:`ALL_IMAGE_CONCEPTS` (see :func:`concept_from_scan`):
        ``brightness``, ``colourfulness``, ``saturation``, ``hue``, ``class``,
        ``animal``, ``class-lt-500``, or a continuous ``*-value`` variant.
    labels, wnids, pixel_size, limit, seed, progress:
        See :func:`scan_image_folder`.
    name:
        Data-set name; default ``concept``.

    Returns
    -------
    ConceptDataset
        ``inputs``: image paths (str); ``labels``: ``(n_samples,)`` int64 or float64;
        ``metadata`` records the folder, concept, label source and skipped-file count.

    Raises
    ------
    ProbekitError
        Unknown concept (checked before any file is read), plus everything
        :func:`scan_image_folder` and :func:`concept_from_scan` raise.

    Warns
    -----
    UserWarning
        Unreadable files were skipped (count in the message and in
        ``metadata["n_skipped"]``).

    Examples
    --------
    >>> ds = image_folder("../shared/data/imagenet-sample", "animal")  # doctest: +SKIP
    >>> ds.task, len(ds)  # doctest: +SKIP
    ('binary', 1000)
    """
    key = _ALIASES.get(concept, concept)
    if key not in ALL_IMAGE_CONCEPTS:
        raise ProbekitError(did_you_mean(str(concept), ALL_IMAGE_CONCEPTS, "image concept"))
    scan = scan_image_folder(
        directory, labels=labels, wnids=wnids, pixel_size=pixel_size, limit=limit, seed=seed, progress=progress
    )
    return concept_from_scan(scan, key, name=name)


def image_folder_concepts(
    directory: str | os.PathLike,
    concepts: list[str] | tuple[str, ...] = IMAGE_CONCEPTS,
    **kwargs,
) -> dict[str, ConceptDataset]:
    """Several concept data sets from one scan of a folder (images are read once).

    Parameters
    ----------
    directory:
        Folder of images.
    concepts:
        Concept names (see :func:`image_folder`). Default: every classification concept.
    **kwargs:
        Passed to :func:`scan_image_folder`.

    Returns
    -------
    dict
        Concept name -> :class:`ConceptDataset`, all with the same inputs.

    Raises
    ------
    ProbekitError
        As :func:`image_folder`, for any of the concepts.
    """
    keys = [_ALIASES.get(c, c) for c in concepts]
    for c, k in zip(concepts, keys):
        if k not in ALL_IMAGE_CONCEPTS:
            raise ProbekitError(did_you_mean(str(c), ALL_IMAGE_CONCEPTS, "image concept"))
    scan = scan_image_folder(directory, **kwargs)
    return {c: concept_from_scan(scan, k) for c, k in zip(concepts, keys)}
