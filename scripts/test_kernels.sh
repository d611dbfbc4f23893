#!/usr/bin/env bash
# Run the numerical tests (tests/mor, tests/verification) under several OpenBLAS kernels.
# Numerics must not depend on the BLAS kernel (AVX-512 kernels sum in another order).
# A kernel the CPU cannot run (no AVX-512 for SkylakeX, no AVX2 for Haswell) is skipped
# with a message rather than crashing on an illegal instruction.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
KERNELS=${KERNELS:-"SkylakeX Haswell"}
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
status=0
for kernel in $KERNELS; do
  case $kernel in
    SkylakeX|Cooperlake|SapphireRapids) need=avx512f ;;
    Haswell|Zen) need=avx2 ;;
    *) need= ;;
  esac
  if [[ -n $need && " $flags " != *" $need "* ]]; then
    echo "== OpenBLAS kernel $kernel: skipped (this CPU lacks $need)"
    continue
  fi
  used=$(OPENBLAS_CORETYPE=$kernel "$PY" -c \
    "import numpy, threadpoolctl; print(threadpoolctl.threadpool_info()[0].get('architecture'))")
  echo "== OpenBLAS kernel $kernel (in use: $used)"
  OPENBLAS_CORETYPE=$kernel OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    "$PY" -m pytest -q tests/mor tests/verification || status=1
done
exit $status
