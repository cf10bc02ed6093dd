import json
import shutil

import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.models.sequence import LRU, SequenceGPT
from probekit.synthetic.dynamical import NextStepDataset
from probekit.train.sequence import (
    SequenceTrainConfig,
    cosine_warmup_factor,
    load_step_checkpoint,
    train_sequence_model,
)


def _sine_data(n=24, steps=60, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(steps) * 0.2
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    return NextStepDataset(np.sin(t[None, :] + phase)[..., None])


def test_training_reduces_validation_loss_and_evaluates_at_step_zero():
    torch.manual_seed(0)
    train, val = _sine_data(seed=0), _sine_data(n=8, seed=1)
    calls = []
    cfg = SequenceTrainConfig(steps=60, batch_size=6, lr=1e-2, warmup_steps=5, eval_every=20, progress=False)
    res = train_sequence_model(LRU(d_model=8), train, val, cfg,
                               evaluate=lambda m, step: calls.append((step, m.training)) or {"extra": step})
    steps = [h["step"] for h in res.history]
    assert steps == [0, 20, 40, 60]
    assert [c[0] for c in calls] == steps and not any(c[1] for c in calls)  # eval mode during evaluate
    assert res.history[0]["train_loss"] is None and res.history[-1]["extra"] == 60
    assert res.history[-1]["val_loss"] < 0.5 * res.history[0]["val_loss"]


def test_resume_from_checkpoint_is_exact(tmp_path):
    train, val = _sine_data(), _sine_data(n=4, seed=1)
    cfg = dict(steps=20, batch_size=5, lr=5e-3, warmup_steps=3, eval_every=5, progress=False)
    torch.manual_seed(0)
    straight = train_sequence_model(SequenceGPT(d_model=8, n_heads=2, context_length=64), train, val,
                                    SequenceTrainConfig(**cfg, checkpoint_dir=str(tmp_path / "a"))).model
    # simulate a crash after step 10: drop the later checkpoints
    for later in ("step_0000015", "step_0000020"):
        shutil.rmtree(tmp_path / "a" / later)
    (tmp_path / "a" / "latest.json").write_text(json.dumps({"step": 10, "folder": "step_0000010"}))
    torch.manual_seed(123)  # a different initialisation: everything must come from the checkpoint
    res = train_sequence_model(SequenceGPT(d_model=8, n_heads=2, context_length=64), train, val,
                               SequenceTrainConfig(**cfg, checkpoint_dir=str(tmp_path / "a")))
    assert res.resumed_from == 10
    assert [h["step"] for h in res.history] == [0, 5, 10, 15, 20]
    for (name, a), b in zip(straight.state_dict().items(), res.model.state_dict().values()):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0, msg=name)
    # the checkpoint folder is self-describing
    meta = load_step_checkpoint(tmp_path / "a", SequenceGPT(d_model=8, n_heads=2, context_length=64))
    assert meta["step"] == 20 and meta["model_class"] == "SequenceGPT" and meta["config"]["lr"] == 5e-3
    assert (tmp_path / "a" / "step_0000020" / "model.safetensors").exists()


def test_cosine_warmup_schedule():
    f = [cosine_warmup_factor(s, 10, 110) for s in range(110)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert f[10] == pytest.approx(1.0) and f[60] == pytest.approx(0.5)
    assert all(a >= b for a, b in zip(f[10:], f[11:]))
    assert cosine_warmup_factor(110, 10, 110, min_ratio=0.1) == pytest.approx(0.1)


def test_bad_config_raises():
    with pytest.raises(ProbekitError, match="steps"):
        SequenceTrainConfig(steps=0)
    with pytest.raises(ProbekitError, match="lr"):
        SequenceTrainConfig(lr=-1.0)
    with pytest.raises(ProbekitError, match="device"):
        SequenceTrainConfig(device="tpu9")
