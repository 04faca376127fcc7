"""Sizes of convolutional GANs derived from the image shape.

A DCGAN-style generator starts from a small `base x base` grid and doubles
it `n` times; the discriminator halves the image the same `n` times. Both
read `n` and `base` from here, so a new image size needs no new table.
"""

_MIN_BASE = 4


def image_shape_or_raise(image_shape):
    """Returns `(H, W, C)` as ints, or raises naming what was expected."""
    try:
        height, width, channels = (int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            "`image_shape` must be (height, width, channels), channels last, "
            f"e.g. (28, 28, 1). Received: image_shape={image_shape!r}"
        ) from None
    if min(height, width, channels) < 1:
        raise ValueError(
            f"`image_shape` sizes must be positive. Received: image_shape={image_shape!r}"
        )
    return height, width, channels


def num_resolution_steps(image_shape):
    """How many times a convolutional GAN halves (D) or doubles (G) the image.

    The largest `n` with `H` and `W` divisible by `2**n` and the smallest
    side of the base grid `H / 2**n, W / 2**n` still at least 4 (Radford et
    al. 2015 start from 4x4). 28x28 -> 2 (base 7x7), 32x32 -> 3 (4x4),
    64x64 -> 4 (4x4).

    Raises:
        ValueError: when the image cannot be halved even once to a grid of at
            least 4x4 (e.g. 6x6 or an odd side like 27).
    """
    height, width, _ = image_shape_or_raise(image_shape)
    steps = 0
    while (
        height % (2 ** (steps + 1)) == 0
        and width % (2 ** (steps + 1)) == 0
        and min(height, width) // 2 ** (steps + 1) >= _MIN_BASE
    ):
        steps += 1
    if steps == 0:
        raise ValueError(
            "A convolutional GAN needs an image whose height and width halve "
            f"at least once to a grid of at least {_MIN_BASE}x{_MIN_BASE} "
            f"(e.g. 28x28, 32x32, 64x64). Received: image_shape={tuple(image_shape)}. "
            "Resize the images, or use the 'mlp' architecture."
        )
    return steps


def base_grid(image_shape):
    """`(base_height, base_width)`: the generator's first feature-map size."""
    height, width, _ = image_shape_or_raise(image_shape)
    steps = num_resolution_steps(image_shape)
    return height // 2**steps, width // 2**steps
