"""Keras callbacks for GAN training."""

from gankeras.callbacks.divergence_guard import DivergenceGuard, GANDivergedError  # noqa: F401
