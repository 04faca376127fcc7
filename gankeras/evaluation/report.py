"""Every metric on one set of generated samples, in one call.

`evaluate_generator(generate_fn, real_train, real_test, extractor)` draws
`num_samples` images from seeds `seed, seed + 1, ...` and returns a flat
dict of float metrics. `evaluate_samples` does the same for images in hand
and also returns what a report draws (the nearest training image of each
sample, class histograms) and the protocol (which extractor, its
fingerprint, resize, how many images of which split).

The feature extractor is either
- a `DomainClassifier` (labelled data): distance metrics in its features
  plus the class metrics from its logits (classifier score, class coverage);
- a label-free `ContrastiveEncoder` (any data): the same distance metrics,
  no class metrics (there are no classes);
and, optionally, an `InceptionExtractor` (the standard protocol) adds the
same distances in InceptionV3 pool features, prefixed `inception_`, and the
Inception score when its weights have the classifier top.

Distance metrics, in every extractor's features: `frechet_distance`,
`kernel_distance` (+ standard error), `precision`, `recall` (Kynkäänniemi
et al. 2019, k = 3), `density`, `coverage` (Naeem et al. 2020, k = 5).

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
from gankeras.evaluation.class_coverage import class_coverage, class_histogram
from gankeras.evaluation.classifier_score import classifier_score
from gankeras.evaluation.density_coverage import density_coverage
from gankeras.evaluation.frechet import frechet_distance
from gankeras.evaluation.kernel_distance import kernel_distance
from gankeras.evaluation.memorization import memorization
from gankeras.evaluation.parzen import DEFAULT_SIGMAS, parzen_log_likelihood
from gankeras.evaluation.precision_recall import precision_recall


@dataclasses.dataclass
class EvaluationReport:
    """Metrics and the arrays a report draws.

    Attributes:
        metrics: flat dict name -> Python float/int or None (JSON-ready).
        samples: `[n, H, W, C]` the evaluated samples, in [-1, 1].
        nearest_train_indices: int `[m]`: for the first m samples, the index
            of the nearest image in `memorization_train` (pixel L2).
        generated_histogram: `[num_classes]` predicted-class shares of
            samples; None for a label-free extractor.
        reference_histogram: `[num_classes]` the same for `real_train`; None
            for a label-free extractor.
        protocol: how the numbers were made (JSON-ready dict): `extractor`,
            `extractor_fingerprint`, `feature_dim`, `resize`, `image_shape`,
            `num_real`, `num_generated`, `reference_split`, `held_out_split`,
            `num_held_out`, and `inception` (the same for InceptionV3) when
            it ran.
    """

    metrics: dict
    samples: np.ndarray
    nearest_train_indices: np.ndarray
    generated_histogram: np.ndarray = None
    reference_histogram: np.ndarray = None
    protocol: dict = dataclasses.field(default_factory=dict)


# The distance metrics every extractor reports (the label-free one too).
DISTANCE_METRICS = (
    "frechet_distance",
    "kernel_distance",
    "precision",
    "recall",
    "density",
    "coverage",
)
# Only from a classifier's logits (labelled data).
CLASS_METRICS = ("classifier_score", "real_classifier_score", "classes_covered", "class_kl")
# Pixel space, every dataset.
PIXEL_METRICS = (
    "parzen_log_likelihood",
    "memorization_ratio",
    "copied_fraction",
)


def metric_names(labelled, inception=False, inception_logits=False):
    """The metric names `evaluate_samples` reports for such an extractor:
    lets a caller check a blessing metric before any work."""
    names = list(DISTANCE_METRICS) + ["kernel_distance_standard_error"] + list(PIXEL_METRICS)
    if labelled:
        names += list(CLASS_METRICS) + ["classifier_test_accuracy"]
    if inception:
        names += ["inception_" + name for name in DISTANCE_METRICS]
        names += ["inception_kernel_distance_standard_error"]
        if inception_logits:
            names += ["inception_score", "real_inception_score"]
    return names


def _pixels01(images):
    """Flattened pixels in [0, 1], the space of Goodfellow et al.'s Parzen
    numbers."""
    return (images.reshape(len(images), -1) + 1.0) * 0.5


def distance_metrics(real_features, fake_features, k=3, density_k=5, kid_block_size=1024):
    """FD, KID (+ standard error), precision/recall and density/coverage.

    Args:
        real_features: float `[n, d]`, n > d (FD's covariance) and n > k.
        fake_features: float `[m, d]` from the same extractor.
        k: precision/recall neighbour (3, Kynkäänniemi et al. 2019).
        density_k: density/coverage neighbour (5, Naeem et al. 2020).
        kid_block_size: KID block size (TF-GAN's default 1024).

    Returns:
        dict of the `DISTANCE_METRICS` plus `kernel_distance_standard_error`
        (None with a single KID block).
    """
    metrics = {"frechet_distance": frechet_distance(real_features, fake_features)}
    metrics.update(
        _kid_precision_density(real_features, fake_features, k, density_k, kid_block_size)
    )
    return metrics


def _kid_precision_density(real_features, fake_features, k, density_k, kid_block_size):
    kid, kid_error = kernel_distance(real_features, fake_features, kid_block_size)
    # A single KID block has no standard error: None, which JSON can hold.
    metrics = {
        "kernel_distance": kid,
        "kernel_distance_standard_error": None if np.isnan(kid_error) else kid_error,
    }
    metrics.update(precision_recall(real_features, fake_features, k=k))
    metrics.update(density_coverage(real_features, fake_features, k=density_k))
    return metrics


def _extractor_protocol(extractor):
    protocol = {
        "extractor": extractor.name,
        "extractor_fingerprint": extractor.fingerprint,
        "feature_dim": int(extractor.feature_dim),
        "resize": extractor.resize,
    }
    config = getattr(extractor, "config", None)
    if config:
        protocol["extractor_config"] = dict(config)
    return protocol


def inception_metrics(inception, samples, real, k=3, density_k=5, kid_block_size=1024):
    """The distance metrics (and the Inception score) in InceptionV3 features.

    Args:
        inception: an `InceptionExtractor`.
        samples, real: float `[n, H, W, C]` / `[m, H, W, C]` in [-1, 1],
            C in {1, 3}, any size (resized to 299x299).
        k, density_k, kid_block_size: as in `distance_metrics`.

    Returns:
        `(metrics, protocol)`: metrics named `inception_<distance metric>`,
        plus `inception_score` / `real_inception_score` when the weights
        have the classifier top. FD in 2048-d features needs more than 2048
        images per set: with fewer, `inception_frechet_distance` is None and
        the protocol says why (KID, unbiased, is the small-sample measure).
    """
    fake_features, fake_logits = inception.features_and_logits(samples)
    real_features, real_logits = inception.features_and_logits(real)
    protocol = dict(
        _extractor_protocol(inception), num_real=int(len(real)), num_generated=int(len(samples))
    )
    enough = min(len(real), len(samples)) > inception.feature_dim
    metrics = {
        "inception_frechet_distance": (
            frechet_distance(real_features, fake_features) if enough else None
        )
    }
    if not enough:
        protocol["frechet_distance"] = (
            f"not computed: FD in {inception.feature_dim}-d features needs more than "
            f"{inception.feature_dim} images per set (have {len(real)} real, "
            f"{len(samples)} generated)"
        )
    rest = _kid_precision_density(real_features, fake_features, k, density_k, kid_block_size)
    metrics.update({f"inception_{name}": value for name, value in rest.items()})
    if fake_logits is not None:
        metrics["inception_score"] = classifier_score(fake_logits)
        metrics["real_inception_score"] = classifier_score(real_logits)
    return metrics, protocol


def evaluate_samples(
    samples,
    real_train,
    real_test,
    extractor,
    k=3,
    kid_block_size=1024,
    memorization_count=1000,
    parzen_count=1000,
    parzen_sigmas=DEFAULT_SIGMAS,
    memorization_train=None,
    density_k=5,
    inception=None,
    reference_split="train",
    held_out_split="test",
):
    """Computes every image metric of `gankeras.evaluation` on `samples`.

    Args:
        samples: float `[n, H, W, C]` generated images in [-1, 1], C in
            {1, 3}.
        real_train: float `[N, H, W, C]` training images in [-1, 1].
        real_test: float `[M, H, W, C]` held-out images in [-1, 1], M >= 4.
        extractor: the feature extractor for this image shape: a
            `DomainClassifier` (adds the class metrics) or a label-free
            `ContrastiveEncoder`.
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
        density_k: neighbour count of density/coverage (5, Naeem et al. 2020).
        inception: an `InceptionExtractor`, or None: adds `inception_*`
            metrics on the same images (slow on CPU: ~0.1-0.3 s per image).
        reference_split, held_out_split: the names of the splits
            `real_train` and `real_test` come from, for the protocol.

    Returns:
        An `EvaluationReport`.

    Raises:
        ValueError: when shapes or channels differ between samples, data and
            extractor, on NaN/Inf, or with too few samples for an estimate.
    """
    shape = extractor.image_shape
    samples = checks.check_images(samples, "samples", reference_shape=shape)
    real_train = checks.check_images(real_train, "real_train", reference_shape=shape)
    real_test = checks.check_images(real_test, "real_test", reference_shape=shape, min_count=4)
    labelled = getattr(extractor, "num_classes", None) is not None

    if labelled:
        fake_features, fake_logits = extractor.features_and_logits(samples)
        real_features, real_logits = extractor.features_and_logits(real_train)
    else:
        fake_features, real_features = extractor.features(samples), extractor.features(real_train)
    metrics = {"num_samples": int(len(samples))}
    if getattr(extractor, "test_accuracy", None) is not None:
        metrics["classifier_test_accuracy"] = extractor.test_accuracy
    metrics.update(distance_metrics(real_features, fake_features, k, density_k, kid_block_size))
    generated_histogram = reference_histogram = None
    if labelled:
        metrics["classifier_score"] = classifier_score(fake_logits)
        metrics["real_classifier_score"] = classifier_score(real_logits)
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
    protocol = dict(
        _extractor_protocol(extractor),
        image_shape=list(samples.shape[1:]),
        num_real=int(len(real_train)),
        num_generated=int(len(samples)),
        reference_split=reference_split,
        held_out_split=held_out_split,
        num_held_out=int(len(real_test)),
        memorization_searched=int(len(memorization_train)),
    )
    if inception is not None:
        extra, protocol["inception"] = inception_metrics(
            inception, samples, real_train, k, density_k, kid_block_size
        )
        metrics.update(extra)
    return EvaluationReport(
        metrics=metrics,
        samples=samples,
        nearest_train_indices=nearest,
        generated_histogram=generated_histogram,
        reference_histogram=reference_histogram,
        protocol=protocol,
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
    generate_fn, real_train, real_test, extractor, num_samples=10_000, seed=0, **kwargs
):
    """Draws `num_samples` images and returns the metrics dict.

    Args:
        generate_fn: `seeds (int64 [n]) -> images [n, H, W, C]` in [-1, 1];
            see `gankeras.evaluation.sources` for a GAN, a generator model
            or a SavedModel.
        real_train, real_test, extractor, **kwargs: as in `evaluate_samples`.
        num_samples: images to draw (10,000 is the usual FID sample size).
        seed: first seed.

    Returns:
        dict name -> float/int (see `evaluate_samples`).
    """
    samples = generate_samples(generate_fn, num_samples, seed)
    return evaluate_samples(samples, real_train, real_test, extractor, **kwargs).metrics
