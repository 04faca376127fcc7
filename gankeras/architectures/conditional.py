"""Class-conditional DCGANs: labels reach the networks through embeddings.

- Conditional GAN (Mirza & Osindero 2014, "Conditional Generative
  Adversarial Nets", arXiv:1411.1784): G takes `[z, labels]`, D takes
  `[images, labels]`; both see the class.
- Auxiliary-classifier GAN (Odena, Olah & Shlens 2017, "Conditional Image
  Synthesis with Auxiliary Classifier GANs", ICML): G takes `[z, labels]`,
  D takes images only and returns `[logits, class_logits]`; `gankeras.GAN`
  adds the classification loss (`auxiliary_weight`).

Labels are int32 `[batch]` class ids in `[0, num_classes)`. The convolutional
layers are the DCGAN's (`gankeras.architectures.dcgan`).
"""

import keras

from gankeras.architectures import dcgan, shapes


def conditional_generator(
    image_shape=(28, 28, 1),
    latent_dim=100,
    num_classes=10,
    embedding_dim=50,
    base_filters=64,
    kernel_size=None,
    upsampling="auto",
    name="conditional_generator",
):
    """DCGAN generator conditioned on a class (Mirza & Osindero 2014).

    The label's learned embedding (`embedding_dim` values) is concatenated
    to z; the rest is `dcgan.generator_body`.

    Args:
        image_shape, latent_dim, base_filters, kernel_size, upsampling: as in
            `gankeras.architectures.dcgan_generator`.
        num_classes: number of classes.
        embedding_dim: size of the label embedding.
        name: model name.

    Returns:
        A Functional `keras.Model`: `[z [batch, latent_dim] float32, labels
        [batch] int32]` -> images `[batch, H, W, C]` in [-1, 1].
    """
    num_classes = _num_classes_or_raise(num_classes)
    z = keras.Input((int(latent_dim),), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    embedded = keras.layers.Embedding(num_classes, embedding_dim, name="label_embedding")(labels)
    features = keras.layers.Concatenate(name="z_and_label")([z, embedded])
    images = dcgan.generator_body(features, image_shape, base_filters, kernel_size, upsampling)
    return keras.Model([z, labels], images, name=name)


def conditional_discriminator(
    image_shape=(28, 28, 1),
    num_classes=10,
    base_filters=64,
    kernel_size=5,
    normalization="batch",
    name="conditional_discriminator",
):
    """DCGAN discriminator conditioned on a class (Mirza & Osindero 2014).

    The label is embedded as one extra `H x W` image channel (a learned
    per-class map), concatenated to the image before the first convolution.

    Args:
        image_shape, base_filters, kernel_size, normalization: as in
            `gankeras.architectures.dcgan_discriminator`.
        num_classes: number of classes.
        name: model name.

    Returns:
        A Functional `keras.Model`: `[images [batch, H, W, C] in [-1, 1],
        labels [batch] int32]` -> logits `[batch, 1]`.
    """
    num_classes = _num_classes_or_raise(num_classes)
    height, width, channels = shapes.image_shape_or_raise(image_shape)
    images = keras.Input((height, width, channels), name="images")
    labels = keras.Input((), dtype="int32", name="labels")
    plane = keras.layers.Embedding(num_classes, height * width, name="label_embedding")(labels)
    plane = keras.layers.Reshape((height, width, 1), name="label_plane")(plane)
    x = keras.layers.Concatenate(name="image_and_label")([images, plane])
    features = dcgan.discriminator_body(x, image_shape, base_filters, kernel_size, normalization)
    logits = keras.layers.Dense(1, name="logits")(features)
    return keras.Model([images, labels], logits, name=name)


def acgan_discriminator(
    image_shape=(28, 28, 1),
    num_classes=10,
    base_filters=64,
    kernel_size=5,
    normalization="batch",
    name="acgan_discriminator",
):
    """ACGAN discriminator (Odena et al. 2017): one trunk, two heads.

    Args:
        image_shape, base_filters, kernel_size, normalization: as in
            `gankeras.architectures.dcgan_discriminator`.
        num_classes: number of classes.
        name: model name.

    Returns:
        A Functional `keras.Model`: images `[batch, H, W, C]` in [-1, 1] ->
        `[logits [batch, 1], class_logits [batch, num_classes]]`.
    """
    num_classes = _num_classes_or_raise(num_classes)
    images = keras.Input(shapes.image_shape_or_raise(image_shape), name="images")
    features = dcgan.discriminator_body(
        images, image_shape, base_filters, kernel_size, normalization
    )
    logits = keras.layers.Dense(1, name="logits")(features)
    class_logits = keras.layers.Dense(num_classes, name="class_logits")(features)
    return keras.Model(images, [logits, class_logits], name=name)


def _num_classes_or_raise(num_classes):
    if num_classes is None or int(num_classes) < 2:
        raise ValueError(
            "Class-conditional networks need `num_classes` >= 2 (e.g. 10 for "
            f"MNIST). Received: num_classes={num_classes!r}"
        )
    return int(num_classes)
