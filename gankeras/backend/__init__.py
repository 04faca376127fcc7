"""The one backend switch of gankeras.

Each `<backend>_trainer.py` defines the same two names, and nothing else in
gankeras branches on the backend:

- `GANTrainer`: a mixin whose `train_step` runs the GAN's phases (see
  `gankeras.models.gan`), taking gradients and applying them the way the
  backend does (tf.GradientTape, jax.value_and_grad on a stateless step,
  torch.autograd).
- `value_and_input_gradient(fn, x)`: `(fn(x), d sum(fn(x)) / dx)`,
  differentiable again, for penalties on D's input gradients (WGAN-GP, R1).
- `no_grad()`: a context for forward passes nothing differentiates (the
  discriminator phase's fakes); only torch records less under it.
- `replica_shard()`: `(replica_id, num_replicas)` of the running step, and
  `all_gather(x)`: `x` concatenated over replicas. Only a `tf.distribute`
  strategy has several replicas; under JAX's `DataParallel` the step sees
  global arrays, so there it is `(0, 1)` and the identity.
"""

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    from gankeras.backend.tensorflow_trainer import (
        GANTrainer,
        all_gather,
        no_grad,
        replica_shard,
        value_and_input_gradient,
    )
elif _BACKEND == "jax":
    from gankeras.backend.jax_trainer import (
        GANTrainer,
        all_gather,
        no_grad,
        replica_shard,
        value_and_input_gradient,
    )
elif _BACKEND == "torch":
    from gankeras.backend.torch_trainer import (
        GANTrainer,
        all_gather,
        no_grad,
        replica_shard,
        value_and_input_gradient,
    )
else:
    raise ImportError(
        "gankeras trains on the tensorflow, jax and torch Keras backends. "
        f"Received: KERAS_BACKEND={_BACKEND!r}."
    )

__all__ = ["GANTrainer", "all_gather", "no_grad", "replica_shard", "value_and_input_gradient"]
