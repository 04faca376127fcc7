"""Sampling from the generator, with its exponential moving average (Karras et al. 2018).

The average is kept by Keras's optimizer (`g_optimizer=Adam(..., use_ema=True)`):
its `_model_variables_moving_average` mirror the generator's (and encoder's)
trainable variables. `ema_weights` swaps them in for the length of a context.
`sample` is the body of `GAN.generate`: seeds -> latents -> images, batch by
batch, within that context. `use_warmup` makes the average's decay ramp up
(`TrainingConfig.ema_warmup`).
"""

import contextlib
import functools

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


def warmup_momentum(iterations, momentum):
    """The decay of the average at update `iterations` (t, a scalar tensor:
    the optimizer's updates so far): 0 at t = 0 (the average starts as the
    weights, as in Keras), then `min(momentum, (1 + t) / (10 + t))` (the
    `num_updates` rule of `tf.train.ExponentialMovingAverage`): 0.1 at the
    second update, 0.91 at t = 90, `momentum` = 0.999 from t = 8,991 on."""
    t = ops.cast(iterations, "float32")
    ramp = ops.minimum(ops.cast(momentum, "float32"), (1.0 + t) / (10.0 + t))
    return ops.where(ops.equal(t, 0.0), ops.zeros_like(ramp), ramp)


def _update_with_warmup(optimizer, trainable_variables):
    # Keras's BaseOptimizer._update_model_variables_moving_average, with
    # `warmup_momentum` in place of its constant `ema_momentum`. It runs
    # inside `apply` / `stateless_apply`, where `iterations` is the step's
    # own (traced) value on every backend.
    momentum = warmup_momentum(optimizer.iterations, optimizer.ema_momentum)
    for var, average in zip(trainable_variables, optimizer._model_variables_moving_average):
        if average is not None:
            m = ops.cast(momentum, var.dtype)
            average.assign(ops.add(ops.multiply(m, average), ops.multiply(1 - m, var)))


def use_warmup(optimizer, enabled=True):
    """Makes `optimizer`'s moving average (`use_ema=True`) ramp its decay up
    (`warmup_momentum`), or, with `enabled=False`, restores Keras's constant
    decay. Keras has no hook for the decay, so this sets the instance's
    `_update_model_variables_moving_average` (the method Keras's `apply`
    calls on every backend); the optimizer's own config is unchanged and
    `GAN.compile` re-applies it from `TrainingConfig.ema_warmup`."""
    if enabled and not getattr(optimizer, "use_ema", False):
        raise ValueError(
            "`ema_warmup=True` needs a generator optimizer that keeps an EMA: "
            "pass g_optimizer=keras.optimizers.Adam(..., use_ema=True). "
            f"Received: g_optimizer with use_ema={getattr(optimizer, 'use_ema', None)!r}"
        )
    if enabled:
        optimizer._update_model_variables_moving_average = functools.partial(
            _update_with_warmup, optimizer
        )
    else:
        optimizer.__dict__.pop("_update_model_variables_moving_average", None)


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
