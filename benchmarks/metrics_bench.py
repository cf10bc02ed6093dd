"""Time MCC and linear CKA at n_samples = 100,000, d = 512 (float64).

Prints wall-clock and CPU seconds and, as a same-process baseline, the CPU-time ratio
to one ``X^T Y`` matrix product of the same size (the unavoidable core of both
metrics). On a shared machine trust the CPU column more than the wall clock.
Also checks the large-n results against a small-n reference so the timing is of a
correct computation.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/metrics_bench.py [--n 100000] [--d 512] [--spearman]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from probekit.metrics.mcc import mean_correlation_coefficient
from probekit.metrics.similarity import linear_cka


def _time(fn, *args, **kwargs):
    """Wall-clock seconds (and, printed alongside, CPU seconds of this process)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    _time.cpu = cpu  # type: ignore[attr-defined]
    return wall, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=512)
    parser.add_argument("--spearman", action="store_true", help="also time Spearman MCC (column ranking)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    n, d = args.n, args.d
    z = rng.standard_normal((n, d))
    perm = rng.permutation(d)
    scales = rng.uniform(0.5, 2.0, size=d)
    learned = z[:, perm] * scales + 0.1 * rng.standard_normal((n, d))
    print(f"n_samples={n}, d={d}, float64 ({z.nbytes / 2**20:.0f} MiB per matrix)")

    t_gemm, _ = _time(lambda a, b: (a - a.mean(0)).T @ (b - b.mean(0)), z, learned)
    cpu_gemm = _time.cpu
    print(f"baseline: one centred X^T Y product      {t_gemm:8.2f} s  (CPU {cpu_gemm:6.2f} s)")

    t_mcc, mcc = _time(mean_correlation_coefficient, z, learned)
    print(f"MCC (Pearson, Hungarian matching)        {t_mcc:8.2f} s  (CPU {_time.cpu:6.2f} s, "
          f"{_time.cpu / cpu_gemm:.2f}x GEMM)  MCC={mcc:.4f}")
    if args.spearman:
        t_sp, sp = _time(mean_correlation_coefficient, z, learned, method="spearman")
        print(f"MCC (Spearman)                           {t_sp:8.2f} s  (CPU {_time.cpu:6.2f} s, "
              f"{_time.cpu / cpu_gemm:.2f}x GEMM)  MCC={sp:.4f}")

    t_cka, cka = _time(linear_cka, z, learned)
    print(f"linear CKA (feature-space Gram form)     {t_cka:8.2f} s  (CPU {_time.cpu:6.2f} s, "
          f"{_time.cpu / cpu_gemm:.2f}x GEMM)  CKA={cka:.4f}")

    # correctness at a size where the n x n reference is cheap
    m = 2000
    k, l = z[:m, :64] @ z[:m, :64].T, learned[:m, :64] @ learned[:m, :64].T
    h = np.eye(m) - 1.0 / m
    kc, lc = h @ k @ h, h @ l @ h
    ref = np.sum(kc * lc) / np.sqrt(np.sum(kc * kc) * np.sum(lc * lc))
    err = abs(linear_cka(z[:m, :64], learned[:m, :64]) - ref)
    print(f"check: |CKA - n x n reference| at n={m}, d=64: {err:.2e}")
    expected = float(np.mean(scales / np.sqrt(scales**2 + 0.1**2)))  # corr(z, s z + 0.1 e)
    print(f"check: MCC {mcc:.4f} vs population value {expected:.4f} (|diff| {abs(mcc - expected):.1e})")


if __name__ == "__main__":
    main()
