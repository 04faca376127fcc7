"""gankeras: generative adversarial networks on Keras 3.

One `GAN` model whose train step serves every variant (losses, label tricks,
penalties, d_steps, replay, EMA are configuration), on the TensorFlow, JAX
and PyTorch backends.
"""

__version__ = "0.1.0"

from gankeras import architectures, callbacks, data, distribute, evaluation, export, losses  # noqa: F401,E402
from gankeras.models import GAN, ReplayBuffer, SpectralNormalization, WeightClip  # noqa: F401,E402
from gankeras.sampling import discriminator_rejection_sample, latents_from_seeds  # noqa: F401,E402
