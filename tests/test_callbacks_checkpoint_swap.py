"""CheckpointSwap: past snapshots of G and D are swapped into training.

The JAX trainer keeps the training state outside the Keras variables during
an epoch; these tests check that the swapped weights reach the compiled step
on every backend, not only the variables."""

import keras
import numpy as np

import gankeras
from gankeras.callbacks import CheckpointSwap

BATCH = 8


def make_gan(d_lr):
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(2)(z))
    x = keras.Input((2,))
    d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(4, "relu")(x)))
    gan = gankeras.GAN(g, d, data_range=None)
    gan.compile(d_optimizer=keras.optimizers.SGD(d_lr), g_optimizer=keras.optimizers.SGD(0.01))
    return gan


def data(steps):
    return np.random.default_rng(0).normal(size=(steps * BATCH, 2)).astype("float32")


class RecordDiscriminator(keras.callbacks.Callback):
    """Records D's weights after every step, as the trainer holds them."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.discriminator.get_weights())


def test_snapshots_are_taken_every_n_steps_and_the_newest_kept():
    swap = CheckpointSwap(snapshot_every=2, keep=3, swap_every=1000)
    make_gan(0.1).fit(data(10), batch_size=BATCH, epochs=1, verbose=0, callbacks=[swap])
    assert len(swap.snapshots["generator"]) == 3
    assert len(swap.snapshots["discriminator"]) == 3
    assert not swap.swap_log


def test_swapped_in_snapshot_is_what_the_train_step_uses_then_live_weights_return():
    # D's learning rate is 0, so the weights the train step leaves behind are
    # the ones it was given: the snapshot during the swap, the live ones after.
    gan = make_gan(d_lr=0.0)
    live = gan.discriminator.get_weights()
    snapshot = [np.full_like(w, 0.25) for w in live]
    swap = CheckpointSwap(
        snapshot_every=1000, swap_every=3, swap_steps=2, networks=("discriminator",)
    )
    swap.snapshots["discriminator"] = [snapshot]
    record = RecordDiscriminator()
    gan.fit(data(7), batch_size=BATCH, epochs=1, verbose=0, callbacks=[swap, record])

    assert swap.swap_log == [(3, "discriminator", 0), (6, "discriminator", 0)]
    swapped_steps = {3, 4, 6}  # steps are 0-based; the second swap ends at epoch end
    for step, weights in enumerate(record.weights):
        expected = snapshot if step in swapped_steps else live
        for w, e in zip(weights, expected):
            np.testing.assert_array_equal(w, e)
    for w, e in zip(gan.discriminator.get_weights(), live):
        np.testing.assert_array_equal(w, e)


def test_generator_keeps_training_against_the_swapped_in_discriminator():
    gan = make_gan(d_lr=0.0)
    swap = CheckpointSwap(snapshot_every=1, swap_every=2, swap_steps=1, networks=("discriminator",))
    before = gan.generator.get_weights()
    gan.fit(data(4), batch_size=BATCH, epochs=1, verbose=0, callbacks=[swap])
    assert swap.swap_log
    assert any(np.abs(a - b).max() > 0 for a, b in zip(before, gan.generator.get_weights()))


def test_config_round_trip():
    swap = CheckpointSwap(
        snapshot_every=3, keep=2, swap_every=9, swap_steps=4, networks=("generator",), seed=5
    )
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(swap))
    assert again.get_config() == swap.get_config()
