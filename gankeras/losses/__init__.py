"""Adversarial losses (`adversarial`), their name registry (`registry`:
`LOSSES`, `get`) and the other objective terms (`objectives`: label targets,
penalties, ACGAN and VAE-GAN terms), all pure `keras.ops` functions."""

from gankeras.losses import fgan, objectives
from gankeras.losses.adversarial import *  # noqa: F403 (the loss catalogue, listed in its __all__)
from gankeras.losses.adversarial import __all__ as _adversarial_names
from gankeras.losses.registry import LOSSES, AdversarialLoss, get

__all__ = ["LOSSES", "AdversarialLoss", "fgan", "get", "objectives", *_adversarial_names]
