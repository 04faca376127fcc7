"""The ResNet networks of Miyato et al. 2018 and Miyato & Koyama 2018 without
training (that is tests/test_architectures_resnet.py): every documented size,
spectral normalization on every D layer, G's residual up blocks, the
projection and conditional-BN arithmetic, refused sizes."""

import keras
import numpy as np
import pytest

import gankeras
from gankeras import architectures


def numpy(x):
    return keras.ops.convert_to_numpy(x)


# ----------------------------------------------------------------------
# Structure and sizes
# ----------------------------------------------------------------------
# Each size once per variant, channels alternating (builds init weights
# eagerly, slow on JAX).
@pytest.mark.parametrize(
    "size, channels, num_classes",
    [(32, 3, None), (64, 1, None), (128, 3, None), (32, 1, 3), (64, 3, 3), (128, 1, 3)],
)
def test_resnet_builds_for_every_documented_size(size, channels, num_classes):
    shape = (size, size, channels)
    name = "resnet" if num_classes is None else "resnet_projection"
    networks = architectures.build(name, shape, 8, num_classes, base_filters=2)
    g, d = networks["generator"], networks["discriminator"]
    assert tuple(g.outputs[0].shape) == (None,) + shape
    assert tuple(d.outputs[0].shape) == (None, 1)
    assert len(g.inputs) == len(d.inputs) == (1 if num_classes is None else 2)
    # G: one up block per doubling from 4x4; D: down to 8x8, then two plain blocks.
    ups = [
        layer
        for layer in g.layers
        if layer.name.endswith("_resize") and "shortcut" not in layer.name
    ]
    assert len(ups) == int(np.log2(size // 4))
    pools = [layer for layer in d.layers if isinstance(layer, keras.layers.AveragePooling2D)]
    assert len(pools) == 2 * int(np.log2(size // 8))


def test_resnet_128_generates_and_discriminates_one_image():
    networks = architectures.build("resnet", (128, 128, 3), 8, base_filters=2)
    images = networks["generator"].predict(np.zeros((1, 8), "float32"), verbose=0)
    assert images.shape == (1, 128, 128, 3) and np.abs(images).max() <= 1
    logits = networks["discriminator"].predict(images, verbose=0)
    assert logits.shape == (1, 1) and np.isfinite(logits).all()


def test_every_discriminator_layer_is_spectrally_normalized():
    d = architectures.resnet_discriminator((32, 32, 3), filters=4, num_classes=3)
    weighted = [layer for layer in d.layers if layer.weights]
    assert weighted and all(isinstance(layer, gankeras.SpectralNormalization) for layer in weighted)
    # 2 convs + shortcut in each of 4 blocks (the last two without shortcut),
    # the logit layer and the class embedding.
    assert len(weighted) == 3 + 3 + 2 + 2 + 2
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in d.layers)


def test_generator_has_residual_up_blocks_with_batch_norm_and_tanh_output():
    g = architectures.resnet_generator((32, 32, 3), 8, filters=4)
    assert sum(isinstance(layer, keras.layers.Add) for layer in g.layers) == 3
    assert (
        sum(isinstance(layer, keras.layers.BatchNormalization) for layer in g.layers) == 2 * 3 + 1
    )
    assert g.get_layer("to_image").activation is keras.activations.tanh
    conditional = architectures.resnet_generator((32, 32, 3), 8, filters=4, num_classes=3)
    cbn = [
        layer
        for layer in conditional.layers
        if isinstance(layer, architectures.ConditionalBatchNormalization)
    ]
    assert len(cbn) == 2 * 3  # every block's BN; the output BN stays plain


# ----------------------------------------------------------------------
# The arithmetic of the conditional parts
# ----------------------------------------------------------------------
def test_projection_logit_adds_the_class_embedding_dot_the_features():
    d = architectures.resnet_discriminator((32, 32, 1), filters=4, num_classes=3)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 1)).astype("float32")
    phi = numpy(keras.Model(d.inputs[0], d.get_layer("sum_pool").output)(x))
    embedding = numpy(d.get_layer("class_embedding_sn").normalized_weights()[1])  # V / sigma
    logits = {c: numpy(d([x, np.full(2, c, "int32")], training=False))[:, 0] for c in range(3)}
    for c in (1, 2):
        np.testing.assert_allclose(
            logits[c] - logits[0], phi @ (embedding[c] - embedding[0]), rtol=1e-4, atol=1e-4
        )


def test_conditional_batch_norm_scales_and_shifts_per_class():
    layer = architectures.ConditionalBatchNormalization(num_classes=3, epsilon=0.0)
    x = np.random.default_rng(0).normal(size=(3, 2, 2, 2)).astype("float32")
    labels = np.array([0, 2, 1], "int32")
    layer.build([x.shape, labels.shape])
    layer.gamma.assign(np.array([[1, 1], [2, 3], [-1, 0.5]], "float32"))
    layer.beta.assign(np.array([[0, 0], [1, -1], [0.5, 2]], "float32"))
    # Inference: moving mean 0, variance 1, so x_hat = x.
    out = numpy(layer([x, labels], training=False))
    gamma, beta = numpy(layer.gamma)[labels], numpy(layer.beta)[labels]
    np.testing.assert_allclose(out, x * gamma[:, None, None] + beta[:, None, None], rtol=1e-5)
    # Training: batch statistics over batch, H, W; the moving mean moves.
    out = numpy(layer([x, labels], training=True))
    x_hat = (x - x.mean((0, 1, 2))) / x.std((0, 1, 2))
    np.testing.assert_allclose(
        out, x_hat * gamma[:, None, None] + beta[:, None, None], rtol=1e-4, atol=1e-4
    )
    assert np.abs(numpy(layer.batch_norm.moving_mean)).max() > 0


def test_conditional_batch_norm_round_trips_its_config():
    layer = architectures.ConditionalBatchNormalization(7, momentum=0.9, epsilon=2e-5, name="cbn")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, architectures.ConditionalBatchNormalization)
    assert restored.get_config() == layer.get_config()


# ----------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------
@pytest.mark.parametrize("image_shape", [(28, 28, 1), (256, 256, 3), (32, 64, 3), (32, 32, 4)])
def test_unsupported_shape_names_the_supported_sizes(image_shape):
    with pytest.raises(ValueError, match=r"'resnet'.*\[32, 64, 128\].*\[1, 3\] channels"):
        architectures.build("resnet", image_shape, 8, base_filters=2)


def test_projection_needs_classes_and_resnet_refuses_them():
    with pytest.raises(ValueError, match="resnet_projection.*num_classes"):
        architectures.build("resnet_projection", (32, 32, 3), 8, base_filters=2)
    with pytest.raises(ValueError, match="unconditional.*num_classes=3"):
        architectures.build("resnet", (32, 32, 3), 8, 3, base_filters=2)
