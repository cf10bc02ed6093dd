"""Which architectures does probekit's hook-point discovery get right? A diagnostic table.

For every tiny random model of ``tests/architectures/tiny_lms.py`` (issue 12's matrix),
with the probekit API of this checkout (``find_blocks``, ``hook_points``,
``residual_stream``, ``ActivationRecorder``), it reports:

blocks      ``find_blocks``: the block list and its length
n_hs        entries of ``output_hidden_states`` (encoder-decoders: of the stack holding
            the blocks found)
n_resid     residual hook points (``embed`` + one ``resid_post`` per block)
resid_err   max |resid point j - hidden_states[j]| / max |hidden_states[j]| over every
            point but the last (hidden_states[-1] is often final-normed)
last_err    the same for the last point (large = final norm, as documented)
sum_err     max |attn_out + mlp_out - (resid_post - resid_pre)| / max |resid_post - resid_pre|
            over the blocks ("-" where a block lacks an attn or mlp point)
fails       short names of the failed checks (tolerance 1e-4): no-blocks, count (n_hs !=
            n_resid), resid, sum, no-attn+mlp, inplace, padL/padR ("(pos fixes)" when the
            position_ids variant passes), padL+pos/padR+pos (passing position_ids breaks it)
inplace     max |recorded - private copy taken in the hook| over attn/mlp/resid points:
            > 0 means a later in-place op changed a tensor the recorder kept
pos_ids     whether ``model.forward`` takes ``position_ids``
padL, padR  left/right padding: the last real token's hidden states (every layer) of each
            sentence in a padded batch vs the sentence alone, max relative error
padL+pos,   the same with ``position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)``
padR+pos    ("-" where the forward takes no position_ids)

Encoder-decoders get ``decoder_input_ids = input_ids`` (and the mask as
``decoder_attention_mask``); ``plain_fwd`` says whether they run without them.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/architecture_matrix.py --out matrix.json
    ... --arch gpt2 --arch bert          # a subset
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

COLUMNS = ["arch", "kind", "blocks", "n_hs", "n_resid", "hs_map", "resid_err", "last_err", "sum_err", "inplace",
           "pos_ids", "padL", "padR", "padL+pos", "padR+pos", "plain_fwd", "build_s", "fails"]
TOL = 1e-4
RESIDUAL_COLUMNS = ["blocks", "n_hs", "n_resid", "hs_map", "resid_err", "last_err", "sum_err", "inplace"]


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    scale = b.abs().max().item()
    return (a - b).abs().max().item() / (scale if scale > 0 else 1.0)


def _match(value: torch.Tensor, hidden_states) -> str:
    """Index of the hidden state equal to ``value`` (relative error <= TOL), or ``-``."""
    for k, h in enumerate(hidden_states):
        if h.shape == value.shape and _rel(value, h) <= TOL:
            return str(k)
    return "-"


def _position_ids(mask: torch.Tensor) -> torch.Tensor:
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


def _inputs(batch: dict, kind: str, position_ids: bool) -> dict:
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    if kind == "encoder-decoder":
        inputs["decoder_input_ids"] = batch["input_ids"]
        inputs["decoder_attention_mask"] = batch["attention_mask"]
    if position_ids:
        inputs["position_ids"] = _position_ids(batch["attention_mask"])
    return inputs


def _hidden_states(out, kind: str, stack: str = "") -> tuple[torch.Tensor, ...]:
    if kind != "encoder-decoder":
        return tuple(out.hidden_states)
    if stack == "encoder":
        return tuple(out.encoder_hidden_states)
    if stack == "decoder":
        return tuple(out.decoder_hidden_states)
    return tuple(out.encoder_hidden_states) + tuple(out.decoder_hidden_states)


def _stack(blocks: str) -> str:
    head = blocks.split(".")[0] if blocks else ""
    if head in ("encoder", "decoder"):
        return head
    parts = blocks.split(".")
    return next((p for p in parts if p in ("encoder", "decoder")), "")


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "0" if value == 0 else f"{value:.1e}"
    return str(value)


class _Copies:
    """Forward hooks that keep a private clone of each module's output (reference for in-place ops)."""

    def __init__(self, model, names):
        from probekit.extract.recorder import first_tensor

        self.values, self.handles = {}, []
        for name in names:
            module = model.get_submodule(name)
            self.handles.append(module.register_forward_hook(
                lambda m, a, o, name=name: self.values.__setitem__(name, first_tensor(o).detach().clone())))

    def remove(self):
        for handle in self.handles:
            handle.remove()


def residual_checks(model, kind: str, batch: dict, row: dict) -> None:
    """n_hs, n_resid, resid_err, last_err, sum_err, inplace for one unpadded sentence."""
    from probekit.extract.hook_points import find_blocks, hook_points
    from probekit.extract.recorder import INPUT_SUFFIX, ActivationRecorder

    blocks, n_blocks = find_blocks(model)
    row["blocks"] = f"{blocks}[{n_blocks}]" if n_blocks else "none"
    inputs = _inputs(batch, kind, position_ids=False)
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    hs = _hidden_states(out, kind, _stack(blocks) or "decoder")
    row["n_hs"] = len(hs)
    points = hook_points(model)
    resid = [p for p in points if p.kind == "resid"]
    row["n_resid"] = len(resid)
    if not points:
        return
    names = [p.module for p in points]
    copies = _Copies(model, [n for n in names if not n.endswith(INPUT_SUFFIX)])
    try:
        with ActivationRecorder(model, names) as recorder:
            acts = recorder.run(**inputs)
    finally:
        copies.remove()
    row["inplace"] = max(_rel(acts[n], c) for n, c in copies.values.items())
    n = min(len(resid), len(hs))
    errs = [_rel(acts[resid[j].module], hs[j]) for j in range(n)]
    row["hs_map"] = " ".join(_match(acts[p.module], hs) for p in resid)
    row["resid_err"] = max(errs[:-1]) if n > 1 else None
    row["last_err"] = errs[-1] if n else None
    by_layer: dict[int, dict[str, str]] = {}
    for p in points:
        by_layer.setdefault(p.layer, {})[p.kind] = p.module
    sums = []
    for layer in range(1, n_blocks + 1):
        here, before = by_layer.get(layer, {}), by_layer.get(layer - 1, {})
        if {"attn", "mlp", "resid"} <= set(here) and "resid" in before:
            delta = acts[here["resid"]] - acts[before["resid"]]
            sums.append(_rel(acts[here["attn"]] + acts[here["mlp"]], delta))
    row["sum_err"] = max(sums) if sums else None


def padding_error(model, kind: str, tokenizer, sentences, side: str, position_ids: bool) -> float:
    """Max relative error, over sentences and hidden-state layers, of the last real token padded vs alone."""
    tokenizer.padding_side = side
    batch = tokenizer(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**_inputs(batch, kind, position_ids), output_hidden_states=True)
    padded = _hidden_states(out, kind)
    worst = 0.0
    for i, sentence in enumerate(sentences):
        alone_batch = tokenizer([sentence], return_tensors="pt")
        with torch.no_grad():
            alone = _hidden_states(model(**_inputs(alone_batch, kind, False), output_hidden_states=True), kind)
        mask = batch["attention_mask"][i]
        last = int(mask.nonzero().max())
        for layer_padded, layer_alone in zip(padded, alone):
            worst = max(worst, _rel(layer_padded[i, last], layer_alone[0, -1]))
    tokenizer.padding_side = "right"
    return worst


def diagnose(model_type: str) -> dict:
    """One row of the table (errors are kept as strings in ``row["errors"]``)."""
    from tests.architectures.tiny_lms import SENTENCES, tiny_lm

    row: dict = dict.fromkeys(COLUMNS)
    row.update(arch=model_type, errors={})
    start = time.perf_counter()
    try:
        model, tokenizer, kind = tiny_lm(model_type)
    except Exception as exc:  # noqa: BLE001 - a diagnostic reports every failure
        row["errors"]["build"] = f"{type(exc).__name__}: {exc}"[:300]
        return row
    row["build_s"] = round(time.perf_counter() - start, 3)
    row["kind"] = kind
    row["pos_ids"] = "position_ids" in inspect.signature(model.forward).parameters
    try:
        residual_checks(model, kind, tokenizer([SENTENCES[1]], return_tensors="pt"), row)
    except Exception as exc:  # noqa: BLE001
        row["errors"]["residual"] = f"{type(exc).__name__}: {exc}"[:300]
        for column in RESIDUAL_COLUMNS:
            row[column] = "ERR" if row[column] is None else row[column]
    for side in ("left", "right"):
        for pos in (False, True):
            key = f"pad{side[0].upper()}" + ("+pos" if pos else "")
            if pos and not row["pos_ids"]:
                row[key] = None
                continue
            try:
                row[key] = padding_error(model, kind, tokenizer, SENTENCES, side, pos)
            except Exception as exc:  # noqa: BLE001
                row["errors"][key] = f"{type(exc).__name__}: {exc}"[:300]
                row[key] = "ERR"
    if kind == "encoder-decoder":
        try:
            with torch.no_grad():
                model(**tokenizer(SENTENCES[:1], return_tensors="pt"))
            row["plain_fwd"] = True
        except Exception as exc:  # noqa: BLE001
            row["plain_fwd"] = False
            row["errors"]["plain_fwd"] = f"{type(exc).__name__}: {exc}"[:200]
    row["fails"] = ",".join(_fails(row)) or "ok"
    return row


def _fails(row: dict) -> list[str]:
    """Short names of the checks that fail (see the module docstring)."""
    if row["errors"].get("build"):
        return ["build"]
    fails = [f"error:{where}" for where in row["errors"] if where != "plain_fwd"]
    big = lambda v: isinstance(v, float) and v > TOL  # noqa: E731
    if row["blocks"] == "none":
        fails.append("no-blocks")
    if row["n_resid"] and row["n_hs"] != row["n_resid"]:
        fails.append("count")
    if big(row["resid_err"]):
        fails.append("resid")
    if big(row["sum_err"]):
        fails.append("sum")
    if row["sum_err"] is None and row["blocks"] not in (None, "none", "ERR"):
        fails.append("no-attn+mlp")
    if big(row["inplace"]):
        fails.append("inplace")
    for side in "LR":
        plain, pos = row[f"pad{side}"], row[f"pad{side}+pos"]
        if big(plain):
            fails.append(f"pad{side}" + ("(pos fixes)" if isinstance(pos, float) and pos <= TOL else ""))
        if big(pos) and not big(plain):
            fails.append(f"pad{side}+pos")
    return fails


def table(rows: list[dict]) -> str:
    cells = [[f"{r[c]:.2f}" if c == "build_s" and r.get(c) is not None else _fmt(r.get(c)) for c in COLUMNS]
             for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(line, widths)) for line in cells]
    for r in rows:
        for where, message in r["errors"].items():
            lines.append(f"{r['arch']}: {where}: {message}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument("--arch", action="append", help="only these model types (repeatable)")
    args = parser.parse_args()

    import transformers

    from tests.architectures.tiny_lms import ARCHITECTURES

    torch.set_num_threads(1)
    rows = []
    start = time.perf_counter()
    for model_type in args.arch or ARCHITECTURES:
        rows.append(diagnose(model_type))
        print(f"{model_type}: done", file=sys.stderr, flush=True)
    print(f"transformers {transformers.__version__}, torch {torch.__version__}, "
          f"{len(rows)} architectures in {time.perf_counter() - start:.1f} s")
    print(table(rows))
    if args.out:
        meta = {"transformers": transformers.__version__, "torch": torch.__version__}
        args.out.write_text(json.dumps({"versions": meta, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
