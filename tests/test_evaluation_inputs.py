"""Bad input to the metrics raises an error naming the problem, never a
silent NaN; small numpy-only checks of the pixel-space metrics."""

import numpy as np
import pytest

from gankeras.evaluation import (
    checks,
    classifier_score,
    frechet_distance,
    kernel_distance,
    memorization,
    parzen_log_likelihood,
    precision_recall,
)

pytestmark = pytest.mark.backend_independent

RNG = np.random.default_rng(0)
REAL = RNG.normal(size=(300, 8))
FAKE = RNG.normal(size=(300, 8))


@pytest.mark.parametrize(
    "metric",
    [frechet_distance, lambda a, b: kernel_distance(a, b), precision_recall],
    ids=["fd", "kid", "precision_recall"],
)
def test_nan_features_raise_naming_nan(metric):
    bad = FAKE.copy()
    bad[17, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN or Inf in 1 of 300 samples \(first at index 17\)"):
        metric(REAL, bad)


def test_nan_logits_raise():
    logits = RNG.normal(size=(50, 10))
    logits[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or Inf"):
        classifier_score(logits)


@pytest.mark.parametrize(
    "metric", [frechet_distance, kernel_distance, precision_recall], ids=["fd", "kid", "pr"]
)
def test_feature_dimension_mismatch_raises(metric):
    with pytest.raises(ValueError, match="has dimension 8 but `fake_features` has dimension 6"):
        metric(REAL, FAKE[:, :6])


def test_too_few_samples_for_covariance_raises():
    with pytest.raises(ValueError, match=r"has 8 samples of dimension 8.*more than 8"):
        frechet_distance(REAL, FAKE[:8])


def test_too_few_samples_for_knn_raises():
    with pytest.raises(ValueError, match="has 3 samples but this estimate needs at least 4"):
        precision_recall(REAL, FAKE[:3], k=3)


def test_too_few_samples_for_kid_blocks_raises():
    with pytest.raises(ValueError, match="each block needs at least 2"):
        kernel_distance(np.concatenate([REAL] * 4), FAKE[:3], max_block_size=300)


def test_images_of_other_shape_or_channels_raise():
    real_shape = (28, 28, 1)
    with pytest.raises(ValueError, match=r"shape \(32, 32, 1\).*the shape differ"):
        checks.check_images(np.zeros((4, 32, 32, 1), np.float32), "samples", real_shape)
    with pytest.raises(ValueError, match=r"shape \(28, 28, 3\).*the channels differ"):
        checks.check_images(np.zeros((4, 28, 28, 3), np.float32), "samples", real_shape)


def test_uint8_and_out_of_range_images_raise():
    with pytest.raises(ValueError, match="dtype uint8"):
        checks.check_images(np.zeros((4, 28, 28, 1), np.uint8), "samples")
    with pytest.raises(ValueError, match=r"values in \[255, 255\]; expected \[-1, 1\]"):
        checks.check_images(np.full((4, 28, 28, 1), 255.0, np.float32), "samples")


def test_frechet_distance_of_identical_sets_is_zero_and_grows_with_shift():
    assert frechet_distance(REAL, REAL) == pytest.approx(0.0, abs=1e-9)
    # Shifting every feature by 1 adds |mu1 - mu2|^2 = 8.
    assert frechet_distance(REAL, REAL + 1.0) == pytest.approx(8.0, rel=1e-9)


def test_precision_recall_separate_quality_from_diversity():
    real = RNG.normal(size=(1000, 2))
    collapsed = np.repeat(real[:1], 1000, axis=0) + 1e-6 * RNG.normal(size=(1000, 2))
    far = RNG.normal(size=(1000, 2)) + 20.0
    same = precision_recall(real, RNG.normal(size=(1000, 2)))
    assert same["precision"] > 0.8 and same["recall"] > 0.8
    assert precision_recall(real, collapsed) == pytest.approx(
        {"precision": 1.0, "recall": 0.0}, abs=0.01
    )
    assert precision_recall(real, far) == {"precision": 0.0, "recall": 0.0}


def test_parzen_picks_the_bandwidth_on_validation_and_scores_the_test_split():
    # Its own generator: the module-level RNG's draws depend on which tests
    # ran before in this worker. The candidates bracket the best bandwidth
    # (Silverman: 0.5 * 2000^(-1/6) = 0.14) widely, so 0.15 wins on any seed
    # (checked on seeds 0-7); 0.1 against 0.3 was a coin toss.
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(2000, 2)) * 0.5
    validation = rng.normal(size=(500, 2)) * 0.5
    test = rng.normal(size=(500, 2)) * 0.5
    result = parzen_log_likelihood(samples, validation, test, sigmas=[0.01, 0.15, 1.0, 3.0])
    assert result["parzen_sigma"] == 0.15
    # The true density N(0, 0.25 I) has expected log-likelihood -log(2 pi 0.25) - 1.
    assert result["parzen_log_likelihood"] == pytest.approx(-np.log(2 * np.pi * 0.25) - 1, abs=0.1)


def test_memorization_flags_copied_training_images():
    train = RNG.uniform(size=(500, 16))
    held_out = RNG.uniform(size=(200, 16))
    copies = memorization(train[:100], train, held_out)
    fresh = memorization(RNG.uniform(size=(100, 16)), train, held_out)
    assert copies["memorization_ratio"] < 0.01 and copies["copied_fraction"] == 1.0
    assert copies["nearest_train_indices"] == list(range(100))
    assert 0.8 < fresh["memorization_ratio"] < 1.2 and fresh["copied_fraction"] < 0.1


def test_parzen_log_density_matches_a_direct_gaussian_mixture_sum():
    from scipy.special import logsumexp

    from gankeras.evaluation.parzen import _log_likelihoods

    centres, queries = RNG.uniform(size=(400, 50)), RNG.uniform(size=(30, 50))
    d2 = np.sum((queries[:, None, :] - centres[None]) ** 2, axis=-1)
    for sigma, row in zip([0.1, 0.5], _log_likelihoods(queries, centres, [0.1, 0.5])):
        expected = (
            logsumexp(-d2 / (2 * sigma**2), axis=1)
            - np.log(len(centres))
            - 25 * np.log(2 * np.pi * sigma**2)
        )
        np.testing.assert_allclose(row, expected, rtol=1e-5)
