"""FD, KID and the classifier score agree with tensorflow-gan's
implementations on the same activations."""

import numpy as np
import pytest
import tensorflow as tf

from gankeras.compat import tfgan
from gankeras.evaluation import classifier_score, frechet_distance, kernel_distance

pytestmark = pytest.mark.backend_independent


def _activations(seed, n, dim=16, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    return (rng.normal(size=(n, dim)) @ mixing * scale + shift).astype(np.float64)


@pytest.fixture(scope="module")
def tfgan_eval():
    return tfgan.load().eval


def test_frechet_distance_matches_tfgan(tfgan_eval):
    real = _activations(0, 500)
    fake = _activations(1, 400, shift=0.3, scale=1.5)
    expected = float(tfgan_eval.frechet_classifier_distance_from_activations(real, fake))
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_matches_tfgan_for_rank_deficient_features(tfgan_eval):
    # Features with dead units (a ReLU layer): singular covariances.
    real = _activations(2, 300)
    fake = _activations(3, 300, shift=0.5)
    real[:, :4] = 0.0
    fake[:, 2:6] = 0.0
    expected = float(tfgan_eval.frechet_classifier_distance_from_activations(real, fake))
    assert frechet_distance(real, fake) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("block_size", [1024, 100])
def test_kernel_distance_matches_tfgan_block_estimator(tfgan_eval, block_size):
    real = _activations(4, 530)
    fake = _activations(5, 470, shift=0.2)
    expected_mean, expected_std = tfgan_eval.kernel_classifier_distance_and_std_from_activations(
        tf.constant(real), tf.constant(fake), max_block_size=block_size
    )
    mean, std = kernel_distance(real, fake, max_block_size=block_size)
    assert mean == pytest.approx(float(expected_mean), rel=1e-6, abs=1e-9)
    if block_size == 1024:
        assert np.isnan(std) and np.isnan(float(expected_std))
    else:
        assert std == pytest.approx(float(expected_std), rel=1e-6)


def test_kernel_distance_is_the_unbiased_polynomial_mmd():
    # Spelled out once with explicit loops over pairs, k(x, y) = (x.y/d + 1)^3.
    real, fake = _activations(6, 30, dim=4), _activations(7, 20, dim=4, shift=1.0)
    k = lambda a, b: (a @ b / 4 + 1.0) ** 3  # noqa: E731
    m, n = len(real), len(fake)
    xx = sum(k(real[i], real[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(fake[i], fake[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(real[i], fake[j]) for i in range(m) for j in range(n)) / (m * n)
    assert kernel_distance(real, fake)[0] == pytest.approx(xx + yy - 2 * xy, rel=1e-9)


def test_classifier_score_matches_tfgan(tfgan_eval):
    logits = _activations(8, 600, dim=10, scale=3.0)
    expected = float(tfgan_eval.classifier_score_from_logits(logits))
    assert classifier_score(logits) == pytest.approx(expected, rel=1e-6)
