"""Adversarial losses agree with TF-GAN's implementations of the same losses.

TF-GAN computes its reference values with TensorFlow; our losses run on the
active Keras backend, so the comparison holds on every backend.
"""

import keras
import numpy as np
import pytest
from keras import ops

from gankeras import losses
from gankeras.compat import tfgan

TFGAN = tfgan.load()
RNG = np.random.default_rng(0)
REAL = RNG.normal(1.0, 2.0, size=(16, 1)).astype("float32")
FAKE = RNG.normal(-1.0, 2.0, size=(16, 1)).astype("float32")


def _np(x):
    return float(ops.convert_to_numpy(x))


def _tf(x):
    return float(np.asarray(x))


# (our discriminator loss, our generator loss, TF-GAN discriminator, TF-GAN generator)
CASES = {
    "minimax": (
        losses.minimax_discriminator_loss,
        losses.minimax_generator_loss,
        lambda r, f: TFGAN.losses.wargs.minimax_discriminator_loss(r, f, label_smoothing=0.0),
        # TF-GAN computes -(BCE(1 as a logit, 1) + BCE(fake, 0)): the same loss
        # plus the constant softplus(-1), which has no gradient. Remove it.
        lambda r, f: (
            TFGAN.losses.wargs.minimax_generator_loss(f, label_smoothing=0.0)
            + np.log1p(np.exp(-1.0))
        ),
    ),
    "non_saturating": (
        losses.non_saturating_discriminator_loss,
        losses.non_saturating_generator_loss,
        lambda r, f: TFGAN.losses.wargs.modified_discriminator_loss(r, f, label_smoothing=0.0),
        lambda r, f: TFGAN.losses.wargs.modified_generator_loss(f, label_smoothing=0.0),
    ),
    "wasserstein": (
        losses.wasserstein_discriminator_loss,
        losses.wasserstein_generator_loss,
        lambda r, f: TFGAN.losses.wargs.wasserstein_discriminator_loss(r, f),
        lambda r, f: TFGAN.losses.wargs.wasserstein_generator_loss(f),
    ),
    "hinge": (
        losses.hinge_discriminator_loss,
        losses.hinge_generator_loss,
        lambda r, f: TFGAN.losses.wargs.wasserstein_hinge_discriminator_loss(r, f),
        lambda r, f: TFGAN.losses.wargs.wasserstein_generator_loss(f),
    ),
    "least_squares": (
        losses.least_squares_discriminator_loss,
        losses.least_squares_generator_loss,
        lambda r, f: TFGAN.losses.wargs.least_squares_discriminator_loss(r, f),
        lambda r, f: TFGAN.losses.wargs.least_squares_generator_loss(f),
    ),
    "relativistic_average": (
        losses.relativistic_average_discriminator_loss,
        losses.relativistic_average_generator_loss,
        lambda r, f: TFGAN.losses.wargs.relativistic_discriminator_loss(r, f),
        lambda r, f: TFGAN.losses.wargs.relativistic_generator_loss(r, f),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_discriminator_loss_matches_tfgan(name):
    ours, _, reference, _ = CASES[name]
    expected = _tf(reference(REAL, FAKE))
    assert _np(ours(REAL, FAKE, 1.0, 0.0)) == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_generator_loss_matches_tfgan(name):
    _, ours, _, reference = CASES[name]
    expected = _tf(reference(REAL, FAKE))
    assert _np(ours(REAL, FAKE)) == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_one_sided_label_smoothing_matches_tfgan():
    # TF-GAN smooths towards 0.5: target 1 - s/2. Ours targets 1 - s directly
    # (Salimans et al. 2016), so our 0.1 is TF-GAN's 0.2.
    expected = _tf(TFGAN.losses.wargs.modified_discriminator_loss(REAL, FAKE, label_smoothing=0.2))
    ours = losses.non_saturating_discriminator_loss(REAL, FAKE, 0.9, 0.0)
    assert _np(ours) == pytest.approx(expected, rel=1e-5)


def test_sigmoid_cross_entropy_accepts_soft_targets_above_one():
    logits = np.array([-3.0, 0.0, 4.0], dtype="float32")
    targets = np.array([1.2, 0.7, 0.3], dtype="float32")
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = -(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    got = ops.convert_to_numpy(losses.sigmoid_cross_entropy(logits, targets))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_losses_are_stable_for_extreme_logits():
    real = np.array([[80.0], [-80.0]], dtype="float32")
    fake = np.array([[-80.0], [80.0]], dtype="float32")
    for name in ("minimax", "non_saturating", "relativistic_average"):
        d_loss, g_loss, _, _ = CASES[name]
        assert np.isfinite(_np(d_loss(real, fake, 1.0, 0.0)))
        assert np.isfinite(_np(g_loss(real, fake)))


def test_get_finds_every_registered_loss_by_name():
    for name in losses.LOSSES:
        assert losses.get(name).name == name


def test_unknown_loss_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown adversarial loss 'wasserstien'.*hinge"):
        losses.get("wasserstien")


def test_a_pair_of_callables_is_a_custom_loss():
    loss = losses.get((losses.hinge_discriminator_loss, losses.hinge_generator_loss))
    assert isinstance(loss, losses.AdversarialLoss)
    assert _np(loss.generator_loss(REAL, FAKE)) == pytest.approx(-float(FAKE.mean()), rel=1e-5)


def test_registered_and_custom_losses_round_trip_through_serialization():
    for loss in (
        losses.get("hinge"),
        losses.AdversarialLoss(
            losses.least_squares_discriminator_loss,
            losses.least_squares_generator_loss,
            name="my_lsgan",
        ),
    ):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
        assert restored.name == loss.name
        assert restored.discriminator_loss is loss.discriminator_loss
        assert restored.generator_loss is loss.generator_loss
        assert restored.uses_targets == loss.uses_targets


def test_non_callable_loss_is_rejected():
    with pytest.raises(TypeError, match="generator_loss` must be callable"):
        losses.AdversarialLoss(losses.hinge_discriminator_loss, "hinge")
