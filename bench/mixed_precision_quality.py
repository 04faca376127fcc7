"""Does bfloat16 mixed precision train the DCGAN as well as float32?

Trains the pipeline's DCGAN (28x28x1 Fashion-MNIST, latent 64, base_filters
32, batch 128 by `--batch_size` (the pipeline's default is now 64),
Adam(2e-4, beta_1=0.5) for both, generator EMA 0.99) once per precision, from
the same seed and the same data order, interleaved epoch by epoch (a change in
the machine's load hits both alike), then scores 2,000 EMA samples of each
with the domain-classifier metrics of `gankeras.evaluation` (FD, KID,
classifier score; the classifier is trained once and cached under
--cache_dir).

`mixed_bfloat16` builds the networks and the GAN under
`keras.mixed_precision.set_global_policy("mixed_bfloat16")`: bfloat16
compute, float32 weights, float32 losses (`GAN._split`). On CPUs with
AMX-BF16 its convolutions run on the bf16 units.

Needs the real Fashion-MNIST IDX files (Debian's `dataset-fashion-mnist`).
Usage:
    KERAS_BACKEND=tensorflow python bench/mixed_precision_quality.py --epochs=3
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import gankeras  # noqa: E402
from gankeras import architectures, evaluation, hardware  # noqa: E402
from gankeras.data import idx  # noqa: E402
from gankeras.evaluation import sources  # noqa: E402

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def load_average():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def to_float(images):
    return images.astype(np.float32) / 127.5 - 1.0


def build(precision, images, args):
    """Returns `(gan, dataset)` built under `precision`; every precision gets
    its own, identically seeded dataset, so each sees the same data order."""
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(precision)
    try:
        keras.utils.set_random_seed(args.seed)
        networks = architectures.build(
            "dcgan", image_shape=(28, 28, 1), latent_dim=64, base_filters=32
        )
        gan = gankeras.GAN(**networks, seed=args.seed)
        gan.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, use_ema=True, ema_momentum=0.99),
        )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    dataset = (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=args.seed)
        .batch(args.batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    return gan, dataset


def train_interleaved(precisions, images, args):
    """Trains one GAN per precision, epoch by epoch in turn (a change in the
    machine's load hits both alike); returns `{precision: (gan, fit s)}`."""
    runs = {precision: build(precision, images, args) for precision in precisions}
    seconds = dict.fromkeys(precisions, 0.0)
    for epoch in range(args.epochs):
        for precision, (gan, dataset) in runs.items():
            start = time.perf_counter()
            gan.fit(dataset, epochs=epoch + 1, initial_epoch=epoch, verbose=0)
            seconds[precision] += time.perf_counter() - start
            print(f"  epoch {epoch + 1} {precision}: {seconds[precision]:.0f}s", flush=True)
    return {precision: (runs[precision][0], seconds[precision]) for precision in precisions}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache_dir", default="runs/cache")
    args = parser.parse_args(argv)
    if not os.path.isdir(FASHION_MNIST_DIR):
        sys.exit(f"Needs {FASHION_MNIST_DIR}: apt-get install dataset-fashion-mnist")
    train_images, train_labels = idx.load_idx(FASHION_MNIST_DIR, "train")
    test_images, test_labels = idx.load_idx(FASHION_MNIST_DIR, "test")
    real_train, real_test = to_float(train_images), to_float(test_images)
    classifier = evaluation.load_or_train_domain_classifier(
        args.cache_dir, real_train, train_labels, real_test, test_labels
    )
    print(f"CPU: {cpu_model()}; {hardware.describe()}; load average {load_average()}")
    print(
        f"backend={keras.backend.backend()} epochs={args.epochs} batch={args.batch_size} "
        f"classifier test accuracy {classifier.test_accuracy:.3f}"
    )
    rows = []
    precisions = args.precisions.split(",")
    trained = train_interleaved(precisions, real_train, args)
    for precision in precisions:
        gan, seconds = trained[precision]
        metrics = evaluation.evaluate_generator(
            sources.from_gan(gan),
            real_train[: args.samples],
            real_test,
            classifier,
            num_samples=args.samples,
        )
        steps = args.epochs * (len(real_train) // args.batch_size)
        rows.append((precision, seconds, steps * args.batch_size / seconds, metrics))
    print(
        f"{'precision':16s} {'fit s':>7s} {'img/s':>7s} {'FD':>7s} {'KID':>7s} {'class. score':>12s}"
    )
    for precision, seconds, rate, m in rows:
        print(
            f"{precision:16s} {seconds:7.0f} {rate:7.0f} {m['frechet_distance']:7.2f} "
            f"{m['kernel_distance']:7.3f} {m['classifier_score']:12.2f}"
        )
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main(sys.argv[1:])
