"""Helpers shared by the pipeline tests (this module holds no tests): tiny
MNIST-format IDX files, running `python -m pipelines.train_mnist` in a
subprocess, and file snapshots to prove that nothing was touched."""

import gzip
import os
import struct
import subprocess
import sys

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Flags that make a full pipeline run take seconds: tiny networks, 2 steps.
TINY_FLAGS = [
    "--num_train_examples=200",
    "--batch_size=32",
    "--steps_per_epoch=2",
    "--epochs=1",
    "--latent_dim=16",
    "--base_filters=8",
    "--eval_samples=160",  # FD in the 128-d classifier features needs > 128
    "--bless_metric=frechet_distance",
    "--bless_threshold=1e9",
    "--verbose=2",
]


def write_idx_files(directory, count=240, seed=0):
    """Writes `train-{images-idx3,labels-idx1}-ubyte.gz` (MNIST format) with
    `count` 28x28 images: a bright square at a label-dependent place."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        row, col = 2 + 2 * int(label), 4 + int(label)
        images[i, row : row + 8, col : col + 8] = 230
    with gzip.open(os.path.join(directory, "train-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, count, 28, 28) + images.tobytes())
    with gzip.open(os.path.join(directory, "train-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x801, count) + labels.tobytes())
    return directory


def run_pipeline(*flags, timeout=600, env=None, entry="pipelines.train_mnist"):
    """Runs the pipeline entry point `entry` (the MNIST preset by default)
    from the repository root, under the active KERAS_BACKEND (or `env`'s:
    variables set on top of this process's); returns the `CompletedProcess`
    (text output)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", entry, *flags],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_train(*flags, timeout=900, env=None):
    """`run_pipeline` for `python -m pipelines.train` (any image data)."""
    return run_pipeline(*flags, timeout=timeout, env=env, entry="pipelines.train")


def start_pipeline(*flags, env=None):
    """`python -m pipelines.train_mnist` as a running `Popen` (text pipes)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.train_mnist", *flags],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def snapshot(directory):
    """`{relative path: (size, mtime_ns)}` of every file under `directory`."""
    found = {}
    for root, _, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            stat = os.stat(path)
            found[os.path.relpath(path, directory)] = (stat.st_size, stat.st_mtime_ns)
    return found
