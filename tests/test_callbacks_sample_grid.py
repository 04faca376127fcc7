"""SampleGrid: one fixed latent batch drawn as PNG grids, plus a GIF/sheet."""

import os

import keras
import numpy as np
import pytest
from PIL import Image

import gankeras
from gankeras.callbacks import SampleGrid
from gankeras.callbacks.sample_grid import tile


def make_gan():
    z = keras.Input((4,))
    x = keras.layers.Dense(4 * 4, activation="tanh")(z)
    g = keras.Model(z, keras.layers.Reshape((4, 4, 1))(x))
    images = keras.Input((4, 4, 1))
    d = keras.Model(images, keras.layers.Dense(1)(keras.layers.Flatten()(images)))
    gan = gankeras.GAN(g, d)
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=keras.optimizers.Adam(1e-2))
    return gan


REAL = np.random.default_rng(0).uniform(-1, 1, size=(32, 4, 4, 1)).astype("float32")


def test_writes_a_grid_every_n_epochs_and_an_animated_gif(tmp_path):
    callback = SampleGrid(tmp_path, seeds=range(6), columns=3, every_n_epochs=2)
    make_gan().fit(REAL, batch_size=8, epochs=5, verbose=0, callbacks=[callback])
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".png")) == [
        "fakes000002.png",
        "fakes000004.png",
        "fakes000005.png",
    ]
    # 2 rows x 3 columns of 4x4 cells with 1-pixel borders.
    assert Image.open(tmp_path / "fakes000002.png").size == (3 * 5 + 1, 2 * 5 + 1)
    gif = Image.open(tmp_path / "progress.gif")
    assert gif.n_frames == 3


def test_grids_show_the_same_latents_evolving(tmp_path):
    gan = make_gan()
    callback = SampleGrid(tmp_path, seeds=[3, 1, 4, 1], columns=2, summary=None)
    gan.fit(REAL, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    grid = np.asarray(Image.open(tmp_path / "fakes000002.png"), dtype=np.float32)
    expected = gan.generate(seeds=[3, 1, 4, 1])
    np.testing.assert_allclose(grid[1:5, 1:5] / 127.5 - 1.0, expected[0, ..., 0], atol=1 / 127.5)
    # Seed 1 appears twice: identical cells.
    np.testing.assert_array_equal(grid[1:5, 6:10], grid[6:10, 6:10])
    first = np.asarray(Image.open(tmp_path / "fakes000001.png"), dtype=np.float32)
    assert np.abs(first - grid).max() > 0  # training moved the samples


def test_nearest_training_example_column(tmp_path):
    gan = make_gan()
    callback = SampleGrid(
        tmp_path, seeds=range(4), columns=2, training_images=REAL, summary="contact_sheet"
    )
    gan.fit(REAL, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    grid = np.asarray(Image.open(tmp_path / "fakes000001.png"), dtype=np.float32) / 127.5 - 1.0
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1)  # one extra column
    fakes = gan.generate(seeds=range(4))
    for row, fake in ((0, fakes[1]), (1, fakes[3])):
        distances = np.sum((REAL - fake) ** 2, axis=(1, 2, 3))
        nearest = REAL[np.argmin(distances)]
        top = 1 + row * 5
        np.testing.assert_allclose(grid[top : top + 4, 11:15], nearest[..., 0], atol=1 / 127.5)
    assert os.path.exists(tmp_path / "contact_sheet.png")


@pytest.mark.backend_independent
def test_tile_rejects_images_that_are_not_nhwc():
    with pytest.raises(ValueError, match=r"\[n, H, W, C\].*Received shape \(4, 4\)"):
        tile(np.zeros((4, 4)), columns=2)


@pytest.mark.backend_independent
def test_unwritable_directory_fails_when_training_starts(tmp_path):
    (tmp_path / "file").write_text("x")
    callback = SampleGrid(tmp_path / "file" / "grids")
    with pytest.raises(OSError, match="Cannot write"):
        callback.on_train_begin()


@pytest.mark.backend_independent
def test_deserializing_touches_no_file(tmp_path):
    # What a crafted .keras file naming the callback would run.
    config = keras.saving.serialize_keras_object(SampleGrid(tmp_path / "a" / "grids"))
    assert isinstance(keras.saving.deserialize_keras_object(config), SampleGrid)
    assert os.listdir(tmp_path) == []


@pytest.mark.backend_independent
def test_config_round_trip(tmp_path):
    callback = SampleGrid(
        tmp_path, seeds=[5, 6], columns=1, every_n_epochs=3, summary=None, scale=2
    )
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    assert isinstance(again, SampleGrid)
    assert again.get_config() == callback.get_config()
