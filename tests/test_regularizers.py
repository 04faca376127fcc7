"""Each stability trick acts: replay, weight clipping, WGAN-GP, R1, spectral
normalization, generator EMA, label smoothing / flips, instance noise, and
separate optimizers. Networks are tiny and mostly linear so that every
expected number is computed by hand."""

import keras
import numpy as np
import pytest

import gankeras

BATCH = 8


def linear_generator(kernel, bias, latent_dim=1):
    """G(z) = z @ kernel + bias: `[batch, latent_dim]` -> `[batch, 2]`."""
    z = keras.Input((latent_dim,))
    g = keras.Model(z, keras.layers.Dense(2)(z))
    g.layers[-1].set_weights([np.asarray(kernel, "float32"), np.asarray(bias, "float32")])
    return g


def linear_critic(kernel, bias=0.0, input_shape=(2,)):
    """D(x) = flatten(x) . kernel + bias, so grad_x D = kernel everywhere."""
    x = keras.Input(input_shape)
    dense = keras.layers.Dense(1)
    d = keras.Model(x, dense(keras.layers.Flatten()(x)))
    dense.set_weights([np.asarray(kernel, "float32").reshape(-1, 1), np.array([bias], "float32")])
    return d


def frozen(gan, **compile_kwargs):
    """Compiles with learning rate 0: every logged value is a function of the
    weights set by hand."""
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.0),
        g_optimizer=keras.optimizers.SGD(0.0),
        **compile_kwargs,
    )
    return gan


def fit_once(gan, real):
    history = gan.fit(real, batch_size=len(real), epochs=1, verbose=0)
    return {name: values[-1] for name, values in history.history.items()}


def bce(logits, target):
    """Sigmoid cross-entropy, numpy."""
    return np.maximum(logits, 0) - logits * target + np.log1p(np.exp(-np.abs(logits)))


# ----------------------------------------------------------------------
# Replay buffer
# ----------------------------------------------------------------------
def test_replay_pool_fills_with_the_generated_fakes():
    g = linear_generator([[1.0, 0.0]], [0.0, 7.0])  # fakes: (z, 7)
    gan = gankeras.GAN(
        g,
        linear_critic([0.0, 1.0]),
        data_range=None,
        replay_buffer=gankeras.ReplayBuffer(capacity=32, fraction=0.5),
    )
    frozen(gan)
    fit_once(gan, np.zeros((BATCH, 2), "float32"))
    pool = keras.ops.convert_to_numpy(gan.replay_buffer.images.value)
    assert int(keras.ops.convert_to_numpy(gan.replay_buffer.count.value)) == BATCH
    np.testing.assert_allclose(pool[:BATCH, 1], 7.0)  # this step's fakes
    assert np.std(pool[:BATCH, 0]) > 0.1  # distinct latents
    np.testing.assert_array_equal(pool[BATCH:], 0.0)  # the rest still empty


def test_discriminator_fake_batch_mixes_in_past_fakes():
    # D(x) = 20 * x_2 / 7: fakes made with bias (0, 7) score ~1, with (0, -7) ~0.
    g = linear_generator([[1.0, 0.0]], [0.0, 7.0])
    gan = gankeras.GAN(
        g,
        linear_critic([0.0, 20.0 / 7.0]),
        data_range=None,
        replay_buffer=gankeras.ReplayBuffer(capacity=32, fraction=0.5),
    )
    frozen(gan)
    real = np.zeros((BATCH, 2), "float32")
    assert fit_once(gan, real)["d_fake"] == pytest.approx(1.0, abs=1e-6)
    g.layers[-1].bias.assign(np.array([0.0, -7.0], "float32"))
    # Half of D's fake batch now comes from the pool of past (0, 7) fakes.
    assert fit_once(gan, real)["d_fake"] == pytest.approx(0.5, abs=1e-6)


def test_without_replay_the_fake_batch_is_only_fresh_fakes():
    g = linear_generator([[1.0, 0.0]], [0.0, 7.0])
    gan = frozen(gankeras.GAN(g, linear_critic([0.0, 20.0 / 7.0]), data_range=None))
    real = np.zeros((BATCH, 2), "float32")
    fit_once(gan, real)
    g.layers[-1].bias.assign(np.array([0.0, -7.0], "float32"))
    assert fit_once(gan, real)["d_fake"] == pytest.approx(0.0, abs=1e-6)


# ----------------------------------------------------------------------
# WGAN: weight clipping, gradient penalty; R1
# ----------------------------------------------------------------------
def test_weight_clipping_keeps_every_discriminator_weight_in_bounds():
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(2)(keras.layers.Dense(16, "relu")(z)))
    x = keras.Input((2,))
    d = keras.Model(x, keras.layers.Dense(1)(keras.layers.Dense(16, "relu")(x)))
    assert max(np.abs(w).max() for w in d.get_weights()) > 0.1  # Glorot init
    gan = gankeras.GAN(g, d, data_range=None)
    gan.compile(
        d_optimizer=keras.optimizers.RMSprop(5e-3),
        g_optimizer=keras.optimizers.RMSprop(5e-3),
        loss="wasserstein",
        weight_clip=0.01,
    )
    gan.fit(np.random.normal(size=(64, 2)).astype("float32"), batch_size=16, epochs=2, verbose=0)
    d_weights = np.concatenate([w.ravel() for w in gan.discriminator.get_weights()])
    assert np.abs(d_weights).max() <= 0.01 + 1e-7
    assert np.any(np.isclose(np.abs(d_weights), 0.01))  # the clip bites
    g_weights = np.concatenate([w.ravel() for w in gan.generator.get_weights()])
    assert np.abs(g_weights).max() > 0.01  # only D is clipped


@pytest.mark.parametrize("kernel", [[3.0, 0.0, 4.0, 0.0], [0.5, 0.5, 0.5, 0.5]])
def test_gradient_penalty_matches_hand_computation_for_a_linear_critic(kernel):
    # grad_x D = kernel at every interpolate, over all non-batch axes (2x2x1):
    # penalty = (|kernel|_2 - 1)^2, whatever the mixing weights.
    z = keras.Input((1,))
    g = keras.Model(z, keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4, "tanh")(z)))
    gan = gankeras.GAN(g, linear_critic(kernel, input_shape=(2, 2, 1)))
    frozen(gan, loss="wasserstein", gradient_penalty=10.0)
    real = np.random.uniform(-1, 1, size=(BATCH, 2, 2, 1)).astype("float32")
    expected = (np.linalg.norm(kernel) - 1.0) ** 2
    assert fit_once(gan, real)["gradient_penalty"] == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_pulls_the_critic_gradient_norm_to_one():
    z = keras.Input((1,))
    g = keras.Model(z, keras.layers.Dense(2)(z))
    gan = gankeras.GAN(g, linear_critic([3.0, 4.0]), data_range=None)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.01),
        g_optimizer=keras.optimizers.SGD(0.0),
        loss="wasserstein",
        gradient_penalty=10.0,
    )
    # One SGD step on 10 (|w| - 1)^2 (+ the Wasserstein term, whose gradient
    # is mean(fake) - mean(real) and vanishes for identical batches).
    real = np.zeros((BATCH, 2), "float32")
    gan.generator.set_weights([np.zeros((1, 2), "float32"), np.zeros(2, "float32")])
    fit_once(gan, real)
    w = keras.ops.convert_to_numpy(gan.discriminator.layers[-1].kernel.value).ravel()
    w0 = np.array([3.0, 4.0])
    expected = w0 - 0.01 * 10.0 * 2.0 * (5.0 - 1.0) * w0 / 5.0
    np.testing.assert_allclose(w, expected, rtol=1e-5)


def test_r1_penalty_matches_hand_computation_for_a_linear_critic():
    # R1 = E |grad_x D(x)|^2 on real data = |kernel|^2 = 25.
    g = linear_generator([[1.0, 0.0]], [0.0, 0.0])
    gan = frozen(gankeras.GAN(g, linear_critic([3.0, 4.0]), data_range=None), r1_penalty=1.0)
    logs = fit_once(gan, np.random.normal(size=(BATCH, 2)).astype("float32"))
    assert logs["r1_penalty"] == pytest.approx(25.0, rel=1e-5)


# ----------------------------------------------------------------------
# Spectral normalization (Miyato et al. 2018): gankeras.SpectralNormalization
# ----------------------------------------------------------------------
def _critic(spectral, conv=False):
    wrap = gankeras.SpectralNormalization if spectral else (lambda layer: layer)
    x = keras.Input((2,))
    h = x
    if conv:  # the same slope check through a Conv1D over the 2 coordinates
        h = keras.layers.Reshape((2, 1))(h)
        h = keras.layers.LeakyReLU(0.2)(wrap(keras.layers.Conv1D(8, 2))(h))
        h = keras.layers.Flatten()(h)
    h = keras.layers.LeakyReLU(0.2)(wrap(keras.layers.Dense(16))(h))
    return keras.Model(x, wrap(keras.layers.Dense(1))(h))


def _train_critic_hard(spectral, conv=False):
    keras.utils.set_random_seed(1)
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(2)(z))
    gan = gankeras.GAN(g, _critic(spectral, conv), data_range=None)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(0.1), g_optimizer=keras.optimizers.SGD(0.0), loss="hinge"
    )
    real = (np.random.normal(size=(256, 2)) + 3.0).astype("float32")
    gan.fit(real, batch_size=32, epochs=1, verbose=0)
    return gan


def _largest_slope(discriminator):
    """max |D(a) - D(b)| / |a - b| over random pairs, D as trained (training=True)."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(512, 2)).astype("float32") * 3
    b = a + rng.normal(size=(512, 2)).astype("float32")
    da = keras.ops.convert_to_numpy(discriminator(a, training=True))
    db = keras.ops.convert_to_numpy(discriminator(b, training=True))
    return float(np.max(np.abs(da - db).ravel() / np.linalg.norm(a - b, axis=1)))


@pytest.mark.parametrize("conv", [False, True], ids=["dense", "conv1d"])
def test_spectral_normalization_keeps_the_top_singular_value_near_one(conv):
    # D is called twice per phase (real, fake): this also shows the layer
    # works under torch autograd, where keras.layers.SpectralNormalization's
    # in-place kernel assignment breaks backward.
    gan = _train_critic_hard(spectral=True, conv=conv)
    for layer in gan.discriminator.layers:
        if isinstance(layer, gankeras.SpectralNormalization):
            _, kernel = layer.normalized_weights()
            kernel = keras.ops.convert_to_numpy(kernel).reshape(-1, kernel.shape[-1])
            top = np.linalg.svd(kernel, compute_uv=False)[0]
            assert top == pytest.approx(1.0, abs=0.05)
    assert _largest_slope(gan.discriminator) <= 1.05


def test_spectral_normalization_divides_the_raw_kernel_by_its_top_singular_value():
    layer = gankeras.SpectralNormalization(
        keras.layers.Dense(3, use_bias=False), power_iterations=20
    )
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    layer(x, training=True)  # builds, converges u
    kernel = keras.ops.convert_to_numpy(layer.layer.kernel)
    sigma = np.linalg.svd(kernel, compute_uv=False)[0]
    out = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_allclose(out, x @ (kernel / sigma), rtol=1e-4, atol=1e-5)
    # The raw kernel stays raw (only u is assigned).
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.layer.kernel), kernel)


def test_spectral_normalization_round_trips_through_keras_file(tmp_path):
    model = _critic(spectral=True, conv=True)
    x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
    model(x, training=True)  # moves u away from its initial value
    path = str(tmp_path / "critic.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)),
        keras.ops.convert_to_numpy(model(x)),
        rtol=1e-5,
        atol=1e-6,
    )


def test_spectral_normalization_refuses_transposed_convolutions():
    layer = gankeras.SpectralNormalization(keras.layers.Conv2DTranspose(2, 3))
    with pytest.raises(ValueError, match="Conv2DTranspose"):
        layer(np.zeros((1, 4, 4, 1), "float32"))


def test_without_spectral_normalization_the_same_critic_gets_steep():
    assert _largest_slope(_train_critic_hard(spectral=False).discriminator) > 2.0


# ----------------------------------------------------------------------
# Generator EMA (Karras et al. 2018) via Adam/SGD(use_ema=True)
# ----------------------------------------------------------------------
def test_ema_weights_are_the_moving_average_of_the_raw_weights():
    momentum = 0.5
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(2)(keras.layers.Dense(4, "relu")(z)))
    x = keras.Input((2,))
    d = keras.Model(x, keras.layers.Dense(1)(x))
    gan = gankeras.GAN(g, d, data_range=None)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.1),
        g_optimizer=keras.optimizers.SGD(0.5, use_ema=True, ema_momentum=momentum),
    )

    raw_after_step = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raw_after_step.append(self.model.generator.get_weights())

    real = np.random.normal(size=(5 * BATCH, 2)).astype("float32") + 2.0
    gan.fit(real, batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[Record()])

    # Keras: the average starts at the weights after the first step, then
    # average <- m * average + (1 - m) * weights after every later step.
    expected = raw_after_step[0]
    for weights in raw_after_step[1:]:
        expected = [momentum * a + (1 - momentum) * w for a, w in zip(expected, weights)]
    with gan.ema_weights():
        averaged = gan.generator.get_weights()
    for a, e in zip(averaged, expected):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)
    # Outside the context the generator keeps its raw weights, which differ.
    for raw, last in zip(gan.generator.get_weights(), raw_after_step[-1]):
        np.testing.assert_allclose(raw, last, rtol=1e-6)
    assert any(np.abs(r - a).max() > 1e-3 for r, a in zip(raw_after_step[-1], averaged))
    assert np.abs(gan.generate(4, use_ema=True) - gan.generate(4, use_ema=False)).max() > 1e-4


# ----------------------------------------------------------------------
# Label smoothing, label flips, instance noise
# ----------------------------------------------------------------------
def _label_gan(**compile_kwargs):
    # Fakes are all (1, 1): D logit 0.5 * 1 + 1.0 * 1 - 0.5 = 1.0.
    g = linear_generator([[0.0, 0.0]], [1.0, 1.0])
    gan = gankeras.GAN(g, linear_critic([0.5, 1.0], bias=-0.5), data_range=None)
    return frozen(gan, **compile_kwargs)


REAL = np.array([[0.0, 0.0], [1.0, 2.0], [-1.0, 0.5], [2.0, -1.0]] * 2, "float32")
REAL_LOGITS = REAL @ np.array([0.5, 1.0]) - 0.5
FAKE_LOGIT = 1.0


def test_discriminator_loss_without_label_tricks():
    expected = bce(REAL_LOGITS, 1.0).mean() + bce(FAKE_LOGIT, 0.0)
    assert fit_once(_label_gan(), REAL)["d_loss"] == pytest.approx(expected, rel=1e-5)


def test_one_sided_label_smoothing_changes_real_targets_only():
    expected = bce(REAL_LOGITS, 0.9).mean() + bce(FAKE_LOGIT, 0.0)
    logs = fit_once(_label_gan(label_smoothing=0.1), REAL)
    assert logs["d_loss"] == pytest.approx(expected, rel=1e-5)


def test_label_flip_swaps_real_and_fake_targets():
    # Flip probability ~1: every example's targets are swapped.
    expected = bce(REAL_LOGITS, 0.0).mean() + bce(FAKE_LOGIT, 1.0)
    logs = fit_once(_label_gan(label_flip=1.0 - 1e-9), REAL)
    assert logs["d_loss"] == pytest.approx(expected, rel=1e-5)


def test_soft_label_ranges_bound_the_loss():
    # Targets uniform in [0.7, 1.0] (real) and [0.0, 0.3] (fake): the loss
    # is linear in the targets, so it lies between the losses at the ends.
    logs = fit_once(_label_gan(real_label_range=(0.7, 1.0), fake_label_range=(0.0, 0.3)), REAL)
    ends = [
        bce(REAL_LOGITS, r).mean() + bce(FAKE_LOGIT, f)
        for r, f in ((0.7, 0.0), (1.0, 0.3), (0.7, 0.3), (1.0, 0.0))
    ]
    assert min(ends) < logs["d_loss"] < max(ends)
    assert logs["d_loss"] != pytest.approx(ends[-1], rel=1e-3)


def test_instance_noise_adds_its_variance_to_a_least_squares_loss_and_anneals():
    # D linear with |w| = 1: noise of std s adds s^2 to E (D(x) - t)^2 of the
    # real and of the fake term; the least-squares D loss (halves) grows by s^2.
    g = linear_generator([[0.0, 0.0]], [0.0, 0.0])
    gan = gankeras.GAN(g, linear_critic([0.6, 0.8]), data_range=None)
    frozen(gan, loss="least_squares", instance_noise=1.0)
    real = np.zeros((4096, 2), "float32")
    clean = 0.5 * 1.0 + 0.5 * 0.0  # D(0) = 0: real term (0 - 1)^2, fake term 0
    noisy = fit_once(gan, real)["d_loss"]
    assert noisy == pytest.approx(clean + 1.0, abs=0.08)
    gan.instance_noise_std.assign(0.0)  # what an annealing callback does
    assert fit_once(gan, real)["d_loss"] == pytest.approx(clean, abs=1e-6)


# ----------------------------------------------------------------------
# Separate optimizers: TTUR, SGD for D and Adam for G
# ----------------------------------------------------------------------
def test_each_network_is_updated_by_its_own_optimizer():
    z = keras.Input((2,))
    g = keras.Model(z, keras.layers.Dense(2)(z))
    x = keras.Input((2,))
    d = keras.Model(x, keras.layers.Dense(1)(x))
    gan = gankeras.GAN(g, d, data_range=None)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(4e-4), g_optimizer=keras.optimizers.Adam(1e-4), d_steps=2
    )
    gan.fit(
        np.random.normal(size=(3 * BATCH, 2)).astype("float32"),
        batch_size=BATCH,
        epochs=1,
        verbose=0,
    )
    count = lambda v: int(keras.ops.convert_to_numpy(v))  # noqa: E731
    assert count(gan.d_optimizer.iterations) == 6  # d_steps per batch
    assert count(gan.g_optimizer.iterations) == 3
    assert count(gan.optimizer.iterations) == 3  # train steps
    assert not gan.d_optimizer.variables[2:]  # plain SGD keeps no slots
    assert len(gan.g_optimizer.variables) > 2  # Adam's moments for G only
