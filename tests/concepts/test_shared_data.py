"""One place finds the shared real data: $PROBEKIT_SHARED_DATA, else ../shared/data."""

import pytest

from probekit.concepts import default_imagenet_sample_dir, default_shared_data_dir, shared_data_path
from probekit.errors import ProbekitError
from probekit.evaluation.truthfulqa import default_truthfulqa_path


def test_the_variable_names_the_folder(tmp_path, monkeypatch):
    (tmp_path / "truthfulqa").mkdir()
    (tmp_path / "truthfulqa" / "TruthfulQA.csv").write_text("Type,Question\n")
    (tmp_path / "imagenet-sample").mkdir()
    monkeypatch.setenv("PROBEKIT_SHARED_DATA", str(tmp_path))
    assert default_shared_data_dir() == tmp_path
    assert default_truthfulqa_path() == tmp_path / "truthfulqa" / "TruthfulQA.csv"
    assert default_imagenet_sample_dir() == tmp_path / "imagenet-sample"


def test_a_missing_file_names_the_path_and_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("PROBEKIT_SHARED_DATA", str(tmp_path / "nowhere"))
    assert default_shared_data_dir() is None
    assert default_imagenet_sample_dir() is None
    with pytest.raises(ProbekitError, match=r"nowhere.*truthfulqa.*PROBEKIT_SHARED_DATA"):
        default_truthfulqa_path()
    with pytest.raises(ProbekitError, match="image folder"):
        shared_data_path("imagenet-sample", what="image folder")
