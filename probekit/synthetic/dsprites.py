"""dSprites: the exact factor grid, rendered on demand, and a loader for the real file.

The original data set (Matthey et al. 2017) holds one 64 x 64 binary image for every
combination of six factors, 737,280 images in all::

    color        1 value   (white)
    shape        3 values  (square, ellipse, heart), stored as 1.0, 2.0, 3.0
    scale        6 values  linspace(0.5, 1, 6)
    orientation  40 values linspace(0, 2 pi, 40)   (radians; 0 and 2 pi both appear)
    posX         32 values linspace(0, 1, 32)
    posY         32 values linspace(0, 1, 32)

Image ``i`` has the factor classes of the C-order (row-major) unravelling of ``i`` over
the sizes ``(1, 3, 6, 40, 32, 32)`` -- ``posY`` varies fastest -- exactly as the
``latents_classes`` array of the original ``.npz``.

The original file is not always at hand; :func:`render_dsprites` draws the same factor
grid procedurally (same factors, same index order, same label arrays; the shapes are
drawn by probekit, so pixels are not byte-identical to the original file). Nothing is
materialised up front: images are drawn when indexed. :func:`load_dsprites_npz` reads
the real file when a user has it.

Geometry of the renderer (pixel units, x to the right, y downwards, pixel centres at
``i + 0.5``): the shape's centre is at ``(16 + 32 posX, 16 + 32 posY)``; at scale 1 a
square has side 20 px, the ellipse semi-axes 10 and 5 px, the heart a 20 x 20 px
bounding box; scale multiplies every length; orientation rotates the shape
counter-clockwise on screen about its centre. Every shape stays inside the frame at
every grid point.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from probekit.errors import ProbekitError, did_you_mean

#: Factor names, in the column order of ``latents_values`` / ``latents_classes``.
DSPRITES_FACTORS = ("color", "shape", "scale", "orientation", "posX", "posY")
#: Number of values of each factor.
DSPRITES_SIZES = (1, 3, 6, 40, 32, 32)
#: Total number of images (product of :data:`DSPRITES_SIZES`).
DSPRITES_N = int(np.prod(DSPRITES_SIZES))
#: Shape names, index = shape class.
SHAPE_NAMES = ("square", "ellipse", "heart")
#: Image side in pixels.
IMAGE_SIZE = 64

_HALF_SIZE = 10.0  # half side of the shape bounding box at scale 1, pixels
_POS_MIN, _POS_SPAN = 16.0, 32.0  # centre = _POS_MIN + _POS_SPAN * pos
_STRIDES = np.array([int(np.prod(DSPRITES_SIZES[i + 1 :])) for i in range(6)], dtype=np.int64)


def factor_values() -> dict[str, np.ndarray]:
    """The values each factor takes, as in the original file.

    Returns
    -------
    dict
        Factor name -> float64 array of its values (``shape`` is ``[1., 2., 3.]``,
        ``orientation`` in radians).
    """
    return {
        "color": np.array([1.0]),
        "shape": np.array([1.0, 2.0, 3.0]),
        "scale": np.linspace(0.5, 1.0, 6),
        "orientation": np.linspace(0.0, 2 * np.pi, 40),
        "posX": np.linspace(0.0, 1.0, 32),
        "posY": np.linspace(0.0, 1.0, 32),
    }


def _as_indices(indices) -> np.ndarray:
    if indices is None:
        return np.arange(DSPRITES_N, dtype=np.int64)
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise ProbekitError(f"dSprites indices must be integers, got dtype {idx.dtype}")
    idx = idx.astype(np.int64).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= DSPRITES_N):
        bad = idx[(idx < 0) | (idx >= DSPRITES_N)][0]
        raise ProbekitError(f"dSprites index {int(bad)} is outside 0..{DSPRITES_N - 1}")
    return idx


def latents_classes(indices=None) -> np.ndarray:
    """Factor classes of images ``indices``.

    Parameters
    ----------
    indices:
        ``(n_samples,)`` integer indices in ``0 .. 737279``; ``None`` for all
        737,280 (35 MB).

    Returns
    -------
    numpy.ndarray
        ``(n_samples, 6)`` int64, columns :data:`DSPRITES_FACTORS`.

    Raises
    ------
    ProbekitError
        Non-integer or out-of-range indices.
    """
    idx = _as_indices(indices)
    sizes = np.array(DSPRITES_SIZES, dtype=np.int64)
    return (idx[:, None] // _STRIDES[None, :]) % sizes[None, :]


def latents_values(indices=None) -> np.ndarray:
    """Factor values of images ``indices`` (see :func:`factor_values`).

    Returns
    -------
    numpy.ndarray
        ``(n_samples, 6)`` float64, columns :data:`DSPRITES_FACTORS`.

    Raises
    ------
    ProbekitError
        Non-integer or out-of-range indices.
    """
    classes = latents_classes(indices)
    values = factor_values()
    out = np.empty(classes.shape, dtype=np.float64)
    for j, name in enumerate(DSPRITES_FACTORS):
        out[:, j] = values[name][classes[:, j]]
    return out


def index_from_classes(classes) -> np.ndarray:
    """Image indices of factor-class rows (inverse of :func:`latents_classes`).

    Parameters
    ----------
    classes:
        ``(n_samples, 6)`` integer factor classes.

    Returns
    -------
    numpy.ndarray
        ``(n_samples,)`` int64 indices.

    Raises
    ------
    ProbekitError
        Wrong shape or a class outside its factor's range.
    """
    c = np.asarray(classes)
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != 6:
        raise ProbekitError(f"factor classes must have shape (n_samples, 6), got {np.asarray(classes).shape}")
    c = c.astype(np.int64)
    for j, (name, size) in enumerate(zip(DSPRITES_FACTORS, DSPRITES_SIZES)):
        if c[:, j].min() < 0 or c[:, j].max() >= size:
            raise ProbekitError(f"factor {name!r} class must be in 0..{size - 1}, got {int(c[:, j].max())}")
    return c @ _STRIDES


def _inside(shape: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Membership of normalised shape coordinates (u right, v up, bounding box [-1, 1]^2)."""
    out = np.zeros(u.shape, dtype=bool)
    sq = shape == 0
    if sq.any():
        out[sq] = (np.abs(u[sq]) <= 1.0) & (np.abs(v[sq]) <= 1.0)
    el = shape == 1
    if el.any():
        out[el] = u[el] ** 2 + (v[el] / 0.5) ** 2 <= 1.0
    he = shape == 2
    if he.any():
        # Heart curve (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0 spans x in +-1.139, y in [-1, 1.236].
        x = u[he] * 1.139
        y = v[he] * 1.118 + 0.118
        out[he] = (x**2 + y**2 - 1.0) ** 3 - x**2 * y**3 <= 0.0
    return out


def render_dsprites(indices, chunk_size: int = 2048) -> np.ndarray:
    """Draw the dSprites images of ``indices``.

    Parameters
    ----------
    indices:
        ``(n_samples,)`` integer image indices (or one int).
    chunk_size:
        Images drawn per vectorised step (memory ~ ``chunk_size * 64 * 64 * 40`` bytes).

    Returns
    -------
    numpy.ndarray
        ``(n_samples, 64, 64)`` uint8 with values 0 (background) and 1 (shape), as the
        ``imgs`` array of the original file.

    Raises
    ------
    ProbekitError
        Non-integer or out-of-range indices.
    """
    idx = _as_indices(np.atleast_1d(indices))
    out = np.empty((idx.size, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    centres = np.arange(IMAGE_SIZE, dtype=np.float64) + 0.5
    px = centres[None, None, :]
    py = centres[None, :, None]
    for start in range(0, idx.size, max(1, int(chunk_size))):
        sel = idx[start : start + chunk_size]
        vals = latents_values(sel)
        shape = (vals[:, 1].astype(np.int64) - 1)[:, None, None]
        half = (_HALF_SIZE * vals[:, 2])[:, None, None]
        theta = vals[:, 3][:, None, None]
        cx = (_POS_MIN + _POS_SPAN * vals[:, 4])[:, None, None]
        cy = (_POS_MIN + _POS_SPAN * vals[:, 5])[:, None, None]
        dx = px - cx  # right
        dy = cy - py  # up (image rows grow downwards)
        cos, sin = np.cos(theta), np.sin(theta)
        u = (cos * dx + sin * dy) / half  # rotate the pixel by -theta = shape by +theta
        v = (-sin * dx + cos * dy) / half
        shape_b = np.broadcast_to(shape, u.shape)
        out[start : start + sel.size] = _inside(shape_b, u, v)
    return out


class DSprites(Dataset):
    """dSprites as a torch ``Dataset``: images drawn on demand, or read from a loaded file.

    Parameters
    ----------
    indices:
        ``(n_samples,)`` image indices this data set exposes (``None``: all 737,280).
        Item ``k`` is image ``indices[k]``.
    target:
        What each item returns beside the image: ``"classes"`` (int64 ``(6,)``),
        ``"values"`` (float32 ``(6,)``), a factor name from :data:`DSPRITES_FACTORS`
        (int64 class of that factor, e.g. ``"shape"`` for the classification task of
        Reizinger et al.), or ``None`` (image only).
    images:
        Optional ``(737280, 64, 64)`` uint8 array of the real images (set by
        :func:`load_dsprites_npz`); ``None`` renders procedurally.

    Notes
    -----
    ``dataset[k]`` is ``(image, target)`` with ``image`` a float32 tensor
    ``(1, 64, 64)`` in ``{0, 1}``. ``__getitems__`` draws a whole batch in one vectorised
    step, which torch's ``DataLoader`` uses automatically.

    Raises
    ------
    ProbekitError
        Unknown ``target`` or bad indices.

    References
    ----------
    L. Matthey, I. Higgins, D. Hassabis, A. Lerchner, "dSprites: Disentanglement testing
    Sprites dataset", 2017 (github deepmind/dsprites-dataset). Used for Table 4 of
    P. Reizinger et al., "Cross-Entropy Is All You Need To Invert the Data Generating
    Process", ICLR 2025.
    """

    TARGETS = ("classes", "values") + DSPRITES_FACTORS

    def __init__(self, indices=None, target: str | None = "classes", images: np.ndarray | None = None):
        if target is not None and target not in self.TARGETS:
            raise ProbekitError(did_you_mean(str(target), self.TARGETS, "dSprites target"))
        self.indices = _as_indices(indices)
        self.target = target
        self.images = images
        self.source = "file" if images is not None else "procedural"

    def __len__(self) -> int:
        return int(self.indices.size)

    def _check(self, items) -> np.ndarray:
        k = np.asarray(items, dtype=np.int64).reshape(-1)
        n = len(self)
        if k.size and (k.min() < -n or k.max() >= n):
            raise IndexError(f"item {int(k.max())} out of range for a dSprites view of {n} images")
        return self.indices[k % n] if n else k

    def image_batch(self, items) -> torch.Tensor:
        """Images of items ``items`` as float32 ``(batch, 1, 64, 64)``."""
        idx = self._check(items)
        imgs = self.images[idx] if self.images is not None else render_dsprites(idx)
        return torch.from_numpy(np.ascontiguousarray(imgs, dtype=np.float32)).unsqueeze(1)

    def target_batch(self, items) -> torch.Tensor | None:
        """Targets of items ``items``: ``(batch, 6)`` or ``(batch,)`` (see ``target``)."""
        if self.target is None:
            return None
        idx = self._check(items)
        if self.target == "values":
            return torch.from_numpy(latents_values(idx).astype(np.float32))
        classes = torch.from_numpy(latents_classes(idx))
        if self.target == "classes":
            return classes
        return classes[:, DSPRITES_FACTORS.index(self.target)]

    def __getitem__(self, item: int):
        image = self.image_batch([item])[0]
        target = self.target_batch([item])
        return image if target is None else (image, target[0])

    def __getitems__(self, items: list[int]):
        images = self.image_batch(items)
        targets = self.target_batch(items)
        if targets is None:
            return list(images)
        return list(zip(images, targets))

    def subset(self, items) -> "DSprites":
        """A view of items ``items`` of this data set (same target and image source)."""
        return DSprites(self._check(items), target=self.target, images=self.images)

    @property
    def latents_classes(self) -> np.ndarray:
        """``(n_samples, 6)`` int64 factor classes of this view."""
        return latents_classes(self.indices)

    @property
    def latents_values(self) -> np.ndarray:
        """``(n_samples, 6)`` float64 factor values of this view."""
        return latents_values(self.indices)


def random_indices(n: int, seed: int = 0) -> np.ndarray:
    """``n`` distinct image indices drawn uniformly from the grid, sorted.

    Raises
    ------
    ProbekitError
        ``n`` not in ``1 .. 737280``.
    """
    if not 1 <= int(n) <= DSPRITES_N:
        raise ProbekitError(f"n must be in 1..{DSPRITES_N}, got {n}")
    return np.sort(np.random.default_rng(seed).choice(DSPRITES_N, size=int(n), replace=False))


def load_dsprites_npz(path: str | os.PathLike, target: str | None = "classes") -> DSprites:
    """Read the original ``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz``.

    Parameters
    ----------
    path:
        The ``.npz`` file. It is read without pickle (its ``metadata`` entry is ignored);
        ``imgs`` is decompressed into memory (about 3 GB as uint8).
    target:
        See :class:`DSprites`.

    Returns
    -------
    DSprites
        All 737,280 images, backed by the file's ``imgs``.

    Raises
    ------
    ProbekitError
        Missing file, missing arrays, wrong shapes, or labels that do not match the
        dSprites grid (a different file).
    """
    p = Path(path)
    if not p.is_file():
        raise ProbekitError(f"dSprites file {str(p)!r} does not exist")
    try:
        data = np.load(p, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise ProbekitError(f"cannot read {str(p)!r} as a .npz file: {exc}") from exc
    with data:
        missing = [k for k in ("imgs", "latents_classes", "latents_values") if k not in data.files]
        if missing:
            raise ProbekitError(f"{str(p)!r} lacks array(s) {missing}; it has {data.files}")
        classes = data["latents_classes"]
        values = data["latents_values"]
        if classes.shape != (DSPRITES_N, 6) or values.shape != (DSPRITES_N, 6):
            raise ProbekitError(
                f"{str(p)!r}: latents arrays have shapes {classes.shape} / {values.shape}, expected ({DSPRITES_N}, 6)"
            )
        if not np.array_equal(classes.astype(np.int64), latents_classes()):
            raise ProbekitError(f"{str(p)!r}: latents_classes are not in the dSprites grid order")
        if not np.allclose(values, latents_values(), atol=1e-6):
            raise ProbekitError(f"{str(p)!r}: latents_values do not match the dSprites factor values")
        imgs = data["imgs"]
    if imgs.shape != (DSPRITES_N, IMAGE_SIZE, IMAGE_SIZE):
        raise ProbekitError(f"{str(p)!r}: imgs has shape {imgs.shape}, expected ({DSPRITES_N}, 64, 64)")
    return DSprites(None, target=target, images=imgs)


def dsprites_sample(n: int, seed: int, npz: DSprites | None = None, val_fraction: float = 0.1,
                    test_fraction: float = 0.1) -> tuple[torch.Tensor, np.ndarray, dict[str, np.ndarray]]:
    """A random subsample of the grid with a train / val / test split.

    Parameters
    ----------
    n : int
        Images (all 737,280 when ``n`` is the grid size, else :func:`random_indices`).
    seed : int
        Seed of the subsample and of the split permutation.
    npz : DSprites, optional
        Images of the original file (:func:`load_dsprites_npz`) instead of the renderer.
    val_fraction, test_fraction : float
        ``int(fraction * n)`` rows each; the rest train.

    Returns
    -------
    (images, classes, parts)
        ``images`` uint8 tensor ``(n, 1, 64, 64)``; ``classes`` int ``(n, 6)`` factor
        classes (:func:`latents_classes`); ``parts`` ``{"val", "test", "train"}`` row indices.

    Raises
    ------
    ProbekitError
        ``n`` not in ``1 .. 737280``.
    """
    idx = random_indices(n, seed=seed) if n < DSPRITES_N else np.arange(DSPRITES_N)
    perm = np.random.default_rng(seed).permutation(n)
    n_val, n_test = int(val_fraction * n), int(test_fraction * n)
    parts = {"val": perm[:n_val], "test": perm[n_val : n_val + n_test], "train": perm[n_val + n_test :]}
    if npz is not None:
        images = torch.from_numpy(np.ascontiguousarray(npz.images[idx])).unsqueeze(1)
    else:
        images = torch.from_numpy(render_dsprites(idx)).unsqueeze(1)
    return images, latents_classes(idx), parts


__all__ = [
    "DSPRITES_FACTORS",
    "DSPRITES_N",
    "DSPRITES_SIZES",
    "DSprites",
    "dsprites_sample",
    "SHAPE_NAMES",
    "factor_values",
    "index_from_classes",
    "latents_classes",
    "latents_values",
    "load_dsprites_npz",
    "random_indices",
    "render_dsprites",
]
