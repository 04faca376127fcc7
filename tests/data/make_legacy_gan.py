"""Writes `legacy_gan.keras` and `legacy_gan_expected_<backend>.npz`.

Run once with the gankeras of commit d7d3f34 (before the training-config /
objectives refactor), to pin what an old file holds and what the old code did
with it; `tests/test_legacy_file.py` checks that today's code loads the file,
generates the same images and continues training the same way.

    KERAS_BACKEND=tensorflow python tests/data/make_legacy_gan.py save
    KERAS_BACKEND=<each backend> python tests/data/make_legacy_gan.py expect

The GAN: the 8x8 test networks (`tests/gan_fixtures.image_pair`), a replay
pool, EMA on the generator optimizer, label smoothing, R1 and instance noise,
trained one step on `images(16, seed=0)`.
"""

import os
import sys

import keras
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import gankeras  # noqa: E402
from tests.gan_fixtures import image_pair, images  # noqa: E402

PATH = os.path.join(HERE, "legacy_gan.keras")


def save():
    keras.utils.set_random_seed(0)
    generator, discriminator = image_pair()
    gan = gankeras.GAN(
        generator,
        discriminator,
        replay_buffer=gankeras.ReplayBuffer(capacity=32, fraction=0.5),
    )
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5, use_ema=True, ema_momentum=0.9),
        label_smoothing=0.1,
        r1_penalty=0.1,
        instance_noise=0.05,
    )
    gan.fit(images(16, seed=0), batch_size=16, epochs=1, verbose=0, shuffle=False)
    gan.save(PATH)


def expect():
    backend = keras.backend.backend()
    gan = keras.saving.load_model(PATH)
    generated = gan.generate(4, seed=0)
    raw = gan.generate(4, seed=0, use_ema=False)
    gan.fit(images(16, seed=1), batch_size=8, epochs=1, verbose=0, shuffle=False)
    np.savez(
        os.path.join(HERE, f"legacy_gan_expected_{backend}.npz"),
        generated=generated,
        generated_raw=raw,
        generated_after=gan.generate(4, seed=0),
        **{f"weight_{i}": np.asarray(w) for i, w in enumerate(gan.get_weights())},
    )


if __name__ == "__main__":
    {"save": save, "expect": expect}[sys.argv[1]]()
