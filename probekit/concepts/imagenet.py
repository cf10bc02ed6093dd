"""ImageNet-1k facts available offline: class names, WordNet-id order, label-derived concepts.

* Class names come from torchvision's weights metadata (shipped inside the torchvision
  package: no download).
* The class index of a WordNet id (``n01440764``) is its position in the sorted list of
  the 1000 ImageNet-1k WordNet ids (the standard ``ILSVRC2012`` order). probekit does
  not ship that list: it is read from the file (or sub-folder) names of a folder holding
  one ImageNet-style file per class, e.g. the shared ``imagenet-sample`` folder
  (``n01440764_tench.JPEG``).
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from probekit.concepts.shared import default_shared_data_dir
from probekit.errors import ProbekitError

#: Number of ImageNet-1k classes.
IMAGENET_NUM_CLASSES = 1000
#: Class indices ``0 .. LAST_ANIMAL_INDEX`` are animals (WordNet ``animal`` subtree);
#: ``398 .. 999`` are artefacts, food, plants, scenes and objects.
LAST_ANIMAL_INDEX = 397

_WNID_NAME = re.compile(r"^(n\d{8})(?:[_\-. ](.*))?$")


@functools.lru_cache(maxsize=1)
def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names, index = class index.

    Read from torchvision's weights metadata (``ResNet50_Weights.IMAGENET1K_V1.meta``),
    which ships with the package; nothing is downloaded.

    Returns
    -------
    list of str
        1000 short names (``"tench"``, ``"goldfish"``, ...). A few names repeat
        (``"crane"`` is both index 134, the bird, and 517, the machine).

    Raises
    ------
    ProbekitError
        torchvision cannot be imported.
    """
    try:
        from torchvision.models import ResNet50_Weights
    except Exception as exc:  # pragma: no cover - torchvision is a dependency
        raise ProbekitError(f"ImageNet class names need torchvision, which failed to import: {exc}") from exc
    names = list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])
    if len(names) != IMAGENET_NUM_CLASSES:  # pragma: no cover - defensive
        raise ProbekitError(f"torchvision lists {len(names)} ImageNet categories, expected 1000")
    return names


def parse_imagenet_name(name: str | os.PathLike) -> tuple[str, str] | None:
    """Split an ImageNet-style file or folder name into WordNet id and readable name.

    Parameters
    ----------
    name:
        A file name or path such as ``n01440764_tench.JPEG``, ``n01440764_10026.JPEG``
        or a folder name ``n01440764``.

    Returns
    -------
    (wnid, label) or None
        ``("n01440764", "tench")``; ``label`` is the rest of the stem with underscores
        as spaces (``""`` when there is none, a number for training-set file names).
        ``None`` when the name does not start with a WordNet id ``n`` + 8 digits.
    """
    stem = Path(name).name
    if "." in stem:
        stem = stem.rsplit(".", 1)[0]
    match = _WNID_NAME.match(stem)
    if match is None:
        return None
    return match.group(1), (match.group(2) or "").replace("_", " ").strip()


def default_imagenet_sample_dir() -> Path | None:
    """``<shared data>/imagenet-sample`` when it exists (see :func:`default_shared_data_dir`)."""
    root = default_shared_data_dir()
    if root is None:
        return None
    folder = root / "imagenet-sample"
    return folder if folder.is_dir() else None


def wnids_in_directory(directory: str | os.PathLike) -> list[str]:
    """Sorted unique WordNet ids named by the entries of ``directory`` (files or sub-folders).

    Parameters
    ----------
    directory : path-like
        A folder of ImageNet-style entries (``n01440764``, ``n01440764_tench.JPEG``).

    Returns
    -------
    list of str

    Raises
    ------
    ProbekitError
        ``directory`` does not exist or is not a directory.
    """
    path = Path(directory)
    if not path.is_dir():
        raise ProbekitError(f"ImageNet folder {str(path)!r} does not exist or is not a directory")
    found = set()
    for entry in path.iterdir():
        parsed = parse_imagenet_name(entry.name)
        if parsed is not None:
            found.add(parsed[0])
    return sorted(found)


@functools.lru_cache(maxsize=8)
def _wnids_cached(directory: str) -> tuple[str, ...]:
    return tuple(wnids_in_directory(directory))


def imagenet_wnids(directory: str | os.PathLike | None = None) -> list[str]:
    """The 1000 ImageNet-1k WordNet ids in class-index order.

    Sorting the 1000 WordNet ids gives class indices ``0 .. 999`` (the order every
    ImageNet-1k classifier uses). The ids are read from the names of the entries of a
    folder that holds every class (one file per class such as the shared
    ``imagenet-sample`` folder, or the ImageNet ``train/`` folder with one sub-folder
    per class).

    Parameters
    ----------
    directory:
        That folder. ``None``: the shared ``imagenet-sample`` folder found by
        :func:`default_imagenet_sample_dir`.

    Returns
    -------
    list of str
        1000 WordNet ids, sorted; position = class index.

    Raises
    ------
    ProbekitError
        No folder given and none found, or the folder does not name exactly 1000
        distinct WordNet ids.
    """
    if directory is None:
        directory = default_imagenet_sample_dir()
        if directory is None:
            raise ProbekitError(
                "no folder with the 1000 ImageNet WordNet ids was given and none was found; pass "
                "a folder with one ImageNet-style file per class (n01440764_tench.JPEG, ...) or set "
                "PROBEKIT_SHARED_DATA to the folder that holds imagenet-sample/"
            )
    wnids = list(_wnids_cached(str(Path(directory).resolve())))
    if len(wnids) != IMAGENET_NUM_CLASSES:
        raise ProbekitError(
            f"folder {str(directory)!r} names {len(wnids)} distinct ImageNet WordNet ids; the class "
            "order needs all 1000 (one file or sub-folder per class)"
        )
    return wnids


def is_animal_class(index: int) -> bool:
    """Whether ImageNet-1k class ``index`` is an animal (``0 <= index <= 397``).

    Parameters
    ----------
    index : int
        Class index in the ImageNet-1k order.

    Returns
    -------
    bool

    Raises
    ------
    ProbekitError
        ``index`` outside ``0 .. 999``.
    """
    index = int(index)
    if not 0 <= index < IMAGENET_NUM_CLASSES:
        raise ProbekitError(f"ImageNet class index {index} is outside 0..999")
    return index <= LAST_ANIMAL_INDEX
