"""DivergenceGuard: NaN/Inf losses and a collapsed discriminator stop training."""

import json
import os
import re

import keras
import numpy as np
import pytest

import gankeras
from gankeras.callbacks import (
    DiscriminatorCollapseError,
    DivergenceGuard,
    GANCheckpoint,
    GANDivergedError,
    resume_or_start,
)
from gankeras.callbacks.checkpoint import list_checkpoints


def make_gan(g_lr=1e-3, d_lr=1e-3):
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(1)(keras.layers.Dense(8, "relu")(z)))
    x = keras.Input((1,))
    d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(8, "relu")(x)))
    gan = gankeras.GAN(g, d, data_range=None)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(d_lr),
        g_optimizer=keras.optimizers.Adam(g_lr),
    )
    return gan


def test_nan_loss_stops_training_and_names_the_loss():
    gan = make_gan()
    bias = gan.discriminator.trainable_variables[-1]  # D's output bias
    bias.assign(np.full(bias.shape, np.nan, "float32"))
    data = np.ones((32, 1), "float32")
    with pytest.raises(GANDivergedError, match="d_loss became nan at epoch 1, batch 1"):
        gan.fit(data, batch_size=8, epochs=1, verbose=0)


def test_collapsed_discriminator_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    # G cannot learn (lr 0) and real data sit far from its samples: D wins
    # outright, D(x) -> 1 and D(G(z)) -> 0, after a few dozen steps.
    gan = make_gan(g_lr=0.0, d_lr=0.05)
    data = np.full((4 * 8, 1), 20.0, "float32")  # 4 steps per epoch
    guard = DivergenceGuard(collapse_patience=20, checkpoint_directory=str(tmp_path))
    with pytest.raises(DiscriminatorCollapseError, match="for 20 consecutive steps") as error:
        gan.fit(
            data,
            batch_size=8,
            epochs=100,
            verbose=0,
            callbacks=[GANCheckpoint(tmp_path, keep=100), guard],
        )

    start = int(re.search(r"since step (\d+)", str(error.value)).group(1))
    good = list_checkpoints(tmp_path)
    assert good, "the checkpoints from before the collapse are kept"
    assert f"last good checkpoint is {good[-1]}" in str(error.value)
    suspects = [n for n in os.listdir(tmp_path) if n.startswith("suspect-ckpt-")]
    assert suspects, "checkpoints saved during the collapse are set aside"
    for path in good:
        with open(os.path.join(path, "checkpoint.json")) as f:
            assert json.load(f)["step"] <= start
    # Resuming picks the last good one.
    assert resume_or_start(make_gan(g_lr=0.0, d_lr=0.05), str(tmp_path), verbose=0) == int(
        os.path.basename(good[-1])[5:]
    )


def test_collapse_counter_resets_when_the_discriminator_is_fooled_again():
    class Model:
        adversarial_loss = gankeras.losses.get("non_saturating")

    guard = DivergenceGuard(collapse_patience=3)
    guard.set_model(Model())
    guard.on_train_begin()
    guard.on_epoch_begin(0)
    # Running means as Keras reports them: per-batch values 1,1,0.5,1,1.
    per_batch_real = [0.999, 0.999, 0.6, 0.999, 0.999]
    running = np.cumsum(per_batch_real) / np.arange(1, 6)
    for batch, mean in enumerate(running):
        guard.on_train_batch_end(batch, {"d_real": mean, "d_fake": 0.001})
    assert guard._collapsed_steps == 2


def test_recovers_per_batch_values_with_steps_per_execution():
    class Model:
        adversarial_loss = gankeras.losses.get("non_saturating")

    guard = DivergenceGuard(collapse_patience=8)
    guard.set_model(Model())
    guard.on_train_begin()
    guard.on_epoch_begin(0)
    # Logs every 4 steps (steps_per_execution=4): 4 fooled steps, then 8
    # collapsed ones. The running mean alone never passes 0.99.
    per_step = [0.5] * 4 + [0.999] * 8
    running = np.cumsum(per_step) / np.arange(1, 13)
    guard.on_train_batch_end(3, {"d_real": running[3], "d_fake": 0.0})
    guard.on_train_batch_end(7, {"d_real": running[7], "d_fake": 0.0})
    with pytest.raises(DiscriminatorCollapseError, match="for 8 consecutive steps"):
        guard.on_train_batch_end(11, {"d_real": running[11], "d_fake": 0.0})


def test_collapse_check_is_off_for_scores_that_are_not_probabilities():
    class Model:
        adversarial_loss = gankeras.losses.get("wasserstein")

    guard = DivergenceGuard(collapse_patience=1)
    guard.set_model(Model())
    guard.on_train_begin()
    guard.on_epoch_begin(0)
    for batch in range(5):
        guard.on_train_batch_end(batch, {"d_real": 1.0, "d_fake": 0.0})


def test_config_round_trip():
    guard = DivergenceGuard(collapse_patience=7, collapse_tolerance=0.05)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(guard))
    assert isinstance(again, DivergenceGuard)
    assert again.get_config() == guard.get_config()
