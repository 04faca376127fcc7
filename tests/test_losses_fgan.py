"""f-GAN losses, the maximum-likelihood generator cost and kernel MMD,
checked against closed forms and hand computations."""

import math

import keras
import numpy as np
import pytest

from gankeras.losses import fgan

# Two distributions on three points, P and Q, as equal-weight batches:
# P = (1/2, 1/4, 1/4) is [x0, x0, x1, x2]; Q = (1/4, 1/4, 1/2) is [x0, x1, x2, x2].
P = np.array([0.5, 0.25, 0.25])
Q = np.array([0.25, 0.25, 0.5])
P_BATCH = [0, 0, 1, 2]
Q_BATCH = [0, 1, 2, 2]
U = P / Q  # the density ratio per point

# (f, the optimal raw output v* at ratio u: g_f(v*) = f'(u)), Nowozin et al. Tables 1-2.
CLOSED_FORMS = {
    "kl": (lambda u: u * np.log(u), lambda u: 1.0 + np.log(u)),
    "reverse_kl": (lambda u: -np.log(u), lambda u: np.log(u)),
    "pearson": (lambda u: (u - 1.0) ** 2, lambda u: 2.0 * (u - 1.0)),
    "squared_hellinger": (lambda u: (np.sqrt(u) - 1.0) ** 2, lambda u: 0.5 * np.log(u)),
    "jensen_shannon": (
        lambda u: u * np.log(u) - (u + 1.0) * np.log((u + 1.0) / 2.0),
        lambda u: np.log(u),
    ),
}


def value(x):
    return float(keras.ops.convert_to_numpy(x))


def optimal_logits(divergence):
    v = CLOSED_FORMS[divergence][1](U)
    return v[P_BATCH].astype("float32"), v[Q_BATCH].astype("float32")


@pytest.mark.parametrize("divergence", sorted(CLOSED_FORMS))
def test_optimal_discriminator_attains_the_f_divergence(divergence):
    f = CLOSED_FORMS[divergence][0]
    expected = float(np.sum(Q * f(U)))  # D_f(P || Q) = E_Q f(p / q)
    real, fake = optimal_logits(divergence)
    loss_fn = getattr(fgan, f"fgan_{divergence}_discriminator_loss")
    assert -value(loss_fn(real, fake, 1.0, 0.0)) == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("divergence", sorted(CLOSED_FORMS))
def test_any_other_discriminator_gives_a_lower_bound(divergence):
    real, fake = optimal_logits(divergence)
    best = value(fgan.fgan_variational_bound(real, fake, divergence))
    rng = np.random.default_rng(0)
    for _ in range(5):
        shift = rng.normal(0, 0.3, 3).astype("float32")
        # One function of x: the same shift at the same point in both batches.
        bound = value(
            fgan.fgan_variational_bound(real + shift[P_BATCH], fake + shift[Q_BATCH], divergence)
        )
        assert bound < best


def test_hand_computed_values():
    # KL(P || Q) = 1/2 log 2 + 1/4 log 1 + 1/4 log 1/2 = 1/4 log 2.
    real, fake = optimal_logits("kl")
    assert -value(fgan.fgan_kl_discriminator_loss(real, fake)) == pytest.approx(
        0.25 * math.log(2), rel=1e-5
    )
    # Pearson chi^2 = sum (p - q)^2 / q = 1/16 / 1/4 + 0 + 1/16 / 1/2 = 3/8.
    real, fake = optimal_logits("pearson")
    pearson = -value(fgan.fgan_pearson_discriminator_loss(real, fake))
    assert pearson == pytest.approx(0.375, rel=1e-5)
    # The paper's Jensen-Shannon f gives 2 JSD(P, Q).
    m = (P + Q) / 2
    jsd = 0.5 * np.sum(P * np.log(P / m)) + 0.5 * np.sum(Q * np.log(Q / m))
    real, fake = optimal_logits("jensen_shannon")
    assert -value(fgan.fgan_jensen_shannon_discriminator_loss(real, fake)) == pytest.approx(
        2 * jsd, rel=1e-5
    )


def test_generator_losses():
    fake = np.array([0.0, 1.0], "float32")
    # Section 3.2 alternative: -E_Q[g_f(v)].
    assert value(fgan.fgan_kl_generator_loss(None, fake)) == pytest.approx(-0.5)
    assert value(fgan.fgan_generator_loss(fake, "reverse_kl", saturating=False)) == pytest.approx(
        0.5 * (1 + math.exp(-1)), rel=1e-6
    )
    # Reverse KL's default is F itself: -E_Q[f*(g_f(v))] = -E_Q[v - 1].
    assert value(fgan.fgan_reverse_kl_generator_loss(None, fake)) == pytest.approx(0.5)
    # Saturating: -E_Q[f*(g_f(v))]; KL: f*(t) = exp(t - 1).
    assert value(fgan.fgan_generator_loss(fake, "kl", saturating=True)) == pytest.approx(
        -0.5 * (math.exp(-1) + 1.0), rel=1e-6
    )


@pytest.mark.parametrize("divergence", sorted(CLOSED_FORMS))
def test_conjugate_of_activation_is_the_composition_and_finite_everywhere(divergence):
    activation, conjugate, composite = fgan.F_DIVERGENCES[divergence]
    moderate = np.linspace(-3.0, 3.0, 7).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(composite(moderate)),
        keras.ops.convert_to_numpy(conjugate(activation(moderate))),
        rtol=1e-5,
        atol=1e-6,
    )
    # Where composing overflows (reverse KL) or cancels to x / 0 (Hellinger, JS).
    extreme = np.array([-100.0, 60.0], "float32")
    bound = value(fgan.fgan_variational_bound(np.zeros(2, "float32"), extreme, divergence))
    assert np.isfinite(bound)


def test_unknown_divergence_names_the_known_ones():
    with pytest.raises(ValueError, match="jensen_shannon"):
        fgan.fgan_variational_bound([0.0], [0.0], "total_variation")


def test_maximum_likelihood_generator_cost():
    # J_G = -1/2 E exp(logit): logits 0 and log 3 -> -1/2 (1 + 3) / 2 = -1.
    fake = np.array([[0.0], [math.log(3.0)]], "float32")
    cost = value(fgan.maximum_likelihood_generator_loss(None, fake))
    assert cost == pytest.approx(-1.0, rel=1e-6)
    # At D(G(z)) = 1/2 (logit 0) the cost is -1/2 (Goodfellow 2016, Figure 16).
    assert value(fgan.maximum_likelihood_generator_loss(None, np.zeros((3, 1), "float32"))) == (
        pytest.approx(-0.5)
    )


def test_mmd_against_a_hand_computation():
    x = np.array([[0.0], [1.0]], "float32")
    y = np.array([[2.0], [4.0]], "float32")
    e = math.exp
    # Bandwidth 1: k(a, b) = exp(-(a - b)^2 / 2).
    unbiased = e(-0.5) + e(-2.0) - 0.5 * (e(-2.0) + e(-8.0) + e(-0.5) + e(-4.5))
    biased = (
        (2 + 2 * e(-0.5)) / 4
        + (2 + 2 * e(-2.0)) / 4
        - 0.5 * (e(-2.0) + e(-8.0) + e(-0.5) + e(-4.5))
    )
    assert value(fgan.mmd_squared(x, y, bandwidths=(1.0,))) == pytest.approx(unbiased, rel=1e-5)
    assert value(fgan.mmd_squared(x, y, bandwidths=(1.0,), unbiased=False)) == pytest.approx(
        biased, rel=1e-5
    )
    # Two bandwidths: the kernels add.
    k2 = value(fgan.mmd_squared(x, y, bandwidths=(2.0,)))
    mixture = value(fgan.mmd_squared(x, y, bandwidths=(1.0, 2.0)))
    assert mixture == pytest.approx(unbiased + k2, rel=1e-5)
    # The losses: D maximises MMD^2 with the default mixture, G minimises it.
    d = value(fgan.mmd_discriminator_loss(x, y))
    assert d == pytest.approx(-value(fgan.mmd_squared(x, y)))
    assert value(fgan.mmd_generator_loss(x, y)) == pytest.approx(-d)


@pytest.mark.backend_independent
def test_losses_round_trip_through_serialization():
    for function in (
        fgan.fgan_squared_hellinger_discriminator_loss,
        fgan.fgan_jensen_shannon_generator_loss,
        fgan.maximum_likelihood_generator_loss,
        fgan.mmd_discriminator_loss,
    ):
        config = keras.saving.serialize_keras_object(function)
        assert keras.saving.deserialize_keras_object(config) is function


@pytest.mark.backend_independent
def test_adversarial_loss_objects():
    assert fgan.adversarial_loss("fgan_kl").discriminator_loss is fgan.fgan_kl_discriminator_loss
    assert not fgan.adversarial_loss("fgan_pearson").uses_targets
    assert fgan.adversarial_loss("maximum_likelihood").probabilistic
    assert fgan.adversarial_loss("mmd").generator_needs_real
    with pytest.raises(ValueError, match="fgan_kl"):
        fgan.adversarial_loss("fgan_tv")


# The seeds' 1-D example, N(4, 0.5), as test_gan.test_learns_a_univariate_gaussian, for
# every f-GAN divergence and the maximum-likelihood cost on every backend: 512 steps of
# Adam (beta_1 0.5) on MLPs with 16 hidden units, learning rate 5e-3 then 1e-3 for the
# last quarter, so that the end state is not a swing of the GAN's oscillation around the
# target (Pearson's mean swung by +-0.6 at a constant 5e-3). Pearson and squared
# Hellinger get 1,024 steps: where there are fakes and no data, Pearson's optimal critic
# 2 (p / q - 1) is flat (-2) and Hellinger's D loss on fakes, exp(v) - 1, saturates, so
# the generator's excess spread shrinks only from the data's edge inward (on torch
# Hellinger's std was still 1.8 after 512 steps).
# bench/fgan_gaussian.py trains longer and prints the figures.
SLOW_TO_NARROW = ("fgan_pearson", "fgan_squared_hellinger")
GAUSSIAN = np.random.default_rng(0).normal(4.0, 0.5, (4096, 1)).astype("float32")


@pytest.mark.parametrize(
    "name", [f"fgan_{d}" for d in sorted(fgan.F_DIVERGENCES)] + ["maximum_likelihood"]
)
def test_learns_a_univariate_gaussian(name):
    epochs = 32 if name in SLOW_TO_NARROW else 16  # of 32 steps
    from gankeras import GAN
    from tests.gan_fixtures import mlp_pair

    generator, discriminator = mlp_pair(latent_dim=4, hidden=16)
    gan = GAN(generator, discriminator, data_range=None)

    def adam():
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay([24 * epochs], [5e-3, 1e-3])
        return keras.optimizers.Adam(schedule, beta_1=0.5)

    gan.compile(d_optimizer=adam(), g_optimizer=adam(), loss=name)
    gan.fit(GAUSSIAN, batch_size=128, epochs=epochs, verbose=0)
    samples = gan.generate(4000, seed=0)
    assert samples.mean() == pytest.approx(4.0, abs=0.3)
    assert samples.std() == pytest.approx(0.5, abs=0.3)  # from about 2 early on
