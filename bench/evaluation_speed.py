"""How long the evaluation metrics take on 10,000 samples.

Uses real Fashion-MNIST: the last 10,000 train images play the generated
samples, the first 10,000 train images the reference, the test split the
held-out data (Parzen, memorization baseline); memorization searches the
first 50,000 train images. Trains (or loads from `--cache_dir`) the
domain classifier, then times feature extraction and each metric separately,
and prints one line per step plus the total. `--label_free` also trains (or
loads) the SimCLR encoder on 10,000 train images (default set-up) and times
the label-free evaluation.

Usage:
    KERAS_BACKEND=tensorflow python bench/evaluation_speed.py --cache_dir=/tmp/gankeras_classifiers
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from gankeras import evaluation  # noqa: E402
from gankeras.data import FASHION_MNIST_DIR, load_idx  # noqa: E402
from gankeras.evaluation.report import evaluate_samples  # noqa: E402


def _timed(label, fn, timings):
    start = time.perf_counter()
    result = fn()
    timings[label] = time.perf_counter() - start
    print(f"  {label:36s} {timings[label]:7.2f} s")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache_dir", default="/tmp/gankeras_classifiers")
    parser.add_argument("--num_samples", type=int, default=10_000)
    parser.add_argument("--classifier_epochs", type=int, default=1)
    parser.add_argument(
        "--label_free",
        action="store_true",
        help="Also train (or load) the SimCLR encoder and time the label-free metrics.",
    )
    args = parser.parse_args()

    scale = lambda x: x.astype(np.float32) / 127.5 - 1.0  # noqa: E731
    train_x, train_y = load_idx(FASHION_MNIST_DIR, "train")
    test_x, test_y = load_idx(FASHION_MNIST_DIR, "test")
    train_x, test_x = scale(train_x), scale(test_x)
    n = args.num_samples
    print(f"backend={keras.backend.backend()} samples={n} cpus={os.cpu_count()}")
    timings = {}
    classifier = _timed(
        "classifier (train or load from cache)",
        lambda: evaluation.load_or_train_domain_classifier(
            args.cache_dir, train_x, train_y, test_x, test_y, epochs=args.classifier_epochs
        ),
        timings,
    )
    print(f"  classifier test accuracy {classifier.test_accuracy:.4f}")
    samples, reference = train_x[-n:], train_x[:n]
    searched = train_x[: len(train_x) - n]
    fake_f, fake_l = _timed(
        "features of samples", lambda: classifier.features_and_logits(samples), timings
    )
    real_f, real_l = _timed(
        "features of reference", lambda: classifier.features_and_logits(reference), timings
    )
    _timed("frechet_distance", lambda: evaluation.frechet_distance(real_f, fake_f), timings)
    _timed("kernel_distance", lambda: evaluation.kernel_distance(real_f, fake_f), timings)
    _timed("classifier_score", lambda: evaluation.classifier_score(fake_l), timings)
    _timed("precision_recall (k=3)", lambda: evaluation.precision_recall(real_f, fake_f), timings)
    _timed("density_coverage (k=5)", lambda: evaluation.density_coverage(real_f, fake_f), timings)
    _timed(
        "class_coverage",
        lambda: evaluation.class_coverage(fake_l, evaluation.class_histogram(real_l)),
        timings,
    )
    metric_keys = [k for k in timings if not k.startswith(("classifier (", "features"))]
    print(
        f"feature-space metrics on {n} samples: {sum(timings[k] for k in metric_keys):.2f} s "
        f"(+ {timings['features of samples'] + timings['features of reference']:.2f} s of features)"
    )
    half = len(test_x) // 2
    _timed(
        "parzen (1,000 val + 1,000 test)",
        lambda: evaluation.parzen_log_likelihood(
            (samples.reshape(n, -1) + 1) / 2,
            (test_x[:1000].reshape(1000, -1) + 1) / 2,
            (test_x[half : half + 1000].reshape(1000, -1) + 1) / 2,
        ),
        timings,
    )
    _timed(
        f"memorization (1,000 vs {len(searched)})",
        lambda: evaluation.memorization(
            (samples[:1000].reshape(1000, -1) + 1) / 2,
            (searched.reshape(len(searched), -1) + 1) / 2,
            (test_x[:1000].reshape(1000, -1) + 1) / 2,
        ),
        timings,
    )
    start = time.perf_counter()
    report = evaluate_samples(samples, reference, test_x, classifier, memorization_train=searched)
    print(
        f"evaluate_samples, everything at once (features included): "
        f"{time.perf_counter() - start:.2f} s; load average {os.getloadavg()[0]:.1f}"
    )
    print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in report.metrics.items()})
    if args.label_free:
        encoder = _timed(
            "SimCLR encoder (train or load from cache)",
            lambda: evaluation.load_or_train_contrastive_encoder(args.cache_dir, train_x[:10_000]),
            timings,
        )
        print(
            f"  encoder {encoder.fingerprint}, loss per tenth of training: "
            f"{[round(v, 3) for v in encoder.loss_history]}"
        )
        _timed(
            "encoder features of samples + reference",
            lambda: (encoder.features(samples), encoder.features(reference)),
            timings,
        )
        start = time.perf_counter()
        report = evaluate_samples(samples, reference, test_x, encoder, memorization_train=searched)
        print(f"evaluate_samples, label-free: {time.perf_counter() - start:.2f} s")
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in report.metrics.items()})


if __name__ == "__main__":
    main()
