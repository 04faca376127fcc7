"""VAE-GAN as Larsen et al. 2016 define it (`reconstruction_layer`, `vaegan_gamma`).

The reconstruction error is measured in a named layer of D, D also judges
reconstructions, the encoder gets no adversarial gradient and gamma weights
the decoder's reconstruction term. The networks are linear and the encoder
deterministic (log variance -80, so z = mean(x) to 1e-17), so every expected
number is a hand computation in numpy. Updates are one plain-SGD step with
learning rate 1: a weight's change is minus its gradient.
"""

import keras
import numpy as np
import pytest

import gankeras

LATENT = 2
BATCH = 4
RNG = np.random.default_rng(0)
REAL = RNG.normal(size=(BATCH, 2, 2, 1)).astype("float32")
W_ENC = RNG.normal(size=(4, LATENT)).astype("float32") * 0.5
W_GEN = RNG.normal(size=(LATENT, 4)).astype("float32") * 0.5
B_GEN = RNG.normal(size=(4,)).astype("float32") * 0.1
W_FEAT = RNG.normal(size=(4, 3)).astype("float32") * 0.5
B_FEAT = np.array([0.1, -0.2, 0.3], "float32")
W_OUT = RNG.normal(size=(3, 1)).astype("float32") * 0.5
B_OUT = np.array([0.05], "float32")


def networks(trainable=("generator", "discriminator", "encoder")):
    """G(z) = reshape(z W_GEN + B_GEN), D(x) = (flat(x) W_FEAT + B_FEAT) W_OUT
    + B_OUT with the hidden layer named "features", Enc(x) = (flat(x) W_ENC,
    -80)."""
    z = keras.Input((LATENT,))
    dense = keras.layers.Dense(4, name="dec")
    g = keras.Model(z, keras.layers.Reshape((2, 2, 1))(dense(z)), name="g")
    dense.set_weights([W_GEN, B_GEN])
    x = keras.Input((2, 2, 1))
    feat, out = keras.layers.Dense(3, name="features"), keras.layers.Dense(1, name="logit")
    d = keras.Model(x, out(feat(keras.layers.Flatten(name="flat")(x))), name="d")
    feat.set_weights([W_FEAT, B_FEAT])
    out.set_weights([W_OUT, B_OUT])
    x = keras.Input((2, 2, 1))
    flat = keras.layers.Flatten()(x)
    mean = keras.layers.Dense(LATENT, use_bias=False, name="mean")
    log_var = keras.layers.Dense(
        LATENT, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(-80.0)
    )
    e = keras.Model(x, [mean(flat), log_var(flat)], name="e")
    mean.set_weights([W_ENC])
    for name, net in (("generator", g), ("discriminator", d), ("encoder", e)):
        net.trainable = name in trainable
    return g, d, e


def vaegan(lr=0.0, trainable=("generator", "discriminator", "encoder"), **options):
    g, d, e = networks(trainable)
    gan = gankeras.GAN(g, d, latent_dim=LATENT, encoder=e, data_range=None, seed=3)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(lr), g_optimizer=keras.optimizers.SGD(lr), **options
    )
    return gan


def fit_once(gan):
    history = gan.fit(REAL, batch_size=BATCH, epochs=1, verbose=0)
    return {name: values[-1] for name, values in history.history.items()}


def weights(layer):
    return [np.asarray(keras.ops.convert_to_numpy(w)) for w in layer.weights]


# Hand computations (numpy)
def flat(x):
    return x.reshape(len(x), -1)


def reconstructions():
    """Dec(Enc(x)) with z = mean(x), flattened."""
    return flat(REAL) @ W_ENC @ W_GEN + B_GEN


def features(x_flat):
    return x_flat @ W_FEAT + B_FEAT


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


# ----------------------------------------------------------------------
def test_feature_vaegan_trains_and_logs_its_terms():
    gan = vaegan(lr=0.01, reconstruction_layer="features", vaegan_gamma=0.5)
    history = gan.fit(REAL.repeat(4, axis=0), batch_size=BATCH, epochs=2, verbose=0).history
    names = ("d_loss", "g_loss", "kl_loss", "reconstruction_loss", "d_reconstruction_loss")
    for name in names + ("d_reconstructed",):
        assert len(history[name]) == 2 and np.all(np.isfinite(history[name])), name


def test_reconstruction_term_is_the_error_in_the_named_layers_features():
    logs = fit_once(vaegan(reconstruction_layer="features"))
    diff = features(reconstructions()) - features(flat(REAL))
    expected = np.mean(0.5 * np.sum(diff**2, axis=1))
    assert logs["reconstruction_loss"] == pytest.approx(expected, rel=1e-5)
    # D's score on reconstructions: mean sigmoid of its logits on them.
    logits = features(reconstructions()) @ W_OUT + B_OUT
    assert logs["d_reconstructed"] == pytest.approx(np.mean(sigmoid(logits)), rel=1e-5)
    # D's loss on them: the reconstructions' fake term plus the real term.
    real_logits = features(flat(REAL)) @ W_OUT + B_OUT
    expected = np.mean(np.log1p(np.exp(-real_logits))) + np.mean(np.log1p(np.exp(logits)))
    assert logs["d_reconstruction_loss"] == pytest.approx(expected, rel=1e-5)


def test_pixel_variant_stays_the_mean_squared_pixel_error():
    logs = fit_once(vaegan())
    expected = np.mean((reconstructions() - flat(REAL)) ** 2)
    assert logs["reconstruction_loss"] == pytest.approx(expected, rel=1e-5)
    assert "d_reconstructed" not in logs


def test_discriminator_receives_the_gradient_of_its_loss_on_reconstructions():
    # Only D trains. The feature variant's D phase draws the same fakes as
    # the pixel variant's (its encoder draw comes last), so the two updates
    # differ by the gradient of the reconstructions' fake term alone:
    # mean softplus(D(x_rec)) for the non-saturating loss.
    updated = {}
    for layer in (None, "features"):
        gan = vaegan(lr=1.0, trainable=("discriminator",), reconstruction_layer=layer)
        fit_once(gan)
        updated[layer] = weights(gan.discriminator.get_layer("logit"))
    h = features(reconstructions())
    p = sigmoid(h @ W_OUT + B_OUT)  # d softplus(l) / dl, [batch, 1]
    grad_kernel = h.T @ p / BATCH
    grad_bias = p.mean(axis=0)
    kernel_step = updated["features"][0] - updated[None][0]
    bias_step = updated["features"][1] - updated[None][1]
    np.testing.assert_allclose(kernel_step, -grad_kernel, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(bias_step, -grad_bias, rtol=1e-4, atol=1e-6)


def test_gamma_weights_the_decoders_reconstruction_gradient_and_not_the_encoders():
    after = {}
    for gamma in (1.0, 3.0):
        gan = vaegan(
            lr=1.0,
            trainable=("generator", "encoder"),
            reconstruction_layer="features",
            vaegan_gamma=gamma,
        )
        fit_once(gan)
        after[gamma] = (weights(gan.generator.get_layer("dec")), weights(gan.encoder))
    for a, b in zip(after[1.0][1], after[3.0][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    # d like / d B_GEN = mean_i W_FEAT W_FEAT^T (x_rec_i - x_i); gamma 3 - 1 = 2 of it.
    grad_bias = ((reconstructions() - flat(REAL)) @ W_FEAT @ W_FEAT.T).mean(axis=0)
    bias_step = after[3.0][0][1] - after[1.0][0][1]
    np.testing.assert_allclose(bias_step, -2.0 * grad_bias, rtol=1e-4, atol=1e-6)


def test_encoder_gets_no_adversarial_gradient():
    # Two adversarial losses, one encoder update: it sees only KL + Dis_l error.
    encoders = []
    for loss in ("non_saturating", "least_squares"):
        gan = vaegan(
            lr=1.0, trainable=("generator", "encoder"), reconstruction_layer="features", loss=loss
        )
        fit_once(gan)
        encoders.append(weights(gan.encoder))
    for a, b in zip(*encoders):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert not np.allclose(encoders[0][0], W_ENC)  # it did train


def test_keras_round_trip_keeps_the_option_and_the_objective(tmp_path):
    gan = vaegan(reconstruction_layer="features", vaegan_gamma=2.0)
    logs = fit_once(gan)
    path = str(tmp_path / "vaegan.keras")
    gan.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.training_options.reconstruction_layer == "features"
    assert loaded.training_options.vaegan_gamma == 2.0
    again = fit_once(loaded)
    assert again["reconstruction_loss"] == pytest.approx(logs["reconstruction_loss"], rel=1e-5)
    assert "d_reconstructed" in again


def test_unknown_layer_is_refused_naming_the_layers():
    with pytest.raises(ValueError, match=r"reconstruction_layer='nope'.*'features'"):
        vaegan(reconstruction_layer="nope")


def test_feature_options_need_an_encoder():
    g, d, _ = networks()
    gan = gankeras.GAN(g, d, latent_dim=LATENT, data_range=None)
    with pytest.raises(ValueError, match="pass an encoder"):
        gan.compile(reconstruction_layer="features")


@pytest.mark.backend_independent
def test_training_config_serializes_the_options():
    config = gankeras.TrainingConfig(reconstruction_layer="features", vaegan_gamma=0.25)
    data = config.get_config()
    assert data["reconstruction_layer"] == "features" and data["vaegan_gamma"] == 0.25
    assert gankeras.TrainingConfig.from_config(data) == config
    assert "d_reconstructed" in config.log_names(vae=True)
    assert gankeras.TrainingConfig().reconstruction_layer is None
    with pytest.raises(ValueError, match="reconstruction_layer"):
        gankeras.TrainingConfig(reconstruction_layer=3)
    with pytest.raises(ValueError, match="vaegan_gamma"):
        gankeras.TrainingConfig(vaegan_gamma=-1.0)
