"""Tiny networks for core tests (1-D toy data and 8x8 images)."""

import keras
import numpy as np
from keras import layers


def mlp_pair(latent_dim=4, data_dim=1, hidden=32, seed=0):
    """An MLP generator `[b, latent_dim] -> [b, data_dim]` and discriminator."""
    keras.utils.set_random_seed(seed)
    z = keras.Input((latent_dim,))
    h = layers.Dense(hidden, activation="leaky_relu")(z)
    h = layers.Dense(hidden, activation="leaky_relu")(h)
    generator = keras.Model(z, layers.Dense(data_dim)(h), name="generator")
    x = keras.Input((data_dim,))
    h = layers.Dense(hidden, activation="leaky_relu")(x)
    h = layers.Dense(hidden, activation="leaky_relu")(h)
    discriminator = keras.Model(x, layers.Dense(1)(h), name="discriminator")
    return generator, discriminator


def image_pair(latent_dim=8, size=8, channels=1, batchnorm=True):
    """A small conv generator `[b, latent_dim] -> [b, size, size, channels]`
    (tanh) and discriminator `-> [b, 1]` logits."""
    z = keras.Input((latent_dim,))
    h = layers.Dense((size // 2) * (size // 2) * 8)(z)
    h = layers.Reshape((size // 2, size // 2, 8))(h)
    if batchnorm:
        h = layers.BatchNormalization()(h)
    h = layers.ReLU()(h)
    h = layers.UpSampling2D()(h)
    out = layers.Conv2D(channels, 3, padding="same", activation="tanh")(h)
    generator = keras.Model(z, out, name="generator")
    x = keras.Input((size, size, channels))
    h = layers.Conv2D(8, 3, strides=2, padding="same")(x)
    h = layers.LeakyReLU(0.2)(h)
    h = layers.Flatten()(h)
    discriminator = keras.Model(x, layers.Dense(1)(h), name="discriminator")
    return generator, discriminator


def images(n=64, size=8, channels=1, seed=0):
    """Random float32 images in [-1, 1]."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, size, size, channels)).astype("float32")
