"""Discriminator rejection sampling (Azadi et al. 2019) recovers p_data.

The networks are written by hand so that the answer is known: G(z) = z,
z ~ N(0, 1), so p_g = N(0, 1); the data are N(0, 0.5^2); D's logit is the
exact log density ratio log p_data - log p_g = log 2 - 1.5 x^2, i.e. D is the
optimal discriminator p_data / (p_data + p_g). Rejection with acceptance
exp(logit - M) must then return N(0, 0.5^2) samples and accept
E_pg[p_data / p_g] / max(p_data / p_g) = 1 / 2 of the candidates.
"""

import math

import keras
import numpy as np
import pytest

import gankeras
from gankeras.sampling import discriminator_rejection_sample

LOG_RATIO = (math.log(2.0), -1.5)  # log p_data/p_g = log 2 - 1.5 x^2


def identity_generator():
    z = keras.Input((1,))
    x = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")(z)
    return keras.Model(z, x)


def quadratic_logit(x):
    """Dense over [x, x^2] with weights making logit = log 2 - 1.5 x^2."""
    features = keras.layers.Concatenate()([x, keras.layers.Multiply()([x, x])])
    dense = keras.layers.Dense(1)
    logit = dense(features)
    dense.set_weights([np.array([[0.0], [LOG_RATIO[1]]]), np.array([LOG_RATIO[0]])])
    return logit


def optimal_discriminator():
    x = keras.Input((1,))
    return keras.Model(x, quadratic_logit(x))


def gan_with(loss="minimax"):
    gan = gankeras.GAN(identity_generator(), optimal_discriminator(), latent_dim=1, data_range=None)
    gan.compile(loss=loss)
    return gan


def test_optimal_discriminator_turns_generator_samples_into_data_samples():
    result = discriminator_rejection_sample(gan_with(), 4000, seed=0, burn_in=4000)
    assert result.images.shape == (4000, 1) and result.images.dtype == np.float32
    assert result.images.mean() == pytest.approx(0.0, abs=0.04)
    assert result.images.std() == pytest.approx(0.5, abs=0.03)  # not G's 1.0
    assert result.acceptance_rate == pytest.approx(0.5, abs=0.03)
    assert result.max_logit == pytest.approx(math.log(2.0), abs=1e-3)


def test_accepted_seeds_regenerate_the_samples_and_runs_repeat():
    gan = gan_with()
    a = discriminator_rejection_sample(gan, 300, seed=5, burn_in=1000)
    b = discriminator_rejection_sample(gan, 300, seed=5, burn_in=1000)
    np.testing.assert_array_equal(a.seeds, b.seeds)
    np.testing.assert_allclose(gan.generate(seeds=a.seeds, use_ema=False), a.images, atol=1e-6)
    assert a.num_candidates > 1000 + 300  # burn-in plus about 2 per sample


def test_lower_max_logit_quantile_accepts_more_but_inexactly():
    gan = gan_with()
    exact = discriminator_rejection_sample(gan, 2000, seed=0, burn_in=2000)
    lenient = discriminator_rejection_sample(
        gan, 2000, seed=0, burn_in=2000, max_logit_quantile=0.5
    )
    assert lenient.acceptance_rate > exact.acceptance_rate + 0.1
    assert lenient.images.std() > exact.images.std()


def test_conditional_gan_is_sampled_per_class_in_the_callers_order():
    # G(z, y) = z + 3y; D's logit is the ratio for x - 3y, per class.
    z = keras.Input((1,))
    y = keras.Input((1,), dtype="int32")
    shift = keras.layers.Flatten()(
        keras.layers.Embedding(2, 1, embeddings_initializer="zeros", name="shift")(y)
    )
    generator = keras.Model([z, y], keras.layers.Add()([identity_generator()(z), shift]))
    generator.get_layer("shift").set_weights([np.array([[0.0], [3.0]])])
    x = keras.Input((1,))
    label = keras.Input((1,), dtype="int32")
    offset = keras.layers.Flatten()(
        keras.layers.Embedding(2, 1, embeddings_initializer="zeros", name="offset")(label)
    )
    discriminator = keras.Model([x, label], quadratic_logit(keras.layers.Subtract()([x, offset])))
    discriminator.get_layer("offset").set_weights([np.array([[0.0], [3.0]])])
    gan = gankeras.GAN(generator, discriminator, latent_dim=1, num_classes=2, data_range=None)
    gan.compile(loss="non_saturating")

    labels = np.array([1, 0] * 1000)
    result = discriminator_rejection_sample(gan, 2000, labels=labels, burn_in=2000)
    np.testing.assert_array_equal(result.labels, labels)
    for cls in (0, 1):
        values = result.images[labels == cls, 0]
        assert values.mean() == pytest.approx(3.0 * cls, abs=0.06)
        assert values.std() == pytest.approx(0.5, abs=0.04)


@pytest.mark.parametrize("loss", ["wasserstein", "hinge", "least_squares"])
def test_non_probabilistic_losses_are_refused_by_name(loss):
    with pytest.raises(ValueError, match=f"loss='{loss}'"):
        discriminator_rejection_sample(gan_with(loss), 10)


def test_uncompiled_gan_is_refused():
    gan = gankeras.GAN(identity_generator(), optimal_discriminator(), latent_dim=1, data_range=None)
    with pytest.raises(ValueError, match="compiled GAN"):
        discriminator_rejection_sample(gan, 10)


def test_gives_up_with_advice_when_d_rejects_everything():
    with pytest.raises(RuntimeError, match="accepted .* of 1000 samples.*max_logit_quantile"):
        discriminator_rejection_sample(gan_with(), 1000, burn_in=500, max_candidates=1500)
