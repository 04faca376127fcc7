"""The losses of `gankeras.losses.fgan` on the seeds' 1-D example, N(4, 0.5).

Trains the MLP pair of the core tests with each loss (Adam, beta_1 0.5,
batch 128) and prints, per loss, the mean and standard deviation of 4,000
samples and the seconds taken. `tests/test_losses_fgan.py` trains every
f-GAN divergence and the ML cost for 512 steps (Pearson 1,024) with 16
hidden units and Adam 5e-3, dropped to 1e-3 for the last quarter;
`--lr=5e-3 --hidden=16 --epochs=8` is the same number of steps at the
constant rate.

Usage:
    KERAS_BACKEND=jax python bench/fgan_gaussian.py --epochs=40 [--losses=fgan_kl,mmd]
    KERAS_BACKEND=jax python bench/fgan_gaussian.py --lr=5e-3 --hidden=16 --epochs=8
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

import gankeras
from gankeras.losses import fgan
from tests.gan_fixtures import mlp_pair


def train(name, epochs, data, lr=1e-3, hidden=32):
    generator, discriminator = mlp_pair(latent_dim=4, hidden=hidden)
    gan = gankeras.GAN(generator, discriminator, data_range=None)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
        loss=fgan.adversarial_loss(name),
    )
    gan.fit(data, batch_size=128, epochs=epochs, verbose=0)
    return gan.generate(4000, seed=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=40, help="epochs of 64 steps")
    parser.add_argument("--losses", default=",".join(fgan.LOSS_NAMES))
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of D and G")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units of both MLPs")
    args = parser.parse_args()
    data = np.random.default_rng(0).normal(4.0, 0.5, (8192, 1)).astype("float32")
    print(
        f"backend={keras.backend.backend()} epochs={args.epochs} lr={args.lr} "
        f"hidden={args.hidden} target mean 4.0 std 0.5"
    )
    for name in args.losses.split(","):
        start = time.perf_counter()
        samples = train(name, args.epochs, data, args.lr, args.hidden)
        print(
            f"{name:24s} mean {samples.mean():6.3f}  std {samples.std():6.3f}  "
            f"{time.perf_counter() - start:6.1f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
