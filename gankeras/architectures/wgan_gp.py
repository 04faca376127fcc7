"""The WGAN-GP critic.

Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville 2017, "Improved Training of
Wasserstein GANs" (NeurIPS, arXiv:1704.00028). The gradient penalty is taken
per example, so the critic must not use batch normalization (which mixes the
examples of a batch); the paper recommends layer normalization instead, or
none. Train with `loss="wasserstein"`, `gradient_penalty=10` and
`d_steps=5`, Adam(1e-4, beta_1=0, beta_2=0.9) as in the paper.
"""

from gankeras.architectures import dcgan


def wgan_gp_critic(
    image_shape=(28, 28, 1),
    base_filters=64,
    kernel_size=5,
    normalization="layer",
    name="wgan_gp_critic",
):
    """DCGAN-shaped critic without batch normalization.

    Args:
        image_shape: `(H, W, C)` of the images.
        base_filters, kernel_size: as in `dcgan_discriminator`.
        normalization: "layer" (Gulrajani et al.'s recommendation) or None.
        name: model name.

    Returns:
        A Functional `keras.Model`: images `[batch, H, W, C]` in [-1, 1] ->
        `[batch, 1]` unbounded critic scores.
    """
    if normalization == "batch":
        raise ValueError(
            "A WGAN-GP critic must not use batch normalization: the gradient "
            "penalty is per example (Gulrajani et al. 2017). Received: "
            "normalization='batch'. Use 'layer' or None."
        )
    return dcgan.dcgan_discriminator(
        image_shape, base_filters, kernel_size, normalization=normalization, name=name
    )
