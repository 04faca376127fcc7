"""gankeras.losses.objectives: each term against a hand (numpy) computation,
on the active backend."""

import keras
import numpy as np
import pytest
from keras import ops

from gankeras.losses import LOSSES, objectives


def np_(x):
    return ops.convert_to_numpy(x)


RNG = np.random.default_rng(0)
GRADS = RNG.normal(size=(4, 2, 3, 1)).astype("float32")


def test_gradient_penalty_is_the_mean_squared_distance_of_the_norm_from_one():
    norms = np.sqrt((GRADS**2).reshape(4, -1).sum(axis=1))
    expected = np.mean((norms - 1.0) ** 2)
    assert float(np_(objectives.gradient_penalty(GRADS))) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_of_a_zero_gradient_is_one_and_finite():
    zero = np.zeros((2, 3), "float32")
    assert float(np_(objectives.gradient_penalty(zero))) == pytest.approx(1.0, abs=1e-5)


def test_r1_penalty_is_the_mean_squared_gradient_norm():
    expected = np.mean((GRADS**2).reshape(4, -1).sum(axis=1))
    assert float(np_(objectives.r1_penalty(GRADS))) == pytest.approx(expected, rel=1e-5)


def test_interpolate_mixes_per_example():
    real = np.ones((2, 3), "float32")
    fake = np.zeros((2, 3), "float32")
    alpha = np.array([[0.25], [1.0]], "float32")
    np.testing.assert_allclose(
        np_(objectives.interpolate(real, fake, alpha)), [[0.25] * 3, [1.0] * 3]
    )


def test_instance_noise_adds_std_times_noise():
    images = np.ones((2, 2), "float32")
    noise = np.array([[1.0, -2.0], [0.5, 0.0]], "float32")
    np.testing.assert_allclose(
        np_(objectives.add_instance_noise(images, 0.1, noise)), 1.0 + 0.1 * noise, rtol=1e-6
    )


def test_label_targets_smoothing_only_changes_real_targets():
    real_t, fake_t = objectives.label_targets((3, 1), "float32", label_smoothing=0.1)
    np.testing.assert_allclose(np_(real_t), 0.9)
    np.testing.assert_allclose(np_(fake_t), 0.0)


def test_label_targets_draw_soft_ranges_then_flips_in_order():
    draws = []

    def uniform(shape, minval=0.0, maxval=1.0):
        draws.append((minval, maxval))
        # Ranges: their midpoint; flips: example 0 flipped (0 < p), 1 not.
        if (minval, maxval) == (0.0, 1.0):
            return np.array([[0.0], [0.99]], "float32")
        return np.full(shape, (minval + maxval) / 2, "float32")

    real_t, fake_t = objectives.label_targets(
        (2, 1),
        "float32",
        real_label_range=(0.8, 1.0),
        fake_label_range=(0.0, 0.2),
        label_flip=0.5,
        uniform=uniform,
    )
    assert draws == [(0.8, 1.0), (0.0, 0.2), (0.0, 1.0)]
    np.testing.assert_allclose(np_(real_t), [[0.1], [0.9]], rtol=1e-6)
    np.testing.assert_allclose(np_(fake_t), [[0.9], [0.1]], rtol=1e-6)


def test_auxiliary_classifier_loss_is_the_mean_cross_entropy():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], "float32")
    labels = np.array([0, 2], "int32")
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -np.mean(log_softmax[[0, 1], labels])
    value = float(np_(objectives.auxiliary_classifier_loss(logits, labels)))
    assert value == pytest.approx(expected, rel=1e-5)


def test_kl_to_standard_normal_and_reparameterize():
    mean = np.array([[1.0, 0.0]], "float32")
    log_var = np.array([[0.0, np.log(4.0)]], "float32")
    # KL = 1/2 sum(var + mean^2 - 1 - log var) = 1/2 ((1 + 1 - 1 - 0) + (4 - 1 - log 4)).
    expected = 0.5 * (1.0 + 3.0 - np.log(4.0))
    assert float(np_(objectives.kl_to_standard_normal(mean, log_var))) == pytest.approx(
        expected, rel=1e-5
    )
    eps = np.array([[0.5, 0.5]], "float32")
    np.testing.assert_allclose(
        np_(objectives.reparameterize(mean, log_var, eps)), [[1.5, 1.0]], rtol=1e-6
    )


def test_reconstruction_error_is_the_mean_squared_pixel_error():
    target = np.zeros((2, 2, 2, 1), "float32")
    reconstruction = np.ones((2, 2, 2, 1), "float32")
    reconstruction[1] = 3.0
    assert float(np_(objectives.reconstruction_error(reconstruction, target))) == pytest.approx(5.0)


def test_discriminator_score_is_a_probability_only_for_probabilistic_losses():
    logits = np.array([[0.0], [np.log(3.0)]], "float32")
    assert float(np_(objectives.discriminator_score(logits, True))) == pytest.approx(
        (0.5 + 0.75) / 2
    )
    assert float(np_(objectives.discriminator_score(logits, False))) == pytest.approx(
        np.log(3.0) / 2
    )


def test_discriminator_objective_weights_each_term():
    loss, logs = objectives.discriminator_objective(
        1.0, r1=2.0, r1_weight=0.5, gp=3.0, gp_weight=10.0, auxiliary=4.0, auxiliary_weight=0.25
    )
    assert float(loss) == pytest.approx(1.0 + 0.25 * 2.0 + 30.0 + 1.0)
    assert set(logs) == {"d_loss", "r1_penalty", "gradient_penalty", "d_aux_loss"}
    loss, logs = objectives.discriminator_objective(1.5)
    assert float(loss) == 1.5 and set(logs) == {"d_loss"}


def test_generator_objective_weights_each_term():
    loss, logs = objectives.generator_objective(
        1.0,
        auxiliary=2.0,
        auxiliary_weight=0.5,
        kl=3.0,
        kl_weight=2.0,
        reconstruction=4.0,
        reconstruction_weight=0.25,
    )
    assert float(loss) == pytest.approx(1.0 + 1.0 + 6.0 + 1.0)
    assert set(logs) == {"g_loss", "g_aux_loss", "kl_loss", "reconstruction_loss"}


def test_every_registered_loss_is_an_adversarial_loss_with_a_name():
    for name, loss in LOSSES.items():
        assert loss.name == name
        assert callable(loss.discriminator_loss) and callable(loss.generator_loss)
    assert keras.saving.get_registered_object("gankeras>AdversarialLoss") is type(LOSSES["hinge"])


# --- Larsen et al. 2016: the feature-space VAE-GAN ----------------------------------
def test_feature_reconstruction_error_is_half_the_squared_feature_distance():
    real = np.zeros((2, 3), "float32")
    reconstruction = np.array([[1.0, 2.0, 0.0], [0.0, 0.0, 4.0]], "float32")
    # 1/2 (1 + 4) and 1/2 16, mean over the batch.
    value = float(np_(objectives.feature_reconstruction_error(reconstruction, real)))
    assert value == pytest.approx((2.5 + 8.0) / 2)


def _softplus(v):
    return np.log1p(np.exp(v))


REAL_LOGITS = np.array([[0.5], [-1.0]], "float32")
FAKE_LOGITS = np.array([[0.2], [1.5]], "float32")
RECONSTRUCTION_LOGITS = np.array([[-0.3], [2.0]], "float32")


def _larsen_d_objective(real, fake, reconstruction):
    d_loss = LOSSES["non_saturating"].discriminator_loss
    term = objectives.reconstruction_discriminator_loss(d_loss, real, reconstruction, 1.0, 0.0)
    return d_loss(real, fake, 1.0, 0.0) + term, term


def test_reconstruction_discriminator_loss_is_the_fake_term_plus_a_real_copy():
    _, term = _larsen_d_objective(REAL_LOGITS, FAKE_LOGITS, RECONSTRUCTION_LOGITS)
    expected = _softplus(-REAL_LOGITS).mean() + _softplus(RECONSTRUCTION_LOGITS).mean()
    assert float(np_(term)) == pytest.approx(expected, rel=1e-6)


def test_d_objective_with_reconstructions_has_the_gradient_of_larsens_l_gan():
    # -L_GAN = -log D(x) - log(1 - D(G(z))) - log(1 - D(Dec(Enc(x)))), batch means:
    # d/dreal = -sigmoid(-l) / 2 (the real term once), d/drec = sigmoid(l) / 2.
    from gankeras import backend as gan_backend

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    _, grad_real = gan_backend.value_and_input_gradient(
        lambda r: _larsen_d_objective(r, FAKE_LOGITS, RECONSTRUCTION_LOGITS)[0],
        ops.convert_to_tensor(REAL_LOGITS),
    )
    _, grad_rec = gan_backend.value_and_input_gradient(
        lambda x: _larsen_d_objective(REAL_LOGITS, FAKE_LOGITS, x)[0],
        ops.convert_to_tensor(RECONSTRUCTION_LOGITS),
    )
    np.testing.assert_allclose(np_(grad_real), -sigmoid(-REAL_LOGITS) / 2, rtol=1e-5)
    np.testing.assert_allclose(np_(grad_rec), sigmoid(RECONSTRUCTION_LOGITS) / 2, rtol=1e-5)


def test_discriminator_objective_adds_the_reconstruction_term():
    loss, logs = objectives.discriminator_objective(1.0, reconstruction=2.5)
    assert float(loss) == pytest.approx(3.5)
    assert float(logs["d_reconstruction_loss"]) == 2.5


def test_generator_objective_gives_the_decoder_its_own_reconstruction_weight():
    loss, logs = objectives.generator_objective(
        1.0,
        kl=3.0,
        kl_weight=1.0,
        reconstruction=4.0,
        reconstruction_weight=1.0,
        decoder_reconstruction=4.0,
        decoder_weight=0.25,
    )
    # The reconstruction term counts with the decoder's weight in the value.
    assert float(loss) == pytest.approx(1.0 + 3.0 + 0.25 * 4.0)
    assert float(logs["reconstruction_loss"]) == 4.0
