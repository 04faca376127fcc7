"""How fast `gankeras.data.idx_dataset` delivers real Fashion-MNIST batches.

Prints images/second of the finished pipeline (uint8 in memory -> seeded
shuffle -> batch -> rescale to [-1, 1] -> prefetch) at batch sizes 64 and
256, measured over whole epochs after a first warm-up epoch, two ways:

  tf       iterating the `tf.data.Dataset` as tensors: what Keras's
           TensorFlow-backend `fit` consumes.
  numpy    `as_numpy_iterator()`: the tensor -> numpy copy Keras's JAX and
           PyTorch `fit` add on top.

A reference row runs the textbook per-image pipeline (rescale each image
with `map` before batching, no prefetch) to show what the batch-level
rescale buys. The last column compares with training throughput (default
300 images/s, a 28x28 DCGAN on this CPU; `bench/train_throughput.py`
measures it): the input pipeline must be far faster than training, or it
becomes the bottleneck. The CPU is shared, so each figure is the median of
`--epochs` timed epochs.

Usage:  python bench/input_pipeline.py [--epochs=3] [--train_images_per_sec=300]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from gankeras import data  # noqa: E402


def per_image_pipeline(images, batch_size):
    """The textbook pipeline: per-image map to float, shuffle, batch."""
    dataset = tf.data.Dataset.from_tensor_slices(images)
    dataset = dataset.map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0)
    dataset = dataset.shuffle(len(images), seed=0)
    return dataset.batch(batch_size, drop_remainder=True)


def epoch_rate(dataset, as_numpy):
    """Images per second over one full pass."""
    iterator = dataset.as_numpy_iterator() if as_numpy else iter(dataset)
    count, start = 0, time.perf_counter()
    for batch in iterator:
        count += batch.shape[0]
    return count / (time.perf_counter() - start)


def median_rate(dataset, as_numpy, epochs):
    epoch_rate(dataset, as_numpy)  # warm-up: tracing, buffers, cache
    return statistics.median(epoch_rate(dataset, as_numpy) for _ in range(epochs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory", default=data.FASHION_MNIST_DIR)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train_images_per_sec", type=float, default=300.0)
    args = parser.parse_args()

    start = time.perf_counter()
    images, labels = data.load_idx(args.directory, "train")
    print(
        f"load_idx(train): {len(images)} images {images.shape[1:]} "
        f"from {args.directory} in {time.perf_counter() - start:.2f} s "
        "(gunzip + parse)"
    )
    print(
        f"timed epochs per figure: {args.epochs} (median), after 1 warm-up epoch; "
        f"cpu cores: {os.cpu_count()}"
    )
    print()
    header = f"{'pipeline':<26}{'batch':>6}{'tf img/s':>12}{'numpy img/s':>14}{'x training':>12}"
    print(header)
    print("-" * len(header))
    for batch_size in (64, 256):
        rows = [
            ("gankeras idx_dataset", data.idx_dataset(args.directory, batch_size=batch_size)),
            ("per-image map (ref.)", per_image_pipeline(images, batch_size)),
        ]
        for name, dataset in rows:
            tf_rate = median_rate(dataset, False, args.epochs)
            np_rate = median_rate(dataset, True, args.epochs)
            ratio = min(tf_rate, np_rate) / args.train_images_per_sec
            print(f"{name:<26}{batch_size:>6}{tf_rate:>12,.0f}{np_rate:>14,.0f}{ratio:>11,.0f}x")
    print()
    print(
        f"x training: the slower of the two rates / {args.train_images_per_sec:g} "
        "training images/s."
    )


if __name__ == "__main__":
    main()
