"""The one backend switch of gankeras, and the contract each backend keeps.

`gankeras/backend/<backend>_trainer.py` is picked once, here, at import; nothing
else in gankeras branches on the backend. Each trainer module must define the
names in `REQUIRED` (checked at import):

- `GANTrainer`: a mixin (a `GANTrainerBase`) whose `train_step` and
  `test_step` run the model's phases, taking gradients and applying them the
  way the backend does (tf.GradientTape, jax.value_and_grad on a stateless
  step, torch.autograd). TensorFlow and PyTorch hold state in variables and
  share `StatefulGANTrainer` (`stateful_trainer.py`); JAX's stateless step is
  its own.
- `value_and_input_gradient(fn, x)`: `(fn(x), d sum(fn(x)) / dx)`,
  differentiable again, for penalties on D's input gradients (WGAN-GP, R1).
- `no_grad()`: a context for computations nothing differentiates (the
  discriminator phase's fakes, optimizer updates); only torch records less
  under it.
- `replica_shard()`: `(replica_id, num_replicas)` of the running step, and
  `all_gather(x)`: `x` concatenated over replicas. Only a `tf.distribute`
  strategy has several replicas; under JAX's `DataParallel` the step sees
  global arrays, so there it is `(0, 1)` and the identity.

What a trainer may call on the model is `TrainableGAN` below, and nothing
else (besides the Keras `Model` API: variables, `optimizer`, `metrics`).
"""

import abc
from typing import Protocol

import keras

REQUIRED = ("GANTrainer", "all_gather", "no_grad", "replica_shard", "value_and_input_gradient")


class TrainableGAN(Protocol):
    """The model side of the contract (implemented by `gankeras.GAN`).

    A phase (`gankeras.models.phases.Phase`) has `loss_fn(real, labels) ->
    (loss, logs)`, `variables`, `optimizer` and `projection` (None or
    `value -> value`, applied to each variable after the update).
    """

    def training_phases(self):
        """The phases of one training step, in order."""

    def unpack_batch(self, data):
        """A batch -> `(real, labels or None)`."""

    def observe_real_batch(self, real):
        """Updates the non-logged data trackers (metric variables)."""

    def evaluation_logs(self, data):
        """The objectives' logs on a batch in inference mode (no update)."""

    def _update_trackers(self, logs):
        """Feeds `logs` to the loss trackers; returns their results."""


class GANTrainerBase(abc.ABC):
    """The trainer side of the contract: a mixin placed before
    `keras.Model` in `GAN`'s bases, overriding Keras's steps."""

    @abc.abstractmethod
    def train_step(self, *args):
        """One training step: every phase's update, `optimizer.iterations`
        + 1, the trackers updated; returns their results."""

    @abc.abstractmethod
    def test_step(self, *args):
        """`evaluation_logs` fed to the trackers; returns their results."""


_BACKEND = keras.backend.backend()

# The trainer modules import GANTrainerBase from this (partially initialised)
# module: it is defined above this point.
if _BACKEND == "tensorflow":
    from gankeras.backend import tensorflow_trainer as _trainer
elif _BACKEND == "jax":
    from gankeras.backend import jax_trainer as _trainer
elif _BACKEND == "torch":
    from gankeras.backend import torch_trainer as _trainer
else:
    raise ImportError(
        "gankeras trains on the tensorflow, jax and torch Keras backends. "
        f"Received: KERAS_BACKEND={_BACKEND!r}."
    )

_missing = [name for name in REQUIRED if not hasattr(_trainer, name)]
if _missing:
    raise ImportError(f"{_trainer.__name__} lacks {_missing} of the backend contract {REQUIRED}.")

GANTrainer = _trainer.GANTrainer
all_gather = _trainer.all_gather
no_grad = _trainer.no_grad
replica_shard = _trainer.replica_shard
value_and_input_gradient = _trainer.value_and_input_gradient

__all__ = ["GANTrainerBase", "TrainableGAN", *REQUIRED]
