import json

import pytest

from probekit.errors import ProbekitError
from probekit.train.settings_guard import guard_settings


def test_first_start_records_the_settings_and_a_resume_with_the_same_ones_passes(tmp_path):
    folder = tmp_path / "ckpt"
    assert guard_settings(folder, {"lr": 1e-3, "d": (10, 25)}) is False  # written now
    assert json.loads((folder / "settings.json").read_text()) == {"lr": 1e-3, "d": [10, 25]}
    assert not (folder / "settings.json.tmp").exists()
    assert guard_settings(folder, {"lr": 1e-3, "d": [10, 25]}) is True  # tuple and list are the same setting


def test_other_settings_are_refused_naming_every_changed_key(tmp_path):
    guard_settings(tmp_path, {"lr": 1e-3, "steps": 400000, "seed": 0})
    with pytest.raises(ProbekitError) as exc:
        guard_settings(tmp_path, {"lr": 1e-2, "steps": 400000, "n_train": 200}, hint="use another --out")
    msg = str(exc.value)
    assert "lr=0.001 there, 0.01 now" in msg and "n_train=None there, 200 now" in msg
    assert "seed=0 there, None now" in msg and "steps" not in msg and msg.endswith("use another --out")
    # the recorded settings are unchanged by the refused start
    assert json.loads((tmp_path / "settings.json").read_text())["lr"] == 1e-3


def test_settings_that_are_not_json_are_an_error(tmp_path):
    with pytest.raises(ProbekitError, match="not JSON-serialisable"):
        guard_settings(tmp_path, {"device": object()})
    assert not (tmp_path / "settings.json").exists()
