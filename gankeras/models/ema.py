"""Sampling from the generator, with its exponential moving average (Karras et al. 2018).

The average is kept by Keras's optimizer (`g_optimizer=Adam(..., use_ema=True)`):
its `_model_variables_moving_average` mirror the generator's (and encoder's)
trainable variables. `ema_weights` swaps them in for the length of a context.
`sample` is the body of `GAN.generate`: seeds -> latents -> images, batch by
batch, within that context.
"""

import contextlib

import numpy as np
from keras import ops

from gankeras import validation
from gankeras.sampling import check_seeds, latents_from_seeds


def has_ema(optimizer):
    """Whether `optimizer` (or None) keeps built moving-average weights."""
    return bool(
        optimizer is not None
        and getattr(optimizer, "use_ema", False)
        and getattr(optimizer, "_model_variables_moving_average", None)
    )


@contextlib.contextmanager
def ema_weights(optimizer):
    """Within the context the optimizer's variables hold their moving
    averages (restored afterwards, also on error); a no-op for None."""
    if optimizer is None:
        yield
        return
    variables = optimizer._trainable_variables
    saved = [ops.copy(v.value) for v in variables]
    for v, average in zip(variables, optimizer._model_variables_moving_average):
        v.assign(average)
    try:
        yield
    finally:
        for v, value in zip(variables, saved):
            v.assign(value)


def resolve_seeds(num_images, seed, seeds):
    """`seeds` as a checked int array `[n]`, or `seed, seed + 1, ...` for
    `num_images` images (`GAN.generate`'s arguments)."""
    if seeds is None:
        if num_images is None:
            raise ValueError("Pass `num_images` or `seeds`.")
        if isinstance(num_images, bool) or int(num_images) != num_images or num_images < 0:
            raise ValueError(
                f"`num_images` must be an integer >= 0. Received: num_images={num_images!r}"
            )
        seeds = np.arange(seed, seed + int(num_images), dtype=np.int64)
    seeds = np.asarray(seeds)
    if seeds.shape == (0,):
        seeds = seeds.astype(np.int64)  # [] has no integer dtype of its own
    return check_seeds(seeds)


def sample(gan, seeds, labels, batch_size, use_ema, truncation):
    """Images `[n, *image_shape]` (float32 numpy, in [-1, 1]) for checked
    seeds `[n]`: what `GAN.generate` documents."""
    if gan.conditional_generator:
        if labels is None:
            labels = np.arange(len(seeds)) % gan.num_classes
        labels = validation.check_labels(labels, len(seeds), gan.num_classes)
    if not len(seeds):
        return np.zeros((0, *gan.image_shape), np.float32)
    z = latents_from_seeds(seeds, gan.latent_dim)
    if truncation is not None:
        # (imported here: gankeras.interpolation imports the GAN's module)
        from gankeras.interpolation import truncate

        z = truncate(z, truncation)
    outputs = []
    with gan.ema_weights(enabled=use_ema):
        for start in range(0, len(seeds), batch_size):
            zb = z[start : start + batch_size]
            inputs = [zb, labels[start : start + batch_size]] if gan.conditional_generator else zb
            images = gan.generator(inputs, training=False)
            # float32 under a mixed policy too (the image convention).
            outputs.append(ops.convert_to_numpy(ops.cast(images, gan._loss_dtype)))
    return np.concatenate(outputs, axis=0)
