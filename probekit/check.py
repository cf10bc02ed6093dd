"""Self-validation of a loaded model: does probekit read it right? (``probekit check``).

In seconds, on a few built-in sentences, :func:`check_model` checks that

1. ``hidden_states``: the residual-stream hook points reproduce the model's own
   ``output_hidden_states`` (the last entry may be after a final norm: then the norm
   applied to the last ``resid_post`` must reproduce it);
2. ``padding-right`` / ``padding-left``: every real token of a padded batch equals the
   same text run alone (relative error ≤ ``tolerance``), at every residual hook point;
3. ``sublayer-sums``: ``attn_out + mlp_out = resid_post - resid_pre`` in every block
   where the block adds its sublayers to the residual stream (post-norm blocks, whose
   output is a norm of that sum, are reported as not applicable);
4. ``steering``: a vector added at one absolute position during cached ``generate``
   lands exactly there (prompt position and first generated position), nowhere else.

The cheap part (1) runs before every ``probe`` / ``extract`` (``--no-check`` skips it);
2 is settled there too by :func:`settle_padding`, which runs texts unpadded where padding
would change them. The idea follows nnterp's load-time validation of standardized models.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

import torch

from probekit.errors import ProbekitError
from probekit.extract.hook_points import HookPoint, block_lists, hook_points
from probekit.extract.recorder import ActivationRecorder, first_tensor
from probekit.extract.text_inputs import accepts, encode_text, is_encoder_decoder
from probekit.models.base import LoadedModel

#: Built-in sentences of different lengths, so that a batch of them is padded.
SENTENCES = (
    "The city of Paris is in France.",
    "Two plus two is four.",
    "A small grey cat slept on the warm kitchen mat all afternoon.",
    "Rome is in Italy.",
)
TOLERANCE = 1e-4
#: Sums of float32 sublayer outputs drift more than single values (6e-5 on SmolLM2-135M);
#: a wrong contribution gives errors near 1.
SUM_TOLERANCE = 1e-3


@dataclass
class CheckResult:
    """One check: ``passed`` is True, False, or None (not applicable); ``value`` is the
    largest relative error seen (unitless), when the check measures one."""

    name: str
    passed: bool | None
    value: float | None = None
    detail: str = ""


@dataclass
class CheckReport:
    """All checks of one model; ``passed`` when none failed."""

    model: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no check failed (skipped checks, ``passed=None``, do not fail)."""
        return all(r.passed is not False for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        """The checks that failed."""
        return [r for r in self.results if r.passed is False]

    def table(self) -> str:
        """A plain-text pass/fail table."""
        lines = [f"probekit check: {self.model}", f"{'check':<16} {'result':<7} {'max rel err':>11}  detail"]
        for r in self.results:
            mark = {True: "pass", False: "FAIL", None: "n/a"}[r.passed]
            value = "" if r.value is None else f"{r.value:.2e}"
            lines.append(f"{r.name:<16} {mark:<7} {value:>11}  {r.detail}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """``model``, ``passed`` and every result as plain dicts (JSON-able)."""
        return {"model": self.model, "passed": self.passed, "results": [asdict(r) for r in self.results]}

    def raise_if_failed(self) -> None:
        """Raise when any check failed (skipped checks do not fail).

        Raises
        ------
        ProbekitError
            Naming every failed check and its detail.
        """
        if not self.passed:
            names = "; ".join(f"{r.name}: {r.detail}" for r in self.failed)
            raise ProbekitError(f"probekit check failed for {self.model}: {names} "
                                "(run `probekit check --model ...` for the table; --no-check skips this)")


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """``max |a - b| / max |b|`` (0 when both are zero).

    Parameters
    ----------
    a, b : torch.Tensor
        Same shape (any dtype); the difference is taken in float32.

    Returns
    -------
    float
        The absolute error when ``b`` is all zero.
    """
    scale = float(b.abs().max()) if b.numel() else 0.0
    diff = float((a.float() - b.float()).abs().max()) if b.numel() else 0.0
    return diff / scale if scale > 0 else diff


def _run(loaded: LoadedModel, keys: list[str], texts, **extra) -> tuple[dict, object, dict]:
    inputs = encode_text(loaded, list(texts), 512)
    with ActivationRecorder(loaded.model, keys) as recorder:
        with torch.no_grad():
            output = loaded.model(**inputs, **extra)
        acts = dict(recorder.activations)
    return acts, output, inputs


def _mask_for(point: HookPoint, inputs: dict) -> torch.Tensor:
    if point.name.startswith("decoder.") and "decoder_attention_mask" in inputs:
        return inputs["decoder_attention_mask"]
    return inputs["attention_mask"]


def check_hidden_states(loaded: LoadedModel, sentences=SENTENCES) -> CheckResult:
    """Residual hook points against ``output_hidden_states`` on one unpadded sentence.

    Parameters
    ----------
    loaded : LoadedModel
        A text model.
    sentences : sequence of str
        The first one is run.

    Returns
    -------
    CheckResult
        ``hidden_states`` row: ``value`` the worst relative error; skipped
        (``passed=None``) for models without a block list or hidden states.
    """
    points = [p for p in hook_points(loaded.model) if p.kind == "resid"]
    if not points:
        return CheckResult("hidden_states", None, detail="no block list: module names only")
    acts, output, _ = _run(loaded, [p.module for p in points], sentences[:1], output_hidden_states=True)
    stacks = _hidden_state_stacks(loaded.model, output)
    if stacks is None:
        return CheckResult("hidden_states", None, detail="the model returns no hidden_states")
    worst, notes = 0.0, []
    for stack in block_lists(loaded.model):
        mine = [p for p in points if p.name.startswith(stack.prefix) or not stack.prefix]
        theirs = stacks.get(stack.prefix)
        if theirs is None or len(theirs) != len(mine):
            return CheckResult("hidden_states", False, detail=(
                f"{stack.prefix or 'model'}: {len(mine)} residual hook points but "
                f"{'no' if theirs is None else len(theirs)} hidden_states"))
        # Hugging Face's convention: entry 0 = embeddings, entry i + 1 = block i's output;
        # state-space models (Mamba, RWKV) leave the embeddings out (entry i = block i)
        results = [_compare_stack(loaded.model, stack, acts, mine, theirs, shift) for shift in (0, 1)]
        error, note = min(results, key=lambda r: r[0])
        worst = max(worst, error)
        notes += [note] if note else []
    passed = worst <= TOLERANCE
    detail = "; ".join(notes) if passed else "residual hook points differ from output_hidden_states"
    return CheckResult("hidden_states", passed, worst, detail)


def _compare_stack(model, stack, acts, mine, theirs, shift: int) -> tuple[float, str]:
    """Largest error of ``mine[j + shift]`` against ``theirs[j]``; the last entry may be
    after the stack's final norm."""
    worst, notes = 0.0, []
    pairs = list(zip(mine[shift:], theirs))
    for point, reference in pairs[:-1]:
        worst = max(worst, relative_error(acts[point.module], reference))
    last_point = mine[-1]
    last = relative_error(acts[last_point.module], theirs[-1])
    if last > TOLERANCE:
        normed = _final_norm(model, stack, acts[last_point.module])
        if normed is not None:
            last = relative_error(normed, theirs[-1])
            notes.append(f"last {stack.prefix}hidden_states entry is after the final norm")
    if shift:
        notes.append(f"{stack.prefix}hidden_states leave out the embeddings")
    return max(worst, last), "; ".join(notes)


def _hidden_state_stacks(model, output) -> dict | None:
    if is_encoder_decoder(model):
        enc, dec = getattr(output, "encoder_hidden_states", None), getattr(output, "decoder_hidden_states", None)
        return None if enc is None or dec is None else {"encoder.": enc, "decoder.": dec}
    states = getattr(output, "hidden_states", None)
    return None if states is None else {"": states}


FINAL_NORM_NAMES = ("norm", "ln_f", "final_layernorm", "final_layer_norm", "norm_f", "final_norm",
                    "layer_norm", "layernorm", "ln_out", "ln")


def _final_norm(model, stack, last: torch.Tensor) -> torch.Tensor | None:
    """The stack's final norm (a sibling of the block list) applied to ``last``."""
    parent_name = stack.container.rpartition(".")[0]
    parent = model.get_submodule(parent_name) if parent_name else model
    for name in FINAL_NORM_NAMES:
        norm = getattr(parent, name, None)
        if isinstance(norm, torch.nn.Module):
            with torch.no_grad():
                return norm(last)
    return None


@contextmanager
def _padding(loaded: LoadedModel, side: str, position_ids: bool):
    """Temporarily pad on ``side``, with or without ``position_ids`` from the mask."""
    tokenizer = loaded.tokenizer
    saved_side, had, saved = tokenizer.padding_side, "position_ids" in loaded.info, loaded.info.get("position_ids")
    tokenizer.padding_side, loaded.info["position_ids"] = side, position_ids
    try:
        yield
    finally:
        tokenizer.padding_side = saved_side
        if had:
            loaded.info["position_ids"] = saved
        else:
            loaded.info.pop("position_ids", None)


def alone_runs(loaded: LoadedModel, sentences) -> list[dict[str, torch.Tensor]]:
    """The reference of the padding checks: each text run alone.

    No padding, the model's own positions.

    Parameters
    ----------
    loaded : LoadedModel
        A text model.
    sentences : sequence of str
        The texts.

    Returns
    -------
    list of dict of str to torch.Tensor
        Per text, ``{recorder key: (pos, d_model)}`` for every residual hook point
        (``""``: the model's output when it has none).
    """
    points = [p for p in hook_points(loaded.model) if p.kind == "resid"]
    runs = []
    with _padding(loaded, "right", False):
        for text in sentences:
            acts, output, _ = _run(loaded, [p.module for p in points], [text])
            runs.append({k: v[0] for k, v in acts.items()} if points else {"": first_tensor(output)[0]})
    return runs


def _padding_error(loaded: LoadedModel, side: str, sentences, position_ids: bool, alone=None) -> float:
    """Largest relative error between padded and unpadded runs over every real token of
    every residual hook point (or the model output when there are no hook points)."""
    points = [p for p in hook_points(loaded.model) if p.kind == "resid"]
    alone = alone_runs(loaded, sentences) if alone is None else alone
    with _padding(loaded, side, position_ids):
        batch_acts, batch_out, inputs = _run(loaded, [p.module for p in points], sentences)
    worst = 0.0
    for row, reference in enumerate(alone):
        for point in points:
            mask = _mask_for(point, inputs)[row].bool()
            worst = max(worst, relative_error(batch_acts[point.module][row][mask], reference[point.module]))
        if not points:
            mask = inputs["attention_mask"][row].bool()
            worst = max(worst, relative_error(first_tensor(batch_out)[row][mask], reference[""]))
    return worst


def _left_padding(loaded: LoadedModel, sentences, alone=None) -> tuple[float, bool]:
    """(error, use position_ids) of the better way to run left-padded batches."""
    alone = alone_runs(loaded, sentences) if alone is None else alone
    error = _padding_error(loaded, "left", sentences, False, alone)
    if error > TOLERANCE and _takes_position_ids(loaded.model):
        with_ids = _padding_error(loaded, "left", sentences, True, alone)
        if with_ids < error:
            return with_ids, True
    return error, False


def settle_padding(loaded: LoadedModel, sentences=SENTENCES) -> str:
    """Decide, once per model, how batches are padded so that no value changes.

    The tokenizer's side as it is (``"padded"``), left padding with ``position_ids`` from
    the attention mask (``"position_ids"``), or, where neither makes a padded batch equal
    each text run alone (RWKV or BART-family with left padding, ConvBERT on either side),
    one text per forward pass with no padding at all (``"unpadded"``, slower; a warning
    says so). Stored in ``loaded.info["position_ids"]`` and ``loaded.info["unpadded"]``.

    Parameters
    ----------
    loaded : LoadedModel
        The model (``loaded.info`` is updated); non-text models are left as they are.
    sentences : sequence of str
        The texts compared.

    Returns
    -------
    str
        ``"padded"``, ``"position_ids"`` or ``"unpadded"``.
    """
    if loaded.modality != "text":
        return "padded"
    if "position_ids" not in loaded.info or "unpadded" not in loaded.info:
        side = loaded.tokenizer.padding_side
        if side == "left":
            error, use_ids = _left_padding(loaded, sentences)
        else:
            error, use_ids = _padding_error(loaded, side, sentences, False), False
        loaded.info["position_ids"] = use_ids
        loaded.info["unpadded"] = error > TOLERANCE
        if loaded.info["unpadded"]:
            import warnings

            warnings.warn(f"{loaded.info.get('architecture', type(loaded.model).__name__)} gives different "
                          f"values when {side}-padded (relative error {error:.2g}); running each text alone, "
                          "without padding (slower)" + ("; --padding-side right may avoid it" if side == "left"
                                                         else ""), stacklevel=2)
    if loaded.info["unpadded"]:
        return "unpadded"
    return "position_ids" if loaded.info["position_ids"] else "padded"


def _takes_position_ids(model) -> bool:
    return accepts(model, "position_ids") and not is_encoder_decoder(model)


def check_padding(loaded: LoadedModel, side: str, sentences=SENTENCES, alone=None) -> CheckResult:
    """Padded batch against each text run alone, with ``side`` padding.

    Parameters
    ----------
    loaded : LoadedModel
        A text model.
    side : {'left', 'right'}
        The padding side tried.
    sentences : sequence of str
        The texts, padded into one batch.
    alone : list of dict, optional
        :func:`alone_runs` of ``sentences``; computed when not given.

    Returns
    -------
    CheckResult
        ``padding-{side}`` row; ``value`` the worst relative error.
    """
    if side == "left":
        error, use_ids = _left_padding(loaded, sentences, alone)
    else:
        error, use_ids = _padding_error(loaded, side, sentences, False, alone), False
    detail = "position_ids from the attention mask" if use_ids else ""
    if error > TOLERANCE:
        other = "right" if side == "left" else "left"
        detail = f"padded values differ from the text run alone; use --padding-side {other}"
    return CheckResult(f"padding-{side}", error <= TOLERANCE, error, detail)


def check_sublayer_sums(loaded: LoadedModel, sentences=SENTENCES) -> CheckResult:
    """``attn_out + mlp_out == resid_post - resid_pre`` per block, where it applies.

    Parameters
    ----------
    loaded : LoadedModel
        A text model.
    sentences : sequence of str
        The first one is run.

    Returns
    -------
    CheckResult
        ``sublayer-sums`` row; ``value`` the worst relative error. Skipped
        (``passed=None``) without attn/mlp hook points or for post-norm blocks.
    """
    points = hook_points(loaded.model)
    by_name = {p.name: p for p in points}
    resid = [p for p in points if p.kind == "resid"]
    if not any(p.kind in ("attn", "mlp") for p in points):
        return CheckResult("sublayer-sums", None, detail="no attn_out / mlp_out hook points")
    norms = _norm_keys(loaded.model, resid)
    acts, _, _ = _run(loaded, [p.module for p in points] + norms, sentences[:1])
    worst, post_norm, compared = 0.0, 0, 0
    for pre, post in zip(resid[:-1], resid[1:]):
        stem = post.name.rpartition(".resid_post")[0]
        parts = [by_name.get(f"{stem}.attn_out"), by_name.get(f"{stem}.mlp_out")]
        if not stem or None in parts or pre.name.split("blocks")[0] != post.name.split("blocks")[0]:
            continue
        parts += [q for q in [by_name.get(f"{stem}.cross_attn_out")] if q is not None]
        update = acts[post.module] - acts[pre.module]
        error = relative_error(sum(acts[q.module] for q in parts), update)
        compared += 1
        if error > SUM_TOLERANCE and any(relative_error(acts[k], acts[post.module]) <= TOLERANCE
                                     for k in norms if _inside(k, post.module)):
            post_norm += 1  # the block's output is a norm's output: a post-LN block
            continue
        worst = max(worst, error)
    if post_norm and compared == post_norm:
        return CheckResult("sublayer-sums", None, detail="post-norm blocks: attn_out / mlp_out are the "
                           "contributions before the residual add and the norm")
    if not compared:
        return CheckResult("sublayer-sums", None, detail="no block has both attn_out and mlp_out")
    passed = worst <= SUM_TOLERANCE
    detail = "" if passed else "attn_out + mlp_out is not the block's residual update"
    return CheckResult("sublayer-sums", passed, worst, detail)


def _norm_keys(model, resid: list[HookPoint]) -> list[str]:
    """Recorder keys of every norm module inside the blocks (same call index)."""
    keys = []
    for point in resid:
        name, _, call = point.module.partition("@")
        if ":" in name:
            continue
        for child, module in model.get_submodule(name).named_modules():
            if child and "norm" in type(module).__name__.lower():
                keys.append(f"{name}.{child}" + (f"@{call}" if call else ""))
    return keys


def _inside(key: str, block_key: str) -> bool:
    name, _, call = block_key.partition("@")
    inner, _, inner_call = key.partition("@")
    return inner.startswith(name + ".") and call == inner_call


def check_model(loaded: LoadedModel, sentences=SENTENCES, cheap: bool = False) -> CheckReport:
    """Run the checks of this module on ``loaded`` (text models; image models get n/a).

    Parameters
    ----------
    loaded:
        A model from :func:`probekit.models.load_model` or :func:`probekit.models.wrap_model`.
    sentences:
        Texts of different lengths (default: :data:`SENTENCES`).
    cheap:
        Only ``hidden_states`` and padding (what ``probe`` and ``extract`` run).

    Returns
    -------
    CheckReport
    """
    report = CheckReport(loaded.name)
    if loaded.modality != "text":
        report.results.append(CheckResult("hidden_states", None, detail=f"{loaded.kind}: text checks only"))
        return report
    report.results.append(check_hidden_states(loaded, sentences))
    alone = alone_runs(loaded, sentences)
    report.results.append(check_padding(loaded, "right", sentences, alone))
    report.results.append(check_padding(loaded, "left", sentences, alone))
    if not cheap:
        report.results.append(check_sublayer_sums(loaded, sentences))
        from probekit.steering.selftest import check_steering

        report.results.append(check_steering(loaded, sentences))
    return report


def cheap_check(loaded: LoadedModel) -> CheckReport:
    """What ``probe`` / ``extract`` run first.

    The residual hook points against ``output_hidden_states`` (padding is then settled by
    :func:`settle_padding`, which never lets padding change a value).

    Parameters
    ----------
    loaded : LoadedModel
        The model (non-text models get an empty report).

    Returns
    -------
    CheckReport

    Raises
    ------
    ProbekitError
        A failed check (named in the message).
    """
    report = CheckReport(loaded.name)
    if loaded.modality == "text":
        report.results.append(check_hidden_states(loaded))
    report.raise_if_failed()
    return report


__all__ = ["CheckReport", "CheckResult", "check_model", "cheap_check", "settle_padding",
           "check_hidden_states", "check_padding", "check_sublayer_sums", "SENTENCES", "relative_error", "alone_runs"]
