"""Checks that turn bad input into errors that name the problem and the fix.

Called before training starts (`GAN.__init__`, `GAN.compile`, `GAN.fit`), so
a mismatch never surfaces as a shape error deep inside a compiled step, and
never as a silently wrong model.
"""

import math

import numpy as np

# Real images far outside [-1, 1] are almost always un-rescaled uint8 data.
RANGE_SLACK = 0.05


def check_networks(generator, discriminator, latent_dim=None, num_classes=None, encoder=None):
    """Checks that G's output fits D's input and returns the latent size.

    Raises:
        ValueError: naming the mismatching shapes.
    """
    for role, model in (("generator", generator), ("discriminator", discriminator)):
        if not getattr(model, "inputs", None) or not getattr(model, "outputs", None):
            raise ValueError(
                f"The {role} must be a built Keras model with known inputs and "
                "outputs (a Functional or Sequential model with an Input). "
                f"Received: {role}={model!r}"
            )
    z_shape = tuple(generator.inputs[0].shape)
    if len(z_shape) != 2:
        raise ValueError(
            "The generator's first input must be latents of shape "
            f"[batch, latent_dim]. Received input shape {z_shape}."
        )
    inferred = z_shape[1]
    if latent_dim is None:
        latent_dim = inferred
    elif inferred is not None and int(latent_dim) != inferred:
        raise ValueError(
            f"latent_dim={latent_dim} does not match the generator, whose "
            f"input takes latents of size {inferred} (input shape {z_shape}). "
            f"Pass latent_dim={inferred} or rebuild the generator."
        )
    image_shape = tuple(generator.outputs[0].shape[1:])
    d_shape = tuple(discriminator.inputs[0].shape[1:])
    if image_shape != d_shape:
        raise ValueError(
            f"The generator makes samples of shape {image_shape} but the "
            f"discriminator takes inputs of shape {d_shape}. Build both for "
            "the same image shape."
        )
    conditional = (
        len(generator.inputs) == 2
        or len(discriminator.inputs) == 2
        or len(discriminator.outputs) == 2
    )
    if conditional and num_classes is None:
        raise ValueError(
            "The generator or discriminator takes labels (or D returns class "
            "logits), so pass `num_classes`."
        )
    if encoder is not None:
        enc_in = tuple(encoder.inputs[0].shape[1:])
        if enc_in != image_shape:
            raise ValueError(
                f"The encoder takes inputs of shape {enc_in} but the generator "
                f"makes samples of shape {image_shape}."
            )
        if len(encoder.outputs) != 2:
            raise ValueError(
                "The encoder must return [mean, log_var], each "
                f"[batch, latent_dim]. Received {len(encoder.outputs)} outputs."
            )
        enc_dim = encoder.outputs[0].shape[-1]
        if enc_dim != latent_dim:
            raise ValueError(
                f"The encoder returns latents of size {enc_dim} but latent_dim is {latent_dim}."
            )
    return int(latent_dim)


def _number(name, value):
    """`value` as a finite float, or a ValueError naming `name`. Booleans are
    refused: `True` is an int in Python but never a meant number here."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(
            f"`{name}` must be a number. Received: {name}={value!r} "
            f"(of type {type(value).__name__})"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value}")
    return value


def check_component(name, value, cls, expected):
    """None, `value` (an instance of `cls`) or the object its serialized
    config dict describes; a TypeError naming `expected` otherwise."""
    if isinstance(value, dict):
        import keras

        value = keras.saving.deserialize_keras_object(value)
    if value is not None and not isinstance(value, cls):
        raise TypeError(f"`{name}` must be {expected}. Received: {name}={value!r}")
    return value


def check_seed(seed):
    """Returns `seed` as an int (booleans refused), for a SeedGenerator."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"`seed` must be an integer. Received: seed={seed!r}")
    return int(seed)


def check_count(name, value):
    """Returns `value` as an int >= 0 (booleans refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        and not (isinstance(value, float) and value.is_integer())
        or value < 0
    ):
        raise ValueError(f"`{name}` must be an integer >= 0. Received: {name}={value!r}")
    return int(value)


def check_positive_int(name, value):
    """Returns `value` as an int >= 1 (booleans refused)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(float(value))
        or int(value) != value
        or value < 1
    ):
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return int(value)


def check_fraction(name, value):
    """Returns `value` as a float in [0, 1)."""
    number = _number(name, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"`{name}` must be in [0, 1). Received: {name}={value}")
    return number


def check_non_negative(name, value):
    """Returns `value` as a finite float >= 0."""
    number = _number(name, value)
    if number < 0:
        raise ValueError(f"`{name}` must be >= 0. Received: {name}={value}")
    return number


def check_optional_positive(name, value):
    """Returns None or `value` as a finite float > 0."""
    if value is None:
        return None
    number = _number(name, value)
    if number <= 0:
        raise ValueError(f"`{name}` must be > 0 (or None). Received: {name}={value}")
    return number


def check_optional_range(name, value):
    """Returns None or `value` as a `(low, high)` tuple of floats, low <= high."""
    if value is None:
        return None
    try:
        low, high = (_number(name, v) for v in value)
    except (TypeError, ValueError):
        low, high = 1.0, 0.0  # reported below
    if low > high:
        raise ValueError(
            f"`{name}` must be a (low, high) pair with low <= high. Received: {name}={value!r}"
        )
    return (low, high)


def check_precision(models):
    """Refuses a float16 compute dtype (e.g. the `mixed_float16` policy).

    float16 overflows past 65504 and underflows small gradients unless the
    loss is scaled (and unscaled before each update); the GAN's two phases
    do no loss scaling, so float16 would train silently wrong. bfloat16 has
    float32's exponent range and needs none.
    """
    for model in models:
        policy = getattr(model, "dtype_policy", None)
        if policy is not None and policy.compute_dtype == "float16":
            raise ValueError(
                f"{model.name!r} computes in float16 (dtype policy "
                f"{policy.name!r}). GAN training does no loss scaling, which "
                "float16 needs to keep small gradients from vanishing. Use "
                "keras.mixed_precision.set_global_policy('mixed_bfloat16') "
                "(float32's range, no scaling) or 'float32', then rebuild the "
                "networks and the GAN."
            )


def check_labels(labels, count, num_classes):
    """Returns labels as int32 `[count]`, or raises naming the problem."""
    labels = np.asarray(labels)
    if labels.shape != (count,):
        raise ValueError(
            f"Expected {count} labels of shape ({count},). Received shape {labels.shape}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"Labels must be class ids in [0, {num_classes}). Received values "
            f"from {labels.min()} to {labels.max()}."
        )
    return labels.astype(np.int32)


def _first_batch(x, y, batch_size=None):
    """Returns `(images, labels)` of the first batch as numpy, or None when
    the data source cannot be peeked without consuming it."""
    if x is None:
        return None
    if isinstance(x, np.ndarray) or hasattr(x, "__array__") and not hasattr(x, "element_spec"):
        n = batch_size or 32  # keras.Model.fit's default batch size
        images = np.asarray(x[:n])
        labels = None if y is None else np.asarray(y[:n])
        return images, labels
    if hasattr(x, "element_spec"):  # tf.data.Dataset
        element = next(iter(x.take(1)))
        if isinstance(element, (tuple, list)):
            images = element[0]
            labels = element[1] if len(element) > 1 else None
        elif isinstance(element, dict):
            raise ValueError(
                "The dataset yields dicts; gankeras expects images or "
                f"(images, labels). Received keys {sorted(element)}. Map it, "
                "e.g. ds.map(lambda d: (d['image'], d['label']))."
            )
        else:
            images, labels = element, None
        return np.asarray(images), None if labels is None else np.asarray(labels)
    if hasattr(x, "__getitem__") and hasattr(x, "__len__"):  # keras.utils.PyDataset
        element = x[0]
        if isinstance(element, (tuple, list)):
            return np.asarray(element[0]), (np.asarray(element[1]) if len(element) > 1 else None)
        return np.asarray(element), None
    return None


def out_of_range_hint(data_range, lo, hi):
    """None when values seen in `[lo, hi]` fit `data_range` (with
    `RANGE_SLACK`), else the hint an error adds ("" or the 0..255 advice)."""
    low, high = data_range
    slack = RANGE_SLACK * (high - low)
    if lo >= low - slack and hi <= high + slack:
        return None
    if hi > 2.0 * max(abs(high), 1.0):
        return " It looks like un-rescaled 0..255 data: use x / 127.5 - 1."
    return ""


def check_first_batch(gan, x, y=None, batch_size=None):
    """Checks the first training batch against `gan` before training.

    Raises:
        ValueError: if the sample shape differs from the generator's output,
            the dtype is not floating point, values are NaN/Inf or outside
            `gan.data_range`, or a conditional model gets no labels.
    """
    batch = _first_batch(x, y, batch_size)
    if batch is None:
        return
    images, labels = batch
    expected = gan.image_shape
    if images.ndim == len(expected):  # an unbatched dataset
        raise ValueError(
            f"Expected batches of shape [batch, {', '.join(map(str, expected))}]"
            f" but the data yields single samples of shape {images.shape}. "
            "Batch the dataset, e.g. ds.batch(64)."
        )
    if tuple(images.shape[1:]) != expected:
        raise ValueError(
            f"The data has samples of shape {tuple(images.shape[1:])} but the "
            f"generator makes samples of shape {expected}. Resize the data or "
            "build the networks for this shape."
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"The data has dtype {images.dtype}; expected float images in "
            f"{list(gan.data_range or (-1, 1))}. Rescale uint8 images with "
            "x / 127.5 - 1."
        )
    if not np.all(np.isfinite(images)):
        raise ValueError(
            "The first batch contains NaN or Inf values. Clean the data before training."
        )
    if gan.data_range is not None:
        low, high = gan.data_range
        lo, hi = float(images.min()), float(images.max())
        hint = out_of_range_hint(gan.data_range, lo, hi)
        if hint is not None:
            raise ValueError(
                f"The data has values in [{lo:g}, {hi:g}] but the model "
                f"expects values in [{low:g}, {high:g}] (tanh output).{hint} "
                "For non-image data pass GAN(..., data_range=None)."
            )
    if gan.conditional:
        if labels is None:
            raise ValueError(
                f"This GAN is conditional (num_classes={gan.num_classes}): the "
                "data must be (images, labels). Received images only."
            )
        check_labels(np.reshape(labels, (-1,)), images.shape[0], gan.num_classes)
