"""pool_spatial: conv maps, token sequences, errors."""

from __future__ import annotations

import pytest
import torch

from probekit.errors import ProbekitError
from probekit.extract.pooling import POOLING_METHODS, pool_spatial


@pytest.fixture
def conv_map():
    torch.manual_seed(0)
    return torch.randn(4, 8, 5, 6)


def test_mean_and_max_over_height_width(conv_map):
    mean = pool_spatial(conv_map, "mean")
    mx = pool_spatial(conv_map, "max")
    assert mean.shape == (4, 8) and mx.shape == (4, 8)
    assert torch.allclose(mean[1, 3], conv_map[1, 3].mean())
    assert torch.equal(mx[2, 5], conv_map[2, 5].max())


def test_flatten_keeps_every_position_channel_major(conv_map):
    flat = pool_spatial(conv_map, "flatten")
    assert flat.shape == (4, 8 * 5 * 6)
    assert torch.equal(flat[3, 30:60], conv_map[3, 1].reshape(-1))


def test_token_sequences_cls_and_mean():
    torch.manual_seed(1)
    tokens = torch.randn(3, 7, 16)
    cls = pool_spatial(tokens, "cls")
    assert cls.shape == (3, 16) and torch.equal(cls, tokens[:, 0, :])
    assert torch.allclose(pool_spatial(tokens, "mean"), tokens.mean(dim=1))
    assert torch.equal(pool_spatial(tokens, "max"), tokens.amax(dim=1))


def test_none_and_2d_passthrough(conv_map):
    assert pool_spatial(conv_map, "none") is conv_map
    vec = torch.randn(4, 10)
    assert torch.equal(pool_spatial(vec, "mean"), vec)
    assert set(POOLING_METHODS) == {"mean", "max", "flatten", "cls", "none"}


def test_unknown_method_lists_valid_names(conv_map):
    with pytest.raises(ProbekitError, match="unknown pooling method 'avg'.*'max'|unknown pooling method 'avg'"):
        pool_spatial(conv_map, "avg")
    with pytest.raises(ProbekitError, match="'mean'"):
        pool_spatial(conv_map, "meen")


def test_incompatible_shapes(conv_map):
    with pytest.raises(ProbekitError, match="'cls' needs a token sequence"):
        pool_spatial(conv_map, "cls")
    with pytest.raises(ProbekitError, match=r"shape \(5,\)"):
        pool_spatial(torch.zeros(5), "mean")
    with pytest.raises(ProbekitError, match="no tokens"):
        pool_spatial(torch.zeros(2, 0, 4), "mean")
    with pytest.raises(ProbekitError, match="torch.Tensor"):
        pool_spatial([[1.0, 2.0]], "mean")
