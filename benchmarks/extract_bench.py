"""Extraction speed: probekit hooks vs a plain ``output_hidden_states`` forward pass.

Same model, same inputs, same process; each variant runs ``--repeats`` times,
interleaved, and the median is reported as tokens/s (real, non-padding tokens).

    python benchmarks/extract_bench.py                      # SmolLM2-135M, 256 'cities' statements
    python benchmarks/extract_bench.py --model PATH --n 64

Variants
--------
plain            tokenize + ``model(**batch, output_hidden_states=True)``
hooks            tokenize + recorder on every residual-stream hook point, full forward
                 (no early stop), last-token selection inside the hooks
extract-to-store ``probekit.extract.extract`` to a fresh store (all residual points,
                 early stop after the last block, safetensors shards on disk)
hooks-mid-stop   recorder on the middle block only, forward cut right after it
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--dataset", default="cities")
    parser.add_argument("--n", type=int, default=256, help="statements")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from probekit.concepts import load_concept_dataset
    from probekit.extract.hook_points import residual_stream
    from probekit.extract.recorder import ActivationRecorder
    from probekit.extract.runner import ExtractionConfig, extract
    from probekit.extract.text_inputs import encode_text
    from probekit.extract.token_selection import TokenSelection, select_tokens
    from probekit.models import load_model

    loaded = load_model(args.model)
    model = loaded.model
    dataset = load_concept_dataset(args.dataset, limit=args.n)
    texts = dataset.inputs
    batches = [texts[i:i + args.batch_size] for i in range(0, len(texts), args.batch_size)]
    n_tokens = sum(int(encode_text(loaded, b, 256)["attention_mask"].sum()) for b in batches)
    points = residual_stream(model)
    middle = points[len(points) // 2]
    last = TokenSelection("last")

    def plain():
        with torch.no_grad():
            for b in batches:
                model(**encode_text(loaded, b, 256), output_hidden_states=True)

    def hooks(modules, stop_early):
        def run():
            state = {}
            transform = lambda name, t: select_tokens(t, state["mask"], last)[0]  # noqa: E731
            with ActivationRecorder(model, modules, stop_early=stop_early, transform=transform) as rec:
                for b in batches:
                    batch = encode_text(loaded, b, 256)
                    state["mask"] = batch["attention_mask"]
                    rec.run(**batch)
        return run

    def to_store():
        with tempfile.TemporaryDirectory() as tmp:
            extract(loaded, dataset, ExtractionConfig(modules=["resid"], batch_size=args.batch_size), tmp,
                    progress=False)

    variants = {
        "plain": plain,
        "hooks": hooks([p.module for p in points], False),
        "extract-to-store": to_store,
        "hooks-mid-stop": hooks([middle.module], True),
    }
    times = {k: [] for k in variants}
    plain()  # warm-up
    for _ in range(args.repeats):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times["plain"])
    print(f"model {loaded.name}: {len(texts)} texts, {n_tokens} tokens, batch {args.batch_size}, "
          f"{len(points)} residual hook points, torch threads {torch.get_num_threads()}")
    print(f"{'variant':<18} {'median s':>9} {'tokens/s':>10} {'time / plain':>13}")
    for name, ts in times.items():
        t = statistics.median(ts)
        print(f"{name:<18} {t:>9.3f} {n_tokens / t:>10.0f} {t / base:>12.3f}x")
    print(f"(hooks-mid-stop records {middle.name}, layer {middle.layer} of {len(points) - 1})")


if __name__ == "__main__":
    main()
