"""The GAN step's gradient code for the TensorFlow backend (tf.GradientTape)."""

import tensorflow as tf


class GANTrainer:
    """Mixin for `GAN`: runs each phase under a `tf.GradientTape`."""

    def train_step(self, data):
        # Forward and backward pass of every phase (D `d_steps` times, then G).
        logs = self._train_phases(data)
        self.optimizer.iterations.assign_add(1)
        # Update the running means that the progress bar shows.
        return self._update_trackers(logs)

    def _run_phase(self, phase, real, labels):
        with tf.GradientTape() as tape:
            loss, logs = phase.loss_fn(real, labels)
        grads = tape.gradient(loss, phase.variables)
        phase.optimizer.apply(grads, phase.variables)
        return logs


def value_and_input_gradient(fn, x):
    """`(fn(x), d sum(fn(x)) / dx)`; the gradient stays differentiable."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        total = tf.reduce_sum(y)
    return y, tape.gradient(total, x)
