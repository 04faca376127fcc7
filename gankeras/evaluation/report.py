"""Every metric on one set of generated samples, in one call.

`evaluate_generator(generate_fn, real_train, real_test, classifier)` is what
a pipeline's Evaluator calls: it draws `num_samples` images from seeds
`seed, seed + 1, ...` and returns a flat dict of float metrics.
`evaluate_samples` does the same for images in hand and also returns what a
report draws (the nearest training image of each sample, class histograms).

Which real split plays which role:
- `real_train` (the data the GAN learnt from) is the reference distribution
  for FD, KID, precision/recall and the class histogram, and the set the
  memorization check searches;
- `real_test` (never seen in training) is split in half: the first half
  chooses the Parzen bandwidth and is the memorization baseline, the second
  half is scored by the Parzen window.
"""

import dataclasses

import numpy as np

from gankeras.evaluation import checks
from gankeras.evaluation.class_coverage import class_coverage
from gankeras.evaluation.class_coverage import class_histogram
from gankeras.evaluation.classifier_score import classifier_score
from gankeras.evaluation.frechet import frechet_distance
from gankeras.evaluation.kernel_distance import kernel_distance
from gankeras.evaluation.memorization import memorization
from gankeras.evaluation.parzen import DEFAULT_SIGMAS
from gankeras.evaluation.parzen import parzen_log_likelihood
from gankeras.evaluation.precision_recall import precision_recall


@dataclasses.dataclass
class EvaluationReport:
    """Metrics and the arrays a report draws.

    Attributes:
        metrics: flat dict name -> Python float/int (JSON-ready).
        samples: `[n, H, W, C]` the evaluated samples, in [-1, 1].
        nearest_train_indices: int `[m]`: for the first m samples, the index
            of the nearest image in `memorization_train` (pixel L2).
        generated_histogram: `[num_classes]` predicted-class shares of samples.
        reference_histogram: `[num_classes]` the same for `real_train`.
    """

    metrics: dict
    samples: np.ndarray
    nearest_train_indices: np.ndarray
    generated_histogram: np.ndarray
    reference_histogram: np.ndarray


def _pixels01(images):
    """Flattened pixels in [0, 1], the space of Goodfellow et al.'s Parzen
    numbers."""
    return (images.reshape(len(images), -1) + 1.0) * 0.5


def evaluate_samples(
    samples,
    real_train,
    real_test,
    classifier,
    k=3,
    kid_block_size=1024,
    memorization_count=1000,
    parzen_count=1000,
    parzen_sigmas=DEFAULT_SIGMAS,
    memorization_train=None,
):
    """Computes every image metric of `gankeras.evaluation` on `samples`.

    Args:
        samples: float `[n, H, W, C]` generated images in [-1, 1].
        real_train: float `[N, H, W, C]` training images in [-1, 1].
        real_test: float `[M, H, W, C]` held-out images in [-1, 1], M >= 4.
        classifier: a `DomainClassifier` for this image shape.
        k: neighbour count of precision/recall (3, Kynkäänniemi et al. 2019).
        kid_block_size: KID block size (TF-GAN's default 1024).
        memorization_count: how many samples (and held-out images) the
            memorization check compares with the whole training set.
        parzen_count: size of each half of `real_test` used by the Parzen
            window (bandwidth choice, scoring).
        parzen_sigmas: candidate Parzen bandwidths, for pixels in [0, 1].
        memorization_train: the training images the memorization check
            searches, when `real_train` is only a subset of them (the k-NN
            metrics cost O(len(real_train)^2)); defaults to `real_train`.

    Returns:
        An `EvaluationReport`.

    Raises:
        ValueError: when shapes or channels differ between samples, data and
            classifier, on NaN/Inf, or with too few samples for an estimate.
    """
    shape = classifier.image_shape
    samples = checks.check_images(samples, "samples", reference_shape=shape)
    real_train = checks.check_images(real_train, "real_train", reference_shape=shape)
    real_test = checks.check_images(real_test, "real_test", reference_shape=shape, min_count=4)

    fake_features, fake_logits = classifier.features_and_logits(samples)
    real_features, real_logits = classifier.features_and_logits(real_train)
    metrics = {"num_samples": int(len(samples))}
    if classifier.test_accuracy is not None:
        metrics["classifier_test_accuracy"] = classifier.test_accuracy
    metrics["frechet_distance"] = frechet_distance(real_features, fake_features)
    kid, kid_error = kernel_distance(real_features, fake_features, kid_block_size)
    metrics["kernel_distance"] = kid
    # A single KID block has no standard error: None, which JSON can hold.
    metrics["kernel_distance_standard_error"] = None if np.isnan(kid_error) else kid_error
    metrics["classifier_score"] = classifier_score(fake_logits)
    metrics["real_classifier_score"] = classifier_score(real_logits)
    metrics.update(precision_recall(real_features, fake_features, k=k))
    reference_histogram = class_histogram(real_logits)
    coverage = class_coverage(fake_logits, reference_histogram)
    generated_histogram = np.asarray(coverage.pop("histogram"))
    metrics.update(coverage)

    half = len(real_test) // 2
    validation = real_test[: min(half, parzen_count)]
    test = real_test[half : half + parzen_count]
    metrics.update(
        parzen_log_likelihood(
            _pixels01(samples), _pixels01(validation), _pixels01(test), parzen_sigmas
        )
    )
    if memorization_train is None:
        memorization_train = real_train
    memorization_train = checks.check_images(
        memorization_train, "memorization_train", reference_shape=shape
    )
    memo = memorization(
        _pixels01(samples[:memorization_count]),
        _pixels01(memorization_train),
        _pixels01(real_test[: min(half, memorization_count)]),
    )
    nearest = np.asarray(memo.pop("nearest_train_indices"))
    metrics.update(memo)
    return EvaluationReport(
        metrics=metrics,
        samples=samples,
        nearest_train_indices=nearest,
        generated_histogram=generated_histogram,
        reference_histogram=reference_histogram,
    )


def generate_samples(generate_fn, num_samples, seed=0):
    """Calls `generate_fn(seeds)` on seeds `seed .. seed + num_samples - 1`
    and checks that it returned one image per seed."""
    seeds = np.arange(seed, seed + int(num_samples), dtype=np.int64)
    samples = np.asarray(generate_fn(seeds))
    if len(samples) != len(seeds):
        raise ValueError(
            f"generate_fn returned {len(samples)} images for {len(seeds)} "
            "seeds; it must return one image per seed."
        )
    return samples


def evaluate_generator(
    generate_fn, real_train, real_test, classifier, num_samples=10_000, seed=0, **kwargs
):
    """Draws `num_samples` images and returns the metrics dict.

    Args:
        generate_fn: `seeds (int64 [n]) -> images [n, H, W, C]` in [-1, 1];
            see `gankeras.evaluation.sources` for a GAN, a generator model
            or a SavedModel.
        real_train, real_test, classifier, **kwargs: as in `evaluate_samples`.
        num_samples: images to draw (10,000 is the usual FID sample size).
        seed: first seed.

    Returns:
        dict name -> float/int (see `evaluate_samples`).
    """
    samples = generate_samples(generate_fn, num_samples, seed)
    return evaluate_samples(samples, real_train, real_test, classifier, **kwargs).metrics
