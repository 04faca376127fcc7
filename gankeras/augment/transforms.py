"""Per-example image transforms in `keras.ops`, parameterised explicitly.

Pure functions: images `[batch, H, W, C]` float in [-1, 1] and per-example
parameters (tensors with a leading batch axis) in, images of the same shape
out. No randomness here: `DiffAugment` and `AdaptiveAugment` draw the
parameters from a `keras.random.SeedGenerator` and call these, so each
transform can be tested against a hand-computed case. Every transform is
differentiable with respect to the images (translations and rotations are
written as matrix products with 0/1 matrices, cutout as a 0/1 mask,
colour as affine maps), so gradients reach the generator through them.
"""

from keras import ops


def _per_example(value, rank=4):
    """`[batch]` -> `[batch, 1, 1, 1]` to broadcast over an image batch."""
    return ops.reshape(value, (-1,) + (1,) * (rank - 1))


def brightness(images, delta):
    """`images + delta`: shifts every pixel of example b by `delta[b]`.

    Args:
        images: `[batch, H, W, C]`.
        delta: `[batch]` additive offsets (DiffAugment: U(-0.5, 0.5);
            ADA: N(0, 0.2)); 0 is the identity.
    """
    images = ops.convert_to_tensor(images)
    return images + ops.cast(_per_example(delta), images.dtype)


def saturation(images, factor):
    """Scales each pixel's deviation from its channel mean by `factor[b]`.

    `mean_c(x) + factor * (x - mean_c(x))`, the mean over channels at each
    pixel (the luma axis (1, 1, 1) / sqrt(3) of Karras et al. 2020). 1 is the
    identity, 0 makes the image grey; a 1-channel image is unchanged.
    """
    images = ops.convert_to_tensor(images)
    mean = ops.mean(images, axis=-1, keepdims=True)
    return (images - mean) * ops.cast(_per_example(factor), images.dtype) + mean


def contrast(images, factor, center="mean"):
    """Scales each example's deviation from a centre by `factor[b]`.

    Args:
        images: `[batch, H, W, C]`.
        factor: `[batch]`; 1 is the identity.
        center: "mean" (the example's mean over H, W, C: DiffAugment, Zhao
            et al. 2020) or "zero" (scaling about 0, the grey of [-1, 1]
            images: ADA, Karras et al. 2020).
    """
    images = ops.convert_to_tensor(images)
    factor = ops.cast(_per_example(factor), images.dtype)
    if center == "zero":
        return images * factor
    mean = ops.mean(images, axis=(1, 2, 3), keepdims=True)
    return (images - mean) * factor + mean


def _shift_matrix(shift, size, padding, dtype):
    """`[batch, size, size]` 0/1 matrices `M` with `(M x)[i] = x[i + shift]`.

    Rows whose source `i + shift` falls outside `[0, size)` are all zero
    ("zeros" padding) or read the mirrored index ("reflect", without
    repeating the edge: -1 -> 1, size -> size - 2).
    """
    rows = ops.arange(size, dtype="int32")
    source = ops.reshape(rows, (1, size)) + ops.reshape(ops.cast(shift, "int32"), (-1, 1))
    if padding == "reflect":
        source = ops.abs(source)
        source = ops.where(source > size - 1, 2 * (size - 1) - source, source)
    # `source` outside [0, size) (zeros padding) matches no column: a zero row.
    matrix = ops.equal(ops.expand_dims(source, -1), ops.reshape(rows, (1, 1, size)))
    return ops.cast(matrix, dtype)


def translate(images, shift_y, shift_x, padding="zeros"):
    """Moves example b by `(shift_y[b], shift_x[b])` whole pixels.

    The output pixel `(i, j)` is the input pixel `(i - shift_y, j - shift_x)`:
    a positive `shift_x` moves the content right, a positive `shift_y` down.
    Pixels that come from outside the image are 0 ("zeros", DiffAugment) or
    mirrored ("reflect", ADA's integer translation).

    Args:
        images: `[batch, H, W, C]`.
        shift_y, shift_x: int `[batch]` shifts, in pixels.
        padding: "zeros" or "reflect" (needs |shift| < the side).
    """
    images = ops.convert_to_tensor(images)
    height, width = images.shape[1], images.shape[2]
    rows = _shift_matrix(-shift_y, height, padding, images.dtype)  # [b, H, H]
    cols = _shift_matrix(-shift_x, width, padding, images.dtype)  # [b, W, W]
    out = ops.einsum("bij,bjwc->biwc", rows, images)
    return ops.einsum("bkw,biwc->bikc", cols, out)


def cutout(images, center_y, center_x, size_y, size_x):
    """Zeroes (sets to grey 0) one rectangle per example.

    Rows `center_y - size_y // 2 <= i < center_y - size_y // 2 + size_y` and
    the same for columns, clipped to the image: DeVries & Taylor 2017's
    cutout as DiffAugment's reference code places it.

    Args:
        images: `[batch, H, W, C]`.
        center_y, center_x: int `[batch]` rectangle centres.
        size_y, size_x: Python ints, the rectangle's height and width.
    """
    images = ops.convert_to_tensor(images)
    height, width = images.shape[1], images.shape[2]

    def outside(center, size, length):
        start = ops.reshape(ops.cast(center, "int32") - size // 2, (-1, 1))
        index = ops.reshape(ops.arange(length, dtype="int32"), (1, length))
        return ops.logical_or(index < start, index >= start + size)  # [b, length]

    keep_rows = ops.expand_dims(outside(center_y, size_y, height), 2)  # [b, H, 1]
    keep_cols = ops.expand_dims(outside(center_x, size_x, width), 1)  # [b, 1, W]
    keep = ops.logical_or(keep_rows, keep_cols)
    return images * ops.cast(ops.expand_dims(keep, -1), images.dtype)


def flip_left_right(images, flip):
    """Mirrors example b left-right where `flip[b]` is true."""
    images = ops.convert_to_tensor(images)
    flipped = ops.flip(images, axis=2)
    return ops.where(ops.reshape(ops.cast(flip, "bool"), (-1, 1, 1, 1)), flipped, images)


def rotate90(images, turns):
    """Rotates example b by `turns[b]` quarter turns (0..3) counter-clockwise.

    Square images only (`H == W`): each rotation keeps the shape.
    """
    images = ops.convert_to_tensor(images)
    if images.shape[1] != images.shape[2]:
        raise ValueError(
            "90-degree rotations need square images. Received images of shape "
            f"{tuple(images.shape)}; drop 'rotate90' from the augmentations."
        )
    turns = ops.reshape(ops.cast(turns, "int32") % 4, (-1, 1, 1, 1))
    out = images
    quarter = images
    for k in range(1, 4):
        # One counter-clockwise quarter turn of [H, W]: transpose, flip rows.
        quarter = ops.flip(ops.transpose(quarter, (0, 2, 1, 3)), axis=1)
        out = ops.where(ops.equal(turns, k), quarter, out)
    return out
