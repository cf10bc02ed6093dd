"""Concept directions and LEACE: closed-form cross-checks and erasure guarantees."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.pipeline import make_pipeline

from probekit.errors import ProbekitError
from probekit.estimators.directions import (
    LeaceEraser,
    cosine_similarity_matrix,
    erasure_check,
    logistic_direction,
    mean_difference_direction,
)


def _concept_data(n=1000, d=6, seed=0):
    """Binary concept shifting the mean along a known direction, anisotropic noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    noise = rng.normal(size=(n, d)) @ np.diag(np.linspace(0.5, 2.0, d))
    x = noise + 3.0 * np.outer(2 * y - 1, direction) + 1.0
    return x, y, direction


def test_mean_difference_direction_is_the_class_mean_difference():
    x, y, direction = _concept_data()
    v = mean_difference_direction(x, y, normalize=False)
    assert np.allclose(v, x[y == 1].mean(0) - x[y == 0].mean(0), atol=1e-12)
    u = mean_difference_direction(torch.tensor(x), y)
    assert np.linalg.norm(u) == pytest.approx(1.0)
    assert u @ direction > 0.98
    assert np.allclose(mean_difference_direction(x, y, positive=0), -u)


def test_logistic_direction_matches_sklearn_and_points_to_the_positive_class():
    x, y, direction = _concept_data(seed=1)
    w = logistic_direction(x, y, C=0.5)
    ref = LogisticRegression(C=0.5, max_iter=1000).fit(x, y).coef_[0]
    assert np.allclose(w, ref / np.linalg.norm(ref), atol=1e-10)
    assert w @ direction > 0.8
    labels = np.where(y == 1, "yes", "no")
    assert np.allclose(logistic_direction(x, labels, C=0.5, positive="no"), -w, atol=1e-4)


def test_cosine_similarity_matrix_matches_sklearn_and_accepts_mappings():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 7)), rng.normal(size=(4, 7))
    assert np.allclose(cosine_similarity_matrix(a, b), cosine_similarity(a, b), atol=1e-12)
    x, y, _ = _concept_data(seed=3)
    dirs = {"mean_diff": mean_difference_direction(x, y), "logistic": logistic_direction(x, y)}
    s = cosine_similarity_matrix(dirs)
    assert s.shape == (2, 2) and np.allclose(np.diag(s), 1.0)
    assert s[0, 1] > 0.8  # two methods roughly agree on an easy concept
    with pytest.raises(ProbekitError, match="zero-length"):
        cosine_similarity_matrix(np.zeros((1, 7)), b)
    with pytest.raises(ProbekitError, match="must match"):
        cosine_similarity_matrix(a, rng.normal(size=(2, 5)))


def test_leace_zeroes_cross_covariance_and_matches_the_oblique_projection_formula():
    x, y, _ = _concept_data(seed=4)
    eraser = LeaceEraser().fit(x, y)
    xe = eraser.transform(x)
    z = y.astype(float)[:, None]
    cov = (xe - xe.mean(0)).T @ (z - z.mean(0)) / len(y)
    assert np.abs(cov).max() < 1e-12
    # independent closed form for invertible Sigma_XX: P = S_xz (S_xz^T S^-1 S_xz)^-1 S_xz^T S^-1
    xc = x - x.mean(0)
    sxx = xc.T @ xc / len(y)
    sxz = xc.T @ (z - z.mean(0)) / len(y)
    sinv = np.linalg.inv(sxx)
    p = sxz @ np.linalg.inv(sxz.T @ sinv @ sxz) @ sxz.T @ sinv
    assert np.allclose(eraser.projection_, p, atol=1e-8)
    assert np.allclose(xe, x - (x - x.mean(0)) @ p.T, atol=1e-8)
    assert eraser.rank_ == 1


def test_after_leace_the_concept_is_not_linearly_decodable():
    x, y, _ = _concept_data(n=1200, seed=5)
    before = erasure_check(x, y)
    assert before.decodable and before.probe_score > 0.95
    after = erasure_check(LeaceEraser().fit(x, y).transform(x), y)
    assert not after.decodable
    assert after.probe_score <= after.baseline_score + 0.02
    assert after.max_abs_correlation < 1e-10


def test_leace_changes_the_data_less_than_orthogonal_projection():
    x, y, _ = _concept_data(seed=6)
    leace = LeaceEraser().fit(x, y).transform(x)
    orth = LeaceEraser(method="orth").fit(x, y).transform(x)
    assert erasure_check(orth, y).max_abs_correlation < 1e-10  # both erase
    assert np.mean(np.sum((leace - x) ** 2, 1)) < np.mean(np.sum((orth - x) ** 2, 1))


def test_multiclass_and_continuous_concepts():
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, size=900)
    x = rng.normal(size=(900, 5)) + np.eye(5)[y] * 4
    eraser = LeaceEraser().fit(x, y)
    assert eraser.rank_ == 2 and eraser.classes_.tolist() == [0, 1, 2]
    assert not erasure_check(eraser.transform(x), y).decodable
    zc = rng.normal(size=(900, 2))
    xc = rng.normal(size=(900, 5)) + zc @ rng.normal(size=(2, 5))
    er = LeaceEraser().fit(xc, zc)
    out = er.transform(xc)
    assert er.classes_ is None and er.rank_ == 2
    assert np.abs((out - out.mean(0)).T @ (zc - zc.mean(0))).max() < 1e-9


def test_sklearn_contract_clone_and_pipeline():
    x, y, _ = _concept_data(seed=8)
    eraser = LeaceEraser(method="orth", rtol=1e-8)
    assert clone(eraser).get_params() == {"method": "orth", "rtol": 1e-8}
    assert eraser.fit(x, y) is eraser
    pipe = make_pipeline(LeaceEraser(), LogisticRegression(max_iter=1000)).fit(x, y)
    assert pipe.score(x, y) < 0.6  # in-sample: no linear classifier beats the constant by much


def test_errors():
    x, y, _ = _concept_data(n=50, seed=9)
    with pytest.raises(NotFittedError):
        LeaceEraser().transform(x)
    with pytest.raises(ProbekitError, match="expecting 6 features"):
        LeaceEraser().fit(x, y).transform(x[:, :3])
    with pytest.raises(ProbekitError, match="leace"):
        LeaceEraser(method="leaf").fit(x, y)
    with pytest.raises(ProbekitError, match="exactly 2 classes"):
        mean_difference_direction(x, np.arange(50) % 3)
    with pytest.raises(ProbekitError, match="same number of samples"):
        logistic_direction(x, y[:-1])
    with pytest.raises(ProbekitError, match="NaN"):
        LeaceEraser().fit(np.where(x > 100, x, np.nan), y)
