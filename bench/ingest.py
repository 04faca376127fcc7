"""ExampleGen and the Trainer's input pipeline on a folder of small PNGs.

Generates `--n` PNG files of `--size` x `--size` RGB (a smooth gradient plus
noise, ~6-9 KB each at 64x64) once in `--workdir`, then, each in a fresh
subprocess so peak memory is its own:

  examplegen N      `run_example_gen` over the folder (decode in `--workers`
                    processes, write TFRecord shards): images/s and the peak
                    RSS of the writer process (VmHWM) and of the largest
                    decoding worker (ru_maxrss of the children).
  input N           the Trainer's input, `training_examples` -> shuffle
                    (buffer `--shuffle_buffer`) -> batch 128 -> [-1, 1]
                    (`gankeras.data.pipeline.finish`): images/s over one
                    epoch and peak RSS.
  train step        one DCGAN training step of the pipeline's default
                    networks at this size (batch 128, Keras backend of the
                    environment): images/s, to compare with `input`.

Each runs for N and N/10: peak memory that does not grow with N shows the
streaming. Prints the CPU (model name; AVX-512 / AMX flags). The machine may
be shared: figures are one run each, so read ratios, not absolutes.

`--baseline=REV` instead compares ExampleGen of this tree with the code of
git revision REV (exported with `git archive`), run after run interleaved
(`--rounds` pairs) on the same folder of N images: wall images/s, images
per CPU-second (all processes: writer + workers) and the load average
around each run.

Usage:
    python bench/ingest.py [--n=100000] [--size=64] [--workers=2] [--workdir=DIR]
    python bench/ingest.py --baseline=a877183 --n=20000 [--rounds=3]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_description():
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return f"{model}; {os.cpu_count()} cores; flags: {' '.join(shown) or 'none of avx2/avx512/amx'}"


def _write_pngs(args):
    directory, start, stop, size = args
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(start)
    ramp = np.linspace(0, 200, size, dtype=np.float32)
    for i in range(start, stop):
        base = ramp[None, :, None] * rng.uniform(0.3, 1.0, 3) + ramp[:, None, None] * 0.2
        noise = rng.normal(0, 12, (size, size, 3))
        image = np.clip(base + noise, 0, 255).astype(np.uint8)
        sub = os.path.join(directory, f"{i // 1000:04d}")
        os.makedirs(sub, exist_ok=True)
        Image.fromarray(image).save(os.path.join(sub, f"{i:07d}.png"))


def make_folder(directory, n, size, workers):
    marker = directory + ".complete"  # beside the folder: not one of its files
    if os.path.exists(marker):
        return 0.0
    import multiprocessing

    start = time.perf_counter()
    step = 1000
    jobs = [(directory, i, min(n, i + step), size) for i in range(0, n, step)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_write_pngs, jobs)
    open(marker, "w").close()
    return time.perf_counter() - start


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------------
# Children (one measurement each)


def child_examplegen(args):
    import resource

    import tensorflow  # noqa: F401  (imported before the clock, as in the pipeline)

    import gankeras.data  # noqa: F401  (as in the pipeline, whose process has it)
    from pipelines.components import example_gen
    from pipelines.framework import Artifact

    out = tempfile.mkdtemp(dir=args.workdir, prefix="examples-")
    component = example_gen.make_example_gen(
        image_dir=args.folder, image_size=args.size, num_examples=args.limit
    )
    artifact = Artifact("ExampleGen", "examples", out, "bench", "bench")

    def cpu_seconds():
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    cpu, start = cpu_seconds(), time.perf_counter()
    result = example_gen.run_example_gen(
        {}, {"examples": artifact}, component.parameters.replace(workers=args.workers)
    )
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    images = result["count"] + result["test_count"]
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dict(
        images=images,
        seconds=seconds,
        rate=images / seconds,
        rss=peak_rss_mb(),
        worker_rss=children,
        examples=out,
        cpu=cpu,
    )


def child_input(args):
    import tensorflow as tf

    from gankeras.data import pipeline
    from pipelines.components import example_gen
    from pipelines.framework import Artifact

    artifact = Artifact("ExampleGen", "examples", args.examples, "bench", "bench")
    dataset, count = example_gen.training_examples(artifact, with_labels=False)
    dataset = pipeline.finish(
        dataset,
        value_range=pipeline.UINT8_RANGE,
        batch_size=128,
        seed=0,
        shuffle_buffer=args.shuffle_buffer,
    )
    start, seen = time.perf_counter(), 0
    for batch in dataset:
        seen += int(tf.shape(batch)[0])
    seconds = time.perf_counter() - start
    return dict(images=seen, seconds=seconds, rate=seen / seconds, rss=peak_rss_mb())


def child_train(args):
    import numpy as np

    from pipelines.components.trainer import build_gan
    from pipelines.config import PipelineConfig

    p = PipelineConfig(image_dir=".").trainer_parameters()
    gan = build_gan(p, (args.size, args.size, 3), None)
    batch = np.random.default_rng(0).uniform(-1, 1, (128, args.size, args.size, 3))
    batch = batch.astype("float32")
    gan.fit(batch, batch_size=128, epochs=1, verbose=0)  # build + trace
    steps = 5
    data = np.concatenate([batch] * steps)
    start = time.perf_counter()
    gan.fit(data, batch_size=128, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - start
    import keras

    return dict(
        images=128 * steps,
        seconds=seconds,
        rate=128 * steps / seconds,
        backend=keras.backend.backend(),
    )


def run_child(kind, tree=REPO_ROOT, **options):
    """Runs one measurement in a fresh process importing the code of `tree`."""
    flags = [f"--_child={kind}", f"--_tree={tree}"]
    flags += [f"--{k}={v}" for k, v in options.items() if v is not None]
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=tree + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *flags],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"{kind} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shuffle_buffer", type=int, default=10_000)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--_child", default=None)
    parser.add_argument("--folder", default=None)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--examples", default=None)
    parser.add_argument("--baseline", default=None, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--_tree", default=REPO_ROOT)
    args = parser.parse_args()
    if args._child:
        sys.path.insert(0, args._tree)
        child = {"examplegen": child_examplegen, "input": child_input, "train": child_train}
        print(json.dumps(child[args._child](args)))
        return

    workdir = args.workdir or os.path.join(tempfile.gettempdir(), "gankeras-bench-ingest")
    folder = os.path.join(workdir, f"png{args.size}-{args.n}")
    os.makedirs(folder, exist_ok=True)
    print(f"cpu: {cpu_description()}")
    made = make_folder(folder, args.n, args.size, args.workers)
    print(
        f"folder: {args.n} PNGs {args.size}x{args.size} RGB in {folder}"
        + (f" (generated in {made:.0f} s)" if made else " (reused)")
    )
    print()
    if args.baseline:
        compare(args, workdir, folder)
        return
    header = (
        f"{'stage':<22}{'images':>9}{'seconds':>9}{'images/s':>10}"
        f"{'peak RSS MB':>13}{'worker RSS MB':>15}"
    )
    print(header)
    print("-" * len(header))
    train = run_child("train", size=args.size)
    for n in (args.n // 10, args.n):
        gen = run_child(
            "examplegen",
            folder=folder,
            size=args.size,
            workers=args.workers,
            limit=None if n == args.n else n - n // 10,
            workdir=workdir,
        )
        print(
            f"{'ExampleGen':<22}{gen['images']:>9}{gen['seconds']:>9.1f}{gen['rate']:>10,.0f}"
            f"{gen['rss']:>13,.0f}{gen['worker_rss']:>15,.0f}"
            f"   ({gen['images'] / gen['cpu']:,.0f} images per CPU-second, all processes)"
        )
        feed = run_child("input", examples=gen["examples"], shuffle_buffer=args.shuffle_buffer)
        print(
            f"{'input pipeline':<22}{feed['images']:>9}{feed['seconds']:>9.1f}"
            f"{feed['rate']:>10,.0f}{feed['rss']:>13,.0f}"
        )
        subprocess.run(["rm", "-rf", gen["examples"]], check=False)
    print(
        f"{'train step (' + train['backend'] + ')':<22}{train['images']:>9}"
        f"{train['seconds']:>9.1f}{train['rate']:>10,.0f}"
    )
    print()
    load = os.getloadavg()[0]
    print(
        f"load average at the end: {load:.1f} on {os.cpu_count()} cores. On a quiet machine "
        f"ExampleGen would reach about {args.workers} x the images per CPU-second above "
        "(the workers decode in parallel; the writer takes a small share)."
    )
    print(
        f"ExampleGen: {args.workers} decoding processes + the writer; input pipeline: "
        f"shuffle buffer {args.shuffle_buffer}, batch 128. The input pipeline feeds "
        f"{feed['rate'] / train['rate']:,.0f}x the training rate of the pipeline's default "
        f"DCGAN at {args.size}x{args.size}x3."
    )


def export_revision(revision, workdir):
    """The tree of git `revision`, exported once under `workdir`."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    tree = os.path.join(workdir, f"tree-{sha}")
    if not os.path.isdir(tree):
        os.makedirs(tree + ".partial", exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", sha], cwd=REPO_ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tree + ".partial"], input=archive, check=True)
        os.rename(tree + ".partial", tree)
    return sha, tree


def compare(args, workdir, folder):
    """ExampleGen of `--baseline` vs this tree, interleaved run by run."""
    sha, tree = export_revision(args.baseline, workdir)
    contenders = ((f"baseline {sha}", tree), ("this tree", REPO_ROOT))
    header = (
        f"{'round':<7}{'code':<18}{'images':>8}{'seconds':>9}{'images/s':>10}"
        f"{'images/CPU-s':>14}{'load before/after':>20}"
    )
    print(f"ExampleGen, {args.workers} decoding workers, interleaved")
    print(header)
    print("-" * len(header))
    totals = {name: [0, 0.0, 0.0] for name, _ in contenders}
    for round_ in range(1, args.rounds + 1):
        for name, code in contenders:
            before = os.getloadavg()[0]
            gen = run_child(
                "examplegen",
                tree=code,
                folder=folder,
                size=args.size,
                workers=args.workers,
                workdir=workdir,
            )
            subprocess.run(["rm", "-rf", gen["examples"]], check=False)
            total = totals[name]
            total[0] += gen["images"]
            total[1] += gen["seconds"]
            total[2] += gen["cpu"]
            print(
                f"{round_:<7}{name:<18}{gen['images']:>8}{gen['seconds']:>9.1f}"
                f"{gen['rate']:>10,.0f}{gen['images'] / gen['cpu']:>14,.0f}"
                f"{before:>11.1f} / {os.getloadavg()[0]:.1f}"
            )
    print()
    (base_name, _), (new_name, _) = contenders
    rate = {name: t[0] / t[1] for name, t in totals.items()}
    cpu_rate = {name: t[0] / t[2] for name, t in totals.items()}
    for name in totals:
        print(
            f"{name:<18} all rounds: {rate[name]:,.0f} images/s, "
            f"{cpu_rate[name]:,.0f} images per CPU-second"
        )
    print(
        f"ratio this tree / baseline: {rate[new_name] / rate[base_name]:.2f}x images/s, "
        f"{cpu_rate[new_name] / cpu_rate[base_name]:.2f}x images per CPU-second "
        f"({1e6 / cpu_rate[new_name]:.0f} vs {1e6 / cpu_rate[base_name]:.0f} CPU-us per image)."
    )
    cores = min(args.workers, os.cpu_count())
    print(
        f"Bound, not a measurement: with {cores} free cores ExampleGen could reach at most "
        f"~{cores * cpu_rate[new_name]:,.0f} images/s ({cores} x images per CPU-second); "
        "wall images/s above is what this (shared) machine gave."
    )


if __name__ == "__main__":
    main()
