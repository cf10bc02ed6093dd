"""Walsh–Hadamard tools: hand-computed coefficients, ordering, degree, spectra, errors."""

import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.metrics.walsh import (
    fourier_degree,
    inverse_walsh_hadamard,
    subset_sizes,
    walsh_hadamard,
    walsh_matrix,
    walsh_summary,
    weight_spectrum,
)


def _cube(n):
    i = np.arange(2**n)
    return 1.0 - 2.0 * ((i[:, None] >> np.arange(n)) & 1)


def test_ordering_convention_row_i_is_bits_of_i_lsb_first():
    z = _cube(3)
    assert z[0].tolist() == [1, 1, 1]
    assert z[1].tolist() == [-1, 1, 1]  # bit 0 -> z_0 flipped
    assert z[6].tolist() == [1, -1, -1]
    # the coefficient of mask s is the correlation with chi_S
    f = z[:, 0] * z[:, 2]  # chi_{0,2}, mask 0b101 = 5
    coef = walsh_hadamard(f)
    assert coef[5] == pytest.approx(1.0)
    assert np.count_nonzero(np.abs(coef) > 1e-12) == 1


@pytest.mark.parametrize("mask", [1, 3, 6, 7, 12, 15])
def test_parities_have_a_single_unit_coefficient(mask):
    z = _cube(4)
    members = [j for j in range(4) if mask >> j & 1]
    f = np.prod(z[:, members], axis=1)
    coef = walsh_hadamard(f)
    expected = np.zeros(16)
    expected[mask] = 1.0
    np.testing.assert_allclose(coef, expected, atol=1e-12)
    assert fourier_degree(f) == len(members)


def test_and_matches_hand_computed_coefficients():
    # AND in ±1 convention (True = -1): f = 1/2 + z0/2 + z1/2 - z0 z1/2
    z = _cube(2)
    f = np.where((z[:, 0] < 0) & (z[:, 1] < 0), -1.0, 1.0)
    np.testing.assert_allclose(walsh_hadamard(f), [0.5, 0.5, 0.5, -0.5])
    np.testing.assert_allclose(weight_spectrum(f), [0.25, 0.5, 0.25])
    assert fourier_degree(f) == 2


def test_majority3_matches_hand_computed_coefficients():
    # Maj3 = (z0 + z1 + z2)/2 - z0 z1 z2 / 2
    z = _cube(3)
    f = np.sign(z.sum(axis=1))
    expected = np.zeros(8)
    expected[[1, 2, 4]] = 0.5
    expected[7] = -0.5
    np.testing.assert_allclose(walsh_hadamard(f), expected, atol=1e-12)
    np.testing.assert_allclose(weight_spectrum(f), [0, 0.75, 0, 0.25], atol=1e-12)
    np.testing.assert_allclose(weight_spectrum(f, normalize=True).sum(), 1.0)


def test_batch_columns_match_single_calls_and_roundtrip():
    rng = np.random.default_rng(0)
    f = rng.standard_normal((32, 5))
    coef = walsh_hadamard(f)
    for j in range(5):
        np.testing.assert_allclose(coef[:, j], walsh_hadamard(f[:, j]))
    np.testing.assert_allclose(inverse_walsh_hadamard(coef), f, atol=1e-12)
    np.testing.assert_allclose(inverse_walsh_hadamard(walsh_hadamard(f, normalized=False), normalized=False), f,
                               atol=1e-10)
    # Parseval
    np.testing.assert_allclose((coef**2).sum(0), (f**2).mean(0))
    np.testing.assert_allclose(weight_spectrum(f).sum(0), (f**2).mean(0))
    assert fourier_degree(f).shape == (5,)


def test_walsh_matrix_is_the_transform_and_orthogonal():
    h = walsh_matrix(4)
    np.testing.assert_allclose(h @ h, 16 * np.eye(16))
    np.testing.assert_allclose(walsh_hadamard(np.eye(16)), h / 16)
    assert subset_sizes(3).tolist() == [0, 1, 1, 2, 1, 2, 2, 3]


def test_degree_tolerance_zero_function_and_summary():
    z = _cube(3)
    f = np.stack([z[:, 0] + 1e-12 * z[:, 0] * z[:, 1] * z[:, 2], np.zeros(8), np.full(8, 2.0)], axis=1)
    assert fourier_degree(f).tolist() == [1, 0, 0]
    assert fourier_degree(f, tol=0.0).tolist() == [3, 0, 0]
    s = walsh_summary(f)
    assert s.degree.tolist() == [1, 0, 0]
    assert s.n_bits == 3
    np.testing.assert_allclose(s.mean_degree(), [1.0, 0.0, 0.0], atol=1e-9)


def test_torch_input_is_accepted():
    import torch

    f = torch.tensor(np.sign(_cube(3).sum(1)))
    assert fourier_degree(f) == 3


@pytest.mark.parametrize(
    "bad, match",
    [(np.ones(6), "power of two"), (np.ones((4, 2, 2)), "shape"), (np.array([1.0, np.nan]), "NaN"),
     (np.array([True, False]), "boolean")],
)
def test_bad_input_raises(bad, match):
    with pytest.raises(ProbekitError, match=match):
        walsh_hadamard(bad)


def test_negative_tol_raises():
    with pytest.raises(ProbekitError, match="tol"):
        fourier_degree(np.ones(4), tol=-1)
