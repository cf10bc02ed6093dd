"""Scale-out throughput: tokens/s of extraction on 1 vs 2 ranks (torchrun, one thread
each), and fixed batches vs token-budget batches on texts of mixed lengths.

Each measurement is a fresh ``torchrun`` job (``--standalone``) that loads the model,
waits at a barrier, then times :func:`probekit.extract.distributed.extract_distributed`
alone (slices, store writing and rank 0's merge included; model loading excluded) up to
a second barrier. Tokens are the texts' real tokens (after ``--max-length``), so padding
counts as cost, not as work. Prints the figures, their ratios and the load average
(``os.getloadavg()``) before and after; on a shared machine the ratios mean little
unless the load stays below the number of cores. ::

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python benchmarks/distributed_bench.py
    ... --model smollm2-135m --limit 256 --device cuda      # on a GPU machine: one GPU per rank
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "geometry-of-truth" / "common_claim_true_false.csv"


def worker(args) -> None:
    """One rank of a timed job: load, barrier, extract, barrier; rank 0 prints JSON."""
    import numpy as np
    import torch
    import torch.distributed as dist

    from probekit.concepts import load_concept_dataset
    from probekit.extract.distributed import distributed_env, extract_distributed, rank_device
    from probekit.extract.runner import ExtractionConfig
    from probekit.extract.text_inputs import token_counts
    from probekit.models import load_model

    torch.set_num_threads(args.threads)
    data = load_concept_dataset(str(args.data), progress=False)  # sorted by label: a fixed random sample
    data = data.subset(np.random.default_rng(0).permutation(len(data))[:args.limit])
    loaded = load_model(args.model, device=rank_device(args.device))
    config = ExtractionConfig(modules=["resid"], batch_size=args.batch_size, max_length=args.max_length,
                              max_tokens_per_batch=args.budget, check=False)
    lengths = np.minimum(token_counts(loaded, data.inputs), args.max_length)
    tokens = int(lengths.sum())
    fixed = [lengths[i:i + args.batch_size] for i in range(0, len(lengths), args.batch_size)]
    padded = sum(len(b) * int(b.max()) for b in fixed)  # what fixed batches feed the model
    env = distributed_env()
    if env is not None:
        dist.init_process_group("gloo")
        dist.barrier()
    start = time.perf_counter()
    extract_distributed(loaded, data, config, args.out, progress=False)
    if env is not None:
        dist.barrier()
    seconds = time.perf_counter() - start
    if env is None or env[0] == 0:
        print("RESULT " + json.dumps({"seconds": seconds, "tokens": tokens, "examples": len(data),
                                           "padded_per_batch": padded / len(fixed)}))
    if env is not None:
        dist.destroy_process_group()


def run(args, ranks: int, budget: int | None) -> dict:
    """A fresh ``torchrun`` job of ``ranks`` processes into a new store; its JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(ranks),
                   __file__, "--worker", "--out", str(Path(tmp) / "store"), "--model", args.model,
                   "--data", str(args.data), "--limit", str(args.limit), "--batch-size", str(args.batch_size),
                   "--max-length", str(args.max_length), "--threads", str(args.threads)]
        command += ["--device", args.device] if args.device else []
        command += ["--budget", str(budget)] if budget else []
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"benchmark job failed ({ranks} ranks):\n{done.stderr[-3000:]}")
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        result = json.loads(line[len("RESULT "):])
        result["tokens_per_s"] = result["tokens"] / result["seconds"]
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="minilm-l6", help="embedded name or folder (default %(default)s)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="CSV with statement,label")
    parser.add_argument("--limit", type=int, default=512, help="N rows drawn at random, seed 0 (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--budget", type=int, default=None,
                        help="max tokens per batch for the token-budget run (default: the mean padded tokens of a "
                             "fixed batch)")
    parser.add_argument("--threads", type=int, default=1, help="threads per rank (default %(default)s)")
    parser.add_argument("--device", default=None, help="e.g. cuda (one GPU per rank)")
    parser.add_argument("--repeats", type=int, default=1, help="best of N runs per setting")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if not args.data.is_file():
        raise SystemExit(f"data file {args.data} not found; pass --data")

    def best(ranks, budget):
        return max((run(args, ranks, budget) for _ in range(args.repeats)), key=lambda r: r["tokens_per_s"])

    load_before = os.getloadavg()
    one, two = best(1, None), best(2, None)
    budget = args.budget or round(one["padded_per_batch"])  # fixed batches' mean pass size, without the padding
    tokens_budget = best(1, budget)
    load_after = os.getloadavg()
    print(f"model {args.model}, {one['examples']} texts of {args.data.name} ({one['tokens']} tokens; fixed batches "
          f"pad them to {one['padded_per_batch'] * -(-one['examples'] // args.batch_size):.0f}), "
          f"batch size {args.batch_size}, {args.threads} thread(s) per rank, {os.cpu_count()} cores")
    print(f"1 rank, fixed batches:        {one['tokens_per_s']:9.0f} tokens/s ({one['seconds']:.1f} s)")
    print(f"2 ranks, fixed batches:       {two['tokens_per_s']:9.0f} tokens/s ({two['seconds']:.1f} s)  "
          f"ratio {two['tokens_per_s'] / one['tokens_per_s']:.2f}x")
    print(f"1 rank, {budget} tokens/batch: {tokens_budget['tokens_per_s']:9.0f} tokens/s "
          f"({tokens_budget['seconds']:.1f} s)  ratio {tokens_budget['tokens_per_s'] / one['tokens_per_s']:.2f}x "
          "vs fixed batches")
    print("load average (1, 5, 15 min): before " + ", ".join(f"{x:.2f}" for x in load_before)
          + "; after " + ", ".join(f"{x:.2f}" for x in load_after))


if __name__ == "__main__":
    main()
