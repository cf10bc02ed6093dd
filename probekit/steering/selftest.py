"""Self-test: a steering vector lands at the right absolute positions during ``generate``.

In one generation, a hook registered *before* the steering hook sees a block's raw
output and one registered *after* sees the steered output, so their difference is
exactly what steering added, pass by pass, with no dependence on generated tokens. The
expected positions come from counting tokens independently (prefill = the prompt, then
one token per cached step; the whole sequence per step without a cache).
"""

from __future__ import annotations

import torch

from probekit.extract.hook_points import block_lists
from probekit.hooks import Hooks
from probekit.extract.recorder import first_tensor
from probekit.extract.text_inputs import encode_text
from probekit.models.base import LoadedModel
from probekit.steering.hooks import Intervention, steer

__all__ = ["steering_deltas", "check_steering"]

NEW_TOKENS = 3


def _capture(model: torch.nn.Module, module: str, store: list) -> Hooks:
    """Hooks appending a copy of ``module``'s output tensor to ``store`` on every call."""
    return Hooks(model, {module: lambda m, a, o: store.append(first_tensor(o).detach().clone())})


def steering_deltas(loaded: LoadedModel, module: str, positions: list[int], texts,
                    use_cache: bool) -> tuple[list[torch.Tensor], torch.Tensor, int]:
    """What steering added to ``module``'s output in each forward pass of ``generate``.

    Runs ``module``'s output once unsteered (one forward pass) and then through greedy
    ``generate`` with ``linspace(0.5, 1.5, d_model)`` added at ``positions``.

    Parameters
    ----------
    loaded : LoadedModel
        A causal language model with a tokenizer.
    module : str
        The module (or hook point) steered and read.
    positions : list of int
        Absolute token positions steered (negative counts from the prompt's end).
    texts : sequence of str
        Prompts, encoded as one left-padded batch (64 tokens at most).
    use_cache : bool
        Passed to ``generate`` (cached and uncached decoding differ in how positions
        arrive).

    Returns
    -------
    (list of torch.Tensor, torch.Tensor, int)
        Per pass ``(batch, pos, d_model)`` differences, the vector added (``(d_model,)``,
        float32), and the prompt length (left-padded batch).
    """
    model = loaded.model
    side = loaded.tokenizer.padding_side
    loaded.tokenizer.padding_side = "left"  # batched generation pads on the left
    try:
        inputs = encode_text(loaded, list(texts), 64)
    finally:
        loaded.tokenizer.padding_side = side
    raw, steered = [], []
    with _capture(model, module, raw):
        with torch.no_grad():
            model(**{k: v for k, v in inputs.items() if k != "position_ids"})
        width = raw[0].shape[-1]
        raw.clear()
        vector = torch.linspace(0.5, 1.5, width)
        with steer(model, [Intervention(module, vector, positions=list(positions))]), \
                _capture(model, module, steered), torch.no_grad():
            model.generate(**{k: v for k, v in inputs.items() if k != "position_ids"},
                           max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                           use_cache=use_cache, pad_token_id=loaded.tokenizer.pad_token_id)
    return [s - r for s, r in zip(steered, raw)], vector, int(inputs["input_ids"].shape[1])


def check_steering(loaded: LoadedModel, sentences):
    """The ``steering`` row of :func:`probekit.check.check_model` (causal LMs only).

    Parameters
    ----------
    loaded : LoadedModel
        The model checked; other kinds than ``causal-lm`` get a skipped row.
    sentences : sequence of str
        Prompts; the first two are used.

    Returns
    -------
    probekit.check.CheckResult
        Passed when, in cached and uncached ``generate`` on a left-padded batch, the vector
        added at positions ``[1, -1]`` of a middle block appears exactly there; ``value`` is
        the worst error relative to the vector's largest entry. Skipped (``passed=None``)
        for a non-generative model or one without a block list; a failing ``generate`` is
        a failed row, not an exception.
    """
    from probekit.check import CheckResult

    if loaded.kind != "causal-lm" or not hasattr(loaded.model, "generate"):
        return CheckResult("steering", None, detail="not a generative model")
    stacks = block_lists(loaded.model)
    if not stacks or "@" in stacks[-1].blocks[0]:
        return CheckResult("steering", None, detail="no block list to steer")
    module = stacks[-1].blocks[len(stacks[-1].blocks) // 2]
    worst, problems = 0.0, []
    for use_cache in (True, False):
        try:
            deltas, vector, prompt = steering_deltas(loaded, module, [1, -1], sentences[:2], use_cache)
        except Exception as error:  # any failure to generate is a failed check, reported
            return CheckResult("steering", False, detail=f"generate failed: {type(error).__name__}: {error}")
        for step, delta in enumerate(deltas):
            expected = _expected(delta, vector, step, prompt, use_cache)
            worst = max(worst, float((delta - expected).abs().max()) / float(vector.abs().max()))
        if len(deltas) != NEW_TOKENS:
            problems.append(f"{len(deltas)} forward passes seen for {NEW_TOKENS} new tokens")
    passed = worst <= 1e-4 and not problems
    detail = f"{module}, cached and uncached generate" if passed else (
        "; ".join(problems) or "the vector did not land exactly at the absolute positions asked for")
    return CheckResult("steering", passed, worst, detail)


def _expected(delta: torch.Tensor, vector: torch.Tensor, step: int, prompt: int, use_cache: bool) -> torch.Tensor:
    """What steering positions [1, -1] must add in pass ``step``: position 1 once it is in
    the pass, and the last position of the sequence as it stands (the newest token)."""
    expected = torch.zeros_like(delta)
    seq = delta.shape[1]
    # a pass over the whole sequence (prefill, no cache, or a model without a KV cache)
    # starts at 0; a cached step sees one token, the newest
    offset = 0 if (step == 0 or not use_cache or seq == prompt + step) else prompt + step - 1
    total = offset + seq
    for absolute in {1, total - 1}:
        if offset <= absolute < total:
            expected[:, absolute - offset] = vector.to(delta.dtype)
    return expected
