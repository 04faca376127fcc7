"""Adversarial losses (`adversarial`) and their name registry (`registry`)."""

from gankeras.losses.adversarial import *  # noqa: F401,F403
from gankeras.losses.registry import LOSSES, AdversarialLoss, get  # noqa: F401
