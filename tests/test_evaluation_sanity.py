"""Sanity of the image metrics on real Fashion-MNIST: held-out real images
score near-perfect; a collapsed generator (one image repeated) and a noise
generator score clearly worse on every metric that should see it. Also the
domain classifier: trained once, cached in the given directory, reloaded."""

import os

import keras
import numpy as np
import pytest

from gankeras.data import FASHION_MNIST_DIR, load_idx
from gankeras.evaluation import (
    evaluate_generator,
    evaluate_samples,
    load_or_train_domain_classifier,
)

pytestmark = pytest.mark.skipif(
    not os.path.isdir(FASHION_MNIST_DIR), reason="Fashion-MNIST IDX files not installed"
)

NUM_TRAIN = 3000
NUM_SAMPLES = 600


def _scaled(images):
    return images.astype(np.float32) / 127.5 - 1.0


@pytest.fixture(scope="module")
def data():
    train_x, train_y = load_idx(FASHION_MNIST_DIR, "train")
    test_x, test_y = load_idx(FASHION_MNIST_DIR, "test")
    return dict(
        train_x=_scaled(train_x[:NUM_TRAIN]),
        train_y=train_y[:NUM_TRAIN],
        # Held-out real images: the "generator" that should score best.
        held_out=_scaled(test_x[:NUM_SAMPLES]),
        # The held-out split the metrics use (Parzen, memorization baseline).
        test_x=_scaled(test_x[5000:7000]),
        test_y=test_y[5000:7000],
    )


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("classifier_cache"))


@pytest.fixture(scope="module")
def classifier(data, cache_dir):
    keras.utils.set_random_seed(0)
    return load_or_train_domain_classifier(
        cache_dir, data["train_x"], data["train_y"], data["test_x"], data["test_y"], epochs=1
    )


@pytest.fixture(scope="module")
def reports(data, classifier):
    held_out = data["held_out"]
    generators = {
        "real": held_out,
        "collapsed": np.repeat(held_out[:1], NUM_SAMPLES, axis=0),
        "noise": np.random.default_rng(0).uniform(-1, 1, held_out.shape).astype(np.float32),
    }
    return {
        name: evaluate_samples(
            samples,
            data["train_x"],
            data["test_x"],
            classifier,
            memorization_count=200,
            parzen_count=300,
        ).metrics
        for name, samples in generators.items()
    }


def test_classifier_learns_the_domain(classifier):
    # One epoch on 3,000 images; the CLI's cached classifier trains longer.
    assert classifier.test_accuracy > 0.6


def test_classifier_is_cached_in_the_given_directory_and_reloaded(data, cache_dir, classifier):
    files = sorted(os.listdir(cache_dir))
    assert [f.rsplit(".", 1)[1] for f in files] == ["json", "keras"]
    again = load_or_train_domain_classifier(
        cache_dir, data["train_x"], data["train_y"], data["test_x"], data["test_y"], epochs=1
    )
    assert again.test_accuracy == classifier.test_accuracy
    images = data["held_out"][:8]
    np.testing.assert_allclose(
        again.features_and_logits(images)[1], classifier.features_and_logits(images)[1], atol=1e-5
    )
    assert sorted(os.listdir(cache_dir)) == files


def test_held_out_real_images_score_near_perfect(reports):
    real = reports["real"]
    assert real["kernel_distance"] < 0.02
    assert real["precision"] > 0.6 and real["recall"] > 0.6
    assert real["classes_covered"] == 10 and real["class_kl"] < 0.05
    assert real["classifier_score"] > 0.8 * real["real_classifier_score"]
    assert 0.8 < real["memorization_ratio"] < 1.25


@pytest.mark.parametrize("bad", ["collapsed", "noise"])
def test_collapsed_and_noise_generators_score_clearly_worse(reports, bad):
    real, worse = reports["real"], reports[bad]
    assert worse["frechet_distance"] > 5 * real["frechet_distance"]
    assert worse["kernel_distance"] > 5 * max(real["kernel_distance"], 1e-3)
    assert worse["recall"] < 0.1 < real["recall"]
    assert worse["class_kl"] > 0.5
    assert worse["parzen_log_likelihood"] < real["parzen_log_likelihood"]


def test_collapse_shows_in_classifier_score_and_class_coverage(reports):
    collapsed = reports["collapsed"]
    assert collapsed["classifier_score"] == pytest.approx(1.0, abs=1e-6)
    assert collapsed["classes_covered"] == 1


def test_noise_shows_in_precision(reports):
    # Outlying real images have wide k-NN balls that catch some noise.
    assert reports["noise"]["precision"] < reports["real"]["precision"] / 3


def test_evaluate_generator_draws_one_image_per_seed(data, classifier):
    def generate_fn(seeds):
        return data["held_out"][seeds % len(data["held_out"])]

    metrics = evaluate_generator(
        generate_fn,
        data["train_x"],
        data["test_x"],
        classifier,
        num_samples=300,
        memorization_count=50,
        parzen_count=100,
    )
    assert metrics["num_samples"] == 300
    assert all(np.isfinite(v) for v in metrics.values() if v is not None)


def test_samples_of_another_shape_are_rejected_before_any_metric(data, classifier):
    with pytest.raises(ValueError, match=r"shape \(28, 28, 3\).*the channels differ"):
        evaluate_samples(
            np.zeros((300, 28, 28, 3), np.float32), data["train_x"], data["test_x"], classifier
        )
