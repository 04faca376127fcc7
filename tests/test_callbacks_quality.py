"""Quality: FD / KID every N epochs into the logs, the best generator kept
as best.keras + best.json, early stop on stagnation."""

import json
import os

import keras
import numpy as np
import pytest

import gankeras
from gankeras.callbacks import Quality
from gankeras.evaluation import frechet_distance, kernel_distance
from tests import gan_fixtures

REAL = gan_fixtures.images(n=48, size=8)
# A cheap fixed extractor: a random projection of the pixels to 4 features.
PROJECTION = np.random.default_rng(1).normal(size=(64, 4))


def extract(images):
    return np.asarray(images, np.float64).reshape(len(images), -1) @ PROJECTION


def make_gan(learning_rate=1e-2):
    generator, discriminator = gan_fixtures.image_pair(latent_dim=8, size=8, batchnorm=False)
    gan = gankeras.GAN(generator, discriminator)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate),
        g_optimizer=keras.optimizers.Adam(learning_rate, use_ema=True, ema_momentum=0.5),
    )
    return gan


def quality(**kwargs):
    kwargs.setdefault("num_samples", 24)
    return Quality(extract, REAL, **kwargs)


def test_metrics_are_logged_on_measured_epochs_and_equal_a_recomputation():
    gan = make_gan()
    callback = quality(every_n_epochs=2)
    history = gan.fit(REAL, batch_size=16, epochs=3, verbose=0, callbacks=[callback])
    assert [epoch for epoch, _ in callback.history] == [2, 3]  # every 2nd and the last
    assert len(history.history["fd"]) == len(history.history["kid"]) == 2
    fake = extract(gan.generate(24, seed=0))  # EMA weights, like the callback
    expected = frechet_distance(extract(REAL), fake)
    assert history.history["fd"][-1] == pytest.approx(expected, rel=1e-6)
    assert history.history["kid"][-1] == pytest.approx(
        kernel_distance(extract(REAL), fake)[0], rel=1e-6, abs=1e-9
    )


def test_best_generator_is_kept_with_its_epoch_and_value(tmp_path):
    gan = make_gan()
    callback = quality(directory=tmp_path, metrics=("fd",))
    history = gan.fit(REAL, batch_size=16, epochs=4, verbose=0, callbacks=[callback])
    fds = history.history["fd"]
    record = json.loads((tmp_path / "best.json").read_text())
    assert record["epoch"] == int(np.argmin(fds)) + 1
    assert record["value"] == pytest.approx(min(fds))
    assert record["monitor"] == "fd" and record["ema"] is True
    # The saved generator is the one that scored: its samples give that FD.
    best = keras.saving.load_model(tmp_path / "best.keras")
    z = gankeras.latents_from_seeds(np.arange(24), 8)
    images = keras.ops.convert_to_numpy(best(z))
    fd = frechet_distance(extract(REAL), extract(images))
    assert fd == pytest.approx(record["value"], rel=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["best.json", "best.keras"]  # no temporaries


def test_stops_when_the_metric_stagnates(tmp_path):
    gan = make_gan(learning_rate=0.0)  # G never changes: FD is flat
    callback = quality(directory=tmp_path, patience=2)
    history = gan.fit(REAL, batch_size=16, epochs=10, verbose=0, callbacks=[callback])
    assert len(history.history["fd"]) == 3  # best at 1, no gain at 2 and 3
    assert callback.stopped_epoch == 3
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 1


def write_best(directory, value, **overrides):
    record = {
        "epoch": 7,
        "monitor": "fd",
        "value": value,
        "metrics": {"fd": value},
        "num_samples": 24,
        "seed": 0,
        "ema": True,
    }
    record.update(overrides)
    (directory / "best.json").write_text(json.dumps(record))


def test_resumed_run_keeps_a_better_recorded_best(tmp_path):
    write_best(tmp_path, -1.0)  # better than any FD
    callback = quality(directory=tmp_path, resume=True)
    make_gan().fit(REAL, batch_size=16, epochs=2, initial_epoch=0, verbose=0, callbacks=[callback])
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 7
    assert not (tmp_path / "best.keras").exists()
    # Without resume the recorded best is ignored and replaced.
    fresh = quality(directory=tmp_path)
    make_gan().fit(REAL, batch_size=16, epochs=1, verbose=0, callbacks=[fresh])
    assert json.loads((tmp_path / "best.json").read_text())["epoch"] == 1


def test_resume_refuses_a_best_measured_otherwise(tmp_path):
    write_best(tmp_path, 1.0, num_samples=1000)
    callback = quality(directory=tmp_path, resume=True)
    with pytest.raises(ValueError, match="do not compare"):
        make_gan().fit(REAL, batch_size=16, epochs=1, verbose=0, callbacks=[callback])


def test_a_domain_classifier_is_an_extractor():
    class Classifier:  # the DomainClassifier interface
        def features_and_logits(self, images):
            features = extract(images)
            return features, features[:, :2]

    gan = make_gan()
    callback = Quality(Classifier(), REAL, num_samples=24, metrics=("fd",))
    history = gan.fit(REAL, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    fake = extract(gan.generate(24, seed=0))
    expected = frechet_distance(extract(REAL), fake)
    assert history.history["fd"][0] == pytest.approx(expected, rel=1e-6)


def test_real_images_of_the_wrong_shape_are_refused():
    callback = Quality(extract, np.zeros((48, 4, 4, 1), np.float32), num_samples=24)
    with pytest.raises(ValueError, match="real_images"):
        make_gan().fit(REAL, batch_size=16, epochs=1, verbose=0, callbacks=[callback])


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metrics": ("is",)}, "metrics"),
        ({"monitor": "kid", "metrics": ("fd",)}, "monitor"),
        ({"every_n_epochs": 0}, "every_n_epochs"),
        ({"patience": 0}, "patience"),
        ({"min_delta": -1.0}, "min_delta"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        quality(**kwargs)


@pytest.mark.backend_independent
def test_config_round_trip(tmp_path):
    callback = quality(directory=tmp_path, every_n_epochs=5, patience=3, monitor="kid")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    assert restored.get_config() == callback.get_config()
    # Restored without its extractor and data, it says what to set.
    with pytest.raises(ValueError, match="feature_extractor"):
        restored.set_model(make_gan())
        restored.on_train_begin()
