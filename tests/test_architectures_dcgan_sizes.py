"""DCGAN beyond 28x28: the other documented sizes (32, 64, 128; 1 or 3
channels) build, run and train (Radford et al. 2015's 4x4 start)."""

import keras
import numpy as np
import pytest

import gankeras
from gankeras import architectures


@pytest.mark.parametrize(
    "image_shape, upsampling",
    [
        ((32, 32, 1), "resize"),
        ((64, 64, 1), "transposed"),
        ((128, 128, 1), "resize"),
        ((128, 128, 3), "transposed"),
    ],
)
def test_dcgan_builds_for_the_other_documented_shapes(image_shape, upsampling):
    networks = architectures.build("dcgan", image_shape, 8, base_filters=2, upsampling=upsampling)
    assert tuple(networks["generator"].outputs[0].shape) == (None,) + image_shape
    assert tuple(networks["discriminator"].outputs[0].shape) == (None, 1)


def test_dcgan_128_generates_and_discriminates_rgb_images():
    networks = architectures.build("dcgan", (128, 128, 3), 8, base_filters=2)
    images = networks["generator"].predict(np.zeros((2, 8), "float32"), verbose=0)
    assert images.shape == (2, 128, 128, 3) and np.abs(images).max() <= 1
    logits = networks["discriminator"].predict(images, verbose=0)
    assert logits.shape == (2, 1) and np.isfinite(logits).all()
    # 4x4 base grid, five doublings.
    assert networks["generator"].get_layer("to_grid").target_shape == (4, 4, 2 * 2**5)


def test_dcgan_trains_on_rgb_32x32_and_round_trips(tmp_path):
    gan = gankeras.GAN(**architectures.build("dcgan", (32, 32, 3), 8, base_filters=4))
    gan.compile(loss="hinge")
    images = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    history = gan.fit(images, batch_size=4, epochs=1, verbose=0)
    assert int(gan.optimizer.iterations.numpy()) == 2
    assert np.isfinite(history.history["d_loss"][-1])
    gan.save(tmp_path / "dcgan32.keras")
    loaded = keras.saving.load_model(tmp_path / "dcgan32.keras")
    np.testing.assert_allclose(
        loaded.generate(2, seed=1), gan.generate(2, seed=1), rtol=1e-5, atol=1e-6
    )
