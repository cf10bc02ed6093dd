import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.estimators.directions import mean_difference_direction
from probekit.steering.directions import SteeringMatrix, projection_std, random_direction, unit


def test_mass_mean_shift_and_projection_std():
    rng = np.random.default_rng(0)
    x_false = rng.standard_normal((500, 4))
    x_true = x_false + np.array([3.0, 0, 0, 0])
    x, y = np.concatenate([x_true, x_false]), np.repeat([1, 0], 500)
    d = mean_difference_direction(x, y)
    assert np.allclose(d, [1, 0, 0, 0])
    assert np.allclose(mean_difference_direction(x, y, normalize=False), [3, 0, 0, 0])
    x = rng.standard_normal((20000, 3)) * np.array([2.0, 1.0, 0.5])
    assert projection_std(x, [1.0, 0, 0]) == pytest.approx(2.0, rel=0.03)
    assert np.allclose(projection_std(x, np.eye(3)), [2.0, 1.0, 0.5], rtol=0.03)
    with pytest.raises(ProbekitError, match="zero vector"):
        mean_difference_direction(np.concatenate([x_false, x_false]), y)


def test_random_and_probe_directions_are_unit():
    rng = np.random.default_rng(1)
    r = random_direction(64, rng)
    assert r.shape == (64,) and np.linalg.norm(r) == pytest.approx(1.0)
    assert not np.allclose(r, random_direction(64, rng))
    assert np.allclose(unit(np.ravel([[3.0, 4.0]])), [0.6, 0.8])


def test_steering_matrix_by_hand():
    shifts = np.array([[1.0, 0.0], [0.0, 2.0]])
    emb = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    sm = SteeringMatrix(normalize_rows=False).fit(shifts, emb)
    assert np.allclose(sm.matrix_, [[1, 0, 0], [0, 2, 0]])
    assert np.allclose(sm.direction([1.0, 0.0, 0.0]), [1.0, 0.0])
    assert np.allclose(sm.direction([[0.0, 1.0, 0.0]]), [[0.0, 1.0]])
    sm = SteeringMatrix().fit(shifts, emb)  # rows normalised
    assert np.allclose(np.linalg.norm(sm.matrix_, axis=1), 1.0)
    d = sm.direction([1.0, 1.0, 0.0])
    assert np.allclose(d, [2 ** -0.5, 2 ** -0.5])
    with pytest.raises(ProbekitError, match="questions"):
        SteeringMatrix().fit(shifts, emb[:1])
    with pytest.raises(ProbekitError, match="features"):
        sm.direction([1.0, 0.0])
    with pytest.raises(ProbekitError, match="NaN"):
        sm.direction([np.nan, 0.0, 0.0])
    with pytest.raises(ProbekitError, match="shape"):
        sm.direction(np.ones((1, 1, 3)))
