"""Input checks for the evaluation metrics.

A metric computed on bad input is worse than no metric: a NaN in one
feature silently turns the Fréchet distance into NaN, too few samples make a
covariance singular or a k-NN radius meaningless. Every public metric calls
these checks first; each error says what was expected, what was received and
how to fix it.
"""

import numpy as np


def as_matrix(x, name, min_rows=1, dtype=np.float64):
    """Returns `x` as a finite 2-D array `[n, d]` with `n >= min_rows`.

    Args:
        x: array-like `[n, d]` (features, logits, flattened samples).
        name: argument name used in error messages.
        min_rows: the smallest `n` the estimate needs.
        dtype: dtype of the returned array.

    Raises:
        ValueError: if `x` is not 2-D, has fewer than `min_rows` rows, or
            holds NaN/Inf.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(
            f"`{name}` must be a 2-D array [num_samples, dim]. Received shape "
            f"{x.shape}. Flatten images with x.reshape(len(x), -1) or pass "
            "classifier features."
        )
    if x.shape[0] < min_rows:
        raise ValueError(
            f"`{name}` has {x.shape[0]} samples but this estimate needs at "
            f"least {min_rows}. Generate or load more samples."
        )
    x = x.astype(dtype, copy=False)
    check_finite(x, name)
    return x


def check_finite(x, name):
    """Raises if `x` holds NaN or Inf, naming how many and where."""
    finite = np.isfinite(x)
    if not finite.all():
        bad = np.argwhere(~finite.reshape(len(x), -1).all(axis=1)).ravel()
        raise ValueError(
            f"`{name}` contains NaN or Inf in {bad.size} of {len(x)} samples "
            f"(first at index {int(bad[0])}). A metric over them would be "
            "NaN. Check the generator (a diverged model outputs NaN) or the "
            "data."
        )


def check_same_dim(a, b, name_a, name_b):
    """Raises unless the 2-D arrays `a` and `b` have the same width."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"`{name_a}` has dimension {a.shape[1]} but `{name_b}` has "
            f"dimension {b.shape[1]}: both must come from the same feature "
            "extractor (or the same image shape)."
        )


def check_images(images, name, reference_shape=None, min_count=1):
    """Returns `images` as finite float32 `[n, H, W, C]`.

    Args:
        images: array-like of images, channels last, values in [-1, 1].
        name: argument name used in error messages.
        reference_shape: `(H, W, C)` the images must have (the real data's,
            or the classifier's input shape), or None.
        min_count: the smallest number of images the caller needs.

    Raises:
        ValueError: on a wrong rank, shape or channel count, too few images,
            NaN/Inf values, or values far outside [-1, 1].
    """
    images = np.asarray(images)
    if images.ndim == 3 and reference_shape is not None and len(reference_shape) == 3:
        if reference_shape[-1] == 1 and images.shape[1:] == tuple(reference_shape[:2]):
            images = images[..., None]
    if images.ndim != 4:
        raise ValueError(
            f"`{name}` must be images [num_images, height, width, channels] "
            f"(channels last). Received shape {images.shape}."
        )
    if reference_shape is not None and tuple(images.shape[1:]) != tuple(reference_shape):
        what = "channels" if tuple(images.shape[1:3]) == tuple(reference_shape[:2]) else "shape"
        raise ValueError(
            f"`{name}` has images of shape {tuple(images.shape[1:])} but the "
            f"reference (real data / classifier input) has shape "
            f"{tuple(reference_shape)}: the {what} differ. Evaluate a "
            "generator against data of its own image shape."
        )
    if len(images) < min_count:
        raise ValueError(
            f"`{name}` has {len(images)} images but at least {min_count} are "
            "needed. Pass more images."
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"`{name}` has dtype {images.dtype}; expected float images in "
            "[-1, 1]. Rescale uint8 images with x / 127.5 - 1."
        )
    images = images.astype(np.float32, copy=False)
    check_finite(images, name)
    low, high = float(images.min()), float(images.max())
    if low < -1.05 or high > 1.05:
        raise ValueError(
            f"`{name}` has values in [{low:g}, {high:g}]; expected [-1, 1] "
            "(tanh output). Rescale uint8 data with x / 127.5 - 1."
        )
    return images
