"""Every data source feeds `GAN.fit` on the active backend (2 steps each).

One small GAN is compiled once per module and trained for two steps on a
dataset from each source, so the train step is traced once per backend.
"""

from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds
from keras import layers
from PIL import Image

import gankeras
from gankeras import data
from gankeras.data import tfds_source as tfds_source_lib
from tests.gan_fixtures import image_pair
from tests.test_data_idx import labelled_images, write_idx

SIZE, BATCH = 8, 4


def compiled(gan):
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    return gan


def fit_two_steps(gan, dataset):
    before = int(keras.ops.convert_to_numpy(gan.optimizer.iterations))
    # shuffle=False: the dataset is shuffled already (Keras warns otherwise).
    history = gan.fit(dataset, epochs=1, steps_per_epoch=2, shuffle=False, verbose=0)
    after = int(keras.ops.convert_to_numpy(gan.optimizer.iterations))
    assert after - before == 2
    assert np.isfinite(history.history["d_loss"][-1])
    assert np.isfinite(history.history["g_loss"][-1])


@pytest.fixture(scope="module")
def gan():
    generator, discriminator = image_pair(latent_dim=4, size=SIZE, channels=1)
    return compiled(gankeras.GAN(generator, discriminator))


def idx_source(tmp_path):
    write_idx(tmp_path, labelled_images(16, size=SIZE)[0])
    return data.idx_dataset(tmp_path, batch_size=BATCH)


def folder_source(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(8):
        pixels = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"{i}.png")
    return data.image_folder_dataset(
        tmp_path, image_size=(SIZE, SIZE), color_mode="grayscale", batch_size=BATCH
    )


def array_source(tmp_path):
    images = np.random.default_rng(0).random((8, SIZE, SIZE, 1)).astype("float32")
    return data.array_dataset(images, batch_size=BATCH, value_range=(0, 1))


def tfds_source(tmp_path):
    # mock_data only patches while the dataset is built; the dataset it
    # returns keeps yielding its (random) examples afterwards.
    # The offline check before a download must let the mocked one through.
    with (
        tfds.testing.mock_data(num_examples=8, data_dir=str(tmp_path)),
        mock.patch.object(tfds_source_lib, "network_reachable", return_value=True),
    ):
        return data.tfds_dataset(
            "mnist", batch_size=BATCH, image_size=(SIZE, SIZE), data_dir=str(tmp_path)
        )


@pytest.mark.parametrize(
    "source",
    [idx_source, folder_source, array_source, tfds_source],
    ids=["idx", "folder", "arrays", "tfds"],
)
def test_each_source_trains_a_gan(gan, source, tmp_path):
    fit_two_steps(gan, source(tmp_path))


def test_labelled_dataset_trains_a_conditional_gan(tmp_path):
    num_classes = 10
    z, y = keras.Input((4,)), keras.Input((), dtype="int32")
    h = layers.Concatenate()([z, layers.Embedding(num_classes, 4)(y)])
    h = layers.Dense(SIZE * SIZE, activation="tanh")(h)
    generator = keras.Model([z, y], layers.Reshape((SIZE, SIZE, 1))(h))
    x, y = keras.Input((SIZE, SIZE, 1)), keras.Input((), dtype="int32")
    h = layers.Concatenate()([layers.Flatten()(x), layers.Embedding(num_classes, 4)(y)])
    discriminator = keras.Model([x, y], layers.Dense(1)(h))
    gan = compiled(gankeras.GAN(generator, discriminator, num_classes=num_classes))

    images, labels = labelled_images(16, size=SIZE)
    write_idx(tmp_path, images, labels)
    fit_two_steps(gan, data.idx_dataset(tmp_path, batch_size=BATCH, with_labels=True))
