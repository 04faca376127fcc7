"""`TrainingConfig.ema_warmup`: the generator EMA's decay ramps up as
min(ema_momentum, (1 + t) / (10 + t)) at generator update t (every backend)."""

import os

import keras
import numpy as np
import pytest

import gankeras
from gankeras.models import ema

BATCH = 8


def make_gan(ema_warmup=True, momentum=0.999, use_ema=True):
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(2)(keras.layers.Dense(4, "relu")(z)))
    x = keras.Input((2,))
    d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(4, "relu")(x)))
    gan = gankeras.GAN(g, d, data_range=None, seed=0)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-2),
        g_optimizer=keras.optimizers.Adam(1e-2, use_ema=use_ema, ema_momentum=momentum),
        ema_warmup=ema_warmup,
    )
    return gan


def data():
    return np.random.default_rng(0).normal(size=(BATCH, 2)).astype("float32")


def generator_weights(gan):
    return [keras.ops.convert_to_numpy(v.value).copy() for v in gan.generator.trainable_variables]


def averages(gan):
    return [
        keras.ops.convert_to_numpy(a.value).copy()
        for a in gan.g_optimizer._model_variables_moving_average
    ]


def expected_momentum(t, momentum):
    return 0.0 if t == 0 else min(momentum, (1 + t) / (10 + t))


@pytest.mark.parametrize(
    "t, expected", [(0, 0.0), (1, 2 / 11), (90, 0.91), (8990, 0.999), (10**6, 0.999)]
)
def test_warmup_momentum_follows_the_num_updates_rule(t, expected):
    value = float(keras.ops.convert_to_numpy(ema.warmup_momentum(t, 0.999)))
    assert value == pytest.approx(expected, abs=1e-6)


def _train_and_track(gan, steps):
    """The generator's weights after each of `steps` one-batch fits, and
    the averages after the last."""
    snapshots = []
    for _ in range(steps):
        gan.fit(data(), batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
        snapshots.append(generator_weights(gan))
    return snapshots, averages(gan)


def _recursion(snapshots, momentum_at):
    average = None
    for t, weights in enumerate(snapshots):
        m = momentum_at(t)
        average = (
            weights if average is None else [m * a + (1 - m) * w for a, w in zip(average, weights)]
        )
    return average


def test_the_average_follows_the_ramp_not_the_constant_decay():
    gan = make_gan(ema_warmup=True)
    snapshots, got = _train_and_track(gan, 4)
    want = _recursion(snapshots, lambda t: expected_momentum(t, 0.999))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    # With Keras's constant 0.999 the average would still be the first step's weights.
    constant = _recursion(snapshots, lambda t: 0.0 if t == 0 else 0.999)
    assert max(np.abs(g - c).max() for g, c in zip(got, constant)) > 1e-4


def test_without_warmup_the_decay_is_keras_constant():
    gan = make_gan(ema_warmup=False, momentum=0.9)
    snapshots, got = _train_and_track(gan, 3)
    want = _recursion(snapshots, lambda t: 0.0 if t == 0 else 0.9)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_warmup_without_an_ema_is_an_error():
    with pytest.raises(ValueError, match="ema_warmup=True` needs a generator optimizer that keeps"):
        make_gan(ema_warmup=True, use_ema=False)


def test_a_saved_gan_keeps_ramping_after_loading(tmp_path):
    gan = make_gan(ema_warmup=True)
    _train_and_track(gan, 2)
    path = os.path.join(tmp_path, "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.training_options.ema_warmup is True
    before = averages(loaded)
    loaded.fit(data(), batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    t = int(keras.ops.convert_to_numpy(loaded.g_optimizer.iterations)) - 1
    assert t == 2
    m = expected_momentum(t, 0.999)
    for g, a, w in zip(averages(loaded), before, generator_weights(loaded)):
        np.testing.assert_allclose(g, m * a + (1 - m) * w, rtol=1e-5, atol=1e-6)
