"""`DivergenceGuard`: stop training when the GAN diverges or D collapses."""

import json
import math
import os

import keras


class GANDivergedError(RuntimeError):
    """Raised when training produced non-finite losses, or when the
    discriminator collapsed (`DiscriminatorCollapseError`)."""


class DiscriminatorCollapseError(GANDivergedError):
    """Raised when D(x) and D(G(z)) stayed pinned near 1 and 0: the
    discriminator wins outright and the generator gets no useful gradient."""


@keras.saving.register_keras_serializable(package="gankeras")
class DivergenceGuard(keras.callbacks.Callback):
    """Stops `fit` when a loss becomes NaN/Inf or the discriminator collapses.

    `GAN.fit` adds one unless the callbacks already hold a `DivergenceGuard`
    (or `fit(..., divergence_guard=False)`); that one renames nothing.

    - **Non-finite losses.** A NaN in a Keras running mean never recovers, so
      the first non-finite batch log is reported with the epoch and step
      where it appeared.
    - **Collapsed discriminator.** For probabilistic losses (D's output is a
      logit: "minimax", "non_saturating", ...), when the per-batch mean
      D(x) > 1 - `collapse_tolerance` and D(G(z)) < `collapse_tolerance` for
      `collapse_patience` consecutive steps. This is the failure Arjovsky &
      Bottou 2017 analyse: a perfect D saturates and G's gradient vanishes;
      it rarely recovers. Keras hands callbacks running means since the
      epoch began, so the per-batch means are recovered from two
      consecutive running means (exact for any `steps_per_execution`).

    Training stops by raising `GANDivergedError` (or its subclass
    `DiscriminatorCollapseError`), so nothing is saved after the failure.
    With `checkpoint_directory`, the message names the last checkpoint saved
    before the trouble began (a collapse builds up over `collapse_patience`
    steps) and the later ones. With `set_aside_suspects=True` (the default
    when you pass `checkpoint_directory` yourself) those later ones are
    renamed `suspect-ckpt-*`, so the newest checkpoint left is the last good
    one, the one `resume_or_start` picks; with False nothing on disk
    changes. Keep enough checkpoints (`GANCheckpoint(keep=...)`) to cover
    `collapse_patience` steps, or the good ones may have been rotated out.

    Args:
        monitor: loss names to check for NaN/Inf; defaults to every log
            whose name ends in "loss" or "penalty".
        collapse_patience: consecutive collapsed steps before stopping; None
            turns the collapse check off.
        collapse_tolerance: how close to 1 and 0 D(x) and D(G(z)) must be.
        checkpoint_directory: a `GANCheckpoint` directory, to name the last
            good checkpoint in the error.
        set_aside_suspects: rename the checkpoints saved after the trouble
            began to `suspect-ckpt-*` (only with `checkpoint_directory`).
    """

    def __init__(
        self,
        monitor=None,
        collapse_patience=500,
        collapse_tolerance=0.01,
        checkpoint_directory=None,
        set_aside_suspects=True,
    ):
        super().__init__()
        self.set_aside_suspects = bool(set_aside_suspects)
        self.monitor = None if monitor is None else list(monitor)
        if collapse_patience is not None and int(collapse_patience) < 1:
            raise ValueError(
                "`collapse_patience` must be a positive number of steps or "
                f"None. Received: collapse_patience={collapse_patience}"
            )
        if not 0.0 < float(collapse_tolerance) < 0.5:
            raise ValueError(
                "`collapse_tolerance` must be in (0, 0.5). Received: "
                f"collapse_tolerance={collapse_tolerance}"
            )
        self.collapse_patience = None if collapse_patience is None else int(collapse_patience)
        self.collapse_tolerance = float(collapse_tolerance)
        self.checkpoint_directory = (
            None if checkpoint_directory is None else os.fspath(checkpoint_directory)
        )
        self._epoch = 0

    def on_train_begin(self, logs=None):
        # Read the model once here: on JAX every `self.model` access syncs
        # the whole training state, too slow to do per batch.
        gan = self.model
        loss = getattr(gan, "adversarial_loss", None)
        self._check_collapse = self.collapse_patience is not None and bool(
            getattr(loss, "probabilistic", False)
        )
        iterations = getattr(getattr(gan, "optimizer", None), "iterations", None)
        self._step = 0 if iterations is None else int(keras.ops.convert_to_numpy(iterations))
        self._collapsed_steps = 0
        self._collapse_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._previous = None  # (batch, d_real mean, d_fake mean)

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        previous_batch = -1 if self._previous is None else self._previous[0]
        steps = batch - previous_batch
        self._step += steps
        for name, value in logs.items():
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
                    "for NaNs, or add a gradient penalty." + self._resume_hint(self._step - steps)
                )
        if getattr(self, "_check_collapse", False) and "d_real" in logs:
            self._update_collapse(batch, steps, float(logs["d_real"]), float(logs["d_fake"]))

    def _update_collapse(self, batch, steps, d_real_mean, d_fake_mean):
        # Running means over batch+1 steps -> the mean over the last `steps`.
        if self._previous is None:
            d_real, d_fake = d_real_mean, d_fake_mean
        else:
            _, prev_real, prev_fake = self._previous
            count, prev_count = batch + 1, batch + 1 - steps
            d_real = (d_real_mean * count - prev_real * prev_count) / steps
            d_fake = (d_fake_mean * count - prev_fake * prev_count) / steps
        self._previous = (batch, d_real_mean, d_fake_mean)
        tolerance = self.collapse_tolerance
        if d_real > 1.0 - tolerance and d_fake < tolerance:
            if self._collapsed_steps == 0:
                self._collapse_start = self._step - steps
            self._collapsed_steps += steps
        else:
            self._collapsed_steps = 0
        if self._collapsed_steps >= self.collapse_patience:
            self.model.stop_training = True
            raise DiscriminatorCollapseError(
                f"The discriminator collapsed: D(x) > {1 - tolerance:g} and "
                f"D(G(z)) < {tolerance:g} for {self._collapsed_steps} "
                f"consecutive steps (since step {self._collapse_start}; now "
                f"epoch {self._epoch + 1}, batch {batch + 1}). The generator "
                "gets no useful gradient. Weaken D (lower its learning rate, "
                "label smoothing, instance noise, a gradient or R1 penalty) or "
                "use the non-saturating loss." + self._resume_hint(self._collapse_start)
            )

    def _resume_hint(self, good_until_step):
        """Names the newest checkpoint saved by `good_until_step`; sets the
        later ones aside when `set_aside_suspects`."""
        if not self.checkpoint_directory:
            return ""
        from gankeras.callbacks.checkpoint import list_checkpoints

        suspects = []
        good = None
        for path in reversed(list_checkpoints(self.checkpoint_directory)):
            try:
                with open(os.path.join(path, "checkpoint.json")) as f:
                    step = json.load(f)["step"]
            except (OSError, ValueError, KeyError):
                continue  # resume_or_start reports unreadable ones
            if step <= good_until_step:
                good = (path, step)
                break
            suspects.append(path)
        if self.set_aside_suspects:
            for path in suspects:
                head, name = os.path.split(path)
                os.replace(path, os.path.join(head, "suspect-" + name))
            suspects_note = ""
        else:
            suspects_note = (
                f" Saved after the trouble began (left in place): {sorted(suspects)}."
                if suspects
                else ""
            )
        if good is None:
            return (
                f" No checkpoint in {self.checkpoint_directory} predates the failure."
                + suspects_note
            )
        return f" The last good checkpoint is {good[0]} (step {good[1]})." + suspects_note

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        return {
            "monitor": self.monitor,
            "collapse_patience": self.collapse_patience,
            "collapse_tolerance": self.collapse_tolerance,
            "checkpoint_directory": self.checkpoint_directory,
            "set_aside_suspects": self.set_aside_suspects,
        }
