"""`GAN(augment=...)` in the train step: DiffAugment (Zhao et al. 2020) and
ADA (Karras et al. 2020) applied to real and fake images before D and before
the penalties, G trained through the augmentation (no leak), ADA's
controller in training, its p saved and resumed, and inference untouched.
"""

import keras
import numpy as np
import pytest
from keras import layers, ops

import gankeras
from gankeras.callbacks.checkpoint import checkpoint_variables

S = 8  # image side
# The controller and resume tests run uncompiled on JAX (compiling each tiny
# GAN costs more than its steps); the other tests cover the compiled step.
JIT = keras.backend.backend() != "jax"


# --- augmentation of every D input, before R1 and WGAN-GP -------------------------------------


@keras.saving.register_keras_serializable(package="test_gan_augment")
class Offset(gankeras.augment.Augmentation):
    """x + 1 (a parameter drawn from the seed generator, always 1), and counts
    `update` calls and records the mean of the logits it was given."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False, name="calls")
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

    def sample_parameters(self, images, seed_generator):
        u = self.random(keras.random.uniform, ops.shape(images)[0], seed_generator)
        return {"offset": 1.0 + 0.0 * u}

    def apply(self, images, parameters):
        return images + ops.reshape(parameters["offset"], (-1,) + (1,) * (len(images.shape) - 1))

    def update(self, real_logits):
        self.calls.assign(self.calls + 1.0)
        self.seen.assign(ops.mean(real_logits))


def quadratic_gan(augment, **compile_kwargs):
    """G(z) = (1, 2) (the real point) and D(x) = 3 x_1^2 + 4 x_2^2, frozen."""
    z = keras.Input((1,))
    dense = layers.Dense(2)
    g = keras.Model(z, dense(z))
    dense.set_weights([np.zeros((1, 2), "float32"), np.array([1.0, 2.0], "float32")])
    x = keras.Input((2,))
    critic = layers.Dense(1)
    d = keras.Model(x, critic(layers.Multiply()([x, x])))
    critic.set_weights([np.array([[3.0], [4.0]], "float32"), np.zeros(1, "float32")])
    gan = gankeras.GAN(g, d, data_range=None, augment=augment)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.0),
        g_optimizer=keras.optimizers.SGD(0.0),
        loss="wasserstein",
        **compile_kwargs,
    )
    return gan


def test_real_and_fake_are_augmented_before_d_r1_and_the_gradient_penalty():
    real = np.tile(np.array([[1.0, 2.0]], "float32"), (8, 1))
    gan = quadratic_gan(Offset(), gradient_penalty=1.0, r1_penalty=1.0, d_steps=2)
    logs = {k: v[-1] for k, v in gan.fit(real, batch_size=8, epochs=1, verbose=0).history.items()}
    # D sees (2, 3): 3*4 + 4*9 = 48, for reals, fakes and in G's phase.
    assert logs["d_real"] == pytest.approx(48.0) and logs["d_fake"] == pytest.approx(48.0)
    assert logs["g_loss"] == pytest.approx(-48.0)
    # R1 w.r.t. the un-augmented reals through the augmentation: grad (12, 24)
    # (un-augmented it would be (6, 16): 292).
    assert logs["r1_penalty"] == pytest.approx(720.0, rel=1e-5)
    # WGAN-GP at interpolates of the augmented batches, all (2, 3) here.
    assert logs["gradient_penalty"] == pytest.approx((np.sqrt(720.0) - 1.0) ** 2, rel=1e-5)
    # The controller saw the augmented real logits, once per D step.
    assert float(gan.augment.calls) == 2.0 and float(gan.augment.seen) == pytest.approx(48.0)


def test_evaluate_and_generate_are_not_augmented():
    g, d = image_pair()
    x = np.random.default_rng(0).uniform(-1, 1, (16, S, S, 1)).astype("float32")
    results = []
    for augment in (None, gankeras.augment.AdaptiveAugment(target=None, initial_p=1.0)):
        gan = gankeras.GAN(g, d, augment=augment)
        gan.compile(d_optimizer="adam", g_optimizer="adam")
        logs = gan.evaluate(x, batch_size=8, verbose=0, return_dict=True)
        scores = {k: logs[k] for k in ("d_real", "d_fake", "d_loss")}
        results.append((scores, gan.generate(4, seed=3)))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    np.testing.assert_array_equal(results[0][1], results[1][1])


# --- no leak ------------------------------------------------------------------------------------


def image_pair(latent_dim=4):
    keras.utils.set_random_seed(0)
    z = keras.Input((latent_dim,))
    h = layers.Dense(32, activation="relu")(z)
    g = keras.Model(z, layers.Reshape((S, S, 1))(layers.Dense(S * S, activation="tanh")(h)))
    x = keras.Input((S, S, 1))
    h = layers.Dense(32, activation="leaky_relu")(layers.Flatten()(x))
    return g, keras.Model(x, layers.Dense(1)(h))


def pattern_data(n=256):
    """One 3x3 white square at rows/cols 1..3 on black, always in place."""
    x = -np.ones((n, S, S, 1), "float32")
    x[:, 1:4, 1:4] = 1.0
    return x


def offset_from_real(images):
    """Mean L1 distance of each image's centre of mass to the real one's."""
    w = (np.asarray(images)[..., 0] + 1.0) / 2.0
    ys, xs = np.mgrid[0:S, 0:S]
    total = w.sum((1, 2)) + 1e-6
    com = np.stack([(w * ys).sum((1, 2)) / total, (w * xs).sum((1, 2)) / total], 1)
    return float(np.abs(com - 2.0).sum(1).mean())


def train_pattern_gan(augment, data, epochs=30):
    g, d = image_pair()
    gan = gankeras.GAN(g, d, latent_dim=4, augment=augment)
    adam = lambda: keras.optimizers.Adam(2e-3, beta_1=0.5)  # noqa: E731
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    gan.fit(data, batch_size=32, epochs=epochs, verbose=0)
    return gan.generate(256, seed=0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: gankeras.augment.DiffAugment("translation", translation_ratio=0.25),
        lambda: gankeras.augment.AdaptiveAugment(
            target=None, initial_p=1.0, transforms="translation", translation_ratio=0.375
        ),
    ],
    ids=["diffaugment", "ada_fixed_p"],
)
def test_generator_does_not_learn_the_translations(make):
    real = pattern_data()
    seeds = keras.random.SeedGenerator(1)
    augmented = np.concatenate(
        [ops.convert_to_numpy(make().augment(real[:64], seeds)) for _ in range(4)]
    )
    leaked = offset_from_real(augmented)  # what a leaking G would draw
    assert leaked > 0.8
    correct = offset_from_real(train_pattern_gan(make(), real))
    wrong = offset_from_real(train_pattern_gan(None, augmented))
    print(f"leaked {leaked:.3f} correct {correct:.3f} wrong {wrong:.3f}")
    # Augmenting in the step: G keeps the square in place.
    assert correct < 0.4 * leaked
    # The wrong way (only the reals augmented, in the data): G learns the shifts.
    assert wrong > 0.4 * leaked and wrong > 1.5 * correct


# --- ADA's controller in training ---------------------------------------------------------------


def ada_gan(d_learning_rate, real, **ada):
    g, d = image_pair()
    aug = gankeras.augment.AdaptiveAugment(interval=1, speed_images=64, **ada)
    gan = gankeras.GAN(g, d, latent_dim=4, augment=aug)
    gan.compile(
        d_optimizer=(
            keras.optimizers.Adam(d_learning_rate) if d_learning_rate else keras.optimizers.SGD(0.0)
        ),
        g_optimizer=keras.optimizers.SGD(0.0),
        jit_compile=JIT,
    )
    history = gan.fit(real, batch_size=8, epochs=3, verbose=0).history
    return gan, history


def test_ada_raises_p_when_d_overfits():
    # Two real images, a fast D, a frozen G: D memorizes, r_t -> 1 > 0.6.
    real = np.tile(pattern_data(2), (8, 1, 1, 1))
    gan, history = ada_gan(1e-2, real, target=0.6)
    assert history["augment_rt"][-1] > 0.6
    assert 0.5 < float(gan.augment.p) <= 1.0
    assert history["augment_p"][-1] > history["augment_p"][0] > 0.0


def test_ada_lowers_p_when_d_cannot_tell_real_from_fake():
    # A D that cannot tell them apart (logits all 0, r_t = 0 < 0.6): p falls
    # from 0.5 to 0 (8 / 64 a step) and stays clipped there.
    real = pattern_data(16)
    g, d = image_pair()
    d.set_weights([np.zeros_like(w) for w in d.get_weights()])
    aug = gankeras.augment.AdaptiveAugment(target=0.6, initial_p=0.5, interval=1, speed_images=64)
    gan = gankeras.GAN(g, d, latent_dim=4, augment=aug)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.0),
        g_optimizer=keras.optimizers.SGD(0.0),
        jit_compile=JIT,
    )
    history = gan.fit(real, batch_size=8, epochs=3, verbose=0).history
    assert history["augment_rt"][-1] == 0.0
    assert float(gan.augment.p) == 0.0
    assert history["augment_p"][0] == pytest.approx((0.375 + 0.25) / 2)  # epoch mean


# --- saving and resuming p ----------------------------------------------------------------------


def test_ada_state_round_trips_through_keras_file_and_resumes_exactly(tmp_path):
    real = np.tile(pattern_data(2), (8, 1, 1, 1))
    gan, _ = ada_gan(1e-2, real, target=0.6)
    p = float(gan.augment.p)
    assert 0.0 < p < 1.0 or p == 1.0
    # The checkpoint callback saves every GAN variable, ADA's included.
    saved = {id(v) for v in checkpoint_variables(gan)}
    assert all(id(v) in saved for v in gan.augment.variables)
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.augment, gankeras.augment.AdaptiveAugment)
    assert loaded.augment.get_config() == gan.augment.get_config()
    for a, b in zip(gan.augment.variables, loaded.augment.variables):
        assert float(a) == float(b)
    # One more epoch on each: the same p and the same weights.
    gan.fit(real, batch_size=8, epochs=1, verbose=0, shuffle=False)
    loaded.fit(real, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert float(loaded.augment.p) == float(gan.augment.p)
    for a, b in zip(gan.discriminator.get_weights(), loaded.discriminator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_ada_p_resumes_exactly_from_a_gan_checkpoint(tmp_path):
    from gankeras.callbacks.checkpoint import GANCheckpoint, resume_or_start

    real = np.tile(pattern_data(2), (8, 1, 1, 1))

    def build():
        g, d = image_pair()
        aug = gankeras.augment.AdaptiveAugment(target=0.6, interval=1, speed_images=64)
        gan = gankeras.GAN(g, d, latent_dim=4, augment=aug)
        gan.compile(
            d_optimizer=keras.optimizers.Adam(1e-2),
            g_optimizer=keras.optimizers.SGD(0.0),
            jit_compile=JIT,
        )
        return gan

    uninterrupted = build()
    uninterrupted.fit(real, batch_size=8, epochs=3, verbose=0, shuffle=False)
    first = build()
    first.fit(
        real,
        batch_size=8,
        epochs=2,
        verbose=0,
        shuffle=False,
        callbacks=[GANCheckpoint(str(tmp_path / "ckpt"))],
    )
    assert float(first.augment.p) > 0.0
    resumed = build()
    assert float(resumed.augment.p) == 0.0
    initial_epoch = resume_or_start(resumed, str(tmp_path / "ckpt"), verbose=0)
    assert initial_epoch == 2 and float(resumed.augment.p) == float(first.augment.p)
    resumed.fit(real, batch_size=8, epochs=3, initial_epoch=2, verbose=0, shuffle=False)
    for a, b in zip(uninterrupted.augment.variables, resumed.augment.variables):
        assert float(a) == float(b)
    for a, b in zip(uninterrupted.discriminator.get_weights(), resumed.discriminator.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
