"""End-to-end time of the pipeline at its defaults, and served throughput.

Runs `python -m pipelines.train_mnist --idx_dir=<Fashion-MNIST IDX>` (every
other flag at its default) in a fresh pipeline root and serving directory,
prints the wall time (the budget is 20 minutes on 2 CPU cores), then loads
the pushed SavedModel with TensorFlow alone and prints the generator's
throughput (images/sec) at batch 1 and 256 through `serving_default`.

    python bench/pipeline_e2e.py [--idx_dir=DIR] [--workdir=DIR] [--extra flags...]

Flags after `--` go to the pipeline (e.g. `-- --epochs=1` for a quick look).
Timings on a shared machine are noisy: report the load with the figure.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET_S = 20 * 60


def run_pipeline(idx_dir, workdir, extra):
    command = [
        sys.executable,
        "-m",
        "pipelines.train_mnist",
        f"--idx_dir={idx_dir}",
        f"--pipeline_root={os.path.join(workdir, 'pipeline_root')}",
        f"--serving_dir={os.path.join(workdir, 'saved_models')}",
        "--verbose=2",
        *extra,
    ]
    print("$", " ".join(command), flush=True)
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT)
    return result.returncode, time.perf_counter() - start


def served_throughput(version_dir, batch_sizes=(1, 256), seconds=5.0):
    """images/sec of `serving_default` for each batch size (TensorFlow only)."""
    import numpy as np
    import tensorflow as tf

    serve = tf.saved_model.load(version_dir).signatures["serving_default"]
    latent_dim = serve.structured_input_signature[1]["z"].shape[-1]
    figures = {}
    for batch in batch_sizes:
        z = tf.constant(np.random.default_rng(0).standard_normal((batch, latent_dim)), tf.float32)
        serve(z=z)  # warm-up
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            serve(z=z)["images"].numpy()
            calls += 1
        figures[batch] = calls * batch / (time.perf_counter() - start)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idx_dir", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--workdir", default=None, help="default: a new temp dir")
    parser.add_argument("extra", nargs="*", help="flags for the pipeline (after --)")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="pipeline_e2e-")
    load_before = os.getloadavg()
    code, seconds = run_pipeline(args.idx_dir, workdir, args.extra)
    load_after = os.getloadavg()
    print(
        f"\nend-to-end: {seconds / 60:.1f} min ({seconds:.0f} s), exit code {code}; "
        f"budget {BUDGET_S // 60} min: {'OK' if seconds <= BUDGET_S else 'OVER'}"
    )
    print(
        f"load average (1 min) before/after: {load_before[0]:.1f} / {load_after[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    grids = sorted(
        glob.glob(os.path.join(workdir, "pipeline_root", "Trainer", "samples", "*", "*.png"))
    )
    if grids:
        print(f"last sample grid: {grids[-1]}")
    versions = sorted(glob.glob(os.path.join(workdir, "saved_models", "*", "[0-9]*")))
    if code != 0 or not versions:
        print("no pushed version: no throughput figures")
        return code or 1
    for batch, rate in served_throughput(versions[-1]).items():
        print(f"served generator ({versions[-1]}), batch {batch:>3}: {rate:,.0f} images/sec")
    return 0


if __name__ == "__main__":
    sys.exit(main())
