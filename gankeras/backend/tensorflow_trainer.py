"""The GAN step's gradient code for the TensorFlow backend (tf.GradientTape).

Under a `tf.distribute` strategy (Mirrored, MultiWorkerMirrored, TPU) Keras
runs `train_step` once per replica on that replica's shard of the global
batch. Keras's TF optimizer all-reduces gradients by SUM before applying them
(`keras/src/backend/tensorflow/optimizer.py`, `_all_reduce_sum_gradients`),
and Keras's own losses divide by `num_replicas_in_sync`
(`keras.src.losses.loss.scale_loss_for_distribution`). Our phase losses are
means over the replica's shard, so `_run_phase` divides them the same way:
the summed gradient is then the gradient of the global-batch mean.
"""

import contextlib

import tensorflow as tf

from gankeras.backend.stateful_trainer import StatefulGANTrainer


class GANTrainer(StatefulGANTrainer):
    """Mixin for `GAN`: each phase's loss under a `tf.GradientTape`."""

    def _loss_and_gradients(self, phase, real, labels):
        _, num_replicas = replica_shard()
        with tf.GradientTape() as tape:
            loss, logs = phase.loss_fn(real, labels)
            # Gradients are all-reduced by SUM: scale so they average.
            loss = loss / num_replicas
        return logs, tape.gradient(loss, phase.variables)

    def _update_context(self):
        return contextlib.nullcontext()


def value_and_input_gradient(fn, x):
    """`(fn(x), d sum(fn(x)) / dx)`; the gradient stays differentiable."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
        total = tf.reduce_sum(y)
    return y, tape.gradient(total, x)


def replica_shard():
    """`(replica_id, num_replicas)` of the replica running this code.

    `(0, 1)` outside a `tf.distribute` strategy. Under one, each replica
    holds `1 / num_replicas` of the global batch, rows
    `[replica_id * local, (replica_id + 1) * local)`.
    """
    context = tf.distribute.get_replica_context()
    if context is None:  # Cross-replica context: not inside a step.
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def all_gather(x):
    """Concatenates `x` `[local, ...]` over replicas: `[global, ...]`."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return x
    return context.all_gather(x, axis=0)


def no_grad():
    """A context for forward passes nothing differentiates: a no-op here
    (the tape only backpropagates from the loss it is asked about)."""
    return contextlib.nullcontext()
