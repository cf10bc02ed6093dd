"""Small sequence models for next-step prediction of time series.

Two one-layer architectures from Ostrow, Eisen & Fiete (2024):

* :class:`SequenceGPT` -- a GPT-style decoder: ``Linear`` embedding of the scalar
  input, optional positional encoding (learned / sinusoidal / none), one pre-LN
  causal multi-head self-attention block with a residual connection, a final
  ``LayerNorm`` and an MLP head ``d_model -> mlp_hidden -> output_dim``.
* :class:`LRU` -- a Linear Recurrent Unit (Orvieto et al. 2023): ``Linear``
  embedding, ``LayerNorm``, complex diagonal recurrence
  ``h_t = lambda * h_{t-1} + gamma * (B u_t)`` with ``lambda`` initialised
  uniformly on the ring ``r_min <= |lambda| <= r_max``, phase in ``[0, max_phase]``,
  a readout ``Re(C h_t) + D * u_t`` and the same MLP head.

Hook points (module names for ``model.get_submodule`` / forward hooks; the
module's forward output *is* the hidden state):

============  ===============  ===========================================================
model         hook name        output
============  ===============  ===========================================================
SequenceGPT   ``embed``        input embedding (+ position), ``(batch, pos, d_model)``
SequenceGPT   ``block``        post-attention residual ``x + attn(ln_1(x))``, ``(batch, pos, d_model)``
SequenceGPT   ``block.attn``   attention output before the residual, ``(batch, pos, d_model)``
LRU           ``embed``        input embedding, ``(batch, pos, d_model)``
LRU           ``recurrence``   ``[Re h, Im h]`` of the state, ``(batch, pos, 2 * d_state)``
LRU           ``readout``      ``Re(C h) + D u``, ``(batch, pos, d_model)``
============  ===============  ===========================================================

``HIDDEN_MODULE`` on each class names the hook the paper analyses
(``'block'`` / ``'recurrence'``); :func:`hidden_states` records it.

Dtypes: parameters and activations are float32 by default (the LRU's complex
state is computed in complex64 from real parameters, so checkpoints hold only
real tensors); call ``model.double()`` for float64 (used by the tests comparing
the LRU's parallel and recurrent modes).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from probekit.errors import ProbekitError, did_you_mean
from probekit.hooks import Hooks

__all__ = [
    "LRU",
    "LRURecurrence",
    "SequenceGPT",
    "build_sequence_model",
    "computation_mode",
    "count_parameters",
    "hidden_states",
    "record_module_output",
]

POSITIONAL = ("learned", "sinusoidal", "none")
LRU_MODES = ("auto", "scan", "fft", "recurrent")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalar parameters.

    Parameters
    ----------
    model : torch.nn.Module
        The model.

    Returns
    -------
    int
        Sum of ``numel`` over parameters with ``requires_grad``.
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class MLPHead(nn.Module):
    """``Linear(d_in, hidden) -> GELU -> Linear(hidden, d_out)``.

    Parameters
    ----------
    d_in : int
        Input width (``d_model``).
    hidden : int
        Hidden width.
    d_out : int
        Output width.
    """

    def __init__(self, d_in: int, hidden: int, d_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(d_in, hidden)
        self.proj = nn.Linear(hidden, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the head to the last axis.

        Parameters
        ----------
        x : torch.Tensor of shape (..., d_in)

        Returns
        -------
        torch.Tensor of shape (..., d_out)
            Same dtype as ``x``.
        """
        return self.proj(F.gelu(self.fc(x)))


def sinusoidal_encoding(n_positions: int, d_model: int) -> torch.Tensor:
    """Vaswani et al. (2017) sinusoidal positional encoding.

    Parameters
    ----------
    n_positions : int
        Number of positions (``pos``).
    d_model : int
        Width; even columns hold sines, odd columns cosines.

    Returns
    -------
    torch.Tensor of shape (n_positions, d_model), float32
        Computed in float64, then cast.

    References
    ----------
    Vaswani et al. (2017), "Attention Is All You Need", NeurIPS, Sec. 3.5.
    """
    pos = torch.arange(n_positions, dtype=torch.float64)[:, None]
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(n_positions, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d_model // 2]
    return pe.float()


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention (query ``t`` attends to keys ``<= t``).

    Parameters
    ----------
    d_model : int
        Width of the residual stream.
    n_heads : int
        Number of heads (the caller checks that it divides ``d_model``).
    """

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Causal attention over positions.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, pos, d_model)

        Returns
        -------
        torch.Tensor of shape (batch, pos, d_model)
            The output projection of the heads, same dtype as ``x``.
        """
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        shape = (b, t, self.n_heads, d // self.n_heads)
        q, k, v = (a.view(shape).transpose(1, 2) for a in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.out(o.transpose(1, 2).reshape(b, t, d))


class GPTBlock(nn.Module):
    """Pre-LN attention block; output = post-attention residual ``x + attn(ln_1(x))``.

    Parameters
    ----------
    d_model : int
        Width of the residual stream.
    n_heads : int
        Number of attention heads.
    """

    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x + attn(ln_1(x))``.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, pos, d_model)

        Returns
        -------
        torch.Tensor of shape (batch, pos, d_model)
        """
        return x + self.attn(self.ln_1(x))


class _Embed(nn.Module):
    def __init__(self, input_dim: int, d_model: int, positional: str, context_length: int) -> None:
        super().__init__()
        self.value = nn.Linear(input_dim, d_model)
        self.positional = positional
        self.context_length = context_length
        if positional == "learned":
            self.position = nn.Embedding(context_length, d_model)
        elif positional == "sinusoidal":
            self.register_buffer("position_table", sinusoidal_encoding(context_length, d_model), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.value(x)
        t = x.shape[1]
        if self.positional != "none" and t > self.context_length:
            raise ProbekitError(f"sequence length {t} exceeds context_length {self.context_length} "
                                f"of a model with {self.positional!r} positions; use a shorter input "
                                "or build the model with a larger context_length")
        if self.positional == "learned":
            h = h + self.position(torch.arange(t, device=x.device))
        elif self.positional == "sinusoidal":
            h = h + self.position_table[:t].to(h.dtype)
        return h


class SequenceGPT(nn.Module):
    """One-layer GPT-style decoder for real-valued sequences.

    Parameters
    ----------
    d_model : int
        Width of the residual stream.
    n_heads : int
        Attention heads; must divide ``d_model``.
    context_length : int
        Longest input for learned / sinusoidal positions.
    positional : {'learned', 'sinusoidal', 'none'}
    mlp_hidden : int, optional
        Hidden width of the MLP head (default ``4 * d_model``).
    input_dim, output_dim : int
        Observed dimensions in / predicted dimensions out (``output_dim`` defaults to ``input_dim``).

    Notes
    -----
    ``forward(x)`` maps ``(batch, pos, input_dim)`` float to ``(batch, pos, output_dim)``:
    the prediction of the next observation at every position. Hidden state:
    hook ``'block'`` (see module docstring).

    Raises
    ------
    ProbekitError
        ``n_heads`` does not divide ``d_model``, unknown ``positional``, non-positive sizes.

    References
    ----------
    Ostrow, Eisen & Fiete (2024), arXiv 2406.11993, Sec. 3 (1-layer GPT, hidden state =
    post-attention residual); Radford et al. (2019) GPT-2 (pre-LN block).
    """

    HIDDEN_MODULE = "block"

    def __init__(self, d_model: int = 10, n_heads: int = 5, context_length: int = 512,
                 positional: str = "learned", mlp_hidden: int | None = None, input_dim: int = 1,
                 output_dim: int | None = None) -> None:
        super().__init__()
        if positional not in POSITIONAL:
            raise ProbekitError(f"positional must be one of {POSITIONAL}; got {positional!r}")
        for name, val in (("d_model", d_model), ("n_heads", n_heads), ("context_length", context_length),
                          ("input_dim", input_dim)):
            if int(val) < 1:
                raise ProbekitError(f"{name} must be >= 1; got {val}")
        if d_model % n_heads:
            raise ProbekitError(f"n_heads={n_heads} must divide d_model={d_model}; valid: "
                                f"{[h for h in range(1, d_model + 1) if d_model % h == 0]}")
        mlp_hidden = 4 * d_model if mlp_hidden is None else int(mlp_hidden)
        output_dim = input_dim if output_dim is None else int(output_dim)
        self.config = {"d_model": d_model, "n_heads": n_heads, "context_length": context_length,
                       "positional": positional, "mlp_hidden": mlp_hidden, "input_dim": input_dim,
                       "output_dim": output_dim}
        self.embed = _Embed(input_dim, d_model, positional, context_length)
        self.block = GPTBlock(d_model, n_heads)
        self.ln_f = nn.LayerNorm(d_model)
        self.head = MLPHead(d_model, mlp_hidden, output_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Next-step predictions from inputs; causal.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, pos, input_dim), float

        Returns
        -------
        torch.Tensor of shape (batch, pos, output_dim)
            Position ``t`` predicts observation ``t + 1``.

        Raises
        ------
        ProbekitError
            ``pos`` beyond ``context_length`` with learned or sinusoidal positions.
        """
        return self.head(self.ln_f(self.block(self.embed(x))))


class LRURecurrence(nn.Module):
    """Complex diagonal linear recurrence of the LRU, with real parameters.

    ``h_t = lambda * h_{t-1} + gamma * (B u_t)``, ``lambda = exp(-exp(nu_log) + i exp(theta_log))``,
    ``gamma = exp(gamma_log)`` (initialised to ``sqrt(1 - |lambda|^2)``), ``h_{-1} = 0``.

    Parameters
    ----------
    d_model : int
        Input width.
    d_state : int
        Number of complex state dimensions.
    r_min, r_max : float
        Ring of the initial eigenvalues, ``0 <= r_min < r_max < 1``.
    max_phase : float
        Initial phases uniform in ``[0, max_phase]`` (radians, ``<= 2 pi``).
    mode : {'auto', 'scan', 'fft', 'recurrent'}
        How the sequence is computed: ``'scan'`` (parallel Hillis-Steele scan,
        log2(pos) vectorised steps), ``'fft'`` (convolution with the kernel
        ``lambda^k``), ``'recurrent'`` (step by step); ``'auto'`` = scan in
        training mode, recurrent in eval mode.

    Notes
    -----
    ``forward(u)`` maps ``(batch, pos, d_model)`` to ``[Re h, Im h]`` of shape
    ``(batch, pos, 2 * d_state)`` -- the hidden state the paper analyses.
    :meth:`complex_state` returns ``h`` itself.

    Raises
    ------
    ProbekitError
        Not ``0 <= r_min < r_max < 1``, ``max_phase`` outside ``(0, 2 pi]``, unknown ``mode``.

    References
    ----------
    Orvieto et al. (2023). Resurrecting Recurrent Neural Networks for Long Sequences,
    ICML, Lemma 3.2 (ring initialisation) and eq. 7 (gamma normalisation).
    """

    def __init__(self, d_model: int, d_state: int, r_min: float = 0.8, r_max: float = 0.99,
                 max_phase: float = 2 * math.pi, mode: str = "auto") -> None:
        super().__init__()
        if not 0 <= r_min < r_max < 1:
            raise ProbekitError(f"need 0 <= r_min < r_max < 1; got r_min={r_min}, r_max={r_max}")
        if not 0 < max_phase <= 2 * math.pi + 1e-12:
            raise ProbekitError(f"max_phase must be in (0, 2*pi]; got {max_phase}")
        if mode not in LRU_MODES:
            raise ProbekitError(f"mode must be one of {LRU_MODES}; got {mode!r}")
        self.d_state, self.mode = d_state, mode
        u1, u2 = torch.rand(d_state), torch.rand(d_state)
        nu = -0.5 * torch.log(u1 * (r_max**2 - r_min**2) + r_min**2)
        theta = max_phase * u2
        self.nu_log = nn.Parameter(torch.log(nu))
        self.theta_log = nn.Parameter(torch.log(theta.clamp_min(1e-6)))
        self.gamma_log = nn.Parameter(0.5 * torch.log(1 - torch.exp(-2 * nu)))
        self.B_re = nn.Parameter(torch.randn(d_state, d_model) / math.sqrt(2 * d_model))
        self.B_im = nn.Parameter(torch.randn(d_state, d_model) / math.sqrt(2 * d_model))

    def eigenvalues(self) -> torch.Tensor:
        """``lambda``, ``(d_state,)`` complex (complex64 for float32 parameters)."""
        return torch.polar(torch.exp(-torch.exp(self.nu_log)), torch.exp(self.theta_log))

    def _resolved_mode(self) -> str:
        if self.mode == "auto":
            return "scan" if self.training else "recurrent"
        return self.mode

    def complex_state(self, u: torch.Tensor, mode: str | None = None) -> torch.Tensor:
        """The complex state ``h``.

        Parameters
        ----------
        u : torch.Tensor of shape (batch, pos, d_model), float32 or float64
            The recurrence input.
        mode : {'scan', 'fft', 'recurrent'}, optional
            How to compute it; ``None`` for the module's :attr:`mode` (``'auto'`` resolved).

        Returns
        -------
        torch.Tensor of shape (batch, pos, d_state)
            complex64 (complex128 for float64 input).

        Raises
        ------
        ProbekitError
            Unknown ``mode``.

        References
        ----------
        Orvieto et al. (2023), ICML, Sec. 3 and eq. 7 (``gamma`` normalisation).
        """
        mode = self._resolved_mode() if mode is None else mode
        if mode not in LRU_MODES[1:]:
            raise ProbekitError(f"mode must be one of {LRU_MODES[1:]}; got {mode!r}")
        cdtype = torch.complex128 if u.dtype == torch.float64 else torch.complex64
        lam = self.eigenvalues().to(cdtype)
        gamma = torch.exp(self.gamma_log)
        b_in = torch.complex(self.B_re * gamma[:, None], self.B_im * gamma[:, None]).to(cdtype)
        bu = u.to(cdtype) @ b_in.T  # (batch, pos, d_state)
        length = bu.shape[1]
        if mode == "recurrent":
            h = torch.zeros_like(bu[:, 0])
            out = []
            for t in range(length):
                h = lam * h + bu[:, t]
                out.append(h)
            return torch.stack(out, dim=1)
        if mode == "scan":
            x, a, shift = bu, lam, 1
            while shift < length:
                x = torch.cat([x[:, :shift], x[:, shift:] + a * x[:, :-shift]], dim=1)
                a, shift = a * a, 2 * shift
            return x
        # fft: h_t = sum_k lam^k bu_{t-k}
        k = torch.arange(length, device=u.device, dtype=u.dtype)
        kernel = torch.exp(k[:, None].to(cdtype) * torch.log(lam)[None, :])  # (pos, d_state)
        n = 2 * length
        hf = torch.fft.fft(kernel, n=n, dim=0)
        uf = torch.fft.fft(bu, n=n, dim=1)
        return torch.fft.ifft(uf * hf[None], n=n, dim=1)[:, :length]

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """The state as real features ``[Re h, Im h]``.

        Parameters
        ----------
        u : torch.Tensor of shape (batch, pos, d_model)

        Returns
        -------
        torch.Tensor of shape (batch, pos, 2 * d_state)
            Same floating dtype as ``u``.
        """
        h = self.complex_state(u)
        return torch.cat([h.real, h.imag], dim=-1)


class LRUReadout(nn.Module):
    """``Re(C h) + D * u`` from ``[Re h, Im h]`` and the recurrence input ``u``.

    Parameters
    ----------
    d_state : int
        Complex state dimensions.
    d_model : int
        Width of ``u`` and of the output.
    """

    def __init__(self, d_state: int, d_model: int) -> None:
        super().__init__()
        self.C_re = nn.Parameter(torch.randn(d_model, d_state) / math.sqrt(d_state))
        self.C_im = nn.Parameter(torch.randn(d_model, d_state) / math.sqrt(d_state))
        self.D = nn.Parameter(torch.randn(d_model))

    def forward(self, state: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """``Re(C h) + D * u``.

        Parameters
        ----------
        state : torch.Tensor of shape (batch, pos, 2 * d_state)
            ``[Re h, Im h]`` (the recurrence's output).
        u : torch.Tensor of shape (batch, pos, d_model)
            The recurrence's input.

        Returns
        -------
        torch.Tensor of shape (batch, pos, d_model)
        """
        re, im = state.chunk(2, dim=-1)
        return re @ self.C_re.T - im @ self.C_im.T + self.D * u


class LRU(nn.Module):
    """One-layer Linear Recurrent Unit sequence model.

    ``embed -> norm -> recurrence -> readout -> head``.

    Parameters
    ----------
    d_model : int
        Embedding width.
    d_state : int, optional
        Complex state dimensions (default ``d_model``).
    r_min, r_max, max_phase : float
        Ring initialisation (see :class:`LRURecurrence`); paper: 0.8, 0.99, 2 pi.
    mlp_hidden : int, optional
        Hidden width of the MLP head (default ``4 * d_model``).
    input_dim, output_dim : int
    mode : {'auto', 'scan', 'fft', 'recurrent'}
        Passed to the recurrence; settable later via :attr:`mode`.

    Notes
    -----
    ``forward(x)``: ``(batch, pos, input_dim)`` -> ``(batch, pos, output_dim)``.
    Hidden state: hook ``'recurrence'``, ``(batch, pos, 2 * d_state)``.

    Raises
    ------
    ProbekitError
        Bad ring, phase, mode or sizes.

    References
    ----------
    Orvieto et al. (2023), ICML, Sec. 3; Ostrow, Eisen & Fiete (2024), arXiv 2406.11993,
    Sec. 3 (LRU with ring init r in [0.8, 0.99], hidden state = [Re, Im] of the state).
    """

    HIDDEN_MODULE = "recurrence"

    def __init__(self, d_model: int = 10, d_state: int | None = None, r_min: float = 0.8,
                 r_max: float = 0.99, max_phase: float = 2 * math.pi, mlp_hidden: int | None = None,
                 input_dim: int = 1, output_dim: int | None = None, mode: str = "auto") -> None:
        super().__init__()
        d_state = d_model if d_state is None else int(d_state)
        for name, val in (("d_model", d_model), ("d_state", d_state), ("input_dim", input_dim)):
            if int(val) < 1:
                raise ProbekitError(f"{name} must be >= 1; got {val}")
        mlp_hidden = 4 * d_model if mlp_hidden is None else int(mlp_hidden)
        output_dim = input_dim if output_dim is None else int(output_dim)
        self.config = {"d_model": d_model, "d_state": d_state, "r_min": r_min, "r_max": r_max,
                       "max_phase": max_phase, "mlp_hidden": mlp_hidden, "input_dim": input_dim,
                       "output_dim": output_dim, "mode": mode}
        self.embed = nn.Linear(input_dim, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.recurrence = LRURecurrence(d_model, d_state, r_min, r_max, max_phase, mode)
        self.readout = LRUReadout(d_state, d_model)
        self.head = MLPHead(d_model, mlp_hidden, output_dim)

    @property
    def mode(self) -> str:
        """How the recurrence is computed: ``'auto'``, ``'scan'``, ``'fft'`` or ``'recurrent'``.

        Raises
        ------
        ProbekitError
            On setting an unknown mode.
        """
        return self.recurrence.mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in LRU_MODES:
            raise ProbekitError(f"mode must be one of {LRU_MODES}; got {value!r}")
        self.recurrence.mode = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Next-step predictions from inputs.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, pos, input_dim), float

        Returns
        -------
        torch.Tensor of shape (batch, pos, output_dim)
            Position ``t`` predicts observation ``t + 1``.
        """
        u = self.norm(self.embed(x))
        return self.head(self.readout(self.recurrence(u), u))


@contextlib.contextmanager
def computation_mode(model: nn.Module, mode: str) -> Iterator[nn.Module]:
    """Compute every LRU recurrence in ``model`` in ``mode`` inside a ``with`` block.

    The modes give identical outputs (tested); ``'scan'`` is much faster than the
    eval-mode default ``'recurrent'`` for long inputs such as rollouts. Each recurrence's
    previous mode is restored on exit, also on exceptions; a model without an LRU
    recurrence (e.g. :class:`SequenceGPT`) is left unchanged.

    Parameters
    ----------
    model : nn.Module
    mode : {'auto', 'scan', 'fft', 'recurrent'}

    Yields
    ------
    nn.Module
        ``model``.

    Raises
    ------
    ProbekitError
        Unknown ``mode``.
    """
    if mode not in LRU_MODES:
        raise ProbekitError(f"mode must be one of {LRU_MODES}; got {mode!r}")
    recurrences = [m for m in model.modules() if isinstance(m, LRURecurrence)]
    before = [r.mode for r in recurrences]
    try:
        for r in recurrences:
            r.mode = mode
        yield model
    finally:
        for r, m in zip(recurrences, before):
            r.mode = m


MODEL_NAMES = ("gpt", "lru")


def build_sequence_model(name: str, d_model: int, **kwargs) -> nn.Module:
    """Build ``'gpt'`` (:class:`SequenceGPT`) or ``'lru'`` (:class:`LRU`) of width ``d_model``.

    Parameters
    ----------
    name : {'gpt', 'lru'}
        The architecture.
    d_model : int
        Width of the residual stream / embedding.
    **kwargs
        The other arguments of the class.

    Returns
    -------
    torch.nn.Module
        Freshly initialised (float32).

    Raises
    ------
    ProbekitError
        Unknown ``name``, or bad arguments (as the class).
    """
    if name == "gpt":
        return SequenceGPT(d_model=d_model, **kwargs)
    if name == "lru":
        return LRU(d_model=d_model, **kwargs)
    raise ProbekitError(f"unknown sequence model {name!r}; valid: {MODEL_NAMES}")


@contextlib.contextmanager
def record_module_output(model: nn.Module, module_name: str) -> Iterator[list]:
    """Record the forward outputs of ``model.<module_name>`` inside a ``with`` block.

    The hook is removed on exit, also on exceptions.

    Parameters
    ----------
    model : torch.nn.Module
        The model.
    module_name : str
        A submodule name (e.g. ``'block'``, ``'recurrence'``).

    Yields
    ------
    list of torch.Tensor
        Each forward call's output (detached) is appended.

    Raises
    ------
    ProbekitError
        No submodule of that name.
    """
    names = [n for n, _ in model.named_modules() if n]
    if module_name not in names:
        raise ProbekitError(did_you_mean(module_name, names, "module"))
    outputs: list = []
    with Hooks(model, {module_name: lambda mod, inp, out: outputs.append(out.detach())}):
        yield outputs


@torch.no_grad()
def hidden_states(model: nn.Module, inputs: torch.Tensor, module_name: str | None = None,
                  batch_size: int = 64) -> np.ndarray:
    """Hidden states of ``model`` on ``inputs`` via a forward hook.

    Parameters
    ----------
    model : nn.Module
        Run in eval mode (restored afterwards).
    inputs : Tensor of shape (batch, pos, input_dim)
    module_name : str, optional
        Hook point; default ``model.HIDDEN_MODULE``.
    batch_size : int

    Returns
    -------
    ndarray of shape (batch, pos, n_features), float32

    Raises
    ------
    ProbekitError
        No ``module_name`` for a model without ``HIDDEN_MODULE``, or no submodule of
        that name.
    """
    name = module_name or getattr(model, "HIDDEN_MODULE", None)
    if name is None:
        raise ProbekitError("module_name is required for a model without HIDDEN_MODULE")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        with record_module_output(model, name) as outs:
            for i in range(0, inputs.shape[0], batch_size):
                model(inputs[i:i + batch_size].to(device))
        return torch.cat(outs).float().cpu().numpy()
    finally:
        model.train(was_training)
