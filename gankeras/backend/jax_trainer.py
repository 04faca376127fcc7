"""The GAN step's gradient code for the JAX backend (a stateless step).

Keras's JAX trainer jits `train_step(state, data)`, where `state` holds the
values of the model's trainable, non-trainable, optimizer and metric
variables. Here those values live in a `_StepState` for the length of one
step. Each phase runs the shared `keras.ops` loss inside a
`keras.StatelessScope` mapping every variable to its current value, takes
`jax.value_and_grad` with respect to the phase's variables, collects the
variables the forward pass assigned (batch-norm statistics, the RNG seed, the
replay pool), and applies its optimizer with `stateless_apply`.
"""

import contextlib

import jax
import keras
from keras import ops
from keras.src.backend.common.stateless_scope import get_stateless_scope

from gankeras.backend import GANTrainerBase


class _StepState:
    """Current values of a set of Keras variables during one traced step."""

    def __init__(self, variables, values):
        self.variables = list(variables)
        self._index = {id(v): i for i, v in enumerate(self.variables)}
        self.values = list(values)

    def get(self, variables):
        return [self.values[self._index[id(v)]] for v in variables]

    def set(self, variables, values):
        for v, value in zip(variables, values):
            self.values[self._index[id(v)]] = value

    def mapping(self, override=()):
        values = list(self.values)
        for v, value in override:
            values[self._index[id(v)]] = value
        return list(zip(self.variables, values))


class GANTrainer(GANTrainerBase):
    """Mixin for `GAN`: a stateless `train_step(state, data)` for jax.jit."""

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_values, metric_values = state
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.optimizer.variables,
            self.metrics_variables,
        )
        self._step_state = _StepState(
            [v for group in groups for v in group],
            [*trainable, *non_trainable, *optimizer_values, *metric_values],
        )
        try:
            real, labels = self.unpack_batch(data)
            # Forward pass, gradients and update of every phase (D `d_steps`
            # times, then G); the logs of each phase's last run are kept.
            logs = {}
            for phase in self.training_phases():
                logs.update(self._run_phase(phase, real, labels))
            step = self._step_state
            (iterations,) = step.get([self.optimizer.iterations])
            step.set([self.optimizer.iterations], [iterations + 1])
            # Update the running means that the progress bar shows.
            with keras.StatelessScope(state_mapping=step.mapping()) as scope:
                self.observe_real_batch(real)
                results = self._update_trackers(logs)
            _collect(scope, step, self.metrics_variables)
            new_state = tuple(step.get(group) for group in groups)
        finally:
            self._step_state = None
        return results, new_state

    def test_step(self, state, data):
        # The phases' losses without updates (`gan.evaluate`).
        trainable, non_trainable, metric_values = state
        groups = (
            self.trainable_variables,
            self.non_trainable_variables,
            self.metrics_variables,
        )
        step = _StepState(
            [v for group in groups for v in group],
            [*trainable, *non_trainable, *metric_values],
        )
        with keras.StatelessScope(state_mapping=step.mapping()) as scope:
            results = self._update_trackers(self.evaluation_logs(data))
        _collect(scope, step, self.non_trainable_variables + self.metrics_variables)
        return results, tuple(step.get(group) for group in groups)

    def _run_phase(self, phase, real, labels):
        step = self._step_state
        assignable = self.non_trainable_variables

        def loss_fn(phase_values):
            mapping = step.mapping(override=zip(phase.variables, phase_values))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                loss, logs = phase.loss_fn(real, labels)
            updates = {}
            for i, v in enumerate(assignable):
                value = scope.get_current_value(v)
                if value is not None:
                    updates[i] = value
            return loss, (logs, updates)

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (_, (logs, updates)), grads = grad_fn(step.get(phase.variables))
        for i, value in updates.items():
            step.set([assignable[i]], [value])
        optimizer = phase.optimizer
        new_values, new_optimizer_values = optimizer.stateless_apply(
            step.get(optimizer.variables), grads, step.get(phase.variables)
        )
        if phase.projection is not None:
            new_values = [phase.projection(value) for value in new_values]
        step.set(phase.variables, new_values)
        step.set(optimizer.variables, new_optimizer_values)
        return logs


def _collect(scope, step, variables):
    for v in variables:
        value = scope.get_current_value(v)
        if value is not None:
            step.set([v], [value])


def value_and_input_gradient(fn, x):
    """`(fn(x), d sum(fn(x)) / dx)`; the gradient stays differentiable.

    `fn` runs in a nested `StatelessScope` that starts from the enclosing
    scope's values and whose assignments are dropped: values traced inside
    `jax.grad` must not leak into the step's state. (So batch-norm statistics
    do not update on this extra pass; critics trained with input-gradient
    penalties should not use batch norm anyway, Gulrajani et al. 2017.)
    """
    outer = get_stateless_scope()

    def summed(inputs):
        with keras.StatelessScope() as inner:
            if outer is not None:
                inner.state_mapping.update(outer.state_mapping)
            y = fn(inputs)
        return ops.sum(y), y

    (_, y), grad = jax.value_and_grad(summed, has_aux=True)(x)
    return y, grad


def replica_shard():
    """`(replica_id, num_replicas)`: always `(0, 1)` here.

    Under `keras.distribution.DataParallel` the jitted step sees global
    arrays (XLA shards them and inserts the all-reduces), so the step
    always runs as one replica holding the whole batch.
    """
    return 0, 1


def all_gather(x):
    """Identity: one replica holds the whole batch (see `replica_shard`)."""
    return x


def no_grad():
    """A context for forward passes nothing differentiates: a no-op here
    (jax.grad differentiates only what the loss depends on)."""
    return contextlib.nullcontext()
