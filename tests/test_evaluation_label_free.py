"""The label-free features are worth trusting: a sanity ladder on real
Fashion-MNIST treated as unlabelled.

A SimCLR encoder (`gankeras.evaluation.contrastive`) is trained once for the
module on 3,000 training images, never their labels, on a small budget.
Then, in its features: held-out real images sit at the floor; blurred images
and a mode-dropped generator (the labels only BUILD that set: classes 0-4 of
the test split) are clearly worse; a collapsed generator (one image repeated,
tiny variance) and uniform noise worse still; training-set copies score like
real data on every distribution metric, and the memorization check flags
them. The labelled counterpart is tests/test_evaluation_sanity.py."""

import os

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from gankeras.data import FASHION_MNIST_DIR, load_idx
from gankeras.evaluation import evaluate_samples, load_or_train_contrastive_encoder
from gankeras.evaluation.report import CLASS_METRICS, DISTANCE_METRICS

pytestmark = pytest.mark.skipif(
    not os.path.isdir(FASHION_MNIST_DIR), reason="Fashion-MNIST IDX files not installed"
)

NUM_TRAIN = 3000
NUM_REFERENCE = 2000
NUM_SAMPLES = 600
# A small budget (~15 s of one core): the ordering below must hold already.
ENCODER = dict(steps=60, batch_size=128)


def _scaled(images):
    return images.astype(np.float32) / 127.5 - 1.0


@pytest.fixture(scope="module")
def data():
    train_x, _ = load_idx(FASHION_MNIST_DIR, "train", with_labels=False)
    test_x, test_y = load_idx(FASHION_MNIST_DIR, "test")
    train = _scaled(train_x[:NUM_TRAIN])
    held_out = _scaled(test_x[:NUM_SAMPLES])
    rest_x, rest_y = _scaled(test_x[NUM_SAMPLES:5000]), test_y[NUM_SAMPLES:5000]
    rng = np.random.default_rng(0)
    generators = {
        "real": held_out,
        "copies": train[:NUM_SAMPLES],
        "blurred": np.clip(gaussian_filter(held_out, sigma=(0, 1.0, 1.0, 0)), -1, 1),
        # Half the classes never appear (labels used to build the set only).
        "mode_dropped": rest_x[rest_y < 5][:NUM_SAMPLES],
        "collapsed": np.clip(
            np.repeat(held_out[:1], NUM_SAMPLES, axis=0) + 0.02 * rng.normal(size=held_out.shape),
            -1,
            1,
        ).astype(np.float32),
        "noise": rng.uniform(-1, 1, held_out.shape).astype(np.float32),
    }
    return dict(train=train, test=_scaled(test_x[5000:7000]), generators=generators)


@pytest.fixture(scope="module")
def encoder(data, tmp_path_factory):
    cache_dir = str(tmp_path_factory.mktemp("encoder_cache"))
    return load_or_train_contrastive_encoder(cache_dir, data["train"], **ENCODER)


@pytest.fixture(scope="module")
def reports(data, encoder):
    return {
        name: evaluate_samples(
            samples,
            data["train"][:NUM_REFERENCE],
            data["test"],
            encoder,
            memorization_train=data["train"],
            memorization_count=200,
            parzen_count=300,
        ).metrics
        for name, samples in data["generators"].items()
    }


def test_label_free_reports_every_distance_metric_and_no_class_metric(reports):
    metrics = reports["real"]
    assert all(np.isfinite(metrics[name]) for name in DISTANCE_METRICS)
    assert not any(name in metrics for name in CLASS_METRICS)


def test_held_out_real_images_sit_at_the_floor(reports):
    real = reports["real"]
    assert real["kernel_distance"] < 0.005
    assert real["precision"] > 0.7 and real["recall"] > 0.7
    assert 0.8 < real["density"] < 1.2 and real["coverage"] > 0.7
    assert 0.8 < real["memorization_ratio"] < 1.25


@pytest.mark.parametrize("metric", ["frechet_distance", "kernel_distance"])
def test_the_ladder_is_ordered_floor_then_moderate_then_severe(reports, metric):
    floor = max(reports["real"][metric], reports["copies"][metric], 1e-3)
    moderate = [reports[name][metric] for name in ("blurred", "mode_dropped")]
    severe = [reports[name][metric] for name in ("collapsed", "noise")]
    assert min(moderate) > 5 * floor, (floor, moderate)
    assert min(severe) > 2 * max(moderate), (moderate, severe)


def test_blur_and_noise_lower_fidelity(reports):
    real = reports["real"]
    assert reports["blurred"]["density"] < 0.8 * real["density"]
    assert reports["noise"]["density"] < 0.3 * real["density"]
    # Precision sees noise less sharply: outlying real images have wide k-NN
    # balls that catch noise (0.45-0.73 against 0.88 at this small budget);
    # density, built around real samples only, is the robust fidelity
    # measure (Naeem et al. 2020, Sec. 3).
    assert reports["noise"]["precision"] < real["precision"]


def test_mode_dropping_lowers_diversity_not_fidelity(reports):
    real, dropped = reports["real"], reports["mode_dropped"]
    assert dropped["coverage"] < 0.8 * real["coverage"]
    assert dropped["recall"] < real["recall"]
    assert dropped["precision"] > 0.9 * real["precision"]
    assert dropped["density"] > 0.9 * real["density"]


def test_collapse_has_no_diversity(reports):
    collapsed = reports["collapsed"]
    assert collapsed["recall"] < 0.05 and collapsed["coverage"] < 0.05


def test_training_set_copies_look_real_and_are_flagged_as_memorized(reports):
    real, copies = reports["real"], reports["copies"]
    # Distribution metrics cannot tell copies from real data ...
    assert copies["frechet_distance"] < 2 * real["frechet_distance"]
    assert copies["coverage"] > 0.9 * real["coverage"]
    # ... the memorization check can.
    assert copies["memorization_ratio"] < 0.05 and copies["copied_fraction"] > 0.95
    assert real["copied_fraction"] < 0.05
