"""The value-range check of every training batch, not just the first.

`validation.check_first_batch` inspects the first batch before training. A
source whose scale changes later (0..255 images after a first batch in
[-1, 1], a second file left un-rescaled) would then train silently on bad
data. So the training step also feeds each real batch to a `RangeTracker`
(two scalars in a metric: the running min and max of the epoch, threaded
through the compiled step like the loss trackers, reset by Keras each epoch,
never logged), and `GAN.fit` adds a `DataRangeCheck` that reads them at the
end of each epoch and stops training with an error naming the range found.
Cost: one min and one max over the batch per step (and, under a
`tf.distribute` strategy, an all-gather of two scalars).
"""

import math

import keras
import numpy as np
from keras import ops

from gankeras import backend as gan_backend
from gankeras import validation


class RangeTracker(keras.metrics.Metric):
    """Running min and max over the real batches since the last reset.

    `result()` is `[min, max]` (float32); `[inf, -inf]` before any batch.
    """

    def __init__(self, name="real_range", **kwargs):
        super().__init__(name=name, **kwargs)
        # "mean": every replica stores the same all-gathered value.
        self.low = self.add_variable(
            (), keras.initializers.Constant(np.inf), "float32", "mean", "low"
        )
        self.high = self.add_variable(
            (), keras.initializers.Constant(-np.inf), "float32", "mean", "high"
        )

    def update_state(self, values):
        values = ops.cast(values, "float32")
        low = ops.min(gan_backend.all_gather(ops.reshape(ops.min(values), (1,))))
        high = ops.max(gan_backend.all_gather(ops.reshape(ops.max(values), (1,))))
        self.low.assign(ops.minimum(self.low, low))
        self.high.assign(ops.maximum(self.high, high))

    def result(self):
        return ops.stack([self.low.value, self.high.value])

    def reset_state(self):
        self.low.assign(np.inf)
        self.high.assign(-np.inf)


class DataRangeCheck(keras.callbacks.Callback):
    """Raises `ValueError` at the end of an epoch whose real batches left
    `model.data_range` (by more than `validation`'s 5% slack). `GAN.fit`
    adds it when `data_range` is set; it reads the model once per epoch."""

    def on_epoch_end(self, epoch, logs=None):
        gan = self.model
        low_seen, high_seen = (float(v) for v in ops.convert_to_numpy(gan._range_tracker.result()))
        if low_seen == math.inf:  # no batch this epoch
            return
        low, high = gan.data_range
        hint = validation.out_of_range_hint(gan.data_range, low_seen, high_seen)
        if hint is None:
            return
        gan.stop_training = True
        raise ValueError(
            f"The real batches of epoch {epoch + 1} had values in "
            f"[{low_seen:g}, {high_seen:g}] but the model expects values in "
            f"[{low:g}, {high:g}] (the first batch was in range, so the data "
            f"change scale later).{hint} Fix the input pipeline; for non-image "
            "data pass GAN(..., data_range=None)."
        )


def fit_callbacks(gan, callbacks, divergence_guard):
    """The callbacks `GAN.fit` runs: the user's, a `DivergenceGuard` (when
    `divergence_guard` and none is given; it names the first
    `GANCheckpoint`'s directory in its error and renames nothing) and a
    `DataRangeCheck` (when `gan.data_range` is set)."""
    from gankeras.callbacks.checkpoint import GANCheckpoint
    from gankeras.callbacks.divergence_guard import DivergenceGuard

    callbacks = list(callbacks or [])
    if divergence_guard and not any(isinstance(c, DivergenceGuard) for c in callbacks):
        checkpoints = [c for c in callbacks if isinstance(c, GANCheckpoint)]
        directory = checkpoints[0].directory if checkpoints else None
        callbacks.append(DivergenceGuard(checkpoint_directory=directory, set_aside_suspects=False))
    if gan.data_range is not None:
        callbacks.append(DataRangeCheck())
    return callbacks
