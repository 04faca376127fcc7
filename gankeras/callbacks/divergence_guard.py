"""`DivergenceGuard`: stop training when the GAN diverges."""

import math

import keras


class GANDivergedError(RuntimeError):
    """Raised when training produced non-finite losses."""


@keras.saving.register_keras_serializable(package="gankeras")
class DivergenceGuard(keras.callbacks.Callback):
    """Stops `fit` with `GANDivergedError` when a loss becomes NaN or Inf.

    `GAN.fit` adds one unless the callbacks already hold a `DivergenceGuard`.
    A NaN in a Keras running mean never recovers, so the first non-finite
    batch log is reported with the epoch and step where it appeared.

    Args:
        monitor: log names to check; defaults to every log whose name ends
            in "loss" or "penalty".
    """

    def __init__(self, monitor=None):
        super().__init__()
        self.monitor = None if monitor is None else list(monitor)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if self.monitor is not None and name not in self.monitor:
                continue
            if self.monitor is None and not name.endswith(("loss", "penalty")):
                continue
            value = float(value)
            if not math.isfinite(value):
                self.model.stop_training = True
                raise GANDivergedError(
                    f"Training diverged: {name} became {value} at epoch "
                    f"{self._epoch + 1}, batch {batch + 1}. The weights are no "
                    "longer usable. Lower the learning rates, check the data "
                    "for NaNs, or add a gradient penalty; resume from the last "
                    "checkpoint."
                )

    def get_config(self):
        return {"monitor": self.monitor}
