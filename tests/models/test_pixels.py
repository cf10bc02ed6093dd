"""The pixel-projection baseline: 1280-d, the P2 recipe's matrix."""

import numpy as np
import torch

from probekit.extract.penultimate import penultimate_module
from probekit.models.pixels import DEFAULT_DIM, PixelProjection


def test_default_width_is_efficientnet_lite0s_and_matrix_is_the_documented_draw():
    proj = PixelProjection(side=8, seed=7)
    assert DEFAULT_DIM == 1280 and proj.projection.out_features == 1280
    n_in = 3 * 8 * 8
    matrix = torch.randn(n_in, 1280, generator=torch.Generator().manual_seed(7)) / np.sqrt(n_in)
    x = torch.rand(2, 3, 32, 32)
    small = torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1)
    torch.testing.assert_close(proj(x), small @ matrix, rtol=1e-5, atol=1e-5)
    assert not any(p.requires_grad for p in proj.parameters())
    assert penultimate_module(proj) == "projection"
