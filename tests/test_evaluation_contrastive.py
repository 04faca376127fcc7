"""The label-free extractor's parts: augmentation layer, NT-Xent loss, the
encoder for every documented image size and channel count, and its cache
(keyed by data + set-up + code: a changed dataset misses it)."""

import os

import keras
import numpy as np
import pytest

from gankeras.evaluation import contrastive, evaluate_samples
from gankeras.evaluation.contrastive import ContrastiveAugmentation

RNG = np.random.default_rng(0)


def _images(count, shape, seed=0):
    """Smooth random images in [-1, 1] (blobs, so crops and jitter matter)."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    low = rng.uniform(-1, 1, (count, 4, 4, c)).astype(np.float32)
    return np.clip(np.kron(low, np.ones((1, h // 4, w // 4, 1), np.float32)), -1, 1)


def test_augmentation_round_trips_through_its_config():
    layer = ContrastiveAugmentation(min_scale=0.5, flip=False, grayscale=0.3, seed=7, name="aug")
    config = keras.saving.serialize_keras_object(layer)
    assert config["config"]["min_scale"] == 0.5 and config["config"]["seed"] == 7
    again = keras.saving.deserialize_keras_object(config)
    assert isinstance(again, ContrastiveAugmentation)
    assert again.get_config() == layer.get_config()


def test_augmentation_makes_new_views_in_range_and_is_the_identity_at_inference():
    images = _images(8, (32, 32, 3))
    layer = ContrastiveAugmentation(seed=1)
    a = keras.ops.convert_to_numpy(layer(images, training=True))
    b = keras.ops.convert_to_numpy(layer(images, training=True))
    assert a.shape == images.shape and a.min() >= -1.0 and a.max() <= 1.0
    assert np.abs(a - images).mean() > 0.05 and np.abs(a - b).mean() > 0.05
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=False)), images)


def test_augmentation_without_jitter_and_crop_is_the_identity_when_training():
    images = _images(4, (28, 28, 1))
    layer = ContrastiveAugmentation(
        min_scale=1.0, max_translation=0.0, flip=False, brightness=0.0, contrast=0.0, seed=0
    )
    out = keras.ops.convert_to_numpy(layer(images, training=True))
    np.testing.assert_allclose(out, images, atol=1e-5)


def _nt_xent_numpy(a, b, tau):
    z = np.concatenate([a, b]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n = len(a)
    sim = z @ z.T / tau
    losses = []
    for i in range(2 * n):
        j = (i + n) % (2 * n)
        others = [k for k in range(2 * n) if k != i]
        losses.append(-(sim[i, j] - np.log(np.sum(np.exp(sim[i, others])))))
    losses = np.asarray(losses)
    return 0.5 * (losses[:n] + losses[n:])


def test_nt_xent_matches_a_direct_implementation():
    a, b = RNG.normal(size=(6, 5)).astype(np.float32), RNG.normal(size=(6, 5)).astype(np.float32)
    loss = keras.ops.convert_to_numpy(contrastive.nt_xent_loss(a, b, temperature=0.5))
    np.testing.assert_allclose(loss, _nt_xent_numpy(a, b, 0.5), rtol=1e-4)
    # Aligned views of orthogonal directions: the positive dominates.
    eye = np.eye(6, dtype=np.float32)
    aligned = keras.ops.convert_to_numpy(contrastive.nt_xent_loss(eye, eye, temperature=0.1))
    assert aligned.max() < 1e-3


@pytest.mark.parametrize(
    "shape", [(28, 28, 1), (32, 32, 1), (32, 32, 3), (64, 64, 3), (128, 128, 3)]
)
def test_encoder_builds_and_extracts_features_for_every_documented_size(shape):
    model = contrastive.build_contrastive_encoder(shape)
    encoder = contrastive.ContrastiveEncoder(model)
    features = encoder.features(_images(3, shape))
    assert features.shape == (3, 128) and np.all(np.isfinite(features))
    spatial = [
        layer.output.shape[1] for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
    ]
    assert spatial[-1] <= 4 < spatial[-2]


def test_encoder_refuses_unsupported_channels():
    with pytest.raises(ValueError, match=r"C in \(1, 3\). Received image shape \(32, 32, 4\)"):
        contrastive.build_contrastive_encoder((32, 32, 4))


@pytest.mark.backend_independent
def test_fingerprint_changes_with_the_data_the_set_up_and_the_code():
    images = _images(16, (28, 28, 1))
    config = dict(contrastive.DEFAULTS)
    key = contrastive.encoder_fingerprint(images, config)
    assert key == contrastive.encoder_fingerprint(images.copy(), dict(config))
    changed = images.copy()
    changed[3, 5, 5, 0] += 0.01
    assert contrastive.encoder_fingerprint(changed, config) != key
    assert contrastive.encoder_fingerprint(images[:15], config) != key
    assert contrastive.encoder_fingerprint(images, dict(config, steps=301)) != key
    assert contrastive.encoder_fingerprint(images, config, code="other code") != key


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("encoders"))


@pytest.fixture(scope="module")
def rgb_images():
    return _images(64, (32, 32, 3))


SETUP = dict(steps=20, batch_size=32)


@pytest.fixture(scope="module")
def encoder(cache_dir, rgb_images):
    """Trained once for the module (RGB 32x32), cached in `cache_dir`."""
    return contrastive.load_or_train_contrastive_encoder(cache_dir, rgb_images, **SETUP)


def test_training_lowers_the_contrastive_loss_on_rgb(encoder):
    assert encoder.image_shape == (32, 32, 3) and encoder.config["steps"] == 20
    losses = encoder.loss_history
    assert len(losses) == 10 and np.all(np.isfinite(losses))
    # log(2B - 1) = 4.14 for random projections; training must do better.
    assert np.mean(losses[-3:]) < np.mean(losses[:3]) < np.log(63) + 0.5


def test_cache_hit_loads_without_training_and_a_changed_dataset_misses(
    cache_dir, rgb_images, encoder, monkeypatch
):
    first_files = [f"contrastive_encoder-{encoder.fingerprint}.{ext}" for ext in ("json", "keras")]
    assert sorted(os.listdir(cache_dir)) == first_files
    calls = []

    def train(images, **kwargs):  # counts misses; no need to really train again
        calls.append(kwargs)
        return contrastive.ContrastiveEncoder(
            contrastive.build_contrastive_encoder(images.shape[1:])
        )

    monkeypatch.setattr(contrastive, "train_contrastive_encoder", train)
    again = contrastive.load_or_train_contrastive_encoder(cache_dir, rgb_images, **SETUP)
    assert calls == [] and again.fingerprint == encoder.fingerprint
    assert again.loss_history == encoder.loss_history
    np.testing.assert_allclose(
        again.features(rgb_images[:4]), encoder.features(rgb_images[:4]), atol=1e-5
    )

    changed = rgb_images.copy()
    changed[0] = -changed[0]
    other = contrastive.load_or_train_contrastive_encoder(cache_dir, changed, **SETUP)
    assert len(calls) == 1 and other.fingerprint != encoder.fingerprint
    assert len(os.listdir(cache_dir)) == 4 and set(first_files) <= set(os.listdir(cache_dir))


def test_unknown_encoder_setting_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown contrastive encoder settings \['epochs'\]"):
        contrastive.load_or_train_contrastive_encoder(
            str(tmp_path), _images(8, (28, 28, 1)), epochs=3
        )
    assert os.listdir(tmp_path) == []


def test_rgb_metrics_in_label_free_features(encoder):
    """[N, 32, 32, 3] images through evaluate_samples: every distance
    metric, the protocol naming the encoder and its fingerprint."""
    real = _images(300, (32, 32, 3), seed=1)
    report = evaluate_samples(
        _images(140, (32, 32, 3), seed=2),
        real[:150],
        real[150:],
        encoder,
        memorization_count=50,
        parzen_count=50,
    )
    for name in (
        "frechet_distance",
        "kernel_distance",
        "precision",
        "recall",
        "density",
        "coverage",
    ):
        assert np.isfinite(report.metrics[name]), name
    assert report.generated_histogram is None
    protocol = report.protocol
    assert protocol["extractor"] == "simclr_encoder"
    assert protocol["extractor_fingerprint"] == encoder.fingerprint
    assert protocol["extractor_config"]["steps"] == 20
    assert protocol["resize"] is None and protocol["image_shape"] == [32, 32, 3]
    assert (protocol["num_real"], protocol["num_generated"], protocol["reference_split"]) == (
        150,
        140,
        "train",
    )
