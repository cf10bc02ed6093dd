"""The language-model support table: :func:`probekit.check.check_model` on every tiny
random model of ``tests/architectures/tiny_lms.py`` (the matrix the test suite runs).

Prints a markdown table (architecture, kind, hook points, padding invariance, checks,
notes) and, with ``--out``, writes the full reports as JSON::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/architecture_matrix.py --out matrix.json
    ... --arch gpt2 --arch bert          # a subset
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def row(arch: str) -> dict:
    """One table row: the check report and the hook points of ``arch``'s tiny model."""
    from probekit.check import check_model
    from probekit.extract.hook_points import hook_points, sublayer_notes
    from probekit.models import wrap_model
    from tests.architectures.tiny_lms import SENTENCES, tiny_lm

    model, tokenizer, kind = tiny_lm(arch)
    loaded = wrap_model(model, tokenizer, name=arch, kind=kind)
    report = check_model(loaded, sentences=tuple(SENTENCES))
    points = hook_points(model)
    counts = {k: sum(p.kind == k for p in points) for k in ("resid", "attn", "mlp", "cross_attn")}
    result = {r.name: r for r in report.results}
    notes = [part for r in report.results if r.name in ("hidden_states", "sublayer-sums")
             for part in r.detail.split("; ") if part and "after the final norm" not in part]
    notes += sublayer_notes(model)
    return {"architecture": arch, "kind": kind, "class": type(model).__name__, "hook_points": counts,
            "padding_right": result["padding-right"].passed, "padding_left": result["padding-left"].passed,
            "position_ids": "position_ids" in result["padding-left"].detail,
            "failed": [r.name for r in report.failed], "notes": notes, "report": report.to_dict()}


def markdown(rows: list[dict]) -> str:
    """The support table README shows."""
    mark = {True: "yes", False: "**no**", None: "n/a"}
    lines = ["| architecture | kind | resid / attn / mlp points | right padding | left padding | checks | notes |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        c = r["hook_points"]
        points = f"{c['resid']} / {c['attn']} / {c['mlp']}" + (f" (+{c['cross_attn']} cross)" if c["cross_attn"] else "")
        left = mark[r["padding_left"]] + (" (position_ids)" if r["position_ids"] else "")
        checks = "all pass" if not r["failed"] else "fails: " + ", ".join(r["failed"])
        lines.append(f"| {r['architecture']} | {r['kind']} | {points} | {mark[r['padding_right']]} | {left} "
                     f"| {checks} | {'; '.join(dict.fromkeys(r['notes']))} |")
    return "\n".join(lines)


def main() -> None:
    import torch
    import transformers

    from tests.architectures.tiny_lms import ARCHITECTURES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", help="only these model types")
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    start = time.perf_counter()
    rows = [row(arch) for arch in (args.arch or ARCHITECTURES)]
    print(markdown(rows))
    print(f"\n{len(rows)} architectures in {time.perf_counter() - start:.1f} s; transformers "
          f"{transformers.__version__}, torch {torch.__version__}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()
