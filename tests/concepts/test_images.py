"""Image concept data sets: ImageNet names, pixel concepts, skipping unreadable files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from probekit.concepts.images import (
    HUE_NAMES,
    image_folder,
    image_folder_concepts,
    pixel_statistics,
    scan_image_folder,
)
from probekit.concepts.imagenet import (
    LAST_ANIMAL_INDEX,
    imagenet_class_names,
    imagenet_wnids,
    is_animal_class,
    parse_imagenet_name,
)
from probekit.errors import ProbekitError


def _grey(value: int, size: int = 20) -> Image.Image:
    return Image.new("RGB", (size, size), (value, value, value))


@pytest.fixture
def grey_folder(tmp_path):
    """Eight uniform grey images of known brightness, plus a corrupt file and a text file."""
    folder = tmp_path / "greys"
    folder.mkdir()
    for i, v in enumerate([10, 40, 70, 100, 150, 180, 210, 240]):
        _grey(v).save(folder / f"img{i}_{v}.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_parse_imagenet_names():
    assert parse_imagenet_name("n01440764_tench.JPEG") == ("n01440764", "tench")
    assert parse_imagenet_name("/a/b/n01484850_great_white_shark.JPEG") == ("n01484850", "great white shark")
    assert parse_imagenet_name("n01440764") == ("n01440764", "")
    assert parse_imagenet_name("cat.jpg") is None
    names = imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[1] == "goldfish"
    assert is_animal_class(LAST_ANIMAL_INDEX) and not is_animal_class(LAST_ANIMAL_INDEX + 1)
    with pytest.raises(ProbekitError, match="outside 0..999"):
        is_animal_class(1000)


def test_wnid_order_from_a_folder(tmp_path):
    folder = tmp_path / "allclasses"
    folder.mkdir()
    ids = [f"n{10000000 + 7 * i:08d}" for i in range(1000)]
    for w in ids[::-1]:
        (folder / f"{w}_x.JPEG").write_bytes(b"")
    assert imagenet_wnids(folder) == sorted(ids)
    (folder / ids[0].replace("n", "x")).write_bytes(b"")
    small = tmp_path / "few"
    small.mkdir()
    (small / "n01440764_tench.JPEG").write_bytes(b"")
    with pytest.raises(ProbekitError, match="names 1 distinct ImageNet WordNet ids"):
        imagenet_wnids(small)


def test_pixel_statistics_of_known_images():
    grey = pixel_statistics(_grey(128))
    assert grey["brightness"] == pytest.approx(128 / 255, abs=1e-6)
    assert grey["colourfulness"] == pytest.approx(0.0, abs=1e-9)
    assert HUE_NAMES[grey["hue"]] == "achromatic"
    red = pixel_statistics(Image.new("RGB", (8, 8), (255, 0, 0)))
    assert red["brightness"] == pytest.approx(0.299, abs=1e-3)
    # Uniform red: no spread, mean rg = 255, yb = 127.5 -> 0.3 * sqrt(255^2 + 127.5^2).
    assert red["colourfulness"] == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-6)
    assert HUE_NAMES[red["hue"]] == "red" and red["saturation"] == pytest.approx(1.0)
    blue = pixel_statistics(Image.new("RGB", (8, 8), (0, 0, 255)))
    assert HUE_NAMES[blue["hue"]] == "blue"
    half = np.zeros((8, 8, 3), np.uint8)
    half[:, :4] = (0, 255, 0)
    assert HUE_NAMES[pixel_statistics(half)["hue"]] == "green"


def test_brightness_concepts_skip_unreadable_files(grey_folder):
    with pytest.warns(UserWarning, match="skipped 2 unreadable or non-image file"):
        ds = image_folder(grey_folder, "brightness-value")
    assert ds.task == "continuous" and len(ds) == 8
    expected = [10, 40, 70, 100, 150, 180, 210, 240]
    by_name = {p.split("_")[-1].split(".")[0]: y for p, y in zip(ds.inputs, ds.labels)}
    for v in expected:
        assert by_name[str(v)] == pytest.approx(v / 255, abs=2e-3)
    assert ds.metadata["n_skipped"] == 2
    with pytest.warns(UserWarning):
        binary = image_folder(grey_folder, "brightness")
    assert binary.task == "binary"
    bright = {p.split("_")[-1].split(".")[0]: y for p, y in zip(binary.inputs, binary.labels)}
    assert [bright[str(v)] for v in expected] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert binary.label_names == ["darker", "brighter"]


def test_error_when_nothing_is_readable(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"nope")
    (folder / "b.png").write_bytes(b"")
    with pytest.raises(ProbekitError, match="no readable image.*2 file"):
        image_folder(folder, "brightness")


def test_unknown_concept_and_labels_needed(grey_folder):
    with pytest.raises(ProbekitError, match="unknown image concept 'brigthness'.*'brightness'"):
        image_folder(grey_folder, "brigthness")
    with pytest.warns(UserWarning), pytest.raises(ProbekitError, match="needs class labels"):
        image_folder(grey_folder, "animal")


def test_subfolder_classes(tmp_path):
    root = tmp_path / "classes"
    for cls, value in [("cats", 30), ("dogs", 220)]:
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (20, 20), (value, value, value - 10 * i)).save(root / cls / f"{i}.png")
    sets = image_folder_concepts(root, ["class", "brightness", "colorfulness-value"])
    assert sets["class"].label_names == ["cats", "dogs"]
    assert sets["class"].labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert sets["brightness"].labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert sets["class"].inputs == sets["brightness"].inputs
    with pytest.raises(ProbekitError, match="needs ImageNet class labels"):
        image_folder(root, "animal")


@pytest.mark.parametrize("order_from", ["names", "wnid-list"])
def test_imagenet_file_names_give_class_concepts(tmp_path, monkeypatch, order_from):
    """A few ImageNet-style names: class order from a given WordNet-id list, or by matching names."""
    import probekit.concepts.images as images_mod

    monkeypatch.setattr(images_mod, "default_imagenet_sample_dir", lambda: None)
    wnids = None
    if order_from == "wnid-list":  # 1000 ids whose sorted order puts the real ones at their true index
        wnids = (["n01440764", "n01443537"] + [f"n0200{i:04d}" for i in range(2, 398)] + ["n02666196"]
                 + [f"n0300{i:04d}" for i in range(399, 909)] + ["n04596742"] + [f"n0500{i:04d}" for i in range(910, 1000)])
        wnids = wnids[::-1]  # any order: the reference is sorted
    folder = tmp_path / "inet"
    folder.mkdir()
    files = {"n01440764_tench": 0, "n01443537_goldfish": 1, "n04596742_wok": 909, "n02666196_abacus": 398}
    for i, stem in enumerate(files):
        _grey(40 * i + 20).save(folder / f"{stem}.JPEG", format="JPEG")
    scan = scan_image_folder(folder, wnids=wnids)
    assert scan.label_source == "imagenet"
    by_stem = dict(zip([p.rsplit("/", 1)[-1].split(".")[0] for p in scan.paths], scan.class_index.tolist()))
    assert by_stem == files
    animal = image_folder(folder, "animal", wnids=wnids)
    assert dict(zip([p.rsplit("/", 1)[-1].split(".")[0] for p in animal.inputs], animal.labels.tolist())) == {
        "n01440764_tench": 1, "n01443537_goldfish": 1, "n04596742_wok": 0, "n02666196_abacus": 0}
    lt = image_folder(folder, "class-lt-500", wnids=wnids)
    assert sorted(lt.labels.tolist()) == [0, 1, 1, 1]
    cls = image_folder(folder, "class", wnids=wnids)
    assert cls.task == "multiclass" and len(cls.label_names) == 1000 and cls.label_names[909] == "wok"
