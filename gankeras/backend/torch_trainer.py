"""The GAN step's gradient code for the PyTorch backend (torch.autograd)."""

import torch

from gankeras.backend.stateful_trainer import StatefulGANTrainer


class GANTrainer(StatefulGANTrainer):
    """Mixin for `GAN`: each phase's gradients from `torch.autograd.grad`."""

    def _loss_and_gradients(self, phase, real, labels):
        loss, logs = phase.loss_fn(real, labels)
        # Gradients of this phase's variables only: nothing accumulates in
        # `.grad`, so the other network needs no zeroing.
        grads = torch.autograd.grad(loss, [v.value for v in phase.variables], allow_unused=True)
        return {name: value.detach() for name, value in logs.items()}, list(grads)

    def _update_context(self):
        return torch.no_grad()


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
