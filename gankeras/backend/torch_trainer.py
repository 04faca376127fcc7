"""The GAN step's gradient code for the PyTorch backend (torch.autograd)."""

import torch


class GANTrainer:
    """Mixin for `GAN`: runs each phase with `torch.autograd.grad`."""

    def train_step(self, data):
        # Forward and backward pass of every phase (D `d_steps` times, then G).
        logs = self._train_phases(data)
        self.optimizer.iterations.assign_add(1)
        # Update the running means that the progress bar shows.
        return self._update_trackers(logs)

    def test_step(self, data):
        # The phases' losses without updates (`gan.evaluate`).
        return self._update_trackers(self._evaluate_phases(data))

    def _run_phase(self, phase, real, labels):
        loss, logs = phase.loss_fn(real, labels)
        # Gradients of this phase's variables only: nothing accumulates in
        # `.grad`, so the other network needs no zeroing.
        grads = torch.autograd.grad(
            loss, [v.value for v in phase.variables], allow_unused=True
        )
        with torch.no_grad():
            phase.optimizer.apply(list(grads), phase.variables)
        return {name: value.detach() for name, value in logs.items()}


def value_and_input_gradient(fn, x):
    """`(fn(x), d sum(fn(x)) / dx)`; the gradient stays differentiable."""
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    y = fn(x)
    (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    return y, grad


def replica_shard():
    """`(replica_id, num_replicas)`: always `(0, 1)` here.

    Keras's torch backend runs on one device per process; see
    docs/distribution.md.
    """
    return 0, 1


def all_gather(x):
    """Identity: one replica holds the whole batch (see `replica_shard`)."""
    return x


def no_grad():
    """A context for forward passes nothing differentiates: `torch.no_grad`,
    so autograd records no graph (and keeps no activations) for them."""
    return torch.no_grad()
