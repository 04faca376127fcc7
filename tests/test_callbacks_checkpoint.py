"""GANCheckpoint / resume_or_start: atomic, rotating, resumable checkpoints.

Run as a script, this file is also the training job that the kill-and-resume
test starts in a subprocess:
    python tests/test_callbacks_checkpoint.py DIRECTORY RESULT_JSON
"""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import keras
import numpy as np
import pytest

import gankeras
from gankeras.callbacks import checkpoint as checkpoint_module
from gankeras.callbacks.checkpoint import (
    CheckpointMismatchError,
    GANCheckpoint,
    list_checkpoints,
    read_history,
    resume_or_start,
)

EPOCHS = 6
STEPS_PER_EPOCH = 4
BATCH = 8


def make_gan(width=8, loss="non_saturating", replay=False):
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(2)(keras.layers.Dense(width, "relu")(z)))
    x = keras.Input((2,))
    d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(width, "relu")(x)))
    buffer = gankeras.ReplayBuffer(16, 0.5) if replay else None
    gan = gankeras.GAN(g, d, data_range=None, replay_buffer=buffer)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3),
        g_optimizer=keras.optimizers.Adam(1e-3, use_ema=True),
        loss=loss,
    )
    return gan


def data():
    return np.random.default_rng(0).normal(size=(STEPS_PER_EPOCH * BATCH, 2)).astype("float32")


def step_count(gan):
    return int(keras.ops.convert_to_numpy(gan.optimizer.iterations))


def values(variables):
    return [keras.ops.convert_to_numpy(v.value).copy() for v in variables]


def train_job(directory, result_path):
    """The subprocess: resume if possible, train to EPOCHS, report."""

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(f"saved epoch {epoch + 1}", flush=True)
            time.sleep(0.3)  # gives the test time to kill mid-run

    keras.utils.set_random_seed(0)
    gan = make_gan(replay=True)
    initial_epoch = resume_or_start(gan, directory, verbose=0)
    print(f"initial_epoch {initial_epoch}", flush=True)
    gan.fit(
        data(),
        batch_size=BATCH,
        shuffle=False,
        epochs=EPOCHS,
        initial_epoch=initial_epoch,
        verbose=0,
        callbacks=[GANCheckpoint(directory, keep=2), Progress()],
    )
    with open(result_path, "w") as f:
        json.dump({"initial_epoch": initial_epoch, "step": step_count(gan)}, f)


def test_saves_and_restores_every_variable(tmp_path):
    gan = make_gan(replay=True)
    gan.fit(data(), batch_size=BATCH, epochs=2, verbose=0, callbacks=[GANCheckpoint(tmp_path)])
    saved = values(gan.variables + gan.optimizer.variables)

    fresh = make_gan(replay=True)
    assert resume_or_start(fresh, str(tmp_path), verbose=0) == 2
    restored = values(fresh.variables + fresh.optimizer.variables)
    assert len(saved) == len(restored)
    for a, b in zip(saved, restored):
        np.testing.assert_array_equal(a, b)
    assert step_count(fresh) == 2 * STEPS_PER_EPOCH


def test_keeps_only_the_newest_checkpoints_and_no_temp_folders(tmp_path):
    gan = make_gan()
    gan.fit(
        data(), batch_size=BATCH, epochs=4, verbose=0, callbacks=[GANCheckpoint(tmp_path, keep=2)]
    )
    assert [os.path.basename(p) for p in list_checkpoints(tmp_path)] == [
        "ckpt-000003",
        "ckpt-000004",
    ]
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp")]


def test_killed_run_resumes_and_ends_at_the_uninterrupted_step_count(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, __file__]
    directory, result = str(tmp_path / "ckpt"), str(tmp_path / "result.json")

    job = subprocess.Popen(
        command + [directory, result], stdout=subprocess.PIPE, text=True, env=env
    )
    for line in job.stdout:
        if line.startswith("saved epoch 2"):
            job.send_signal(signal.SIGKILL)
            break
    job.wait(timeout=120)
    assert job.returncode == -signal.SIGKILL
    assert not os.path.exists(result)
    done = int(os.path.basename(list_checkpoints(directory)[-1])[5:])
    assert 2 <= done < EPOCHS

    subprocess.run(
        command + [directory, result], check=True, env=env, stdout=subprocess.DEVNULL, timeout=120
    )
    with open(result) as f:
        resumed = json.load(f)
    assert resumed["initial_epoch"] == done

    # The same command, uninterrupted, in a fresh directory.
    keras.utils.set_random_seed(0)
    gan = make_gan(replay=True)
    gan.fit(data(), batch_size=BATCH, shuffle=False, epochs=EPOCHS, verbose=0)
    assert resumed["step"] == step_count(gan) == EPOCHS * STEPS_PER_EPOCH


def test_corrupt_newest_checkpoint_is_reported_and_the_previous_one_used(tmp_path):
    gan = make_gan()
    gan.fit(
        data(), batch_size=BATCH, epochs=3, verbose=0, callbacks=[GANCheckpoint(tmp_path, keep=3)]
    )
    newest = list_checkpoints(tmp_path)[-1]
    with open(os.path.join(newest, "variables.npz"), "r+b") as f:
        f.truncate(100)
    # A save killed before its rename leaves only a temp folder: never read.
    os.makedirs(tmp_path / ".tmp-ckpt-000004-1")

    with pytest.warns(UserWarning, match="corrupt or partial checkpoint .*ckpt-000003"):
        epoch = resume_or_start(make_gan(), str(tmp_path), verbose=0)
    assert epoch == 2


def test_checkpoint_of_other_network_shapes_names_the_mismatch(tmp_path):
    make_and_save(tmp_path, make_gan(width=8))
    with pytest.raises(CheckpointMismatchError, match=r"shape \(2, 8\).*\(2, 16\)"):
        resume_or_start(make_gan(width=16), str(tmp_path), verbose=0)


def test_checkpoint_of_another_loss_names_the_mismatch(tmp_path):
    make_and_save(tmp_path, make_gan(loss="non_saturating"))
    with pytest.raises(
        CheckpointMismatchError, match="loss: checkpoint has 'non_saturating'.*'hinge'"
    ):
        resume_or_start(make_gan(loss="hinge"), str(tmp_path), verbose=0)


def test_checkpoint_of_other_options_names_the_option(tmp_path):
    make_and_save(tmp_path, make_gan())
    gan = make_gan()
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3),
        g_optimizer=keras.optimizers.Adam(1e-3, use_ema=True),
        r1_penalty=1.0,
    )
    with pytest.raises(
        CheckpointMismatchError, match="r1_penalty=0.0, the model has r1_penalty=1.0"
    ):
        resume_or_start(gan, str(tmp_path), verbose=0)


def test_unwritable_directory_fails_before_training(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    gan = make_gan()
    with pytest.raises(OSError, match="Cannot write checkpoints to"):
        gan.fit(
            data(),
            batch_size=BATCH,
            epochs=1,
            verbose=0,
            callbacks=[GANCheckpoint(str(blocker / "checkpoints"))],
        )
    assert step_count(gan) == 0


@pytest.mark.backend_independent
def test_deserializing_touches_no_file(tmp_path):
    # What a crafted .keras file naming the callback would run.
    config = keras.saving.serialize_keras_object(GANCheckpoint(tmp_path / "a" / "b"))
    callback = keras.saving.deserialize_keras_object(config)
    assert isinstance(callback, GANCheckpoint)
    assert os.listdir(tmp_path) == []


def test_the_directory_is_made_when_training_starts(tmp_path):
    directory = tmp_path / "new" / "checkpoints"
    callback = GANCheckpoint(directory)
    assert not os.path.exists(tmp_path / "new")
    make_gan().fit(data(), batch_size=BATCH, epochs=1, verbose=0, callbacks=[callback])
    assert [os.path.basename(p) for p in list_checkpoints(directory)] == ["ckpt-000001"]


def test_a_save_leaves_other_live_processes_temporary_folders_alone(tmp_path):
    host = checkpoint_module._host()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # Another process's save in progress, one killed mid-save, and a
        # name this module never writes.
        in_progress = tmp_path / f".tmp-ckpt-000002-{live.pid}-0123abcd-{host}"
        killed = tmp_path / f".tmp-ckpt-000001-{dead.pid}-89abcdef-{host}"
        foreign = tmp_path / ".tmp-ckpt-000004-1"
        for folder in (in_progress, killed, foreign):
            os.makedirs(folder)
            (folder / "variables.npz").write_bytes(b"partial")
        make_gan().fit(
            data(),
            batch_size=BATCH,
            epochs=2,
            verbose=0,
            callbacks=[GANCheckpoint(tmp_path, keep=1)],
        )
        left = sorted(n for n in os.listdir(tmp_path) if n.startswith(".tmp"))
        assert left == sorted([in_progress.name, foreign.name])
        assert (in_progress / "variables.npz").read_bytes() == b"partial"
    finally:
        live.kill()
        live.wait()


def test_a_failed_save_removes_its_own_temporary_folder(tmp_path, monkeypatch):
    gan = make_gan()
    callback = GANCheckpoint(tmp_path)
    callback.set_model(gan)

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint_module, "_sha256", full_disk)
    with pytest.raises(OSError, match="No space left"):
        callback.save(1)
    assert os.listdir(tmp_path) == []


def test_incompatible_checkpoint_error_is_one_line_saying_why_and_what_to_do(tmp_path):
    make_and_save(tmp_path, make_gan(width=8))
    with pytest.raises(CheckpointMismatchError) as caught:
        resume_or_start(make_gan(width=16, loss="hinge"), str(tmp_path), verbose=0)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"cannot resume from the checkpoint {tmp_path / 'ckpt-000001'}")
    assert "loss: checkpoint has 'non_saturating', the model has 'hinge'" in message
    assert "train into a new directory" in message
    assert caught.value.directory == str(tmp_path)
    assert any("shape (2, 8)" in p for p in caught.value.problems)


def test_history_of_a_resumed_run_is_the_whole_history(tmp_path):
    keras.utils.set_random_seed(0)
    first = make_gan()
    logs = first.fit(
        data(),
        batch_size=BATCH,
        shuffle=False,
        epochs=2,
        verbose=0,
        callbacks=[GANCheckpoint(tmp_path)],
    ).history
    resumed = make_gan()
    assert resume_or_start(resumed, str(tmp_path), verbose=0) == 2
    later = resumed.fit(
        data(),
        batch_size=BATCH,
        shuffle=False,
        epochs=3,
        initial_epoch=2,
        verbose=0,
        callbacks=[GANCheckpoint(tmp_path)],
    ).history
    history = read_history(str(tmp_path))
    assert set(history) == set(logs)
    for name in logs:
        assert history[name] == [float(v) for v in logs[name] + later[name]], name


def test_non_finite_state_is_not_saved(tmp_path):
    gan = make_gan()
    callback = GANCheckpoint(tmp_path)
    callback.set_model(gan)
    assert callback.save(1) is not None
    gan.generator.trainable_variables[0].assign(
        np.full(gan.generator.trainable_variables[0].shape, np.nan, "float32")
    )
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        assert callback.save(2) is None
    assert [os.path.basename(p) for p in list_checkpoints(tmp_path)] == ["ckpt-000001"]


@pytest.mark.backend_independent
def test_config_round_trip(tmp_path):
    callback = GANCheckpoint(tmp_path, keep=4, every_n_epochs=2, verbose=1)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    assert isinstance(again, GANCheckpoint)
    assert again.get_config() == callback.get_config()


def make_and_save(directory, gan):
    callback = GANCheckpoint(directory)
    callback.set_model(gan)
    callback.save(1)


if __name__ == "__main__":
    train_job(sys.argv[1], sys.argv[2])
