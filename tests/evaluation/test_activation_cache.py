"""Computed rows kept in an activation store; reused only while the identity matches."""

import json

import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.evaluation.activation_cache import INFO_NAME, cached_rows


def _compute(calls, rows=None):
    def compute():
        calls.append(1)
        r = rows if rows is not None else np.arange(24, dtype=np.float32).reshape(6, 2, 2) / 8
        return r, [0, 0, 1, 1, 1, 2], {"mc2": [0.1234567890123, 0.5, 0.25], "labels": [1, 0, 1, 0, 0, 1]}
    return compute


def test_rows_and_info_round_trip_and_are_reused(tmp_path):
    calls = []
    rows, ex, info, cached = cached_rows(tmp_path / "c", {"model": "m"}, _compute(calls))
    assert not cached and calls == [1]
    assert rows.shape == (6, 2, 2) and rows.dtype == np.float16
    np.testing.assert_array_equal(rows, (np.arange(24).reshape(6, 2, 2) / 8).astype(np.float16))
    np.testing.assert_array_equal(ex, [0, 0, 1, 1, 1, 2])
    assert info["mc2"][0] == 0.1234567890123  # JSON keeps float64 exactly
    rows2, _, info2, cached2 = cached_rows(tmp_path / "c", {"model": "m"}, _compute(calls))
    assert cached2 and calls == [1] and info2 == info
    np.testing.assert_array_equal(rows2, rows)


def test_other_identity_refresh_or_missing_info_recompute(tmp_path):
    calls = []
    cached_rows(tmp_path / "c", {"model": "m"}, _compute(calls))
    assert not cached_rows(tmp_path / "c", {"model": "other"}, _compute(calls))[3]
    assert not cached_rows(tmp_path / "c", {"model": "other"}, _compute(calls), refresh=True)[3]
    (tmp_path / "c" / INFO_NAME).unlink()  # a run killed between the info and the store's end
    assert not cached_rows(tmp_path / "c", {"model": "other"}, _compute(calls))[3]
    assert calls == [1, 1, 1, 1]
    assert json.loads((tmp_path / "c" / INFO_NAME).read_text())["identity"] == {"model": "other"}


def test_decreasing_example_index_is_loud(tmp_path):
    def bad():
        return np.zeros((3, 2)), [1, 0, 2], {}
    with pytest.raises(ProbekitError, match="non-decreasing"):
        cached_rows(tmp_path / "c", {"k": 1}, bad)
