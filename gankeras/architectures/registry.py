"""`build(name, ...)`: the networks of a named architecture, ready for `GAN`.

A registry instead of an if-chain: `ARCHITECTURES` maps each name to a
function `(image_shape, latent_dim, num_classes, **options) -> dict` of
`gankeras.GAN` keyword arguments, so the pipeline picks networks by name:

    gan = gankeras.GAN(**build("dcgan", image_shape=(28, 28, 1), latent_dim=100))

`SUPPORTED_SIZES` documents the square image sides each convolutional
architecture is built and tested for; `build` refuses other shapes, naming
them. `resolve_options(name, **options)` returns the options `build` will
use, defaults filled in and backend-dependent choices resolved (DCGAN's
`upsampling="auto"`), so a pipeline can record them and key caches on them.
"""

import inspect

from gankeras.architectures import (
    conditional,
    dcgan,
    mlp,
    resnet,
    shapes,
    vaegan,
    wgan_gp,
)
from gankeras.architectures import upsampling as upsampling_lib


def _mlp(
    image_shape, latent_dim, num_classes, hidden_units=(1200, 1200), d_hidden_units=(240, 240)
):
    _no_classes("mlp", num_classes)
    return dict(
        generator=mlp.mlp_generator(image_shape, latent_dim, hidden_units),
        discriminator=mlp.mlp_discriminator(image_shape, d_hidden_units),
        latent_dim=latent_dim,
    )


def _dcgan(image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto"):
    _no_classes("dcgan", num_classes)
    return dict(
        generator=dcgan.dcgan_generator(
            image_shape, latent_dim, base_filters, upsampling=upsampling
        ),
        discriminator=dcgan.dcgan_discriminator(image_shape, base_filters),
        latent_dim=latent_dim,
    )


def _class_conditional(
    image_shape, latent_dim, num_classes, base_filters, upsampling, discriminator_fn
):
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
        image_shape,
        latent_dim,
        num_classes,
        base_filters,
        upsampling,
        conditional.conditional_discriminator,
    )


def _acgan(image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto"):
    return _class_conditional(
        image_shape,
        latent_dim,
        num_classes,
        base_filters,
        upsampling,
        conditional.acgan_discriminator,
    )


def _vaegan(image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto"):
    networks = _dcgan(image_shape, latent_dim, num_classes, base_filters, upsampling)
    networks["encoder"] = vaegan.vaegan_encoder(image_shape, latent_dim, base_filters)
    return networks


def _wgan_gp(
    image_shape, latent_dim, num_classes, base_filters=64, upsampling="auto", normalization="layer"
):
    _no_classes("wgan_gp", num_classes)
    return dict(
        generator=dcgan.dcgan_generator(
            image_shape, latent_dim, base_filters, upsampling=upsampling
        ),
        discriminator=wgan_gp.wgan_gp_critic(
            image_shape, base_filters, normalization=normalization
        ),
        latent_dim=latent_dim,
    )


def _resnet(image_shape, latent_dim, num_classes, base_filters=128):
    _no_classes("resnet", num_classes)
    return dict(
        generator=resnet.resnet_generator(image_shape, latent_dim, 2 * base_filters),
        discriminator=resnet.resnet_discriminator(image_shape, base_filters),
        latent_dim=latent_dim,
    )


def _resnet_projection(image_shape, latent_dim, num_classes, base_filters=128):
    if num_classes is None or int(num_classes) < 2:
        raise ValueError(
            "The 'resnet_projection' architecture is class-conditional and needs "
            f"`num_classes` >= 2. Received: num_classes={num_classes!r}"
        )
    num_classes = int(num_classes)
    return dict(
        generator=resnet.resnet_generator(image_shape, latent_dim, 2 * base_filters, num_classes),
        discriminator=resnet.resnet_discriminator(image_shape, base_filters, num_classes),
        latent_dim=latent_dim,
        num_classes=num_classes,
    )


ARCHITECTURES = {
    "mlp": _mlp,
    "dcgan": _dcgan,
    "conditional": _conditional,
    "acgan": _acgan,
    "vaegan": _vaegan,
    "wgan_gp": _wgan_gp,
    "resnet": _resnet,
    "resnet_projection": _resnet_projection,
}

# Square image sides each convolutional architecture supports (channels 1
# or 3); "mlp" takes any shape. DCGANs start G from 7x7 at 28 and from 4x4
# otherwise (`gankeras.architectures.shapes`); the ResNets from 4x4.
_DCGAN_SIZES = (28, 32, 64, 128)
SUPPORTED_SIZES = {
    "dcgan": _DCGAN_SIZES,
    "conditional": _DCGAN_SIZES,
    "acgan": _DCGAN_SIZES,
    "vaegan": _DCGAN_SIZES,
    "wgan_gp": _DCGAN_SIZES,
    "resnet": resnet.SUPPORTED_SIZES,
    "resnet_projection": resnet.SUPPORTED_SIZES,
}
SUPPORTED_CHANNELS = (1, 3)


def build(name, image_shape=(28, 28, 1), latent_dim=100, num_classes=None, **options):
    """Builds the networks of a named architecture.

    Args:
        name: one of `ARCHITECTURES`: "mlp" (Goodfellow et al. 2014), "dcgan"
            (Radford et al. 2015), "conditional" (Mirza & Osindero 2014),
            "acgan" (Odena et al. 2017), "vaegan" (Larsen et al. 2016; DCGAN
            plus an encoder), "wgan_gp" (Gulrajani et al. 2017; DCGAN
            generator, critic without batch norm), "resnet" (Miyato et al.
            2018: ResNet G, spectrally normalized ResNet D; train with
            `loss="hinge"`), "resnet_projection" (Miyato & Koyama 2018:
            conditional-BN ResNet G, projection D; needs `num_classes`).
        image_shape: `(H, W, C)` of the images, channels last (any shape for
            "mlp", e.g. `(2,)` for toy data). The convolutional ones take
            square images with 1 or 3 channels of a side in
            `SUPPORTED_SIZES[name]`: 28, 32, 64, 128 for the DCGAN family,
            32, 64, 128 for the ResNets.
        latent_dim: size of z.
        num_classes: number of classes; required by "conditional" and
            "acgan", refused by the unconditional ones.
        **options: architecture options: `base_filters`, `upsampling`
            ("auto" | "transposed" | "resize") for the convolutional ones,
            `normalization` for "wgan_gp", `hidden_units` /
            `d_hidden_units` for "mlp"; `base_filters` for the ResNets is
            D's width (G's is twice it; 128 is the paper's).

    Returns:
        A dict of `gankeras.GAN` keyword arguments: `generator`,
        `discriminator`, `latent_dim`, and `num_classes` / `encoder` where
        the architecture has them. `gankeras.GAN(**build(...))` is the model.

    Raises:
        ValueError: for an unknown name, an option the architecture lacks,
            or an image shape it does not support.
    """
    resolved = resolve_options(name, **options)
    check_image_shape(name, image_shape)
    return ARCHITECTURES[name](image_shape, int(latent_dim), num_classes, **resolved)


def resolve_options(name, **options):
    """The options `build(name, **options)` uses, every one spelled out.

    Defaults are filled in and backend-dependent choices resolved:
    `upsampling="auto"` becomes the active backend's entry of
    `gankeras.architectures.DEFAULT_UPSAMPLING` ("transposed" on
    TensorFlow and PyTorch, "resize" on JAX). Record the result (run configs, cache keys): it
    names the networks a run built.

    Example:
    ```python
    resolve_options("dcgan")  # on JAX
    # {'base_filters': 64, 'upsampling': 'resize'}
    ```

    Args:
        name: one of `ARCHITECTURES`.
        **options: as in `build`.

    Returns:
        A dict of option name -> value.

    Raises:
        ValueError: an unknown name, or an option the architecture lacks.
    """
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}. Expected one of {sorted(ARCHITECTURES)}.")
    parameters = inspect.signature(ARCHITECTURES[name]).parameters
    known = {
        key: p.default
        for key, p in parameters.items()
        if key not in ("image_shape", "latent_dim", "num_classes")
    }
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(
            f"Architecture {name!r} does not take the option(s) {unknown}. "
            f"Expected some of {sorted(known)}. Received options: {sorted(options)}."
        )
    resolved = {**known, **options}
    if "upsampling" in resolved:
        resolved["upsampling"] = upsampling_lib.resolve_upsampling(resolved["upsampling"])
    return resolved


def check_image_shape(name, image_shape):
    """Raises unless `name`'s networks support `image_shape` (see
    `SUPPORTED_SIZES`); "mlp" takes any shape."""
    sizes = SUPPORTED_SIZES.get(name)
    if sizes is None:
        return
    height, width, channels = shapes.image_shape_or_raise(image_shape)
    if height != width or height not in sizes or channels not in SUPPORTED_CHANNELS:
        raise ValueError(
            f"The {name!r} architecture supports square images of side "
            f"{list(sizes)} with {list(SUPPORTED_CHANNELS)} channels. "
            f"Received: image_shape={tuple(image_shape)}. Resize the images to "
            "a supported size or pick another architecture."
        )


def _no_classes(name, num_classes):
    if num_classes is not None:
        raise ValueError(
            f"The {name!r} architecture is unconditional. Received: "
            f"num_classes={num_classes!r}. Use 'conditional', 'acgan' or "
            "'resnet_projection' for "
            "class-conditional models, or pass num_classes=None."
        )
