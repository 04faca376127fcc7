"""gankeras.architectures: shapes, layer choices, training and saving."""

import keras
import numpy as np
import pytest

import gankeras
from gankeras import architectures
from gankeras.architectures import shapes

# Small widths keep every test fast; the layer structure is the same.
SMALL = {
    "mlp": dict(hidden_units=(32, 32), d_hidden_units=(16, 16)),
    "dcgan": dict(base_filters=4),
    "conditional": dict(base_filters=4),
    "acgan": dict(base_filters=4),
    "vaegan": dict(base_filters=4),
    "wgan_gp": dict(base_filters=4),
}
COMPILE = {
    "wgan_gp": dict(loss="wasserstein", gradient_penalty=10.0),
    "vaegan": dict(kl_weight=1.0, reconstruction_weight=1.0),
}
NUM_CLASSES = {"conditional": 10, "acgan": 10}
# Trained, saved and exported in their own files (32x32 and up).
RESNETS = ("resnet", "resnet_projection")


def _small(name, image_shape=(28, 28, 1), latent_dim=8):
    return architectures.build(name, image_shape, latent_dim, NUM_CLASSES.get(name), **SMALL[name])


def _dataset(batch=8, image_shape=(28, 28, 1), labels=False):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2 * batch,) + image_shape).astype("float32")
    if labels:
        return images, rng.integers(0, 10, 2 * batch).astype("int32")
    return images


@pytest.fixture(scope="module", params=sorted(set(architectures.ARCHITECTURES) - set(RESNETS)))
def trained(request, tmp_path_factory):
    """Each architecture in a GAN, trained two steps, saved, and reloaded."""
    keras.utils.set_random_seed(0)
    name = request.param
    gan = gankeras.GAN(**_small(name))
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3),
        g_optimizer=keras.optimizers.Adam(1e-3),
        **COMPILE.get(name, {}),
    )
    data = _dataset(labels=name in NUM_CLASSES)
    x, y = data if isinstance(data, tuple) else (data, None)
    history = gan.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp(name) / f"{name}.keras"
    gan.save(path)
    return name, gan, history, keras.saving.load_model(path)


# ----------------------------------------------------------------------
# Every architecture: trains in a GAN, round-trips through .keras
# ----------------------------------------------------------------------
def test_architecture_trains_two_steps_with_finite_losses(trained):
    name, gan, history, _ = trained
    assert int(gan.optimizer.iterations.numpy()) == 2, name
    for key in ("d_loss", "g_loss"):
        assert np.isfinite(history.history[key][-1]), (name, key)


def test_architecture_round_trips_through_keras_file(trained):
    name, gan, _, loaded = trained
    assert isinstance(loaded, gankeras.GAN)
    np.testing.assert_allclose(
        loaded.generate(4, seed=3),
        gan.generate(4, seed=3),
        rtol=1e-5,
        atol=1e-6,
        err_msg=name,
    )


def test_generated_images_lie_in_minus_one_to_one(trained):
    name, gan, _, _ = trained
    images = gan.generate(4, seed=0)
    assert images.shape == (4, 28, 28, 1), name
    assert images.min() >= -1.0 and images.max() <= 1.0, name


@pytest.mark.backend_independent
def test_every_registered_architecture_has_training_tests():
    # The fixture above trains the others; tests/test_architectures_resnet.py these.
    assert set(SMALL) | set(RESNETS) == set(architectures.ARCHITECTURES)


# ----------------------------------------------------------------------
# Documented shapes
# ----------------------------------------------------------------------
@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3), (64, 64, 3)])
@pytest.mark.parametrize("upsampling", ["transposed", "resize"])
def test_dcgan_builds_for_documented_shapes(image_shape, upsampling):
    # Symbolic shapes only: eager convolutions are slow to dispatch on JAX.
    g = architectures.dcgan_generator(image_shape, 16, base_filters=4, upsampling=upsampling)
    d = architectures.dcgan_discriminator(image_shape, base_filters=4)
    assert tuple(g.output.shape) == (None,) + image_shape
    assert tuple(d.input.shape) == (None,) + image_shape
    assert tuple(d.output.shape) == (None, 1)


@pytest.mark.backend_independent  # width arithmetic only; 19M weights are slow to init on JAX
def test_dcgan_64x64_has_radfords_widths():
    g = architectures.dcgan_generator((64, 64, 3), 100, upsampling="transposed")
    widths = [
        layer.filters for layer in g.layers if isinstance(layer, keras.layers.Conv2DTranspose)
    ]
    assert g.get_layer("to_grid").target_shape == (4, 4, 1024)
    assert widths == [512, 256, 128, 3]


def test_dcgan_uses_batchnorm_in_g_leaky_relu_and_strides_in_d_tanh_out():
    g = architectures.dcgan_generator((32, 32, 3), 16, base_filters=4, upsampling="transposed")
    d = architectures.dcgan_discriminator((32, 32, 3), base_filters=4)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in g.layers)
    assert g.layers[-1].activation is keras.activations.tanh
    convs = [layer for layer in d.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.strides for c in convs] == [(2, 2)] * 3
    assert any(isinstance(layer, keras.layers.LeakyReLU) for layer in d.layers)
    assert not any(isinstance(layer, keras.layers.MaxPooling2D) for layer in d.layers)


def test_resize_upsampling_has_no_transposed_convolutions():
    g = architectures.dcgan_generator((28, 28, 1), 16, base_filters=4, upsampling="resize")
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in g.layers)
    assert sum(isinstance(layer, keras.layers.UpSampling2D) for layer in g.layers) == 2


def test_conditional_networks_take_int_labels():
    g = architectures.conditional_generator((28, 28, 1), 16, num_classes=10, base_filters=4)
    d = architectures.conditional_discriminator((28, 28, 1), num_classes=10, base_filters=4)
    z, labels = np.zeros((3, 16), "float32"), np.array([0, 4, 9], "int32")
    images = g([z, labels])
    assert tuple(images.shape) == (3, 28, 28, 1)
    assert tuple(d([keras.ops.convert_to_numpy(images), labels]).shape) == (3, 1)


def test_acgan_discriminator_returns_logits_and_class_logits():
    d = architectures.acgan_discriminator((32, 32, 3), num_classes=7, base_filters=4)
    logits, class_logits = d.outputs
    assert tuple(logits.shape) == (None, 1) and tuple(class_logits.shape) == (None, 7)


def test_vaegan_encoder_returns_mean_and_log_var():
    encoder = architectures.vaegan_encoder((64, 64, 3), latent_dim=12, base_filters=4)
    mean, log_var = encoder.outputs
    assert tuple(mean.shape) == (None, 12) and tuple(log_var.shape) == (None, 12)


def test_wgan_gp_critic_has_no_batch_norm():
    critic = architectures.wgan_gp_critic((32, 32, 3), base_filters=4)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers)
    assert any(isinstance(layer, keras.layers.LayerNormalization) for layer in critic.layers)


def test_mlp_generator_reshapes_to_the_image_shape():
    g = architectures.mlp_generator((28, 28, 1), 8, hidden_units=(16,))
    assert tuple(g.output.shape) == (None, 28, 28, 1)


def test_maxout_takes_the_max_of_its_pieces():
    layer = architectures.Maxout(units=1, pieces=3)
    layer.build((None, 1))
    layer.kernel.assign(np.array([[1.0, -2.0, 0.5]], "float32"))
    out = keras.ops.convert_to_numpy(layer(np.array([[2.0], [-1.0]], "float32")))
    np.testing.assert_allclose(out, [[2.0], [2.0]])


# ----------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------
@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "image_shape, steps, base",
    [
        ((28, 28, 1), 2, (7, 7)),
        ((32, 32, 3), 3, (4, 4)),
        ((64, 64, 3), 4, (4, 4)),
        ((48, 64, 3), 3, (6, 8)),
    ],
)
def test_resolution_steps_derive_from_the_image_shape(image_shape, steps, base):
    assert shapes.num_resolution_steps(image_shape) == steps
    assert shapes.base_grid(image_shape) == base


@pytest.mark.backend_independent
@pytest.mark.parametrize("image_shape", [(27, 27, 1), (6, 6, 1), (28, 28)])
def test_unusable_image_shape_names_the_shape(image_shape):
    with pytest.raises(ValueError, match="image_shape"):
        shapes.num_resolution_steps(image_shape)


def test_build_rejects_unknown_name_listing_the_known_ones():
    with pytest.raises(ValueError, match="Unknown architecture 'stylegan'.*dcgan"):
        architectures.build("stylegan")


def test_build_rejects_classes_for_unconditional_architectures():
    with pytest.raises(ValueError, match="num_classes=10"):
        architectures.build("dcgan", num_classes=10, base_filters=4)


def test_build_rejects_conditional_without_classes():
    with pytest.raises(ValueError, match="num_classes"):
        architectures.build("acgan", base_filters=4)


@pytest.mark.parametrize("image_shape", [(48, 48, 3), (32, 64, 3), (256, 256, 3), (64, 64, 4)])
def test_build_refuses_an_unsupported_size_naming_the_supported_ones(image_shape):
    with pytest.raises(ValueError, match=r"'dcgan'.*\[28, 32, 64, 128\].*\[1, 3\] channels"):
        architectures.build("dcgan", image_shape, 8, base_filters=4)


@pytest.mark.backend_independent
def test_every_convolutional_architecture_documents_its_sizes():
    assert set(architectures.SUPPORTED_SIZES) == set(architectures.ARCHITECTURES) - {"mlp"}


def test_resolve_options_fills_defaults_and_resolves_auto_upsampling():
    expected = architectures.DEFAULT_UPSAMPLING[keras.backend.backend()]
    assert architectures.resolve_options("dcgan") == {"base_filters": 64, "upsampling": expected}
    assert architectures.resolve_options("wgan_gp", upsampling="resize", base_filters=8) == {
        "base_filters": 8,
        "upsampling": "resize",
        "normalization": "layer",
    }
    assert architectures.resolve_options("resnet") == {"base_filters": 128}


def test_resolved_options_build_the_same_networks_as_auto():
    # What the pipeline records must rebuild what it trained.
    auto = architectures.build("dcgan", (28, 28, 1), 8, base_filters=4)["generator"]
    resolved = architectures.build(
        "dcgan", (28, 28, 1), 8, **architectures.resolve_options("dcgan", base_filters=4)
    )["generator"]
    assert [type(layer).__name__ for layer in auto.layers] == [
        type(layer).__name__ for layer in resolved.layers
    ]


def test_resolve_options_refuses_an_unknown_option_naming_the_known_ones():
    with pytest.raises(
        ValueError, match=r"'resnet' does not take.*\['upsampling'\].*\['base_filters'\]"
    ):
        architectures.resolve_options("resnet", upsampling="resize")


def test_build_rejects_an_option_the_architecture_lacks():
    with pytest.raises(ValueError, match="'mlp' does not take"):
        architectures.build("mlp", upsampling="resize")


def test_unknown_upsampling_is_refused():
    with pytest.raises(ValueError, match="upsampling='pixel'"):
        architectures.dcgan_generator((28, 28, 1), 8, upsampling="pixel")


def test_wgan_gp_critic_refuses_batch_norm():
    with pytest.raises(ValueError, match="batch normalization"):
        architectures.wgan_gp_critic((28, 28, 1), normalization="batch")


def test_auto_upsampling_is_the_active_backends_default():
    expected = architectures.DEFAULT_UPSAMPLING[keras.backend.backend()]
    g = architectures.dcgan_generator((28, 28, 1), 8, base_filters=4)
    has_transposed = any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in g.layers)
    assert has_transposed == (expected == "transposed")
