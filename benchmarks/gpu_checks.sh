#!/usr/bin/env bash
# The checks that need a GPU, as one short script for a lent GPU machine (about 5 minutes).
#
#   bash benchmarks/gpu_checks.sh OUT_DIR
#
# 1. the engine on CUDA equals the CPU engine (tests/probes/test_engine_cuda.py; skipped without CUDA);
# 2. probe_bench: the scikit-learn loop (CPU) vs the engine on CUDA, synthetic cities-sized
#    activations (31 layers x 800 rows x 576 dims), one round; the figures the README asks for.
# Everything printed goes to OUT_DIR/*.log as well.
set -uo pipefail
out="${1:?usage: bash benchmarks/gpu_checks.sh OUT_DIR}"
mkdir -p "$out"
export HF_HUB_OFFLINE=1
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
} 2>&1 | tee "$out/device.log"
python -m pytest tests/probes/test_engine_cuda.py -q -rs -p no:cacheprovider 2>&1 | tee "$out/cuda_tests.log"
OMP_NUM_THREADS="${OMP_NUM_THREADS:-4}" python benchmarks/probe_bench.py --device cuda --rounds 1 --no-ridge 2>&1 \
  | tee "$out/probe_bench_cuda.log"
