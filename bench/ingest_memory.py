"""Peak memory of ExampleGen and of the Trainer's input pipeline vs the number of images.

For each N (default 10,000 and 100,000) it writes a folder of N small RGB
PNGs (`--size`, default 32x32; the files cycle through 2,000 distinct
pictures, so writing 100k takes seconds while every file is still decoded)
under /tmp, then measures, each in a fresh subprocess:

  ExampleGen   `run_example_gen` over the folder (`--workers` decoding
               processes + the writer): images/s and peak RSS.
  input        the Trainer's input pipeline built by the Trainer's own
               `trainer.training_dataset` (shards -> shuffle window -> batch
               128 -> [-1, 1]), iterated over one epoch (every training
               image once): images/s and peak RSS.
  input, window of 10k
               the same with the shuffle window held at 10,000 images (the
               Trainer's window is `min(N, SHUFFLE_WINDOW_BYTES / image
               bytes)`: it grows with N up to that bound, 256 MB, and no
               further); what is left grows only if something else does.

Peak RSS is the child's `ru_maxrss` as `os.wait4` reports it: the largest
resident set of the child or of any process it waited for (its decoding
workers), which is what `resource.getrusage(RUSAGE_CHILDREN)` gives after
that one child. Folders and shards are deleted at the end. Prints the CPU
and the load average: the machine may be shared, so read the trend in N.

Usage:
    python bench/ingest_memory.py [--n=10000,100000] [--size=32] [--workers=2]
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ingest import cpu_description  # noqa: E402  (bench/ingest.py)

DISTINCT = 2000
FILES_PER_FOLDER = 1000
WINDOW_IMAGES = 10_000


def distinct_pngs(size, count=DISTINCT):
    """`count` encoded PNGs of a gradient plus noise (the bench/ingest.py kind)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, size, dtype=np.float32)
    pictures = []
    for _ in range(count):
        base = ramp[None, :, None] * rng.uniform(0.3, 1.0, 3) + ramp[:, None, None] * 0.2
        image = np.clip(base + rng.normal(0, 12, (size, size, 3)), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        pictures.append(buffer.getvalue())
    return pictures


def write_folder(directory, n, pictures):
    for i in range(n):
        sub = os.path.join(directory, f"{i // FILES_PER_FOLDER:04d}")
        if i % FILES_PER_FOLDER == 0:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"{i:07d}.png"), "wb") as f:
            f.write(pictures[i % len(pictures)])


# ---------------------------------------------------------------------------
# Children


def child_examplegen(args):
    import tensorflow  # noqa: F401  (imported before the clock, as in the pipeline)

    from pipelines.components import example_gen
    from pipelines.framework import Artifact

    component = example_gen.make_example_gen(image_dir=args.folder, image_size=args.size)
    artifact = Artifact("ExampleGen", "examples", args.examples, "bench", "bench")
    start = time.perf_counter()
    result = example_gen.run_example_gen(
        {}, {"examples": artifact}, dict(component.parameters, workers=args.workers)
    )
    seconds = time.perf_counter() - start
    images = result["count"] + result["test_count"]
    return dict(images=images, seconds=seconds)


def child_input(args):
    import tensorflow as tf

    from pipelines.components import example_gen, trainer
    from pipelines.config import PipelineConfig
    from pipelines.framework import Artifact

    artifact = Artifact("ExampleGen", "examples", args.examples, "bench", "bench")
    height, width, channels = example_gen.read_stats(artifact)["image_shape"]
    if args.window_images:
        trainer.SHUFFLE_WINDOW_BYTES = args.window_images * height * width * channels
    p = PipelineConfig(image_dir=args.examples, batch_size=128).trainer_parameters()
    dataset, steps = trainer.training_dataset(artifact, p, False, 0)
    count = example_gen.read_stats(artifact)["count"]
    window = trainer.shuffle_window(count, artifact)
    start, seen = time.perf_counter(), 0
    for batch in dataset.take(steps):
        seen += int(tf.shape(batch)[0])
    seconds = time.perf_counter() - start
    return dict(images=seen, seconds=seconds, window=window)


def run_child(kind, **options):
    """Runs one measurement; returns its figures plus `rss` (MB, wait4)."""
    flags = [f"--_child={kind}"] + [f"--{k}={v}" for k, v in options.items() if v is not None]
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), *flags],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        sys.exit(f"{kind} failed:\n{stdout[-2000:]}\n{stderr[-3000:]}")
    figures = json.loads(stdout.strip().splitlines()[-1])
    figures["rss"] = usage.ru_maxrss / 1024  # kB on Linux
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", default="10000,100000", help="comma-separated folder sizes")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--_child", default=None)
    parser.add_argument("--folder", default=None)
    parser.add_argument("--examples", default=None)
    parser.add_argument("--window_images", type=int, default=None)
    args = parser.parse_args()
    if args._child:
        child = {"examplegen": child_examplegen, "input": child_input}[args._child]
        print(json.dumps(child(args)))
        return

    print(f"cpu: {cpu_description()}")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    pictures = distinct_pngs(args.size)
    workdir = tempfile.mkdtemp(prefix="gankeras-ingest-memory-")
    header = (
        f"{'N':>8}  {'stage':<26}{'images':>9}{'seconds':>9}{'images/s':>10}{'peak RSS MB':>13}"
    )
    rows = []
    try:
        for n in (int(v) for v in args.n.split(",")):
            folder = os.path.join(workdir, f"png-{n}")
            start = time.perf_counter()
            write_folder(folder, n, pictures)
            print(
                f"wrote {n} PNGs {args.size}x{args.size} RGB in {time.perf_counter() - start:.0f} s"
            )
            examples = os.path.join(workdir, f"examples-{n}")
            os.makedirs(examples)
            gen = run_child(
                "examplegen",
                folder=folder,
                examples=examples,
                size=args.size,
                workers=args.workers,
            )
            shutil.rmtree(folder)
            rows.append((n, f"ExampleGen ({args.workers} workers)", gen))
            feed = run_child("input", examples=examples)
            rows.append((n, f"input (window {feed['window']})", feed))
            fixed = run_child("input", examples=examples, window_images=WINDOW_IMAGES)
            rows.append((n, f"input (window {fixed['window']})", fixed))
            shutil.rmtree(examples)
            print(f"  done N={n}; load average {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(header)
    print("-" * len(header))
    for n, stage, r in rows:
        print(
            f"{n:>8}  {stage:<26}{r['images']:>9}{r['seconds']:>9.1f}"
            f"{r['images'] / r['seconds']:>10,.0f}{r['rss']:>13,.0f}"
        )
    print()
    print(
        f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. "
        "Input: batch 128, the Trainer's shuffle window in images (its bytes are bounded by "
        "trainer.SHUFFLE_WINDOW_BYTES)."
    )


if __name__ == "__main__":
    main()
