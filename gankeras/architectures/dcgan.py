"""DCGAN: deep convolutional generator and discriminator.

Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks" (arXiv:1511.06434). Their
guidelines, followed here: no pooling (strided convolutions in D,
fractionally-strided ones in G), batch normalization in G and in D (not on
D's input layer nor G's output layer), ReLU in G with `tanh` output,
LeakyReLU(0.2) in D, no hidden dense layers.

Sizes come from the image shape (`gankeras.architectures.shapes`): 28x28x1
starts G from 7x7x256 and doubles twice; 32x32x3 from 4x4x512 three times;
64x64x3 from 4x4x1024 four times (the paper's LSUN network).
"""

import keras

from gankeras.architectures import shapes
from gankeras.architectures import upsampling as upsampling_lib

NORMALIZATIONS = ("batch", "layer", None)


def dcgan_generator(
    image_shape=(28, 28, 1),
    latent_dim=100,
    base_filters=64,
    kernel_size=None,
    upsampling="auto",
    name="dcgan_generator",
):
    """The DCGAN generator: latents -> images.

    Args:
        image_shape: `(H, W, C)` of the images to make, e.g. (28, 28, 1),
            (32, 32, 3), (64, 64, 3). H and W must halve at least once to a
            grid of at least 4x4.
        latent_dim: size of z.
        base_filters: width of the last hidden layer; the first has
            `base_filters * 2**n` for `n` doublings (1024 at 64x64 with 64).
        kernel_size: convolution kernel; None picks 5 for transposed
            convolutions and 3 after a resize.
        upsampling: "transposed" (Radford et al.), "resize" (nearest
            neighbour + convolution, Odena et al. 2016) or "auto": the
            faster one on the active Keras backend
            (`gankeras.architectures.upsampling.DEFAULT_UPSAMPLING`).
        name: model name.

    Returns:
        A Functional `keras.Model`: `[batch, latent_dim]` float32 latents ->
        `[batch, H, W, C]` images in [-1, 1] (tanh).
    """
    z = keras.Input((int(latent_dim),), name="z")
    images = generator_body(z, image_shape, base_filters, kernel_size, upsampling)
    return keras.Model(z, images, name=name)


def generator_body(features, image_shape, base_filters=64, kernel_size=None, upsampling="auto"):
    """DCGAN generator layers from a feature vector `[batch, d]` to images
    `[batch, H, W, C]` in [-1, 1]; shared with the conditional generators."""
    height, width, channels = shapes.image_shape_or_raise(image_shape)
    steps = shapes.num_resolution_steps(image_shape)
    base_h, base_w = shapes.base_grid(image_shape)
    mode = upsampling_lib.resolve_upsampling(upsampling)
    if kernel_size is None:
        kernel_size = upsampling_lib.DEFAULT_KERNEL_SIZE[mode]
    filters = int(base_filters) * 2**steps

    x = keras.layers.Dense(base_h * base_w * filters, use_bias=False, name="project")(features)
    x = keras.layers.BatchNormalization(name="project_bn")(x)
    x = keras.layers.ReLU(name="project_relu")(x)
    x = keras.layers.Reshape((base_h, base_w, filters), name="to_grid")(x)
    for i in range(1, steps):
        filters //= 2
        x = upsampling_lib.upsample(x, filters, kernel_size, mode, name=f"up{i}", use_bias=False)
        x = keras.layers.BatchNormalization(name=f"up{i}_bn")(x)
        x = keras.layers.ReLU(name=f"up{i}_relu")(x)
    return upsampling_lib.upsample(
        x, channels, kernel_size, mode, name="to_image", activation="tanh"
    )


def dcgan_discriminator(
    image_shape=(28, 28, 1),
    base_filters=64,
    kernel_size=5,
    normalization="batch",
    name="dcgan_discriminator",
):
    """The DCGAN discriminator: images -> one logit.

    Args:
        image_shape: `(H, W, C)` of the images.
        base_filters: filters of the first convolution, doubled at each of the
            `n` stride-2 convolutions (64, 128, 256, 512 at 64x64).
        kernel_size: convolution kernel (5 in Radford et al.'s code).
        normalization: "batch" (Radford et al.; not on the input layer),
            "layer" (per-example, for critics with gradient penalties) or
            None.
        name: model name.

    Returns:
        A Functional `keras.Model`: `[batch, H, W, C]` images in [-1, 1] ->
        `[batch, 1]` logits (no sigmoid).
    """
    images = keras.Input(shapes.image_shape_or_raise(image_shape), name="images")
    features = discriminator_body(images, image_shape, base_filters, kernel_size, normalization)
    logits = keras.layers.Dense(1, name="logits")(features)
    return keras.Model(images, logits, name=name)


def discriminator_body(images, image_shape, base_filters=64, kernel_size=5, normalization="batch"):
    """Strided convolutions + LeakyReLU(0.2) from `[batch, H, W, C']` to a
    flat feature vector `[batch, features]`; shared with the conditional
    discriminators, the WGAN-GP critic and the VAE-GAN encoder."""
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"`normalization` must be one of {NORMALIZATIONS}. "
            f"Received: normalization={normalization!r}"
        )
    steps = shapes.num_resolution_steps(image_shape)
    x = images
    for i in range(steps):
        x = keras.layers.Conv2D(
            int(base_filters) * 2**i,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=normalization is None or i == 0,
            name=f"down{i + 1}",
        )(x)
        if i > 0 and normalization == "batch":
            x = keras.layers.BatchNormalization(name=f"down{i + 1}_bn")(x)
        elif i > 0 and normalization == "layer":
            x = keras.layers.LayerNormalization(axis=[1, 2, 3], name=f"down{i + 1}_ln")(x)
        x = keras.layers.LeakyReLU(0.2, name=f"down{i + 1}_lrelu")(x)
    return keras.layers.Flatten(name="flatten")(x)
