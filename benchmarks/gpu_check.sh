#!/usr/bin/env bash
# One-shot accelerator benchmark (budget: 8 minutes on one GPU), for a session that is lent
# a GPU: installs what it needs, runs the paper-shape inference benchmark (--paper-batch) at
# the paper's pruning ratios and the pruning sweep, and writes Markdown into $OUT:
#
#   $OUT/gpu_check.md     the summary: device, versions, what failed, the tables
#   $OUT/inference.md     bench_inference.py output;  $OUT/inference.json  its call times
#   $OUT/sweep.md         bench_sweep.py output;      $OUT/gpu_check.log   everything
#
# Usage (repository root):  OUT=/some/dir bash benchmarks/gpu_check.sh
# Without a GPU (or when jax[cuda12] cannot be installed) it runs the CPU fallback: the same
# steps on a reduced problem, so the script itself can be tested anywhere.
# Environment: OUT (default out/gpu_check), PY (a python ≥ 3.10), BUDGET_S (default 470),
# FORCE_CPU=1 (test the fallback on a GPU machine).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/out/gpu_check}
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
SUMMARY=$OUT/gpu_check.md
: > "$LOG"
FAILED=()
PIP_USER=()
START=$(date +%s)
BUDGET_S=${BUDGET_S:-470}

say() { echo "== $*" | tee -a "$LOG"; }
fail() { FAILED+=("$*"); echo "!! FAILED: $*" | tee -a "$LOG"; }
left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }
# run a step with a time limit (seconds, capped by what is left of the budget)
limited() {
  local limit=$1; shift
  local remaining; remaining=$(left)
  (( remaining < limit )) && limit=$remaining
  if (( limit < 20 )); then echo "(skipped: ${limit}s left of the budget)" >> "$LOG"; return 124; fi
  timeout --kill-after=10 "$limit" "$@"
}

# ---------------------------------------------------------------- 1. Python and packages
PY=${PY:-}
if [[ -z $PY ]]; then
  for cand in python3.12 python3.11 python3.10 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
      PY=$(command -v "$cand"); break
    fi
  done
fi
[[ -z $PY ]] && { fail "no python >= 3.10 found"; }
say "python: ${PY:-none} ($(${PY:-false} -V 2>&1))"

VENV=$ROOT/build/venv-gpu  # build/ and out/ are git-ignored
if [[ -n $PY ]]; then
  if [[ -x $ROOT/.venv/bin/python ]] && "$ROOT/.venv/bin/python" -c 'import jax, flax, mor, ssm_bridge' 2>>"$LOG"; then
    VPY=$ROOT/.venv/bin/python  # a ready environment (e.g. this project's machine)
    say "using the existing .venv"
  else
    say "creating $VENV and installing the project (.[ssm], pinned by requirements.lock)"
    VPY=$VENV/bin/python
    if [[ ! -x $VPY ]] && ! "$PY" -m venv "$VENV" >>"$LOG" 2>&1; then
      say "python -m venv failed (no ensurepip?): installing into $PY's user site instead"
      VPY=$PY; PIP_USER=(--user)
    fi
    limited 200 "$VPY" -m pip install --quiet --disable-pip-version-check ${PIP_USER[@]+"${PIP_USER[@]}"} \
        -c requirements.lock -e ".[ssm]" >>"$LOG" 2>&1 \
      || fail "pip install -c requirements.lock -e .[ssm] (is a package index reachable? see $LOG)"
  fi
  JAXV=$("$VPY" -c 'import jax; print(jax.__version__)' 2>/dev/null)
  [[ -z $JAXV ]] && fail "jax does not import after the install"
fi

GPU=0
if [[ ${FORCE_CPU:-0} != 1 ]] && command -v nvidia-smi >/dev/null && nvidia-smi -L >>"$LOG" 2>&1; then
  GPU=1
  say "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  if [[ -n ${VPY:-} ]] && ! "$VPY" -c 'import jax,sys; sys.exit(jax.default_backend()!="gpu")' 2>/dev/null; then
    say "installing jax[cuda12]==$JAXV (the locked jax version)"
    limited 150 "$VPY" -m pip install --quiet --disable-pip-version-check ${PIP_USER[@]+"${PIP_USER[@]}"} \
        "jax[cuda12]==$JAXV" >>"$LOG" 2>&1 \
      || fail "pip install jax[cuda12]==$JAXV (no index, or no CUDA 12 wheel for this jax)"
  fi
fi

BACKEND=none
if [[ -n ${VPY:-} ]]; then
  BACKEND=$("$VPY" -c 'import jax; print(jax.default_backend())' 2>>"$LOG" || echo none)
fi
say "jax ${JAXV:-?}, backend: $BACKEND"
if [[ $GPU == 1 && $BACKEND != gpu ]]; then
  fail "a GPU is present but jax runs on '$BACKEND': the figures below are CPU figures"
fi

# ---------------------------------------------------------------- 2. the benchmarks
if [[ -n ${VPY:-} && $BACKEND != none ]]; then
  export BENCH_THREADS=1
  if [[ $BACKEND == gpu ]]; then
    INF_ARGS=(--paper-batch --paper-ratios --repeats 10 --no-padding-variant --no-scan-share)
    SWEEP_ARGS=(--model s5_digits --repeats 2)
  else  # CPU fallback: the same steps on a reduced problem
    INF_ARGS=(--shapes Pathfinder Text --batch 1 --length 256 --repeats 5 --paper-ratios)
    SWEEP_ARGS=(--layers 2 --d-model 8 --state 4 --length 32 --examples 64 --batch 64 --repeats 1)
  fi
  say "inference: bench_inference.py ${INF_ARGS[*]}"
  limited 330 "$VPY" benchmarks/bench_inference.py "${INF_ARGS[@]}" --json "$OUT/inference.json" \
      > "$OUT/inference.md" 2>>"$LOG" || fail "bench_inference.py (exit $?; see $LOG)"
  say "sweep: bench_sweep.py ${SWEEP_ARGS[*]}"
  limited 100 "$VPY" benchmarks/bench_sweep.py "${SWEEP_ARGS[@]}" \
      > "$OUT/sweep.md" 2>>"$LOG" || fail "bench_sweep.py (exit $?; see $LOG)"
fi

# ---------------------------------------------------------------- 3. the summary
{
  echo "# Accelerator benchmark ($(date -u +%F), $(( $(date +%s) - START )) s)"
  echo
  if [[ $GPU == 1 ]]; then
    echo "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  else
    echo "No GPU used: CPU fallback on a reduced problem (these are not GPU figures)."
  fi
  echo "python: ${VPY:-none}; jax ${JAXV:-?} (backend $BACKEND)"
  echo
  if (( ${#FAILED[@]} )); then
    echo "## What failed"; echo
    for f in "${FAILED[@]}"; do echo "- $f"; done
    echo
  else
    echo "Every step succeeded."; echo
  fi
  if [[ -s $OUT/inference.json ]]; then
    echo "## Inference against the official-style full model, at the paper's ratios"; echo
    "${VPY:-$PY}" benchmarks/gpu_summary.py "$OUT/inference.json" 2>>"$LOG" || echo "(summary failed; see the log)"
    echo
  fi
  for part in inference sweep; do
    if [[ -s $OUT/$part.md ]]; then echo "## $part (full output)"; echo; cat "$OUT/$part.md"; echo; fi
  done
} > "$SUMMARY"
say "wrote $SUMMARY ($(( $(date +%s) - START )) s)"
cat "$SUMMARY"
(( ${#FAILED[@]} == 0 ))
