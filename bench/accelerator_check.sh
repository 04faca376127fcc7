#!/usr/bin/env bash
# On a machine with NVIDIA GPUs: the distribution tests and the training
# throughput bench on every Keras backend, figures printed, in one run.
#
#   bash bench/accelerator_check.sh            # from the repository root
#   ACCEL_LOGS=/tmp/accel bash bench/accelerator_check.sh
#
# What it runs, per backend (tensorflow, jax, torch):
#   1. Which devices the backend sees (a backend built without CUDA sees only
#      the CPU: its figures are then CPU figures, and the script says so).
#   2. tests/test_distribution.py and tests/test_distribution_multiworker.py.
#      These tests pin their worker processes to the CPU
#      (CUDA_VISIBLE_DEVICES=""): they check that a replicated step equals a
#      single-device step, which needs float32 matmuls, not the TF32 a GPU
#      uses by default. On a GPU machine they prove the engines still agree
#      with the installed CUDA builds; they do not time anything.
#   3. bench/train_throughput.py --quick with --contenders=gankeras,keras
#      (its plain-PyTorch contender and its "% ceiling" column are CPU-only
#      measures: the plain torch loop never moves to CUDA, the ceiling is a
#      CPU matmul; read the img/s columns). TensorFlow runs twice, with
#      Keras's default jit_compile ("auto") and with XLA forced on
#      (--jit_compile=true), since XLA usually helps convolutions on GPUs;
#      JAX always compiles with XLA; torch runs eagerly (Keras's torch
#      jit_compile is torch.compile, not XLA).
#
# Where there is no GPU (no nvidia-smi, or it lists none) the script prints
# that and exits 0 without running anything. Each step has a time limit
# (ACCEL_TIMEOUT seconds, default 900); a failed or timed-out step is
# reported and the script goes on, exiting 1 at the end if any step failed.
set -u

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
LOGS=${ACCEL_LOGS:-/tmp/accelerator_check_$$}
LIMIT=${ACCEL_TIMEOUT:-900}
PYTHON=${PYTHON:-python}

gpus=""
if command -v nvidia-smi >/dev/null 2>&1; then
  gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
fi
if [ -z "$gpus" ] || [ "$gpus" -eq 0 ]; then
  echo "accelerator_check: no NVIDIA GPU on this machine ($(command -v nvidia-smi >/dev/null 2>&1 \
    && echo 'nvidia-smi lists none' || echo 'no nvidia-smi')); nothing to measure."
  echo "Run bench/accelerator_check.sh on a machine with GPUs; on CPU use"
  echo "bench/train_throughput.py and bench/scaling.py directly."
  exit 0
fi

mkdir -p "$LOGS"
echo "accelerator_check: $gpus GPU(s); logs in $LOGS"
nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv,noheader
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(nproc) cores"
git -C "$ROOT" log -1 --format='code: %h %s' 2>/dev/null || true

failures=()
run() {  # run NAME COMMAND...: time-limited, logged, status reported
  local name=$1; shift
  local log="$LOGS/$name.log"
  local start=$SECONDS
  timeout --kill-after=30 "$LIMIT" "$@" >"$log" 2>&1
  local status=$?
  local took=$((SECONDS - start))
  if [ $status -eq 0 ]; then
    echo "  [ok]     $name (${took} s)"
  else
    [ $status -eq 124 ] && echo "  [TIMEOUT] $name after ${LIMIT} s" \
      || echo "  [FAILED] $name (status $status, ${took} s)"
    failures+=("$name")
  fi
  return $status
}

for backend in tensorflow jax torch; do
  echo
  echo "=== KERAS_BACKEND=$backend ==="
  export KERAS_BACKEND=$backend PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  run "$backend-devices" "$PYTHON" - <<'EOF'
import os
backend = os.environ["KERAS_BACKEND"]
if backend == "tensorflow":
    import tensorflow as tf
    devices = [d.name for d in tf.config.list_physical_devices()]
    gpu = bool(tf.config.list_physical_devices("GPU"))
elif backend == "jax":
    import jax
    devices = [str(d) for d in jax.devices()]
    gpu = jax.default_backend() == "gpu"
else:
    import torch
    devices = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] or ["cpu"]
    gpu = torch.cuda.is_available()
print(f"{backend} sees: {', '.join(devices)}")
print("GPU: yes" if gpu else "GPU: NO - this backend's build has no CUDA; its figures below are CPU figures")
EOF
  sed 's/^/    /' "$LOGS/$backend-devices.log" | grep -v '^    [IWE]0000\|^    WARNING: All log'

  run "$backend-distribution-tests" "$PYTHON" -m pytest -q -p no:cacheprovider \
    tests/test_distribution.py tests/test_distribution_multiworker.py
  tail -n 1 "$LOGS/$backend-distribution-tests.log" | sed 's/^/    /'

  variants=("default:")
  [ "$backend" = tensorflow ] && variants+=("xla:--jit_compile=true")
  for variant in "${variants[@]}"; do
    label=${variant%%:*}; flag=${variant#*:}
    # shellcheck disable=SC2086
    run "$backend-throughput-$label" "$PYTHON" bench/train_throughput.py --quick \
      --contenders=gankeras,keras $flag
    echo "    bench/train_throughput.py --quick --contenders=gankeras,keras $flag:"
    grep -E 'img/s|gankeras|plain keras|batch' "$LOGS/$backend-throughput-$label.log" \
      | grep -v '^[IWE]0000' | tail -n 12 | sed 's/^/      /'
  done
done

echo
if [ ${#failures[@]} -eq 0 ]; then
  echo "accelerator_check: every step passed; full outputs in $LOGS"
  exit 0
fi
echo "accelerator_check: failed: ${failures[*]} (logs in $LOGS)"
exit 1
