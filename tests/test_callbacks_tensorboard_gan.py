"""GANTensorBoard: the events file holds the fixed-seed sample grid, D's
accuracy on real and fake, ADA's probability when present, and the logs."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import gankeras
from gankeras.callbacks import GANTensorBoard
from gankeras.callbacks.sample_grid import tile
from gankeras.callbacks.tensorboard_gan import discriminator_logits
from tests import gan_fixtures

REAL = gan_fixtures.images(n=32, size=8)


def make_gan():
    generator, discriminator = gan_fixtures.image_pair(latent_dim=8, size=8, batchnorm=False)
    gan = gankeras.GAN(generator, discriminator)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-2),
        g_optimizer=keras.optimizers.Adam(1e-2, use_ema=True),
    )
    return gan


def read_events(log_dir):
    """{tag: {step: value}}: images as decoded uint8 arrays, scalars as floats."""
    found = {}
    files = [os.path.join(log_dir, n) for n in os.listdir(log_dir) if "tfevents" in n]
    assert len(files) == 1, files
    for event in tf.compat.v1.train.summary_iterator(files[0]):
        for value in event.summary.value:
            tensor = tf.make_ndarray(value.tensor)
            plugin = value.metadata.plugin_data.plugin_name
            if plugin == "images":  # [width, height, png, ...] strings
                decoded = tf.io.decode_png(tensor[2]).numpy()
                found.setdefault(value.tag, {})[event.step] = decoded
            elif plugin == "scalars":
                found.setdefault(value.tag, {})[event.step] = float(tensor)
    return found


def test_grid_accuracy_and_logs_are_in_the_events_file(tmp_path):
    gan = make_gan()
    callback = GANTensorBoard(tmp_path, seeds=range(6), columns=3, real_images=REAL[:16])
    history = gan.fit(REAL, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    events = read_events(tmp_path)
    assert set(events["gan/samples"]) == {0, 1}
    expected_grid = np.asarray(tile(gan.generate(seeds=range(6)), 3))  # EMA weights
    np.testing.assert_array_equal(events["gan/samples"][1][..., 0], expected_grid)
    assert events["gan/samples"][1].shape == (2 * 9 + 1, 3 * 9 + 1, 1)
    # Accuracies of the final D, recomputed by hand from its logits.
    real_logits = discriminator_logits(gan, REAL[:16])
    fakes = gan.generate(seeds=np.arange(1_000_000, 1_000_016), use_ema=False)
    fake_logits = discriminator_logits(gan, fakes)
    assert events["gan/d_accuracy_real"][1] == pytest.approx(np.mean(real_logits > 0))
    assert events["gan/d_accuracy_fake"][1] == pytest.approx(np.mean(fake_logits < 0))
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert events[f"epoch/{name}"][1] == pytest.approx(history.history[name][1], rel=1e-6)
    assert "gan/ada_probability" not in events  # no augmentation on this GAN


class IdentityADA(keras.layers.Layer):
    """An augmentation that changes nothing but has ADA's probability p."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.probability = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="probability"
        )
        self.built = True  # no other state: fit need not build it

    def call(self, images, training=False):
        return images


class AnnealP(keras.callbacks.Callback):
    """Stands in for ADA: sets p to 0.1 * (epoch + 1) at each epoch's start."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.augment.probability.assign(0.1 * (epoch + 1))


def test_ada_probability_is_logged_when_the_gan_has_one(tmp_path):
    gan = make_gan()
    gan.augment = IdentityADA()
    callback = GANTensorBoard(tmp_path, seeds=range(4))
    gan.fit(REAL, batch_size=8, epochs=3, verbose=0, callbacks=[AnnealP(), callback])
    events = read_events(tmp_path)
    assert events["gan/ada_probability"] == pytest.approx({0: 0.1, 1: 0.2, 2: 0.3})
    assert "gan/d_accuracy_real" not in events  # no real batch given


def test_every_n_epochs_and_the_last(tmp_path):
    callback = GANTensorBoard(tmp_path, seeds=range(4), every_n_epochs=2, write_logs=False)
    make_gan().fit(REAL, batch_size=16, epochs=3, verbose=0, callbacks=[callback])
    events = read_events(tmp_path)
    assert set(events["gan/samples"]) == {1, 2}
    assert not any(tag.startswith("epoch/") for tag in events)


def test_real_images_of_the_wrong_shape_are_refused(tmp_path):
    callback = GANTensorBoard(tmp_path, real_images=np.zeros((4, 6, 6, 1), np.float32))
    with pytest.raises(ValueError, match="real_images"):
        make_gan().fit(REAL, batch_size=16, epochs=1, verbose=0, callbacks=[callback])


@pytest.mark.backend_independent
def test_config_round_trip(tmp_path):
    callback = GANTensorBoard(tmp_path, seeds=[3, 1], columns=2, threshold=0.5, every_n_epochs=3)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    assert restored.get_config() == callback.get_config()
