"""gankeras: generative adversarial networks on Keras 3.

One `GAN` model whose train step serves every variant (losses, label tricks,
penalties, d_steps, replay, EMA are configuration: `TrainingConfig`), on the
TensorFlow, JAX and PyTorch backends.
"""

__version__ = "0.1.0"

from gankeras import (
    architectures,
    augment,
    callbacks,
    data,
    distribute,
    evaluation,
    export,
    losses,
)
from gankeras.models import GAN, ReplayBuffer, SpectralNormalization, TrainingConfig, WeightClip
from gankeras.sampling import discriminator_rejection_sample, latents_from_seeds

__all__ = [
    "GAN",
    "ReplayBuffer",
    "SpectralNormalization",
    "TrainingConfig",
    "WeightClip",
    "architectures",
    "augment",
    "callbacks",
    "data",
    "discriminator_rejection_sample",
    "distribute",
    "evaluation",
    "export",
    "latents_from_seeds",
    "losses",
]
