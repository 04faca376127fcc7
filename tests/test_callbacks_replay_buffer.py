"""gankeras.callbacks.ReplayBuffer: the replay pool installed by a callback
trains exactly as the GAN constructor's `replay_buffer` argument."""

import keras
import numpy as np
import pytest

import gankeras
from gankeras.callbacks import ReplayBuffer
from tests import gan_fixtures

REAL = gan_fixtures.images(n=32, size=8)


def make_gan(replay_buffer=None):
    keras.utils.set_random_seed(3)
    generator, discriminator = gan_fixtures.image_pair(latent_dim=8, size=8, batchnorm=False)
    gan = gankeras.GAN(generator, discriminator, replay_buffer=replay_buffer)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2))
    return gan


def weights(gan):
    variables = gan.generator.weights + gan.discriminator.weights
    return [keras.ops.convert_to_numpy(v) for v in variables]


def fit(gan, callbacks=(), epochs=2):
    gan.fit(REAL, batch_size=8, epochs=epochs, shuffle=False, verbose=0, callbacks=list(callbacks))


def test_callback_trains_exactly_like_the_constructor_argument():
    by_constructor = make_gan(gankeras.ReplayBuffer(capacity=12, fraction=0.5))
    fit(by_constructor)
    by_callback = make_gan()
    callback = ReplayBuffer(capacity=12, fraction=0.5)
    fit(by_callback, [callback])
    assert by_callback.replay_buffer is callback.pool
    # The pool filled in the compiled step (8 steps x 8 fakes > capacity).
    assert int(keras.ops.convert_to_numpy(callback.pool.count)) == 8 * 8
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(callback.pool.images),
        keras.ops.convert_to_numpy(by_constructor.replay_buffer.images),
    )
    for a, b in zip(weights(by_callback), weights(by_constructor)):
        np.testing.assert_array_equal(a, b)


def test_replay_changes_training():
    # The equality above is not trivially true: without a pool the weights differ.
    plain = make_gan()
    fit(plain)
    replayed = make_gan()
    fit(replayed, [ReplayBuffer(capacity=12, fraction=0.5)])
    assert any(np.abs(a - b).max() > 0 for a, b in zip(weights(plain), weights(replayed)))


def test_second_fit_keeps_the_pool():
    gan = make_gan()
    callback = ReplayBuffer(capacity=12, fraction=0.5)
    fit(gan, [callback], epochs=1)
    fit(gan, [callback], epochs=1)
    assert gan.replay_buffer is callback.pool
    assert int(keras.ops.convert_to_numpy(callback.pool.count)) == 8 * 8


def test_resumed_run_equals_an_uninterrupted_one(tmp_path):
    from gankeras.callbacks import GANCheckpoint, resume_or_start

    uninterrupted = make_gan()
    fit(uninterrupted, [ReplayBuffer(capacity=12, fraction=0.5)], epochs=3)
    first = make_gan()
    fit(first, [ReplayBuffer(capacity=12, fraction=0.5), GANCheckpoint(tmp_path)], epochs=2)
    resumed = make_gan()
    callback = ReplayBuffer(capacity=12, fraction=0.5)
    callback.install(resumed)  # the pool's variables must exist to be restored
    initial_epoch = resume_or_start(resumed, tmp_path, verbose=0)
    assert initial_epoch == 2
    resumed.fit(
        REAL,
        batch_size=8,
        epochs=3,
        initial_epoch=initial_epoch,
        shuffle=False,
        verbose=0,
        callbacks=[callback],
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(callback.pool.images),
        keras.ops.convert_to_numpy(uninterrupted.replay_buffer.images),
    )
    for a, b in zip(weights(resumed), weights(uninterrupted)):
        np.testing.assert_array_equal(a, b)


def test_refuses_a_gan_that_has_a_replay_buffer():
    gan = make_gan(gankeras.ReplayBuffer(capacity=4, fraction=0.5))
    with pytest.raises(ValueError, match="already has a replay buffer"):
        fit(gan, [ReplayBuffer(capacity=12, fraction=0.5)], epochs=1)


@pytest.mark.backend_independent
def test_bad_arguments_are_refused_at_construction():
    with pytest.raises(ValueError, match="fraction"):
        ReplayBuffer(capacity=4, fraction=1.5)
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(capacity=0)


def test_config_round_trip():
    callback = ReplayBuffer(capacity=7, fraction=0.25)
    config = keras.saving.serialize_keras_object(callback)
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, ReplayBuffer)
    assert (restored.capacity, restored.fraction) == (7, 0.25)
