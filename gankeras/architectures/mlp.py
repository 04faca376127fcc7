"""The original fully connected GAN.

Goodfellow et al. 2014, "Generative Adversarial Nets" (NeurIPS,
arXiv:1406.2661). Their MNIST models (the released pylearn2 configs): a
generator of ReLU layers (1200 units each) and a discriminator of maxout
layers (240 units, 5 pieces) with dropout. Here the generator ends in `tanh`
(images in [-1, 1], the gankeras convention, instead of the paper's sigmoid)
and reshapes to the image shape, so it plugs into `gankeras.GAN` unchanged;
the discriminator flattens its input.
"""

import math

import keras

from gankeras.architectures.layers import Maxout


def mlp_generator(
    image_shape=(28, 28, 1),
    latent_dim=100,
    hidden_units=(1200, 1200),
    name="mlp_generator",
):
    """Fully connected generator (Goodfellow et al. 2014).

    Args:
        image_shape: shape of one sample, e.g. `(28, 28, 1)`, or `(1,)` /
            `(2,)` for toy distributions.
        latent_dim: size of z.
        hidden_units: width of each ReLU layer.
        name: model name.

    Returns:
        A Functional `keras.Model`: `[batch, latent_dim]` -> `[batch,
        *image_shape]` with values in [-1, 1] (tanh).
    """
    image_shape = _sample_shape(image_shape)
    z = keras.Input((int(latent_dim),), name="z")
    x = z
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden{i + 1}")(x)
    x = keras.layers.Dense(math.prod(image_shape), activation="tanh", name="to_pixels")(x)
    images = keras.layers.Reshape(image_shape, name="to_image")(x)
    return keras.Model(z, images, name=name)


def mlp_discriminator(
    image_shape=(28, 28, 1),
    hidden_units=(240, 240),
    pieces=5,
    dropout=0.5,
    name="mlp_discriminator",
):
    """Maxout discriminator (Goodfellow et al. 2014).

    Args:
        image_shape: shape of one sample.
        hidden_units: units of each `Maxout` layer.
        pieces: affine pieces per maxout unit.
        dropout: dropout rate before each layer (the paper trains D with
            dropout); 0 disables it.
        name: model name.

    Returns:
        A Functional `keras.Model`: `[batch, *image_shape]` in [-1, 1] ->
        `[batch, 1]` logits.
    """
    image_shape = _sample_shape(image_shape)
    images = keras.Input(image_shape, name="images")
    x = keras.layers.Flatten(name="flatten")(images)
    for i, units in enumerate(hidden_units):
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
        x = Maxout(units, pieces, name=f"maxout{i + 1}")(x)
    logits = keras.layers.Dense(1, name="logits")(x)
    return keras.Model(images, logits, name=name)


def _sample_shape(image_shape):
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        shape = ()
    if not shape or min(shape) < 1:
        raise ValueError(
            "`image_shape` must be a tuple of positive sizes, e.g. (28, 28, 1) "
            f"or (2,). Received: image_shape={image_shape!r}"
        )
    return shape
