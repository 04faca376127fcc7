"""`build(name, ...)`: the networks of a named architecture, ready for `GAN`.

A registry instead of an if-chain: `ARCHITECTURES` maps each name to a
function `(image_shape, latent_dim, num_classes, **options) -> dict` of
`gankeras.GAN` keyword arguments, so the pipeline picks networks by name:

    gan = gankeras.GAN(**build("dcgan", image_shape=(28, 28, 1), latent_dim=100))
"""

from gankeras.architectures import conditional
from gankeras.architectures import dcgan
from gankeras.architectures import mlp
from gankeras.architectures import vaegan
from gankeras.architectures import wgan_gp


def _mlp(image_shape, latent_dim, num_classes, hidden_units=(1200, 1200), d_hidden_units=(240, 240)):
    _no_classes("mlp", num_classes)
    return dict(
        generator=mlp.mlp_generator(image_shape, latent_dim, hidden_units),
        discriminator=mlp.mlp_discriminator(image_shape, d_hidden_units),
        latent_dim=latent_dim,
    )


def _dcgan(image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto"):
    _no_classes("dcgan", num_classes)
    return dict(
        generator=dcgan.dcgan_generator(image_shape, latent_dim, base_filters, upsampling=upsampling),
        discriminator=dcgan.dcgan_discriminator(image_shape, base_filters),
        latent_dim=latent_dim,
    )


def _class_conditional(image_shape, latent_dim, num_classes, base_filters, upsampling, discriminator_fn):
    """The conditional generator with the class-aware discriminator
    `discriminator_fn`: label-plane input (Mirza & Osindero 2014) or
    ACGAN's auxiliary classifier (Odena et al. 2017)."""
    return dict(
        generator=conditional.conditional_generator(
            image_shape, latent_dim, num_classes, base_filters=base_filters, upsampling=upsampling
        ),
        discriminator=discriminator_fn(image_shape, num_classes, base_filters=base_filters),
        latent_dim=latent_dim,
        num_classes=num_classes,
    )


def _conditional(image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto"):
    return _class_conditional(
        image_shape, latent_dim, num_classes, base_filters, upsampling,
        conditional.conditional_discriminator,
    )


def _acgan(image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto"):
    return _class_conditional(
        image_shape, latent_dim, num_classes, base_filters, upsampling,
        conditional.acgan_discriminator,
    )


def _vaegan(image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto"):
    networks = _dcgan(image_shape, latent_dim, num_classes, base_filters, upsampling)
    networks["encoder"] = vaegan.vaegan_encoder(image_shape, latent_dim, base_filters)
    return networks


def _wgan_gp(image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto",
             normalization="layer"):
    _no_classes("wgan_gp", num_classes)
    return dict(
        generator=dcgan.dcgan_generator(image_shape, latent_dim, base_filters, upsampling=upsampling),
        discriminator=wgan_gp.wgan_gp_critic(image_shape, base_filters, normalization=normalization),
        latent_dim=latent_dim,
    )


ARCHITECTURES = {
    "mlp": _mlp,
    "dcgan": _dcgan,
    "conditional": _conditional,
    "acgan": _acgan,
    "vaegan": _vaegan,
    "wgan_gp": _wgan_gp,
}


def build(name, image_shape=(28, 28, 1), latent_dim=100, num_classes=None, **options):
    """Builds the networks of a named architecture.

    Args:
        name: one of `ARCHITECTURES`: "mlp" (Goodfellow et al. 2014), "dcgan"
            (Radford et al. 2015), "conditional" (Mirza & Osindero 2014),
            "acgan" (Odena et al. 2017), "vaegan" (Larsen et al. 2016; DCGAN
            plus an encoder), "wgan_gp" (Gulrajani et al. 2017; DCGAN
            generator, critic without batch norm).
        image_shape: `(H, W, C)` of the images, channels last (any shape for
            "mlp", e.g. `(2,)` for toy data).
        latent_dim: size of z.
        num_classes: number of classes; required by "conditional" and
            "acgan", refused by the unconditional ones.
        **options: architecture options: `base_filters`, `upsampling`
            ("auto" | "transposed" | "resize") for the convolutional ones,
            `normalization` for "wgan_gp", `hidden_units` /
            `d_hidden_units` for "mlp".

    Returns:
        A dict of `gankeras.GAN` keyword arguments: `generator`,
        `discriminator`, `latent_dim`, and `num_classes` / `encoder` where
        the architecture has them. `gankeras.GAN(**build(...))` is the model.

    Raises:
        ValueError: for an unknown name or an option the architecture lacks.
    """
    if name not in ARCHITECTURES:
        raise ValueError(
            f"Unknown architecture {name!r}. Expected one of "
            f"{sorted(ARCHITECTURES)}."
        )
    try:
        return ARCHITECTURES[name](image_shape, int(latent_dim), num_classes, **options)
    except TypeError as error:
        if "unexpected keyword argument" not in str(error):
            raise
        raise ValueError(
            f"Architecture {name!r} does not take {error}. Received options: "
            f"{sorted(options)}."
        ) from None


def _no_classes(name, num_classes):
    if num_classes is not None:
        raise ValueError(
            f"The {name!r} architecture is unconditional. Received: "
            f"num_classes={num_classes!r}. Use 'conditional' or 'acgan' for "
            "class-conditional models, or pass num_classes=None."
        )
