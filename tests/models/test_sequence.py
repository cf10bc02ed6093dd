import math

import numpy as np
import pytest
import torch

from probekit.errors import ProbekitError
from probekit.models.sequence import (
    LRU,
    SequenceGPT,
    build_sequence_model,
    count_parameters,
    hidden_states,
    record_module_output,
)


@pytest.mark.parametrize("build", [
    lambda: SequenceGPT(d_model=10, n_heads=5, context_length=64, positional="learned"),
    lambda: SequenceGPT(d_model=10, n_heads=5, context_length=64, positional="sinusoidal"),
    lambda: SequenceGPT(d_model=10, n_heads=5, context_length=64, positional="none"),
    lambda: LRU(d_model=8),
], ids=["gpt-learned", "gpt-sinusoidal", "gpt-none", "lru"])
def test_sequence_model_is_causal(build):
    """A change at step 25 leaves every output before it unchanged and moves some after it."""
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(2, 40, 1)
    x2 = x.clone()
    x2[:, 25] += 3.0
    y, y2 = model(x), model(x2)
    torch.testing.assert_close(y[:, :25], y2[:, :25], atol=1e-6, rtol=0)
    assert (y[:, 25:] - y2[:, 25:]).abs().max() > 1e-3


def test_lru_parallel_and_recurrent_modes_agree():
    torch.manual_seed(1)
    model = LRU(d_model=16, d_state=24)
    u = torch.randn(3, 300, 16)
    rec = model.recurrence.complex_state(u, mode="recurrent")
    for mode in ("scan", "fft"):
        par = model.recurrence.complex_state(u, mode=mode)
        assert (par - rec).abs().max() < 1e-5, mode
    # whole model, float64: train mode (scan) vs eval mode (recurrent)
    model = model.double()
    x = torch.randn(2, 200, 1, dtype=torch.float64)
    model.train()
    y_train = model(x)
    model.eval()
    y_eval = model(x)
    assert (y_train - y_eval).abs().max() < 1e-10


def test_lru_ring_initialisation_and_gradients():
    torch.manual_seed(0)
    model = LRU(d_model=10, d_state=500, r_min=0.8, r_max=0.99, max_phase=math.pi / 2)
    lam = model.recurrence.eigenvalues().detach()
    assert lam.abs().min() >= 0.8 - 1e-6 and lam.abs().max() <= 0.99 + 1e-6
    assert lam.angle().min() >= -1e-6 and lam.angle().max() <= math.pi / 2 + 1e-6
    # gamma normalises the input so that the stationary state variance is independent of |lambda|
    gamma = torch.exp(model.recurrence.gamma_log.detach())
    torch.testing.assert_close(gamma, torch.sqrt(1 - lam.abs() ** 2), atol=1e-5, rtol=1e-4)
    model.train()
    loss = model(torch.randn(2, 50, 1)).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_hook_names_and_hidden_state_shapes():
    torch.manual_seed(0)
    gpt = build_sequence_model("gpt", 10, n_heads=5, context_length=32)
    lru = build_sequence_model("lru", 10, d_state=12)
    x = torch.randn(3, 20, 1)
    assert gpt.HIDDEN_MODULE == "block" and lru.HIDDEN_MODULE == "recurrence"
    assert hidden_states(gpt, x, batch_size=2).shape == (3, 20, 10)
    h = hidden_states(lru, x)
    assert h.shape == (3, 20, 24)
    # the recorded state is [Re, Im] of the complex recurrence state
    lru.eval()
    with torch.no_grad():
        z = lru.recurrence.complex_state(lru.norm(lru.embed(x)))
    np.testing.assert_allclose(h, torch.cat([z.real, z.imag], -1).numpy(), atol=1e-6)
    # the block output is the post-attention residual
    with torch.no_grad(), record_module_output(gpt, "block.attn") as att, record_module_output(gpt, "embed") as emb:
        gpt(x)
    np.testing.assert_allclose(hidden_states(gpt, x), (emb[0] + att[0]).numpy(), atol=1e-6)
    assert not gpt.block._forward_hooks  # hooks removed
    with pytest.raises(ProbekitError, match="block"):
        with record_module_output(gpt, "blok"):
            pass


def test_bad_configs_raise():
    with pytest.raises(ProbekitError, match="divide"):
        SequenceGPT(d_model=25, n_heads=10)
    with pytest.raises(ProbekitError, match="positional"):
        SequenceGPT(positional="rotary")
    with pytest.raises(ProbekitError, match="r_min"):
        LRU(r_min=0.9, r_max=0.5)
    with pytest.raises(ProbekitError, match="context_length"):
        SequenceGPT(d_model=10, context_length=8)(torch.randn(1, 9, 1))
    with pytest.raises(ProbekitError, match="lru"):
        build_sequence_model("transformer", 10)


def test_parameter_count_grows_with_width():
    counts = [count_parameters(build_sequence_model(m, d)) for m in ("gpt", "lru") for d in (10, 25)]
    assert counts[0] < counts[1] and counts[2] < counts[3]


def test_computation_mode_switches_every_lru_recurrence_and_restores_it():
    import pytest as _pytest

    from probekit.errors import ProbekitError as _Err
    from probekit.models.sequence import LRU, SequenceGPT, computation_mode

    torch.manual_seed(0)
    model = LRU(d_model=6).double().eval()
    x = torch.randn(2, 33, 1, dtype=torch.float64)
    reference = model(x)  # eval mode: recurrent
    with computation_mode(model, "scan") as m:
        assert m is model and model.mode == "scan"
        torch.testing.assert_close(model(x), reference)
    assert model.mode == "auto"
    with _pytest.raises(RuntimeError), computation_mode(model, "fft"):
        raise RuntimeError("boom")
    assert model.mode == "auto"  # restored on an exception too
    gpt = SequenceGPT(d_model=4, n_heads=2, context_length=8)
    with computation_mode(gpt, "scan"):  # no recurrence: nothing to switch
        pass
    with _pytest.raises(_Err, match="mode must be one of"):
        with computation_mode(model, "parallel"):
            pass
