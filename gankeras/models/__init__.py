"""The GAN model, its training configuration and the components its train step reads."""

from gankeras.models.config import TrainingConfig
from gankeras.models.gan import GAN
from gankeras.models.replay import ReplayBuffer
from gankeras.models.spectral_normalization import SpectralNormalization
from gankeras.models.weight_clip import WeightClip

__all__ = ["GAN", "ReplayBuffer", "SpectralNormalization", "TrainingConfig", "WeightClip"]
