import json

import numpy as np
import pytest
import torch
from torch import nn

from probekit.errors import ProbekitError
from probekit.synthetic.generators import invertible_mlp
from probekit.synthetic.sphere import ClusteredSphereLatents
from probekit.train.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint
from probekit.train.cross_entropy import (
    ClassifierConfig,
    CrossEntropyConfig,
    LinearHead,
    evaluate_identifiability,
    head_identifiability,
    mlp_encoder,
    train_classifier,
    train_cross_entropy,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _setup(dim=3, n_classes=20, n_instances=40, kappa=10.0, seed=0):
    lat = ClusteredSphereLatents(dim=dim, n_classes=n_classes, n_instances=n_instances, concentration=kappa,
                                 seed=seed)
    g = invertible_mlp(dim, n_layers=3, n_pool=200, seed=seed)
    return lat, g


def test_paper_encoder_shape():
    enc = mlp_encoder(5)
    widths = [m.out_features for m in enc if isinstance(m, nn.Linear)]
    assert widths == [50, 250, 250, 250, 250, 50, 5]
    assert sum(isinstance(m, nn.BatchNorm1d) for m in enc) == 6
    assert isinstance(enc[-1], nn.Linear)
    assert mlp_encoder(5)(torch.zeros(4, 5)).shape == (4, 5)


def test_tiny_training_recovers_latents_far_better_than_untrained():
    lat, g = _setup(n_classes=100, n_instances=100, kappa=3.0)
    cfg = CrossEntropyConfig(task="supervised", steps=300, batch_size=128, lr=3e-3, hidden=(64, 64),
                             eval_every=150, eval_samples=1024, seed=0, progress=False)
    res = train_cross_entropy(lat, g, cfg)
    init, final = res.history[0], res.final
    assert [h["step"] for h in res.history] == [0, 150, 300]
    assert init["loss"] is None and final["loss"] < np.log(100)
    assert final["affine_r2"] > 0.85
    assert final["affine_r2"] > init["affine_r2"] + 0.25
    assert not res.encoder.training


def test_diet_normalized_head_has_unit_rows_and_head_metric():
    lat, g = _setup(n_instances=60)
    cfg = CrossEntropyConfig(task="diet", normalize_head=True, steps=20, batch_size=64, hidden=(16,),
                             eval_every=10, eval_samples=256, progress=False)
    res = train_cross_entropy(lat, g, cfg)
    assert res.head.weight.shape == (60, 3)
    np.testing.assert_allclose(res.head.weight.norm(dim=1).detach().numpy(), 1.0, atol=1e-5)
    assert res.final["head_r2"] is not None and -5 < res.final["head_r2"] <= 1
    # supervised head over |C| = 4 rows is too small to fit a w -> v map: reported as None
    assert head_identifiability(torch.randn(4, 3), lat.cluster_vectors, normalized=False) is None


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    lat, g = _setup()
    kw = dict(task="diet", batch_size=32, hidden=(16, 16), eval_every=3, eval_samples=128, seed=1, progress=False)
    straight = train_cross_entropy(lat, g, CrossEntropyConfig(steps=6, **kw))
    ck = str(tmp_path / "ck")
    first = train_cross_entropy(lat, g, CrossEntropyConfig(steps=3, checkpoint_dir=ck, **kw))
    assert has_checkpoint(ck) and len(first.history) == 2
    resumed = train_cross_entropy(lat, g, CrossEntropyConfig(steps=6, checkpoint_dir=ck, **kw))
    assert [h["step"] for h in resumed.history] == [0, 3, 6]
    for a, b in zip(straight.encoder.state_dict().values(), resumed.encoder.state_dict().values()):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(straight.head.weight, resumed.head.weight)
    assert straight.final["affine_r2"] == pytest.approx(resumed.final["affine_r2"], abs=1e-6)
    state = json.loads((tmp_path / "ck" / "state.json").read_text())
    assert state["step"] == 6 and state["config"]["task"] == "diet"
    with pytest.raises(ProbekitError, match="batch_size"):
        train_cross_entropy(lat, g, CrossEntropyConfig(steps=8, checkpoint_dir=ck, **{**kw, "batch_size": 16}))


def test_evaluate_identifiability_perfect_for_linear_encoder():
    lat, g = _setup()
    z = lat.sample(1000, np.random.default_rng(0))[0]

    class Inverse(nn.Module):
        def forward(self, x):
            return (g.inverse(x) @ torch.tensor([[2.0, 0, 0], [0, 0, -1], [0, 3, 0]], dtype=torch.float64)).float()

    out = evaluate_identifiability(Inverse(), g, z)
    assert out["affine_r2"] > 0.9999 and out["linear_r2"] > 0.9999
    assert out["sv_deviation"] > 0.1  # not an orthogonal map (scales 2, 1, 3)


def test_config_validation():
    with pytest.raises(ProbekitError, match="closest valid"):
        CrossEntropyConfig(task="simclr")
    with pytest.raises(ProbekitError, match="steps"):
        CrossEntropyConfig(steps=0)
    with pytest.raises(ProbekitError, match="batch_size"):
        CrossEntropyConfig(batch_size=1)
    with pytest.raises(ProbekitError, match="device"):
        CrossEntropyConfig(device="tpu:banana")
    with pytest.raises(ProbekitError, match="lr"):
        ClassifierConfig(lr=0)


def test_train_classifier_early_stops_on_separable_data(tmp_path):
    gen = torch.Generator().manual_seed(0)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = torch.randint(0, 3, (600,), generator=gen)
    x = centers[y] + 0.3 * torch.randn(600, 2, generator=gen)
    enc = nn.Sequential(nn.Linear(2, 8), nn.ReLU())
    cfg = ClassifierConfig(epochs=50, batch_size=64, lr=1e-2, target_val_accuracy=0.99, progress=False,
                           checkpoint_dir=str(tmp_path / "clf"))
    res = train_classifier(enc, 8, 3, x[:500], y[:500], x[500:], y[500:], cfg)
    assert res.best_val_accuracy > 0.99
    assert len(res.history) < 50
    assert has_checkpoint(tmp_path / "clf")
    with pytest.raises(ProbekitError, match="labels outside"):
        train_classifier(enc, 8, 2, x[:500], y[:500], x[500:], y[500:], cfg)


def test_resumed_classifier_returns_the_best_epoch_weights(tmp_path):
    gen = torch.Generator().manual_seed(1)
    centers = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    y = torch.randint(0, 3, (400,), generator=gen)
    x = centers[y] + 0.8 * torch.randn(400, 2, generator=gen)

    def run(epochs, ckpt):
        torch.manual_seed(0)
        enc = nn.Sequential(nn.Linear(2, 16), nn.ReLU())
        cfg = ClassifierConfig(epochs=epochs, batch_size=32, lr=0.3, target_val_accuracy=None, progress=False,
                               checkpoint_dir=ckpt)
        return train_classifier(enc, 16, 3, x[:300], y[:300], x[300:], y[300:], cfg)

    full = run(6, None)
    run(3, str(tmp_path / "c"))  # interrupted after 3 epochs ...
    resumed = run(6, str(tmp_path / "c"))  # ... and resumed to 6
    assert [h["val_accuracy"] for h in resumed.history] == [h["val_accuracy"] for h in full.history]
    for a, b in zip(full.encoder.state_dict().values(), resumed.encoder.state_dict().values()):
        assert torch.equal(a, b)
    # the returned weights are the best epoch's, whichever epoch that was
    with torch.no_grad():
        acc = (resumed.head(resumed.encoder(x[300:])).argmax(1) == y[300:]).float().mean().item()
    assert acc == pytest.approx(resumed.best_val_accuracy)
    assert resumed.best_val_accuracy == max(h["val_accuracy"] for h in resumed.history)


def test_checkpoint_roundtrip_with_optimizer(tmp_path):
    torch.manual_seed(0)
    head = LinearHead(3, 5)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    head(torch.randn(4, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c", {"head": head}, opt, {"step": 1, "note": "x"})
    head2 = LinearHead(3, 5)
    opt2 = torch.optim.Adam(head2.parameters(), lr=1e-2)
    state = load_checkpoint(tmp_path / "c", {"head": head2}, opt2)
    assert state == {"step": 1, "note": "x"}
    torch.testing.assert_close(head.weight, head2.weight)
    s1, s2 = opt.state_dict()["state"][0], opt2.state_dict()["state"][0]
    torch.testing.assert_close(s1["exp_avg"], s2["exp_avg"])
    assert opt2.param_groups[0]["betas"] == opt.param_groups[0]["betas"]
    with pytest.raises(ProbekitError, match="reserved"):
        save_checkpoint(tmp_path / "d", {"state": head})
    with pytest.raises(ProbekitError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing", {"head": head})
    with pytest.raises(ProbekitError, match="does not fit"):
        load_checkpoint(tmp_path / "c", {"head": LinearHead(4, 5)})


def test_save_killed_between_renames_falls_back_to_the_previous_checkpoint(tmp_path):
    lin = nn.Linear(3, 2)
    ckpt = tmp_path / "ck"
    save_checkpoint(ckpt, {"lin": lin}, state={"step": 7})
    ckpt.rename(tmp_path / "ck.old")  # what a kill right after `directory.rename(old)` leaves
    assert has_checkpoint(ckpt)
    fresh = nn.Linear(3, 2)
    assert load_checkpoint(ckpt, {"lin": fresh})["step"] == 7
    assert torch.equal(fresh.weight, lin.weight) and not (tmp_path / "ck.old").exists()


def test_sv_mae_is_zero_for_a_kappa_scaled_orthogonal_encoder_and_head_rows_equal_to_v():
    """The paper's orthogonal score: f = kappa O g^-1 gives singular values 1/kappa (MAE 0); w = v gives MAE 0."""
    from scipy.stats import ortho_group

    from probekit.train.cross_entropy import head_singular_value_mae

    lat, g = _setup(kappa=10.0)
    z = lat.sample(1000, np.random.default_rng(0))[0]
    q = torch.tensor(10.0 * ortho_group.rvs(3, random_state=0))

    class Scaled(nn.Module):
        def forward(self, x):
            return (g.inverse(x) @ q).float()

    out = evaluate_identifiability(Scaled(), g, z, sv_target=0.1)
    assert out["sv_mae"] == pytest.approx(0.0, abs=1e-5) and len(out["singular_values"]) == 3
    assert evaluate_identifiability(Scaled(), g, z, sv_target=1.0)["sv_mae"] == pytest.approx(0.9, abs=1e-5)
    v = lat.cluster_vectors
    assert head_singular_value_mae(v[np.arange(40) % 20], v) == pytest.approx(0.0, abs=1e-10)
    assert head_singular_value_mae(2 * v[np.arange(40) % 20], v) == pytest.approx(0.5, abs=1e-10)
    res = train_cross_entropy(lat, g, CrossEntropyConfig(steps=4, eval_every=4, batch_size=32, normalize_head=True,
                                                         eval_samples=64, progress=False))
    assert res.final["sv_mae"] >= 0 and res.final["head_sv_mae"] is not None
