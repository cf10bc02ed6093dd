"""Neural latent recovery in the Boolean world-model setting: design, exact identifiability,
scores against z and the input, untrained baseline, paired intervals."""

import math

import numpy as np
import pytest
from scipy import stats

from probekit.errors import ProbekitError
from probekit.metrics.recovery import recovery_score
from probekit.synthetic.boolean import cube, make_world, random_affine_map, sample_tasks
from probekit.synthetic.boolean_recovery import (
    identifiability,
    seed_paired_difference,
    recovery_conditions,
    recovery_design,
    recovery_run,
    summarize_recovery,
)
from probekit.train.multitask import MultiTaskConfig


def test_conditions_are_nested_covering_sets_and_an_uncovered_control():
    conds = recovery_conditions(4, [8, 1, 4], seed=0)
    assert [(c, t) for c, t, _ in conds] == [("cover", 1), ("cover", 4), ("cover", 8), ("uncovered", 8)]
    top = conds[2][2].tables
    for _, t, ts in conds[:3]:
        np.testing.assert_array_equal(ts.tables, top[:, :t])
        assert ts.covers_all == (t >= 4)
    assert not conds[3][2].covers_all and conds[3][2].relevant.any(0).sum() == 3
    with pytest.raises(ProbekitError, match="counts"):
        recovery_conditions(4, [], seed=0)


@pytest.mark.parametrize("n", [3, 4])
def test_exact_search_identifies_z_exactly_for_covering_one_juntas(n):
    # coverage theorem (README_P1): covering 1-juntas leave exactly the 2^n n! signed permutations
    conds = recovery_conditions(n, [2, n, 2 * n], seed=1)
    for cond, t, ts in conds:
        res = identifiability(ts)
        assert res["search_space"] == ("bijection" if n == 3 else "affine")
        assert res["n_signed_perms"] == 2**n * math.factorial(n)
        covered = cond == "cover" and t >= n
        assert res["z_identified"] == float(covered)
        assert (res["n_minimizers"] == res["n_signed_perms"]) == covered
        if not covered:  # an uncovered bit can be mixed with another: strictly more minimizers
            assert res["n_minimizers"] > res["n_signed_perms"]


def test_parity_tasks_do_not_identify_z_and_large_n_is_not_searched():
    # chi_{0}, chi_{1}, chi_{01}: (z0, z0 z1) is as cheap as (z0, z1) -> not unique
    par = sample_tasks("parity", 3, 12, k=3, seed=0)
    assert identifiability(par)["z_identified"] == 0.0
    big = recovery_conditions(6, [6], seed=0)[0][2]
    assert math.isnan(identifiability(big)["z_identified"])


def test_design_pairs_task_sets_across_worlds_and_archs():
    jobs = recovery_design(4, [1, 4], 2, ["bijection", "affine"], ["mlp", "transformer"])
    theory = [j for j in jobs if j["experiment"] == "theory"]
    basis = [j for j in jobs if j["experiment"] == "basis"]
    assert len(theory) == 2 * 2 * 3 * 2 and len(basis) == 2 * 2 * 2
    assert {j["world"].kind for j in theory} == {"bijection", "affine"}
    assert {j["world"].kind for j in basis} == {"signed_permutation"}
    assert {(j["input_basis"], j["input_map"] is None) for j in basis} == {("matched", True), ("ablation", False)}
    assert all(j["condition"] == "cover" and j["n_tasks"] == 4 for j in basis)
    for seed in (0, 1):
        same = [j["tasks"].tables for j in theory if j["seed"] == seed and j["condition"] == "cover"
                and j["n_tasks"] == 4]
        assert len(same) == 4 and all(np.array_equal(t, same[0]) for t in same)
    s0 = [j["tasks"].tables for j in theory if j["condition"] == "cover" and j["n_tasks"] == 4]
    assert not np.array_equal(s0[0], s0[-1])  # seeds draw different tasks
    again = recovery_design(4, [1, 4], 2, ["bijection", "affine"], ["mlp", "transformer"])
    assert all(np.array_equal(a["world"].psi, b["world"].psi) for a, b in zip(jobs, again))


def test_run_scores_against_z_and_the_input_with_the_untrained_baseline():
    world = make_world(3, "signed_permutation", seed=0)
    tasks = recovery_conditions(3, [6], seed=0)[0][2]
    cfg = MultiTaskConfig(hidden=16, head_hidden=4, steps=60, lr=1e-2, seed=0)
    row = recovery_run(world, tasks, cfg)
    # x is a signed permutation of z, so |corr| with z and with the input coincide
    assert row["recovery"] == pytest.approx(row["recovery_input"], abs=1e-9)
    assert row["recovery_untrained"] == pytest.approx(row["recovery_input_untrained"], abs=1e-9)
    assert row["gain"] == pytest.approx(row["recovery"] - row["recovery_untrained"])
    assert row["untrained_mse"] > row["train_mse"]
    # with an input map the input coordinates differ from z
    emap = np.array([0, 3, 1, 2, 4, 7, 5, 6])  # a bijection that mixes bits 0 and 1
    abl = recovery_run(world, tasks, cfg, input_map=emap)
    assert abl["recovery_input_untrained"] != pytest.approx(abl["recovery_untrained"])
    with pytest.raises(ProbekitError, match="points"):
        recovery_run(make_world(4, "affine", seed=0), tasks, cfg)


def test_paired_difference_and_summary_match_scipy():
    rng = np.random.default_rng(0)
    rows = [{"seed": s, "arch": a, "recovery": float(rng.random()), "gain": 0.1 * s}
            for s in range(5) for a in ("mlp", "transformer")]
    d = [rows[2 * s]["recovery"] - rows[2 * s + 1]["recovery"] for s in range(5)]
    mean, half, n = seed_paired_difference(rows, {"arch": "mlp"}, {"arch": "transformer"})
    lo, hi = stats.t.interval(0.95, 4, loc=np.mean(d), scale=stats.sem(d))
    assert n == 5 and mean == pytest.approx(np.mean(d)) and half == pytest.approx((hi - lo) / 2)
    summ = {s["arch"]: s for s in summarize_recovery(rows, ("arch",))}
    mlp = [r["recovery"] for r in rows if r["arch"] == "mlp"]
    assert summ["mlp"]["recovery"] == pytest.approx(np.mean(mlp)) and summ["mlp"]["n_runs"] == 5
    assert summ["mlp"]["recovery_ci"] == pytest.approx(stats.t.ppf(0.975, 4) * stats.sem(mlp))
    with pytest.raises(ProbekitError, match="more than one run"):
        seed_paired_difference(rows, {}, {"arch": "mlp"})


def test_trained_recovery_beats_untrained_and_covering_beats_uncovered():
    # the claim's direction at tiny scale: n=4, random-bijection world, MLP, 4 seeds
    cfg = dict(hidden=32, head_hidden=8, steps=100, lr=1e-2)  # measured: gain .27-.34, cover - uncovered .07
    gains, cover, uncov = [], [], []
    for seed in range(4):
        world = make_world(4, "bijection", seed=10 + seed)
        conds = {c: ts for c, t, ts in recovery_conditions(4, [8], seed=seed)}
        for cond, ts in conds.items():
            row = recovery_run(world, ts, MultiTaskConfig(seed=seed, **cfg))
            (cover if cond == "cover" else uncov).append(row["recovery"])
            if cond == "cover":
                gains.append(row["gain"])
    assert np.mean(gains) > 0.1
    assert np.mean(cover) > np.mean(uncov)
    z = cube(4)
    assert recovery_score(z, z[:, ::-1] * -1) == pytest.approx(1.0)  # the score is 1 on a signed permutation


def test_one_budget_mlp_recovers_more_than_transformer_which_keeps_its_input():
    # claim 6 at tiny scale (same steps, lr, full batch; default budget: .60-.61 vs .35-.46)
    rows = {}
    for arch in ("mlp", "transformer"):
        for seed in range(2):
            world = make_world(4, "bijection", seed=10 + seed)
            ts = recovery_conditions(4, [8], seed=seed)[0][2]
            cfg = MultiTaskConfig(arch=arch, seed=seed, hidden=32, head_hidden=8, d_model=16, n_layers=1, steps=100,
                                  lr=1e-2)
            rows.setdefault(arch, []).append(recovery_run(world, ts, cfg))
    mean = {a: {k: np.mean([r[k] for r in rs]) for k in ("recovery", "recovery_input")} for a, rs in rows.items()}
    assert mean["mlp"]["recovery"] > mean["transformer"]["recovery"] + 0.05  # measured .65 vs .44
    assert mean["transformer"]["recovery_input"] > mean["mlp"]["recovery_input"]  # measured .59 vs .44


def test_basis_mismatched_mlp_recovers_z_not_the_transformed_latent():
    # claim 7's measured direction at tiny scale: fed E(x), the MLP moves towards z and away from E(psi(z))
    rows = []
    for seed in range(3):
        world = make_world(4, "signed_permutation", seed=20 + seed)
        ts = recovery_conditions(4, [8], seed=seed)[0][2]
        cfg = MultiTaskConfig(seed=seed, hidden=32, head_hidden=8, steps=100, lr=1e-2)
        rows.append(recovery_run(world, ts, cfg, input_map=random_affine_map(4, seed=30 + seed)))
    mean = {k: np.mean([r[k] for r in rows]) for k in ("recovery", "recovery_input", "recovery_input_untrained")}
    assert mean["recovery"] > mean["recovery_input"] + 0.1  # measured .73 vs .37
    assert mean["recovery_input"] < mean["recovery_input_untrained"]  # measured .37 vs .55
