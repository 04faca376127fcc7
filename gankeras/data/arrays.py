"""NumPy arrays in memory -> the finished `tf.data.Dataset`.

Also home of the checks every source shares for decoded images and labels
(`check_images`, `check_labels`), since every source ends as arrays here.
"""

import numpy as np

from gankeras.data import pipeline


def check_images(images, source="images"):
    """Returns images as a 4-D array `[N, H, W, C]`, or raises.

    A 3-D array `[N, H, W]` (e.g. MNIST) gets a channel axis of 1.

    Raises:
        ValueError: naming `source` if the array is not 3-D/4-D numeric,
            holds no images, or has a channel count other than 1, 3 or 4.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise ValueError(
            f"Expected {source} of shape [N, H, W, C] (or [N, H, W] for one "
            f"channel). Received shape {images.shape}."
        )
    if not (np.issubdtype(images.dtype, np.number) and images.dtype != np.bool_):
        raise ValueError(
            f"Expected numeric {source} (uint8 0..255 or float). Received dtype {images.dtype}."
        )
    if images.shape[0] == 0:
        raise ValueError(f"{source} holds no images (shape {images.shape}).")
    if images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"Expected {source} with 1, 3 or 4 channels last, [N, H, W, C]. "
            f"Received shape {images.shape}; channels-first data needs "
            "np.transpose(images, (0, 2, 3, 1))."
        )
    return images


def check_labels(labels, count, source="labels"):
    """Returns labels as int32 `[count]`, or raises naming the mismatch.

    Raises:
        ValueError: if the labels are not integers of shape `[count]` (one
            per image) or are negative.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim == 2 and labels.shape[0] == count:
        raise ValueError(
            f"Expected integer class ids of shape ({count},). Received "
            f"{source} of shape {labels.shape}; one-hot labels need "
            "np.argmax(labels, axis=-1)."
        )
    if labels.ndim != 1 or labels.shape[0] != count:
        raise ValueError(
            f"Expected one label per image: {count} labels of shape "
            f"({count},). Received {source} of shape {labels.shape}."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"Expected integer class ids in {source}. Received dtype "
            f"{labels.dtype}; one-hot labels need np.argmax(labels, axis=-1)."
        )
    if labels.size and labels.min() < 0:
        raise ValueError(
            f"Expected class ids >= 0 in {source}. Received a minimum of {labels.min()}."
        )
    return labels.astype(np.int32)


def infer_value_range(images, value_range=None, source="images"):
    """Decides which values map to -1 and 1, explicitly, never by guessing.

    uint8 images mean 0..255. Any other dtype needs `value_range`: float
    images in [0, 1] and in [-1, 1] are equally common and cannot be told
    apart reliably from their values. The data must lie inside the range.

    Returns:
        `(low, high)` floats.

    Raises:
        ValueError: if a non-uint8 array comes without `value_range`, or the
            values fall outside it.
    """
    if value_range is None:
        if images.dtype != np.uint8:
            raise ValueError(
                f"{source} have dtype {images.dtype}, so the value range must "
                "be given: pass value_range=(0, 1) for images in [0, 1], "
                "(-1, 1) for images already in [-1, 1], or (0, 255) for "
                "0..255 values stored as floats. (uint8 images need no "
                "value_range: they mean 0..255.)"
            )
        value_range = pipeline.UINT8_RANGE
    low, high = pipeline.check_value_range(value_range)
    lo, hi = float(np.min(images)), float(np.max(images))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{source} contain NaN or Inf values.")
    if lo < low or hi > high:
        raise ValueError(
            f"{source} have values in [{lo:g}, {hi:g}], outside "
            f"value_range=({low:g}, {high:g}). Pass the range the data is "
            "stored in, e.g. (0, 255) for 0..255 floats."
        )
    return low, high


def array_dataset(
    images,
    labels=None,
    batch_size=64,
    value_range=None,
    shuffle=True,
    seed=0,
    drop_remainder=True,
):
    """A finished training dataset from NumPy arrays in memory.

    Example:
        ```python
        (x, y), _ = keras.datasets.mnist.load_data()   # uint8 [60000, 28, 28]
        dataset = gankeras.data.array_dataset(x, y, batch_size=64)
        gan.fit(dataset, epochs=5)
        ```

    Args:
        images: array `[N, H, W, C]` or `[N, H, W]`. uint8 means 0..255;
            other dtypes need `value_range`.
        labels: optional integer class ids `[N]`; with them the dataset
            yields `(images, labels)`.
        batch_size: images per batch.
        value_range: `(low, high)` the image values are stored in; mapped to
            [-1, 1]. Required unless the images are uint8.
        shuffle: shuffle the whole array, reshuffled every epoch.
        seed: shuffle seed.
        drop_remainder: drop the last partial batch (static batch shape).

    Returns:
        `tf.data.Dataset` of float32 `[batch, H, W, C]` in [-1, 1], or of
        `(images, labels)` with int32 labels `[batch]`.

    Raises:
        ValueError: for a bad shape or dtype, labels whose count differs
            from the images', or a missing or wrong `value_range`.
    """
    images = check_images(images)
    if labels is not None:
        labels = check_labels(labels, images.shape[0])
    value_range = infer_value_range(images, value_range)
    return pipeline.from_arrays(
        images,
        labels,
        value_range=value_range,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        source=f"The images array of shape {images.shape}",
    )
