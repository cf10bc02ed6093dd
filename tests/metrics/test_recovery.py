"""Latent recovery scores: signed permutations score 1, mixtures and noise score less."""

import numpy as np
import pytest

from probekit.errors import ProbekitError
from probekit.metrics.recovery import (
    abs_correlation_matrix,
    recovery_report,
    recovery_score,
    recovery_summary,
    threshold_accuracy_matrix,
)
from probekit.synthetic.boolean import cube

METHODS = ["matched_corr", "best_corr", "matched_accuracy", "probe"]


@pytest.mark.parametrize("method", METHODS)
def test_signed_permutation_trunk_scores_one(method):
    z = cube(5)
    perm, signs = [3, 0, 4, 1, 2], np.array([1, -1, -1, 1, 1])
    rep = 0.7 * z[:, perm] * signs + 0.2  # per-unit affine maps allowed
    rep = np.concatenate([rep, np.random.default_rng(0).standard_normal((32, 2))], axis=1)  # extra units
    rep = np.tile(rep, (4, 1))  # 128 rows so the probe split has every point in train and test
    zz = np.tile(z, (4, 1))
    assert recovery_score(zz, rep, method) == pytest.approx(1.0)
    if method == "matched_corr":
        rep_report = recovery_report(zz, rep, method)
        assert rep_report.units[perm].tolist() == [0, 1, 2, 3, 4]


def test_parity_mixture_is_not_recovered_but_linearly_partially_decodable():
    z = cube(4)
    rep = np.stack([z[:, 0] * z[:, 1], z[:, 1], z[:, 2] * z[:, 3], z[:, 3]], axis=1)  # GF(2)-affine re-encoding
    rep_score = recovery_score(z, rep)
    assert rep_score == pytest.approx(0.5)  # z1, z3 found; z0, z2 uncorrelated with every unit
    acc = threshold_accuracy_matrix(z, rep)
    assert acc.min() == pytest.approx(0.5) and acc.max() == pytest.approx(1.0)


def test_noise_scores_low_and_constant_units_are_zero():
    rng = np.random.default_rng(0)
    z = cube(6)
    rep = rng.standard_normal((64, 6))
    assert recovery_score(z, rep) < 0.45
    rep[:, 0] = 3.0
    c = abs_correlation_matrix(z, rep)
    assert (c[:, 0] == 0).all() and np.isfinite(c).all()


def test_fewer_units_than_latents_count_as_zero():
    z = cube(3)
    r = recovery_report(z, z[:, :2])
    assert r.score == pytest.approx(2 / 3)
    assert r.units.tolist()[2] == -1


def test_threshold_accuracy_handles_ties_and_monotone_maps():
    z = cube(3)
    rep = np.stack([np.exp(z[:, 0]), np.zeros(8), z[:, 1] + z[:, 2]], axis=1)
    acc = threshold_accuracy_matrix(z, rep)
    assert acc[0, 0] == 1.0
    assert acc[1, 1] == 0.5  # constant unit: majority rule only
    assert acc[1, 2] == pytest.approx(0.75)


def test_summary_has_all_scores_and_mcc():
    z = cube(4)
    rep = np.concatenate([z[:, ::-1], np.ones((16, 1))], axis=1)
    s = recovery_summary(np.tile(z, (3, 1)), np.tile(rep, (3, 1)))
    assert set(s) == {"matched_corr", "best_corr", "matched_accuracy", "probe", "mcc"}
    assert s["mcc"] == pytest.approx(1.0) and s["matched_corr"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "args, match",
    [((np.ones((8, 2)), np.ones((7, 2))), "rows must pair"), ((np.ones((2, 2)), np.ones((2, 2))), ">= 3"),
     ((np.full((8, 2), np.nan), np.ones((8, 2))), "NaN")],
)
def test_bad_inputs_raise(args, match):
    with pytest.raises(ProbekitError, match=match):
        recovery_score(*args)


def test_unknown_method_raises():
    with pytest.raises(ProbekitError, match="closest"):
        recovery_score(cube(3), cube(3), method="matched")


def test_concept_recovery_scores_against_sklearn_and_identity():
    from sklearn.linear_model import LinearRegression

    from probekit.metrics.recovery import concept_recovery_scores

    rng = np.random.default_rng(0)
    v = rng.normal(size=(400, 3))
    perfect = concept_recovery_scores(v @ rng.normal(size=(3, 3)) + 2.0, v, seed=0)
    assert perfect["r2"] == pytest.approx(1.0) and perfect["r2_heldout"] == pytest.approx(1.0)
    h = v[:, [2, 0, 1]] * [1.0, -2.0, 0.5] + 0.01 * rng.normal(size=(400, 3))
    s = concept_recovery_scores(h, v, seed=0)
    assert s["mcc_in"] > 0.99 and s["mcc_out"] > 0.99
    noisy = v @ rng.normal(size=(3, 4)) + rng.normal(size=(400, 4))
    ref = LinearRegression().fit(noisy, v).score(noisy, v)  # the reference code's in-sample R²
    assert concept_recovery_scores(noisy, v)["r2"] == pytest.approx(ref, rel=1e-10)


def test_summarise_concept_recovery_intervals_and_paired_gaps_by_hand():
    from scipy import stats

    from probekit.metrics.recovery import concept_recovery_markdown, summarise_concept_recovery

    rows = []
    for seed, (c, p, i) in enumerate([(0.9, 0.5, 0.6), (0.8, 0.6, 0.5), (0.95, 0.4, 0.7)]):
        for method, mcc in (("contrastive", c), ("pca", p), ("ica", i)):
            rows.append({"setting": "S1", "mixing": "linear", "seed": seed, "method": method, "r2": 0.9,
                         "r2_heldout": 0.9, "mcc_in": mcc, "mcc_out": mcc, "gen_seconds": 0.1 * seed})
    out = summarise_concept_recovery(rows, {("S1", "linear"): {"r2": 0.98, "mcc_out": 0.97}})
    assert [r["method"] for r in out] == ["contrastive", "pca", "ica"]
    con = out[0]
    vals = np.array([0.9, 0.8, 0.95])
    assert con["mcc_out"] == pytest.approx(vals.mean()) and con["n_seeds"] == 3
    assert con["mcc_out_ci"] == pytest.approx(stats.t.ppf(0.975, 2) * vals.std(ddof=1) / np.sqrt(3))
    gaps = vals - np.array([0.5, 0.6, 0.4])
    assert con["mcc_out_minus_pca"] == pytest.approx(gaps.mean())
    assert con["mcc_out_minus_pca_ci"] == pytest.approx(stats.t.ppf(0.975, 2) * gaps.std(ddof=1) / np.sqrt(3))
    assert con["ref_mcc_out"] == 0.97 and out[1]["ref_mcc_out"] is None and con["max_gen_seconds"] == 0.2
    assert con["r2_ci"] == pytest.approx(0.0, abs=1e-12)
    table = concept_recovery_markdown(out, "100 ep")
    assert "| S1 | linear | 100 ep | 3 | **0.883 ± " in table and "+0.383 ± " in table
