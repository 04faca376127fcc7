"""The VAE-GAN encoder.

Larsen, Sønderby, Larochelle & Winther 2016, "Autoencoding beyond pixels
using a learned similarity metric" (ICML, arXiv:1512.09300): a VAE whose
decoder is the GAN's generator. The encoder maps images to the mean and log
variance of q(z|x); `gankeras.GAN(..., encoder=...)` adds the KL and
reconstruction terms to the generator's update (`kl_weight`,
`reconstruction_weight`). Pair it with `dcgan_generator` and
`dcgan_discriminator` (`build("vaegan", ...)` does).
"""

import keras

from gankeras.architectures import dcgan, shapes


def vaegan_encoder(
    image_shape=(28, 28, 1),
    latent_dim=100,
    base_filters=64,
    kernel_size=5,
    name="vaegan_encoder",
):
    """Convolutional encoder q(z|x): DCGAN discriminator trunk, two heads.

    Args:
        image_shape: `(H, W, C)` of the images.
        latent_dim: size of z (the generator's latent size).
        base_filters, kernel_size: as in `dcgan_discriminator`.
        name: model name.

    Returns:
        A Functional `keras.Model`: images `[batch, H, W, C]` in [-1, 1] ->
        `[mean [batch, latent_dim], log_var [batch, latent_dim]]`.
    """
    images = keras.Input(shapes.image_shape_or_raise(image_shape), name="images")
    features = dcgan.discriminator_body(images, image_shape, base_filters, kernel_size, "batch")
    mean = keras.layers.Dense(int(latent_dim), name="mean")(features)
    log_var = keras.layers.Dense(int(latent_dim), name="log_var")(features)
    return keras.Model(images, [mean, log_var], name=name)
