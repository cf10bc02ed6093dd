"""The default ``probekit probe`` workload: the old per-layer scikit-learn path vs the batched engine.

Workload: 31 layers x 5 group-split outer folds, LogisticRegressionCV protocol (4 C x 3
inner group folds, standardized), on ~800 rows x 576 dims (random activations with a
planted, layer-dependent concept, rows in pairs as in the cities set), or on a stored
activation store (``--store DIR --dataset NAME``).

- **old**: what ``layer_sweep`` did before the engine: per layer, ``cross_validated_score``
  with ``LogisticProbe(backend="sklearn")`` (scikit-learn ``LogisticRegressionCV``,
  float64) on the labels and on one shuffled-label control;
- **engine K=5**: today's default ``layer_sweep`` (batched torch engine, float32), with
  K = 5 control draws, p-values, bootstrap CIs and AUROC;
- **engine K=1**: the same with one control draw (the old path's amount of fitting).

All three run in one process on the same activations and the same outer folds,
interleaved over ``--rounds`` rounds; printed: seconds per round, the median ratio
old / engine, ``os.getloadavg()`` before each run (the machine may be shared: other
processes skew wall-clock times), and the mean / max absolute difference of the
per-layer held-out accuracy between old and engine.

``--rss`` instead measures peak resident memory while probing synthetic stores of 50k,
100k and 200k rows (2 hook points x 128 dims, several shards, a continuous target):
each size in its own subprocess (a clean reading), the store read lazily and ridge fitted
from streamed sufficient statistics; it should stay flat.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/probe_bench.py [--layers 31] [--rounds 2]
    OMP_NUM_THREADS=1 python benchmarks/probe_bench.py --store OUT/activations --dataset cities
    OMP_NUM_THREADS=1 python benchmarks/probe_bench.py --rss
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as probekit sets it: torch reads it when it loads

import numpy as np  # noqa: E402
import torch  # noqa: E402

from probekit.concepts import ConceptDataset  # noqa: E402
from probekit.probes import LogisticProbe, RidgeProbe
from probekit.probes.control import shuffled_labels
from probekit.probes.sweep import cross_validated_score, layer_sweep, outer_splits


def synthetic(n_layers: int, n: int, d: int, seed: int = 0):
    """``n`` rows in ``n / 2`` groups of a true/false pair, ``n_layers`` layers of ``(n, d)`` float32.

    Each layer is anisotropic Gaussian noise plus the label along one direction, with a
    strength that rises to the middle layers and falls again (as real truth probes do).
    """
    rng = np.random.default_rng(seed)
    y = np.tile([0, 1], n // 2)
    groups = np.repeat(np.arange(n // 2), 2)
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    spectrum = np.geomspace(10.0, 0.1, d)
    direction = rng.normal(size=d)
    features = {}
    for layer in range(n_layers):
        strength = 0.12 * np.sin(np.pi * (layer + 0.5) / n_layers)
        X = (rng.normal(size=(n, d)) * spectrum) @ mix + np.outer(y - 0.5, direction) * strength
        features[f"blocks.{layer}.resid_post"] = X.astype(np.float32)
    dataset = ConceptDataset([f"row {i}" for i in range(n)], y, "binary", groups=groups)
    return features, dataset


def stored(store_dir: str, dataset_name: str):
    """Features of every hook point of a store (memory-mapped) and its data set's labels, one row per store row."""
    from probekit.concepts import load_concept_dataset
    from probekit.store.reader import ActivationStore

    store = ActivationStore(store_dir)
    data = load_concept_dataset(dataset_name, progress=False)
    rows = store.example_index()
    dataset = ConceptDataset([data.inputs[i] for i in rows], data.labels[rows], data.task, groups=data.groups[rows])
    return {name: store.numpy(name) for name in store.modules}, dataset


def old_path(features, dataset, n_splits: int, seed: int):
    """The pre-engine layer_sweep: per layer, the probe and one shuffled control, sklearn loop."""
    y, groups = dataset.labels, dataset.groups
    splits = outer_splits(y, groups, dataset.task, n_splits, seed)
    shuffled = shuffled_labels(y, seed=seed)
    probe = LogisticProbe(backend="sklearn", random_state=seed)
    scores = []
    for X in features.values():
        X = np.asarray(X, dtype=np.float64)
        scores.append(cross_validated_score(X, y, groups, splits, dataset.task, probe, seed).mean())
        cross_validated_score(X, shuffled, groups, splits, dataset.task, probe, seed)
    return np.asarray(scores)


def engine_path(features, dataset, n_splits: int, seed: int, n_controls: int, device: str = "cpu"):
    rows = layer_sweep(features, {}, dataset, n_splits=n_splits, seed=seed, n_controls=n_controls,
                       progress=False, device=device)
    return np.asarray([r.score for r in rows])


CPU_SECONDS: dict = {}


def _timed(label, fn, *args):
    """Wall seconds of ``fn(*args)`` (and its CPU seconds, into ``CPU_SECONDS``: steadier on a shared machine)."""
    load = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    CPU_SECONDS.setdefault(label, []).append(cpu)
    print(f"  {label:<12} {seconds:8.2f} s wall {cpu:8.2f} s CPU   loadavg before {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}", flush=True)
    return seconds, out


def ridge_check(features, dataset, n_splits: int, seed: int):
    """RidgeCV (per layer, sklearn) vs the engine's ridge on a continuous target: time and R²."""
    rng = np.random.default_rng(seed)
    first = np.asarray(next(iter(features.values())), dtype=np.float64)
    target = first[:, :8] @ rng.normal(size=8) + rng.normal(size=len(first))
    data = ConceptDataset([str(i) for i in range(len(first))], target, "continuous", groups=dataset.groups)
    splits = outer_splits(target, data.groups, "continuous", n_splits, seed)
    t0 = time.perf_counter()
    old = [cross_validated_score(np.asarray(X, dtype=np.float64), target, data.groups, splits, "continuous",
                                 RidgeProbe(backend="sklearn")).mean() for X in features.values()]
    t_old = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = layer_sweep(features, {}, data, n_splits=n_splits, seed=seed, n_controls=1, progress=False, device="cpu")
    t_new = time.perf_counter() - t0
    diff = np.abs(np.asarray(old) - [r.score for r in rows])
    print(f"ridge (continuous target, probe + 1 control for the engine): RidgeCV loop {t_old:.2f} s (probe only), "
          f"engine {t_new:.2f} s; |R² difference| mean {diff.mean():.2e}, max {diff.max():.2e}")


RSS_ROWS = (50_000, 100_000, 200_000)


def write_synthetic_store(directory: str, n: int, d: int = 128, n_layers: int = 2, seed: int = 0) -> None:
    """A float32 store of ``n`` rows (shards of 50k) and ``target.npy``, a noisy linear read-out of layer 0."""
    from probekit.store.writer import StoreWriter

    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    writer = StoreWriter(directory, {"synthetic": n}, shard_examples=50_000)
    target = np.empty(n)
    for start in range(0, n, 10_000):
        rows = {f"layer{i}": torch.as_tensor(rng.normal(size=(min(10_000, n - start), d)), dtype=torch.float32)
                for i in range(n_layers)}
        target[start:start + len(rows["layer0"])] = rows["layer0"].double().numpy() @ w
        index = torch.arange(start, start + len(rows["layer0"]))
        writer.append(rows, index, torch.full((len(index),), -1))
    writer.finish(n)
    np.save(os.path.join(directory, "target.npy"), target + rng.normal(size=n))


def rss_child(directory: str) -> None:
    """Probe a synthetic store lazily (streamed ridge) and print peak RSS before and after, in MiB."""
    from probekit.store.reader import ActivationStore

    store = ActivationStore(directory)
    target = np.load(os.path.join(directory, "target.npy"))
    data = ConceptDataset(np.arange(len(target)).astype(str).tolist(), target, "continuous")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    rows = layer_sweep(store.features(), {}, data, n_controls=1, progress=False, device="cpu", stream=True,
                       n_bootstrap=200)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{store.n_samples} {before:.1f} {peak:.1f} {time.perf_counter() - t0:.1f} {rows[0].score:.3f}")


def rss_bench() -> None:
    """Peak RSS of probing 50k / 100k / 200k-row stores, one subprocess each."""
    print(f"{'rows':>8} {'store MiB':>10} {'RSS before':>11} {'peak RSS':>9} {'probe s':>8}  R² layer0")
    peaks = []
    for n in RSS_ROWS:
        with tempfile.TemporaryDirectory() as tmp:
            write_synthetic_store(tmp, n)
            size = sum(f.stat().st_size for f in os.scandir(tmp)) / 2**20
            out = subprocess.run([sys.executable, __file__, "--rss-child", tmp], check=True, capture_output=True,
                                 text=True).stdout.split()
        rows, before, peak, seconds, score = out[-5:]
        peaks.append(float(peak))
        print(f"{rows:>8} {size:10.0f} {float(before):11.0f} {float(peak):9.0f} {seconds:>8}  {score}", flush=True)
    print(f"peak RSS 200k / 50k: {peaks[-1] / peaks[0]:.3f} (flat within 20 % means <= 1.2); "
          f"loadavg {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=31)
    parser.add_argument("--rows", type=int, default=800)
    parser.add_argument("--dims", type=int, default=576)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--n-splits", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", help="activation store folder (instead of random data)")
    parser.add_argument("--dataset", default="cities", help="data set of --store")
    parser.add_argument("--no-ridge", action="store_true", help="skip the RidgeCV comparison")
    parser.add_argument("--rss", action="store_true", help="peak RSS while probing 50k/100k/200k-row stores")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="cpu", help="the engine's device (cpu, cuda); the old path is CPU")
    args = parser.parse_args()
    if args.rss_child:
        return rss_child(args.rss_child)
    if args.rss:
        return rss_bench()
    if "OMP_NUM_THREADS" not in os.environ:
        print("warning: OMP_NUM_THREADS is not set; set it (1 or 2) so both paths use the same threads")
    if args.store:
        features, dataset = stored(args.store, args.dataset)
    else:
        features, dataset = synthetic(args.layers, args.rows, args.dims, args.seed)
    n, d = np.shape(next(iter(features.values())))
    print(f"{len(features)} layers x {n} rows x {d} dims, {args.n_splits} folds; torch threads "
          f"{torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, cpus {os.cpu_count()}, "
          f"engine device {args.device}")
    times = {"old": [], "engine K=5": [], "engine K=1": []}
    scores = {}
    runs = {"old": lambda: old_path(features, dataset, args.n_splits, args.seed),
            "engine K=5": lambda: engine_path(features, dataset, args.n_splits, args.seed, 5, args.device),
            "engine K=1": lambda: engine_path(features, dataset, args.n_splits, args.seed, 1, args.device)}
    for r in range(args.rounds):
        print(f"round {r + 1}")
        order = list(runs) if r % 2 == 0 else list(runs)[::-1]
        for label in order:
            seconds, scores[label] = _timed(label, runs[label])
            times[label].append(seconds)
    med = {k: float(np.median(v)) for k, v in times.items()}
    cpu = {k: float(np.median(v)) for k, v in CPU_SECONDS.items()}
    for label in ("engine K=5", "engine K=1"):
        diff = np.abs(scores["old"] - scores[label])
        print(f"CPU seconds old / {label}: {cpu['old'] / cpu[label]:.2f}x  ({cpu['old']:.1f} s vs {cpu[label]:.1f} s)")
        print(f"old / {label}: {med['old'] / med[label]:.2f}x  (median {med['old']:.1f} s vs {med[label]:.1f} s); "
              f"|accuracy difference| over layers mean {100 * diff.mean():.2f} points, max {100 * diff.max():.2f}")
    names = list(features)
    print(f"best hook point: old {names[int(scores['old'].argmax())]} ({scores['old'].max():.3f}), engine "
          f"{names[int(scores['engine K=5'].argmax())]} ({scores['engine K=5'].max():.3f})")
    if not args.no_ridge:
        ridge_check(features, dataset, args.n_splits, args.seed)
    print(f"loadavg at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
