"""The one backend switch of gankeras.

Each `<backend>_trainer.py` defines the same two names, and nothing else in
gankeras branches on the backend:

- `GANTrainer`: a mixin whose `train_step` runs the GAN's phases (see
  `gankeras.models.gan`), taking gradients and applying them the way the
  backend does (tf.GradientTape, jax.value_and_grad on a stateless step,
  torch.autograd).
- `value_and_input_gradient(fn, x)`: `(fn(x), d sum(fn(x)) / dx)`,
  differentiable again, for penalties on D's input gradients (WGAN-GP, R1).
"""

import keras

_BACKEND = keras.backend.backend()

if _BACKEND == "tensorflow":
    from gankeras.backend.tensorflow_trainer import GANTrainer, value_and_input_gradient
elif _BACKEND == "jax":
    from gankeras.backend.jax_trainer import GANTrainer, value_and_input_gradient
elif _BACKEND == "torch":
    from gankeras.backend.torch_trainer import GANTrainer, value_and_input_gradient
else:
    raise ImportError(
        "gankeras trains on the tensorflow, jax and torch Keras backends. "
        f"Received: KERAS_BACKEND={_BACKEND!r}."
    )

__all__ = ["GANTrainer", "value_and_input_gradient"]
