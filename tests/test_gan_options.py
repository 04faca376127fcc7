"""GAN options without hidden side effects: weight clipping in the D phase,
a switchable divergence guard, `GAN(seed=...)`, `GAN(augment=...)`,
`generate(0)`, the per-step data-range check, float16 refused, the backend
contract."""

import os

import keras
import numpy as np
import pytest

import gankeras
from gankeras import backend as gan_backend
from gankeras.callbacks import (
    DiscriminatorCollapseError,
    DivergenceGuard,
    GANCheckpoint,
    GANDivergedError,
)
from tests.gan_fixtures import image_pair, images, mlp_pair


def adam(lr=2e-4):
    return keras.optimizers.Adam(lr, beta_1=0.5)


def dense_pair():
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(2)(keras.layers.Dense(16, "relu")(z)))
    x = keras.Input((2,))
    d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(16, "relu")(x)))
    return g, d


def d_weights(gan):
    return np.concatenate([w.ravel() for w in gan.discriminator.get_weights()])


# --- weight_clip: a projection in the D phase, no constraint ------------------


def test_weight_clip_sets_no_constraint_and_a_later_compile_without_it_stops_clipping():
    g, d = dense_pair()
    gan = gankeras.GAN(g, d, data_range=None)
    data = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    gan.compile(
        d_optimizer=keras.optimizers.RMSprop(5e-3),
        g_optimizer=adam(),
        loss="wasserstein",
        weight_clip=0.01,
    )
    gan.fit(data, batch_size=16, epochs=1, verbose=0)
    assert np.abs(d_weights(gan)).max() <= 0.01 + 1e-7
    assert all(v.constraint is None for v in d.trainable_variables)
    gan.compile(d_optimizer=keras.optimizers.RMSprop(5e-2), g_optimizer=adam(), loss="wasserstein")
    gan.fit(data, batch_size=16, epochs=1, verbose=0)
    assert np.abs(d_weights(gan)).max() > 0.02


# --- the divergence guard -----------------------------------------------------


def nan_gan():
    generator, discriminator = mlp_pair()
    gan = gankeras.GAN(generator, discriminator, data_range=None)
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    bias = discriminator.trainable_variables[-1]
    bias.assign(np.full(bias.shape, np.nan, "float32"))
    return gan


def test_fit_adds_a_divergence_guard_by_default():
    with pytest.raises(GANDivergedError, match="d_loss became nan"):
        nan_gan().fit(np.ones((16, 1), "float32"), batch_size=8, verbose=0)


def test_fit_without_divergence_guard_trains_on():
    history = nan_gan().fit(
        np.ones((16, 1), "float32"), batch_size=8, verbose=0, divergence_guard=False
    )
    assert np.isnan(history.history["d_loss"][0])


def collapse_gan():
    # As in test_callbacks_divergence_guard: G frozen, real data far away.
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(1)(keras.layers.Dense(8, "relu")(z)))
    x = keras.Input((1,))
    d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(8, "relu")(x)))
    gan = gankeras.GAN(g, d, data_range=None)
    gan.compile(d_optimizer=keras.optimizers.Adam(0.05), g_optimizer=keras.optimizers.Adam(0.0))
    return gan


def test_guard_renames_no_checkpoint_unless_asked(tmp_path):
    guard = DivergenceGuard(
        collapse_patience=20, checkpoint_directory=str(tmp_path), set_aside_suspects=False
    )
    with pytest.raises(DiscriminatorCollapseError, match="left in place") as error:
        collapse_gan().fit(
            np.full((32, 1), 20.0, "float32"),
            batch_size=8,
            epochs=100,
            verbose=0,
            callbacks=[GANCheckpoint(tmp_path, keep=100), guard],
        )
    names = os.listdir(tmp_path)
    assert not [n for n in names if n.startswith("suspect-")]
    assert "last good checkpoint is" in str(error.value)


def test_the_guard_fit_adds_names_checkpoints_but_renames_none(tmp_path, monkeypatch):
    seen = []
    begin = DivergenceGuard.on_train_begin
    monkeypatch.setattr(
        DivergenceGuard,
        "on_train_begin",
        lambda self, logs=None: seen.append(self) or begin(self, logs),
    )
    gan = collapse_gan()
    gan.fit(
        np.full((16, 1), 1.0, "float32"),
        batch_size=8,
        epochs=1,
        verbose=0,
        callbacks=[GANCheckpoint(tmp_path)],
    )
    (guard,) = seen
    assert guard.checkpoint_directory == os.fspath(tmp_path)
    assert guard.set_aside_suspects is False


# --- seed -----------------------------------------------------------------------


def test_seed_sets_the_training_randomness_and_round_trips(tmp_path):
    generator, discriminator = image_pair()
    initial = generator.get_weights(), discriminator.get_weights()

    def train(seed):
        generator.set_weights(initial[0])
        discriminator.set_weights(initial[1])
        gan = gankeras.GAN(generator, discriminator, seed=seed)
        gan.compile(d_optimizer=adam(), g_optimizer=adam())
        gan.fit(images(16), batch_size=16, epochs=1, verbose=0)
        return gan, generator.get_weights()

    gan, a = train(5)
    _, b = train(5)
    _, c = train(6)
    for x, y in zip(a, b):  # (torch sums in a varying order: ~1e-9)
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)
    assert max(np.abs(x - y).max() for x, y in zip(a, c)) > 1e-5
    assert gan.get_config()["seed"] == 5
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    assert keras.saving.load_model(path).seed == 5


def test_default_seed_is_1337_and_a_bool_seed_is_refused():
    generator, discriminator = image_pair()
    assert gankeras.GAN(generator, discriminator).seed == 1337
    with pytest.raises(ValueError, match="`seed` must be an integer. Received: seed=True"):
        gankeras.GAN(generator, discriminator, seed=True)


# --- generate(0) ------------------------------------------------------------------


def test_generate_zero_images_returns_an_empty_batch():
    generator, discriminator = image_pair()
    gan = gankeras.GAN(generator, discriminator)
    for out in (gan.generate(0), gan.generate(seeds=[])):
        assert out.shape == (0, 8, 8, 1)
        assert out.dtype == np.float32
    with pytest.raises(
        ValueError, match="`num_images` must be an integer >= 0. Received: num_images=-1"
    ):
        gan.generate(-1)


def test_generate_refuses_seeds_that_are_not_one_integer_per_image():
    generator, discriminator = image_pair()
    gan = gankeras.GAN(generator, discriminator)
    with pytest.raises(ValueError, match=r"Expected seeds of shape \[n\].*\(2, 2\)"):
        gan.generate(seeds=[[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="Expected integer seeds"):
        gan.generate(seeds=[0.5, 1.5])


def test_generate_with_truncation_pulls_the_latents_toward_the_mean():
    generator, discriminator = image_pair()
    gan = gankeras.GAN(generator, discriminator)
    seeds = [3, 4, 5]
    np.testing.assert_array_equal(
        gan.generate(seeds=seeds, truncation=1.0), gan.generate(seeds=seeds)
    )
    z = gankeras.latents_from_seeds(seeds, gan.latent_dim)
    expected = keras.ops.convert_to_numpy(gan.generator(0.5 * z, training=False))
    np.testing.assert_allclose(gan.generate(seeds=seeds, truncation=0.5), expected, atol=1e-6)
    average = gan.generate(seeds=seeds, truncation=0.0)  # every seed -> z = 0
    np.testing.assert_allclose(average, np.broadcast_to(average[:1], average.shape), atol=1e-6)


# --- data range of later batches ------------------------------------------------------


def test_out_of_range_batches_after_the_first_stop_training_with_the_fix():
    gan = gankeras.GAN(*image_pair())
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    data = images(32)
    data[16:] = (data[16:] + 1.0) * 127.5  # batch 2 is un-rescaled 0..255
    with pytest.raises(ValueError, match=r"epoch 1 had values in \[.*\].*0\.\.255.*x / 127\.5 - 1"):
        gan.fit(data, batch_size=16, epochs=3, verbose=0, shuffle=False)
    assert int(gan.optimizer.iterations) == 2  # stopped after the first epoch


def test_in_range_data_trains_every_epoch_and_logs_no_range():
    gan = gankeras.GAN(*image_pair())
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    history = gan.fit(images(32), batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert int(gan.optimizer.iterations) == 4


# --- float16 refused ----------------------------------------------------------------------


def test_mixed_float16_is_refused_with_the_reason():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        gan = gankeras.GAN(*image_pair())
        with pytest.raises(ValueError, match=r"float16.*no loss scaling.*mixed_bfloat16"):
            gan.compile(d_optimizer=adam(), g_optimizer=adam())
    finally:
        keras.mixed_precision.set_global_policy(previous)


# --- augment: every D input passes through it -------------------------------------------------


@keras.saving.register_keras_serializable(package="test_gan_options")
class Scale(keras.layers.Layer):
    """images * factor (training only): a stand-in augmentation."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, images, training=None):
        return images * self.factor if training else images

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def linear_gan(augment, **compile_kwargs):
    """G(z) = (1, 1) and D(x) = 3 x_1 + 4 x_2, frozen (lr 0)."""
    z = keras.Input((1,))
    dense = keras.layers.Dense(2)
    g = keras.Model(z, dense(z))
    dense.set_weights([np.zeros((1, 2), "float32"), np.ones(2, "float32")])
    x = keras.Input((2,))
    critic = keras.layers.Dense(1)
    d = keras.Model(x, critic(x))
    critic.set_weights([np.array([[3.0], [4.0]], "float32"), np.zeros(1, "float32")])
    gan = gankeras.GAN(g, d, data_range=None, augment=augment)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.0),
        g_optimizer=keras.optimizers.SGD(0.0),
        loss="wasserstein",
        **compile_kwargs,
    )
    return gan


def test_augment_applies_to_every_discriminator_input_and_inside_the_penalties():
    real = np.tile(np.array([[1.0, 2.0]], "float32"), (8, 1))  # D(real) = 11
    logs = {
        k: v[-1]
        for k, v in linear_gan(None, gradient_penalty=1.0, r1_penalty=1.0)
        .fit(real, batch_size=8, verbose=0)
        .history.items()
    }
    assert logs["d_real"] == pytest.approx(11.0) and logs["d_fake"] == pytest.approx(7.0)
    assert logs["gradient_penalty"] == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)
    assert logs["r1_penalty"] == pytest.approx(25.0, rel=1e-5)
    gan = linear_gan(Scale(2.0), gradient_penalty=1.0, r1_penalty=1.0)
    logs = {k: v[-1] for k, v in gan.fit(real, batch_size=8, verbose=0).history.items()}
    assert logs["d_real"] == pytest.approx(22.0) and logs["d_fake"] == pytest.approx(14.0)
    assert logs["g_loss"] == pytest.approx(-14.0)  # the G phase's D input too
    # WGAN-GP at interpolates of the augmented images D was scored on: grad = kernel.
    assert logs["gradient_penalty"] == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)
    # R1: input gradients w.r.t. the un-augmented reals flow through it: 2 * kernel.
    assert logs["r1_penalty"] == pytest.approx(100.0, rel=1e-5)
    # Inference mode (evaluate) passes training=False down to the layer.
    results = gan.evaluate(real, batch_size=8, verbose=0, return_dict=True)
    assert results["d_real"] == pytest.approx(11.0)


def test_augment_is_saved_with_the_model(tmp_path):
    gan = linear_gan(Scale(3.0))
    path = str(tmp_path / "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.augment, Scale) and loaded.augment.factor == 3.0


def test_augment_must_be_a_layer():
    g, d = dense_pair()
    with pytest.raises(TypeError, match="`augment` must be a keras.layers.Layer"):
        gankeras.GAN(g, d, augment=lambda x: x)


# --- the backend contract ------------------------------------------------------------


def test_the_active_backend_keeps_the_contract():
    for name in gan_backend.REQUIRED:
        assert callable(getattr(gan_backend, name)), name
    assert issubclass(gankeras.GAN, gan_backend.GANTrainerBase)
    for method in (
        "training_phases",
        "unpack_batch",
        "observe_real_batch",
        "evaluation_logs",
        "_update_trackers",
    ):
        assert callable(getattr(gankeras.GAN, method)), method
