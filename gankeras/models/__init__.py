"""The GAN model and the components its train step reads."""

from gankeras.models.gan import GAN, WeightClip  # noqa: F401
from gankeras.models.replay import ReplayBuffer  # noqa: F401
from gankeras.models.spectral_normalization import SpectralNormalization  # noqa: F401
