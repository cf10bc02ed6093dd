"""dSprites encoders (Reizinger et al. 2025, Table 4) and their feature extraction."""

import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.models.dsprites import DSPRITES_ENCODERS, dsprites_encoder, encoder_features


@pytest.mark.parametrize("name, width", [("pixels", 4096), ("mlp", 512), ("cnn", 512)])
def test_encoders_map_images_to_their_width(name, width):
    enc, dim = dsprites_encoder(name, seed=0)
    assert dim == width
    x = torch.randint(0, 2, (5, 1, 64, 64), dtype=torch.uint8)
    f = encoder_features(enc, x, batch_size=2, device="cpu")
    assert f.shape == (5, width) and f.dtype == np.float64
    if name == "pixels":  # identity on the flattened image
        np.testing.assert_array_equal(f, x.reshape(5, -1).double().numpy())


def test_same_seed_same_weights_and_unknown_name_is_loud():
    a, _ = dsprites_encoder("mlp", seed=3)
    b, _ = dsprites_encoder("mlp", seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ProbekitError, match="pixels, mlp, cnn"):
        dsprites_encoder("vit", seed=0)
    assert DSPRITES_ENCODERS == ("pixels", "mlp", "cnn")
