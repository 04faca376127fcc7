"""ResNet generator and spectrally normalized ResNet discriminator.

Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for
Generative Adversarial Networks" (ICLR, arXiv:1802.05957), the CIFAR-10
ResNet of their Table 4 (appendix B.4), trained with the hinge loss
(`GAN.compile(loss="hinge")`, Adam(2e-4, beta_1=0, beta_2=0.9), 5 D steps
per G step in the paper):

- G: z (128) -> dense to 4x4x256 -> 3 x ResBlock up (256) -> BN, ReLU,
  3x3 conv to C, tanh. ResBlock up: BN, ReLU, nearest 2x upsampling, 3x3
  conv, BN, ReLU, 3x3 conv; shortcut: upsampling, 1x1 conv.
- D: ResBlock down (128, the "optimized" first block: 3x3 conv, ReLU, 3x3
  conv, 2x2 average pooling; shortcut: pooling, 1x1 conv) -> ResBlock down
  -> 2 x ResBlock (128) -> ReLU -> global sum pooling -> dense to 1.
  ResBlock: ReLU, 3x3 conv, ReLU, 3x3 conv (+ 2x2 average pooling); the
  shortcut is a 1x1 conv (+ pooling) when the block downsamples or changes
  width, else the identity. Spectral normalization
  (`gankeras.SpectralNormalization`, one power iteration a step) on every
  conv and dense layer of D; no batch normalization in D.

Class-conditional variant (Miyato & Koyama 2018, "cGANs with Projection
Discriminator", ICLR, arXiv:1802.05637): every batch normalization inside
G's blocks becomes `ConditionalBatchNormalization` (per-class scale and
offset), and D gets the projection head
`logit = psi(phi(x)) + <V y, phi(x)>`, `phi(x)` the pooled features, `V` a
spectrally normalized class embedding.

Sizes (square, 1 or 3 channels, `SUPPORTED_SIZES`): 32 is the paper's
network; each doubling adds one up block to G (G starts from 4x4) and one
down block to D (D always ends at 8x8 before its two plain blocks), at the
same widths. 64 and 128 are therefore this CIFAR design grown, not the
paper's ImageNet networks (which also widen with depth).
"""

import math

import keras

from gankeras.architectures import layers as gan_layers
from gankeras.architectures import shapes
from gankeras.models.spectral_normalization import SpectralNormalization

SUPPORTED_SIZES = (32, 64, 128)
SUPPORTED_CHANNELS = (1, 3)


def check_image_shape(image_shape, architecture="resnet"):
    """Returns `(size, channels)` of a supported square shape, or raises
    naming the supported ones."""
    height, width, channels = shapes.image_shape_or_raise(image_shape)
    if height != width or height not in SUPPORTED_SIZES or channels not in SUPPORTED_CHANNELS:
        raise ValueError(
            f"The {architecture!r} networks support square images of side "
            f"{list(SUPPORTED_SIZES)} with {list(SUPPORTED_CHANNELS)} channels. "
            f"Received: image_shape={tuple(image_shape)}. Resize the images "
            "(e.g. --image_size=32) or pick another architecture."
        )
    return height, channels


def resnet_generator(
    image_shape=(32, 32, 3),
    latent_dim=128,
    filters=256,
    num_classes=None,
    name=None,
):
    """Miyato et al. 2018's ResNet generator (conditional BN with classes).

    Args:
        image_shape: `(S, S, C)`, S in `SUPPORTED_SIZES`, C 1 or 3.
        latent_dim: size of z (128 in the paper).
        filters: width of every block (256 in the paper).
        num_classes: None for the unconditional generator; else the class
            count, and the batch normalizations of the blocks are
            class-conditional (Miyato & Koyama 2018).
        name: model name (default "resnet_generator" /
            "resnet_conditional_generator").

    Returns:
        A Functional `keras.Model`: z `[batch, latent_dim]` float32 (and
        labels `[batch]` int32 when conditional: inputs `[z, labels]`) ->
        images `[batch, S, S, C]` in [-1, 1] (tanh).
    """
    size, channels = check_image_shape(image_shape)
    filters = int(filters)
    z = keras.Input((int(latent_dim),), name="z")
    labels = None
    if num_classes is not None:
        num_classes = _num_classes_or_raise(num_classes)
        labels = keras.Input((), dtype="int32", name="labels")
    x = keras.layers.Dense(4 * 4 * filters, name="project")(z)
    x = keras.layers.Reshape((4, 4, filters), name="to_grid")(x)
    for i in range(int(math.log2(size // 4))):
        x = _generator_block(x, labels, filters, num_classes, name=f"up{i + 1}")
    x = keras.layers.BatchNormalization(name="out_bn")(x)
    x = keras.layers.ReLU(name="out_relu")(x)
    images = keras.layers.Conv2D(channels, 3, padding="same", activation="tanh", name="to_image")(x)
    if labels is None:
        return keras.Model(z, images, name=name or "resnet_generator")
    return keras.Model([z, labels], images, name=name or "resnet_conditional_generator")


def resnet_discriminator(
    image_shape=(32, 32, 3),
    filters=128,
    num_classes=None,
    name=None,
):
    """Miyato et al. 2018's spectrally normalized ResNet discriminator
    (with Miyato & Koyama 2018's projection head when `num_classes`).

    Args:
        image_shape: `(S, S, C)`, S in `SUPPORTED_SIZES`, C 1 or 3.
        filters: width of every block (128 in the paper).
        num_classes: None for the unconditional D; else the class count and
            D takes `[images, labels]` and adds `<V y, phi(x)>`.
        name: model name (default "resnet_discriminator" /
            "resnet_projection_discriminator").

    Returns:
        A Functional `keras.Model`: images `[batch, S, S, C]` in [-1, 1]
        (and labels `[batch]` int32: inputs `[images, labels]`) -> logits
        `[batch, 1]` (unbounded; the hinge loss's D(x)).
    """
    size, channels = check_image_shape(image_shape)
    filters = int(filters)
    images = keras.Input((size, size, channels), name="images")
    x = _optimized_block(images, filters, name="down1")
    for i in range(1, int(math.log2(size // 8))):
        x = _discriminator_block(x, filters, downsample=True, name=f"down{i + 1}")
    x = _discriminator_block(x, filters, downsample=False, name="block1")
    x = _discriminator_block(x, filters, downsample=False, name="block2")
    x = keras.layers.ReLU(name="out_relu")(x)
    features = gan_layers.GlobalSumPooling2D(name="sum_pool")(x)
    logits = _sn(keras.layers.Dense(1, name="logits"))(features)
    if num_classes is None:
        return keras.Model(images, logits, name=name or "resnet_discriminator")
    num_classes = _num_classes_or_raise(num_classes)
    labels = keras.Input((), dtype="int32", name="labels")
    one_hot = keras.layers.CategoryEncoding(num_classes, output_mode="one_hot", name="one_hot")(
        labels
    )
    embedded = _sn(keras.layers.Dense(filters, use_bias=False, name="class_embedding"))(one_hot)
    projection = keras.layers.Dot(axes=1, name="projection")([embedded, features])
    logits = keras.layers.Add(name="projected_logits")([logits, projection])
    return keras.Model([images, labels], logits, name=name or "resnet_projection_discriminator")


def _sn(layer):
    return SpectralNormalization(layer, name=f"{layer.name}_sn")


def _conv(filters, kernel_size, name):
    return _sn(keras.layers.Conv2D(filters, kernel_size, padding="same", name=name))


def _norm(x, labels, num_classes, name):
    if labels is None:
        return keras.layers.BatchNormalization(name=name)(x)
    return gan_layers.ConditionalBatchNormalization(num_classes, name=name)([x, labels])


def _generator_block(x, labels, filters, num_classes, name):
    h = _norm(x, labels, num_classes, f"{name}_bn1")
    h = keras.layers.ReLU(name=f"{name}_relu1")(h)
    h = keras.layers.UpSampling2D(2, name=f"{name}_resize")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(h)
    h = _norm(h, labels, num_classes, f"{name}_bn2")
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(h)
    s = keras.layers.UpSampling2D(2, name=f"{name}_shortcut_resize")(x)
    s = keras.layers.Conv2D(filters, 1, name=f"{name}_shortcut")(s)
    return keras.layers.Add(name=f"{name}_add")([h, s])


def _optimized_block(x, filters, name):
    h = _conv(filters, 3, f"{name}_conv1")(x)
    h = keras.layers.ReLU(name=f"{name}_relu")(h)
    h = _conv(filters, 3, f"{name}_conv2")(h)
    h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
    s = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(x)
    s = _sn(keras.layers.Conv2D(filters, 1, name=f"{name}_shortcut"))(s)
    return keras.layers.Add(name=f"{name}_add")([h, s])


def _discriminator_block(x, filters, downsample, name):
    h = keras.layers.ReLU(name=f"{name}_relu1")(x)
    h = _conv(filters, 3, f"{name}_conv1")(h)
    h = keras.layers.ReLU(name=f"{name}_relu2")(h)
    h = _conv(filters, 3, f"{name}_conv2")(h)
    s = x
    if downsample or x.shape[-1] != filters:
        s = _sn(keras.layers.Conv2D(filters, 1, name=f"{name}_shortcut"))(s)
    if downsample:
        h = keras.layers.AveragePooling2D(2, name=f"{name}_pool")(h)
        s = keras.layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(s)
    return keras.layers.Add(name=f"{name}_add")([h, s])


def _num_classes_or_raise(num_classes):
    if num_classes is None or int(num_classes) < 2:
        raise ValueError(
            "Class-conditional networks need `num_classes` >= 2. "
            f"Received: num_classes={num_classes!r}"
        )
    return int(num_classes)
