"""The polynomial extrapolation task (Zhang, Chen & Chen 2025, Sec. 5)."""

import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.synthetic.extrapolation import (
    ExtrapolationConfig,
    PolynomialFeatureModel,
    make_polynomial,
    run_extrapolation,
)


def test_polynomial_model_represents_the_generator_exactly():
    f = make_polynomial(2, 3, seed=0)
    model = PolynomialFeatureModel(2, 3)
    assert model.exps.shape == (10, 2)
    u = torch.rand(50, 2) * 4 - 2
    feats = torch.prod(u[:, None, :] ** model.exps[None], dim=2).double()
    coef, *_ = np.linalg.lstsq(feats.numpy(), f(u.double().numpy()), rcond=None)
    np.testing.assert_allclose(feats.numpy() @ coef, f(u.double().numpy()), atol=1e-6)


def test_extrapolation_basis_matched_model_wins_ood():
    rows = run_extrapolation(ExtrapolationConfig(n_train=256, n_test=512, steps=300, hidden=32, depth=2,
                                                 d_model=16, n_layers=1, models=("mlp", "polynomial")))
    by = {r["model"]: r for r in rows}
    assert set(by) == {"mlp", "polynomial"}
    assert by["polynomial"]["ood_mse"] * 10 < by["mlp"]["ood_mse"]
    assert by["mlp"]["id_mse"] < by["mlp"]["ood_mse"]


def test_bad_extrapolation_config_raises():
    with pytest.raises(ProbekitError, match="closest"):
        ExtrapolationConfig(models=("mlp", "cubic"))
    with pytest.raises(ProbekitError, match="steps"):
        ExtrapolationConfig(steps=0)
