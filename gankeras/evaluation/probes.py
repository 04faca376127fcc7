"""Train a 1-D discriminator or critic against a *fixed* generator.

The theory checks of `gankeras.evaluation.theory` need a discriminator
trained to (near) optimality while p_g stays put. These probes use the real
`gankeras.GAN` training step on every backend, with a generator that maps
z ~ N(0, 1) to mean + std * z (one Dense unit) and is held fixed by a
learning rate of 0: a generator with no trainable variables would leave the
GAN's generator phase with nothing to differentiate, which the JAX
stateless optimizer step cannot build. The tests assert the generator's
weights do not move.
"""

import keras
import numpy as np

from gankeras.models import GAN


def fixed_gaussian_generator(mean, std):
    """A generator `[batch, 1] -> [batch, 1]` computing mean + std * z."""
    generator = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, name="affine")], name="fixed_generator"
    )
    generator.layers[0].set_weights([np.array([[std]], np.float32), np.array([mean], np.float32)])
    return generator


def mlp_discriminator(hidden=32, depth=2, activation="tanh", seed=0):
    """A small MLP `[batch, 1] -> [batch, 1]` of logits."""
    init = keras.initializers.GlorotUniform(seed=seed)
    layers = [keras.Input((1,))]
    for i in range(depth):
        layers.append(
            keras.layers.Dense(
                hidden, activation=activation, kernel_initializer=init, name=f"hidden_{i}"
            )
        )
        init = keras.initializers.GlorotUniform(seed=seed + i + 1)
    layers.append(keras.layers.Dense(1, kernel_initializer=init, name="logits"))
    return keras.Sequential(layers, name="probe_discriminator")


def train_probe(
    real_samples,
    generator_mean,
    generator_std,
    loss="non_saturating",
    gradient_penalty=0.0,
    batch_size=1024,
    learning_rate=1e-2,
    hidden=32,
    activation="tanh",
    seed=0,
):
    """Trains a discriminator (or critic) with the generator held fixed.

    One pass over `real_samples`, so the number of steps is
    `len(real_samples) // batch_size`.

    Args:
        real_samples: float32 `[n, 1]` samples of the data distribution p.
        generator_mean, generator_std: the fixed p_g = N(mean, std^2).
        loss: a `gankeras.losses` name; "non_saturating" trains D toward
            D* = p / (p + p_g), "wasserstein" trains a critic.
        gradient_penalty: WGAN-GP weight (10 in Gulrajani et al. 2017),
            which keeps the critic near 1-Lipschitz.
        batch_size, learning_rate, hidden, activation, seed: training
            set-up.

    Returns:
        `(gan, discriminator)`: the trained GAN and its discriminator, a
        model from `[batch, 1]` points to `[batch, 1]` logits (or critic
        values).
    """
    real_samples = np.asarray(real_samples, np.float32).reshape(-1, 1)
    gan = GAN(
        fixed_gaussian_generator(generator_mean, generator_std),
        mlp_discriminator(hidden=hidden, activation=activation, seed=seed),
        data_range=None,
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
        g_optimizer=keras.optimizers.SGD(0.0),  # the generator stays fixed
        loss=loss,
        gradient_penalty=gradient_penalty,
    )
    gan.fit(real_samples, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    return gan, gan.discriminator
