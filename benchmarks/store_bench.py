"""Activation store writer: time per appended row as shards fill, and peak memory.

Each case runs in a fresh subprocess (so peak RSS is its own) and streams batches of
random tensors shaped like SmolLM2-135M's 31 residual hook points (d=576, float32)
into a ``StoreWriter`` with its default shard sizes:

last-token  2,048 examples, 16 rows per batch (one per example)
all-token   808 examples of 5-15 tokens (about 8,000 rows, ~540 MiB, like 'cities')

Printed per case: median time per appended row over the first five and the last five
appends that only queue rows (median: one append stalled by another process on a
shared machine does not decide the figure), and their ratio (flat: <= 1.5); the appends that close
a shard write it (O(shard), once per shard), so the "amortized" ratio compares the
mean time per row, shard writes included, of the second half of the batches with
the first half. Then the whole write's time (appends + finish, not the making of the
random batches), and peak RSS over the pre-loop baseline beside the payload and one
shard + one batch.
The ``in-memory`` case keeps every batch and concatenates at the end, as an
in-memory recorder does: the reference for "memory grows with the payload".

    python benchmarks/store_bench.py                 # synthetic, both selections
    python benchmarks/store_bench.py --real          # also extract() SmolLM2-135M on 'cities', all tokens

Run it with ``PYTHONPATH`` pointing at another checkout to compare writers.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

N_MODULES, D = 31, 576


def _rss_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(field)


def _stream(selection: str, seed: int = 0):
    """Yield ``(rows, example_index, position)`` batches of 16 examples."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    n = 2048 if selection == "last" else 808
    lengths = torch.ones(n, dtype=torch.long) if selection == "last" else torch.randint(5, 16, (n,), generator=gen)
    for first in range(0, n, 16):
        ls = lengths[first:first + 16]
        examples = torch.repeat_interleave(torch.arange(first, first + len(ls)), ls)
        positions = torch.cat([torch.arange(int(k)) for k in ls]) if selection != "last" else torch.full((len(ls),), -1)
        rows = {f"blocks.{i}.resid_post": torch.randn(len(examples), D, generator=gen) for i in range(N_MODULES)}
        yield rows, examples, positions


def run_case(selection: str, in_memory: bool) -> dict:
    """One case in this process; batches are made one at a time (as an extraction does)
    and only the append is timed. Returns its figures."""
    import torch

    from probekit.store import StoreWriter

    params = inspect.signature(StoreWriter).parameters
    shard_bytes = params["shard_bytes"].default if "shard_bytes" in params else None
    times, wrote, payload, batch_bytes = [], [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        writer = None if in_memory else StoreWriter(tmp, {"bench": selection})
        kept = []
        next(_stream(selection, seed=1))  # warm torch's allocator and RNG before the baseline
        base = _rss_mib("VmRSS")
        t_all, t_gen = time.perf_counter(), 0.0
        stream = _stream(selection)
        while True:
            t0 = time.perf_counter()
            b = next(stream, None)
            t_gen += time.perf_counter() - t0
            if b is None:
                break
            nbytes = sum(v.numel() * 4 for v in b[0].values()) + 16 * len(b[1])
            payload, batch_bytes = payload + nbytes, max(batch_bytes, nbytes)
            shards = 0 if in_memory else len(writer.manifest["shards"])
            t0 = time.perf_counter()
            if in_memory:
                kept.append(b)
            else:
                writer.append(*b)
            times.append((time.perf_counter() - t0) / len(b[1]))
            wrote.append(not in_memory and len(writer.manifest["shards"]) > shards)
            del b
        if in_memory:
            _ = {k: torch.cat([b[0][k] for b in kept]) for k in kept[0][0]}
            shard_mib = payload / 2**20
        else:
            writer.finish(2048 if selection == "last" else 808)
            shard_rows = max(s["rows"] for s in writer.manifest["shards"])
            shard_mib = shard_rows * (N_MODULES * D * 4 + 16) / 2**20
        total = time.perf_counter() - t_all - t_gen
        peak = _rss_mib("VmHWM") - base
    calm = [t for t, w in zip(times, wrote) if not w]  # appends that only queued rows
    half = len(times) // 2
    return {"selection": selection, "variant": "in-memory" if in_memory else "store", "n_batches": len(times),
            "n_shard_writes": sum(wrote),
            "first5_us_per_row": 1e6 * statistics.median(calm[:5]),
            "last5_us_per_row": 1e6 * statistics.median(calm[-5:]),
            "ratio": statistics.median(calm[-5:]) / statistics.median(calm[:5]),
            "amortized_ratio": (sum(times[half:]) / (len(times) - half)) / (sum(times[:half]) / half),
            "total_s": total, "payload_mib": payload / 2**20, "shard_mib": shard_mib,
            "batch_mib": batch_bytes / 2**20, "peak_rss_delta_mib": peak, "shard_bytes": shard_bytes}


def run_real() -> dict:
    """``extract()`` SmolLM2-135M on 'cities', all tokens, every residual point (default shards);
    RSS baseline after one warm-up forward pass (the weights are memory-mapped: the first
    pass pages ~500 MiB of them in, which is the model's memory, not the store's)."""
    from probekit.concepts import load_concept_dataset
    from probekit.extract.runner import ExtractionConfig, extract
    from probekit.models import load_model
    from probekit.store import writer as writer_module

    import torch

    from probekit.extract.runner import encode_text

    loaded = load_model("smollm2-135m")
    dataset = load_concept_dataset("cities")
    with torch.no_grad():  # warm-up: page the (memory-mapped) weights in before the baseline
        loaded.model(**encode_text(loaded, dataset.inputs[:16], 256))
    times, rows, biggest = [], [0], [0]
    original = writer_module.StoreWriter.append

    def timed(self, r, e, p):
        t0 = time.perf_counter()
        original(self, r, e, p)
        times.append((time.perf_counter() - t0) / len(e))
        rows[0] += len(e)
        biggest[0] = max(biggest[0], len(e))
    writer_module.StoreWriter.append = timed
    with tempfile.TemporaryDirectory() as tmp:
        base = _rss_mib("VmRSS")
        t0 = time.perf_counter()
        store, points = extract(loaded, dataset, ExtractionConfig(modules=["resid"], token_selection="all"), tmp,
                                progress=False)
        total = time.perf_counter() - t0
        peak = _rss_mib("VmHWM") - base
        shards = store.manifest["shards"]
        row_bytes = len(points) * store.manifest["modules"][store.modules[0]]["row_shape"][0] * 4 + 16
        shard_mib = max(s["rows"] for s in shards) * row_bytes / 2**20
        batch_mib = biggest[0] * row_bytes / 2**20
    return {"selection": "all (SmolLM2 cities)", "variant": "extract", "n_batches": len(times),
            "first5_us_per_row": 1e6 * statistics.median(times[:5]),
            "last5_us_per_row": 1e6 * statistics.median(times[-5:]),
            "ratio": statistics.median(times[-5:]) / statistics.median(times[:5]), "n_shard_writes": len(shards),
            "amortized_ratio": (sum(times[len(times) // 2:]) / (len(times) - len(times) // 2))
            / (sum(times[:len(times) // 2]) / (len(times) // 2)),
            "total_s": total, "payload_mib": rows[0] * row_bytes / 2**20, "shard_mib": shard_mib,
            "batch_mib": batch_mib, "peak_rss_delta_mib": peak, "shard_bytes": None,
            "n_shards": len(shards)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="store_true", help="also run extract() on SmolLM2-135M (minutes)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        out = run_real() if args.case == "real" else run_case(*args.case.split(":")[0:1],
                                                               args.case.endswith(":memory"))
        print(json.dumps(out))
        return
    cases = ["last", "last:memory", "all", "all:memory"] + (["real"] if args.real else [])
    import probekit

    print(f"writer from {os.path.dirname(probekit.__file__)}; torch threads via OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"{'selection':<22} {'variant':<10} {'batches':>7} {'shards':>6} {'first5 us/row':>13} "
          f"{'last5 us/row':>12} {'ratio':>6} {'amortized':>9} {'total s':>8} {'payload MiB':>11} "
          f"{'shard+batch':>11} {'peak dRSS':>9} {'dRSS/(shard+batch)':>18}")
    for case in cases:
        done = subprocess.run([sys.executable, __file__, "--case", case], capture_output=True, text=True)
        if done.returncode:
            print(f"{case}: failed\n{done.stderr[-2000:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        bound = r["shard_mib"] + r["batch_mib"]
        print(f"{r['selection']:<22} {r['variant']:<10} {r['n_batches']:>7} {r['n_shard_writes']:>6} "
              f"{r['first5_us_per_row']:>13.1f} {r['last5_us_per_row']:>12.1f} {r['ratio']:>6.2f} "
              f"{r['amortized_ratio']:>9.2f} "
              f"{r['total_s']:>8.2f} {r['payload_mib']:>11.0f} {bound:>11.0f} {r['peak_rss_delta_mib']:>9.0f} "
              f"{r['peak_rss_delta_mib'] / bound:>18.2f}")


if __name__ == "__main__":
    main()
