"""Procedural dSprites: exact grid, labels, geometry of the rendered shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.synthetic.dsprites import (
    DSPRITES_N,
    DSprites,
    index_from_classes,
    latents_classes,
    latents_values,
    load_dsprites_npz,
    render_dsprites,
)


def idx(shape=0, scale=5, orient=0, x=16, y=16):
    return int(index_from_classes(np.array([[0, shape, scale, orient, x, y]]))[0])


def centroid(img):
    rows, cols = np.nonzero(img)
    return cols.mean(), rows.mean()


def test_grid_size_and_label_arrays_match_the_original_layout():
    assert DSPRITES_N == 737_280
    classes = latents_classes()
    values = latents_values()
    assert classes.shape == (737_280, 6) and values.shape == (737_280, 6)
    # posY varies fastest, shape slowest (C order over sizes 1, 3, 6, 40, 32, 32).
    assert classes[1].tolist() == [0, 0, 0, 0, 0, 1]
    assert classes[32].tolist() == [0, 0, 0, 0, 1, 0]
    assert classes[-1].tolist() == [0, 2, 5, 39, 31, 31]
    assert np.array_equal(np.unique(values[:, 1]), [1.0, 2.0, 3.0])
    assert np.allclose(np.unique(values[:, 2]), np.linspace(0.5, 1, 6))
    assert np.allclose(np.unique(values[:, 3]), np.linspace(0, 2 * np.pi, 40))
    assert np.allclose(np.unique(values[:, 4]), np.linspace(0, 1, 32))
    rng = np.random.default_rng(0)
    some = rng.integers(0, DSPRITES_N, 100)
    assert np.array_equal(index_from_classes(latents_classes(some)), some)


def test_images_are_binary_64x64_and_inside_the_frame():
    rng = np.random.default_rng(1)
    imgs = render_dsprites(rng.integers(0, DSPRITES_N, 64))
    assert imgs.shape == (64, 64, 64) and imgs.dtype == np.uint8
    assert set(np.unique(imgs)) <= {0, 1}
    assert (imgs.sum(axis=(1, 2)) > 0).all()
    # Extreme positions at the largest scale, rotated 45 degrees: nothing touches the border.
    corners = [idx(s, 5, 5, x, y) for s in range(3) for x in (0, 31) for y in (0, 31)]
    border = render_dsprites(corners)
    assert border[:, 0, :].sum() == 0 and border[:, -1, :].sum() == 0
    assert border[:, :, 0].sum() == 0 and border[:, :, -1].sum() == 0


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_area_scales_with_scale_squared(shape):
    areas = render_dsprites([idx(shape, s) for s in range(6)]).sum(axis=(1, 2)).astype(float)
    scales = np.linspace(0.5, 1, 6)
    ratio = areas / areas[-1]
    assert np.allclose(ratio, scales**2, rtol=0.12), (ratio, scales**2)
    assert np.all(np.diff(areas) > 0)


def test_centroid_moves_with_position():
    img_x0, img_x1 = render_dsprites([idx(0, 3, 0, 0, 10), idx(0, 3, 0, 31, 10)])
    (cx0, cy0), (cx1, cy1) = centroid(img_x0), centroid(img_x1)
    assert cx1 - cx0 == pytest.approx(32, abs=1.0)  # posX 0 -> 1 moves 32 px right
    assert cy1 == pytest.approx(cy0, abs=0.5)
    img_y0, img_y1 = render_dsprites([idx(1, 3, 0, 10, 0), idx(1, 3, 0, 10, 31)])
    (cx0, cy0), (cx1, cy1) = centroid(img_y0), centroid(img_y1)
    assert cy1 - cy0 == pytest.approx(32, abs=1.0)  # posY 0 -> 1 moves 32 px down
    assert cx1 == pytest.approx(cx0, abs=0.5)


@pytest.mark.parametrize("shape", [0, 1, 2])
def test_rotation_keeps_area_and_changes_pixels(shape):
    imgs = render_dsprites([idx(shape, 5, o) for o in range(0, 40, 3)])
    areas = imgs.sum(axis=(1, 2)).astype(float)
    assert areas.max() / areas.min() < 1.08
    if shape != 0:  # the ellipse and heart look different after a 1/13-turn
        assert (imgs[0] != imgs[1]).sum() > 10
    else:  # a square rotated by 27.7 degrees differs from the unrotated one
        assert (imgs[0] != imgs[1]).sum() > 10


def test_torch_dataset_items_and_batches():
    ds = DSprites(np.arange(100, 110), target="shape")
    assert len(ds) == 10
    image, target = ds[0]
    assert image.shape == (1, 64, 64) and image.dtype == torch.float32
    assert target.dtype == torch.int64 and int(target) == int(latents_classes([100])[0, 1])
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    images, targets = next(iter(loader))
    assert images.shape == (4, 1, 64, 64) and targets.shape == (4,)
    assert torch.equal(images[0], image)
    values = DSprites([5], target="values")[0][1]
    assert torch.allclose(values, torch.tensor(latents_values([5])[0], dtype=torch.float32))
    assert DSprites().latents_classes.shape == (DSPRITES_N, 6) and len(DSprites()) == DSPRITES_N


def test_errors():
    with pytest.raises(ProbekitError, match="outside 0..737279"):
        render_dsprites([DSPRITES_N])
    with pytest.raises(ProbekitError, match="dSprites target"):
        DSprites(target="colour")
    with pytest.raises(ProbekitError, match="does not exist"):
        load_dsprites_npz("/nonexistent/dsprites.npz")


def test_load_npz_checks_arrays(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, imgs=np.zeros((2, 64, 64), np.uint8))
    with pytest.raises(ProbekitError, match="lacks array"):
        load_dsprites_npz(bad)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, imgs=np.zeros((2, 64, 64), np.uint8), latents_classes=np.zeros((2, 6)), latents_values=np.zeros((2, 6)))
    with pytest.raises(ProbekitError, match="expected \\(737280, 6\\)"):
        load_dsprites_npz(wrong)


def test_dsprites_sample_splits_a_seeded_subsample():
    from probekit.synthetic.dsprites import dsprites_sample, latents_classes, random_indices, render_dsprites

    images, classes, parts = dsprites_sample(50, seed=3)
    assert images.shape == (50, 1, 64, 64) and images.dtype == torch.uint8
    assert {k: len(v) for k, v in parts.items()} == {"val": 5, "test": 5, "train": 40}
    assert sorted(np.concatenate(list(parts.values())).tolist()) == list(range(50))
    idx = random_indices(50, seed=3)
    np.testing.assert_array_equal(classes, latents_classes(idx))
    np.testing.assert_array_equal(images[:, 0].numpy(), render_dsprites(idx))
