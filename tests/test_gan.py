"""The GAN model: metrics, d_steps, sampling, saving, bad input, learning,
mixed precision.

Every test runs on the active Keras backend; `make test` runs the file under
TensorFlow, JAX and PyTorch.
"""

import os

import keras
import numpy as np
import pytest

import gankeras
from gankeras.callbacks import GANDivergedError
from tests.gan_fixtures import image_pair, images, mlp_pair


def adam(lr=2e-4):
    return keras.optimizers.Adam(lr, beta_1=0.5)


def compiled_image_gan(**compile_kwargs):
    generator, discriminator = image_pair()
    gan = gankeras.GAN(generator, discriminator)
    gan.compile(d_optimizer=adam(), g_optimizer=adam(), **compile_kwargs)
    return gan


# --- Metrics -----------------------------------------------------------------


def test_fit_reports_losses_and_discriminator_probabilities():
    gan = compiled_image_gan()
    history = gan.fit(images(64), batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    for name in ("d_real", "d_fake"):
        assert 0.0 <= history.history[name][0] <= 1.0


def test_wasserstein_loss_reports_raw_critic_scores():
    gan = compiled_image_gan(loss="wasserstein", gradient_penalty=10.0)
    history = gan.fit(images(64), batch_size=16, epochs=1, verbose=0)
    assert "gradient_penalty" in history.history
    assert np.isfinite(history.history["d_real"][0])


# --- The k discriminator steps -----------------------------------------------


@pytest.mark.parametrize("d_steps", [1, 3])
def test_d_steps_discriminator_updates_per_generator_update(d_steps):
    gan = compiled_image_gan(d_steps=d_steps)
    gan.fit(images(64), batch_size=16, epochs=1, verbose=0)
    assert int(gan.g_optimizer.iterations) == 4
    assert int(gan.d_optimizer.iterations) == 4 * d_steps
    assert int(gan.optimizer.iterations) == 4


def test_each_phase_updates_only_its_own_network():
    generator, discriminator = mlp_pair()
    gan = gankeras.GAN(generator, discriminator, data_range=None)
    gan.compile(d_optimizer=adam(), g_optimizer=keras.optimizers.SGD(0.0))
    g_before = [np.array(v) for v in generator.weights]
    d_before = [np.array(v) for v in discriminator.weights]
    gan.fit(np.ones((32, 1), "float32"), batch_size=16, epochs=1, verbose=0)
    # The generator's learning rate is 0: it must not move; D must.
    for before, v in zip(g_before, generator.weights):
        np.testing.assert_array_equal(before, np.array(v))
    assert any(
        not np.allclose(before, np.array(v)) for before, v in zip(d_before, discriminator.weights)
    )


# --- Sampling ----------------------------------------------------------------


def test_generate_returns_images_in_range():
    gan = compiled_image_gan()
    out = gan.generate(10, seed=3)
    assert out.shape == (10, 8, 8, 1)
    assert out.dtype == np.float32
    assert out.min() >= -1.0 and out.max() <= 1.0


def test_generate_is_reproducible_for_a_seed_and_varies_across_seeds():
    gan = compiled_image_gan()
    a = gan.generate(4, seed=7)
    np.testing.assert_array_equal(a, gan.generate(4, seed=7))
    assert not np.allclose(a, gan.generate(4, seed=8))
    # Image i of generate(n, seed=s) is the image of seed s + i.
    np.testing.assert_allclose(a[1:2], gan.generate(seeds=[8]), atol=1e-6)


def test_latents_from_seeds_are_standard_normal():
    z = gankeras.latents_from_seeds(np.arange(20000), 7)
    assert z.shape == (20000, 7)
    assert abs(z.mean()) < 0.02
    assert abs(z.std() - 1.0) < 0.02


# --- Saving ------------------------------------------------------------------


def test_save_and_load_round_trip_the_whole_gan(tmp_path):
    gan = compiled_image_gan(loss="hinge", d_steps=2)
    data = images(64)
    gan.fit(data, batch_size=16, epochs=1, verbose=0)
    path = os.path.join(tmp_path, "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)

    assert isinstance(loaded, gankeras.GAN)
    assert loaded.compiled
    assert loaded.adversarial_loss.name == "hinge"
    assert loaded.training_config["d_steps"] == 2
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-6)
    for mine, theirs in zip(gan.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_allclose(np.array(mine), np.array(theirs), atol=1e-7)


def test_training_continues_identically_after_loading(tmp_path):
    gan = compiled_image_gan()
    data = images(32)
    gan.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False)
    path = os.path.join(tmp_path, "gan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    gan.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False)
    loaded.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for mine, theirs in zip(gan.weights, loaded.weights):
        np.testing.assert_allclose(np.array(mine), np.array(theirs), rtol=1e-5, atol=1e-6)


def test_compile_config_round_trips():
    gan = compiled_image_gan(
        loss="least_squares",
        label_smoothing=0.1,
        label_flip=0.05,
        fake_label_range=(0.0, 0.3),
    )
    config = gan.get_compile_config()
    generator, discriminator = image_pair()
    other = gankeras.GAN(generator, discriminator)
    other.compile_from_config(config)
    assert other.training_config == gan.training_config
    assert other.adversarial_loss.name == "least_squares"
    assert other.d_optimizer.get_config() == gan.d_optimizer.get_config()


# --- Bad input ---------------------------------------------------------------


def test_image_shape_mismatch_fails_before_training():
    gan = compiled_image_gan()
    wrong = np.zeros((16, 10, 10, 1), "float32")
    with pytest.raises(ValueError, match=r"samples of shape \(10, 10, 1\).*\(8, 8, 1\)"):
        gan.fit(wrong, batch_size=8, verbose=0)


def test_nan_images_fail_before_training():
    gan = compiled_image_gan()
    data = images(16)
    data[3, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gan.fit(data, batch_size=8, verbose=0)


def test_unscaled_uint8_range_fails_with_the_fix():
    gan = compiled_image_gan()
    data = (images(16) + 1) * 127.5
    with pytest.raises(ValueError, match=r"0\.\.255.*x / 127\.5 - 1"):
        gan.fit(data, batch_size=8, verbose=0)


def test_latent_dim_mismatch_is_rejected():
    generator, discriminator = image_pair(latent_dim=8)
    with pytest.raises(ValueError, match="latent_dim=16 does not match.*size 8"):
        gankeras.GAN(generator, discriminator, latent_dim=16)


def test_unknown_loss_name_is_rejected():
    generator, discriminator = image_pair()
    gan = gankeras.GAN(generator, discriminator)
    with pytest.raises(ValueError, match="Unknown adversarial loss 'nonsaturating'"):
        gan.compile(loss="nonsaturating")


def test_label_tricks_with_a_target_free_loss_are_rejected():
    generator, discriminator = image_pair()
    gan = gankeras.GAN(generator, discriminator)
    with pytest.raises(ValueError, match="'wasserstein' loss has no real/fake targets"):
        gan.compile(loss="wasserstein", label_smoothing=0.1)


def test_one_optimizer_for_both_networks_is_rejected():
    generator, discriminator = image_pair()
    gan = gankeras.GAN(generator, discriminator)
    opt = adam()
    with pytest.raises(ValueError, match="two optimizer instances"):
        gan.compile(d_optimizer=opt, g_optimizer=opt)


def test_non_finite_losses_stop_training_with_a_clear_error():
    generator, discriminator = mlp_pair()
    gan = gankeras.GAN(generator, discriminator, data_range=None)
    gan.compile(d_optimizer=adam(), g_optimizer=adam())
    data = np.ones((64, 1), "float32")
    data[40:] = np.inf  # The first batch is clean, a later one is not.
    with pytest.raises(GANDivergedError, match=r"d_loss became nan"):
        gan.fit(data, batch_size=16, epochs=1, verbose=0, shuffle=False)


# --- It learns ---------------------------------------------------------------


def test_learns_a_univariate_gaussian():
    """The seeds' 1-D example: G(z) should match N(4, 0.5)."""
    generator, discriminator = mlp_pair(latent_dim=4, hidden=32)
    gan = gankeras.GAN(generator, discriminator, data_range=None)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
    )
    data = np.random.default_rng(0).normal(4.0, 0.5, (8192, 1)).astype("float32")
    gan.fit(data, batch_size=128, epochs=40, verbose=0)
    samples = gan.generate(4000, seed=0)
    assert samples.mean() == pytest.approx(4.0, abs=0.25)
    assert samples.std() == pytest.approx(0.5, abs=0.2)


# --- Evaluation --------------------------------------------------------------


def test_evaluate_reports_losses_without_updating_weights():
    gan = compiled_image_gan(gradient_penalty=1.0)
    data = images(32)
    gan.fit(data, batch_size=16, epochs=1, verbose=0)
    before = [np.array(v) for v in gan.trainable_variables]
    results = gan.evaluate(data, batch_size=16, verbose=0, return_dict=True)
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(results)
    assert all(np.isfinite(results[k]) for k in ("d_loss", "g_loss"))
    for b, v in zip(before, gan.trainable_variables):
        np.testing.assert_array_equal(b, np.array(v))


def test_fit_accepts_validation_data():
    gan = compiled_image_gan()
    history = gan.fit(
        images(32), batch_size=16, epochs=1, verbose=0, validation_data=(images(16, seed=1),)
    )
    assert "val_d_loss" in history.history


# --- Mixed precision ---------------------------------------------------------


@pytest.fixture
def mixed_bfloat16():
    """Networks and GAN built in the test compute in bfloat16 with float32
    variables; the global policy is restored afterwards, also on failure."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def record_logged_dtypes(gan):
    """Records the dtype of every value the training step logs (at trace
    time on TF / JAX, at every step on torch) into the returned dict."""
    dtypes = {}
    update_trackers = gan._update_trackers

    def recording(logs):
        for name, value in logs.items():
            dtypes[name] = keras.backend.standardize_dtype(value.dtype)
        return update_trackers(logs)

    gan._update_trackers = recording
    return dtypes


def fit_two_mixed_steps(gan, names):
    """Two steps under the mixed policy; `names` logged finite float32."""
    assert gan.generator.compute_dtype == "bfloat16"
    assert gan.discriminator.outputs[0].dtype == "bfloat16"
    dtypes = record_logged_dtypes(gan)
    history = gan.fit(images(32), batch_size=16, epochs=1, verbose=0)
    assert int(gan.optimizer.iterations) == 2
    assert set(dtypes) == set(history.history)
    for name in names:
        assert dtypes[name] == "float32", (name, dtypes[name])
        assert np.isfinite(history.history[name][0]), name
    assert set(dtypes.values()) == {"float32"}, dtypes


def test_mixed_bfloat16_trains_with_float32_losses(mixed_bfloat16):
    gan = compiled_image_gan()
    fit_two_mixed_steps(gan, ["d_loss", "g_loss", "d_real", "d_fake"])
    assert gan.generate(2).dtype == np.float32


def test_mixed_bfloat16_penalties_and_label_tricks_are_float32(mixed_bfloat16):
    gan = compiled_image_gan(
        gradient_penalty=10.0,
        r1_penalty=1.0,
        instance_noise=0.1,
        label_smoothing=0.1,
        label_flip=0.1,
    )
    fit_two_mixed_steps(gan, ["d_loss", "g_loss", "gradient_penalty", "r1_penalty"])
