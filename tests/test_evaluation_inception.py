"""The standard protocol's plumbing with random InceptionV3 weights (no
pretrained weights can be downloaded here): a weights file saved to a tmp
path is loaded (with and without the classifier top), images of any size
and 1 or 3 channels are resized to 299x299 bilinear, features are the 2048-d
pool, and `evaluate_samples(..., inception=...)` adds the `inception_*`
metrics and their protocol. A few images only: 299x299 on CPU is slow."""

import keras
import numpy as np
import pytest

from gankeras.evaluation import InceptionExtractor, evaluate_samples
from gankeras.evaluation import inception as inception_lib
from gankeras.evaluation.contrastive import ContrastiveEncoder, build_contrastive_encoder


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Random InceptionV3 weights (with the top) in a tmp file, and the
    network that saved them."""
    keras.utils.set_random_seed(1)
    net = inception_lib._network(include_top=True)
    path = str(tmp_path_factory.mktemp("inception") / "inception_v3.weights.h5")
    net.save_weights(path)
    return path, net


@pytest.fixture(scope="module")
def extractor(weights):
    return InceptionExtractor.from_weights(weights[0], batch_size=12)


def _images(count, shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count,) + shape).astype(np.float32)


def test_weights_are_loaded_from_the_file(weights, extractor):
    _, net = weights
    assert extractor.has_logits and extractor.fingerprint == inception_lib._file_digest(weights[0])
    saved = net.get_weights()
    loaded = extractor.model.get_weights()
    assert len(saved) == len(loaded) and all(np.array_equal(a, b) for a, b in zip(saved, loaded))


def test_preprocess_resizes_to_299_bilinear_and_repeats_grey_channels(extractor):
    grey = _images(2, (28, 28, 1))
    x = keras.ops.convert_to_numpy(extractor.preprocess(grey))
    assert x.shape == (2, 299, 299, 3)
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    expected = keras.ops.convert_to_numpy(
        keras.ops.image.resize(np.repeat(grey, 3, axis=-1), (299, 299), interpolation="bilinear")
    )
    np.testing.assert_allclose(x, expected, atol=1e-6)
    # Values stay in [-1, 1]: the range InceptionV3's preprocess_input produces.
    assert x.min() >= -1.0 - 1e-6 and x.max() <= 1.0 + 1e-6


def test_protocol_metrics_on_a_few_images_of_another_size(extractor):
    """[N, 32, 32, 3] data through evaluate_samples with the Inception
    extractor: pool features, KID, the Inception score; FD in 2048-d needs
    more than 2048 images, so it is None and the protocol says why."""
    real, samples = _images(12, (32, 32, 3), seed=1), _images(12, (32, 32, 3), seed=2)
    features, logits = extractor.features_and_logits(samples[:3])
    assert features.shape == (3, 2048) and logits.shape == (3, 1000)
    # The main extractor: an untrained 8-d encoder (FD needs > 8 images).
    encoder = ContrastiveEncoder(
        build_contrastive_encoder((32, 32, 3), width=2), fingerprint="untrained"
    )
    report = evaluate_samples(
        samples,
        real,
        _images(8, (32, 32, 3), seed=3),
        encoder,
        inception=extractor,
        memorization_count=4,
        parzen_count=4,
    )
    metrics, protocol = report.metrics, report.protocol["inception"]
    assert np.isfinite(metrics["frechet_distance"])  # the encoder's
    for name in (
        "inception_kernel_distance",
        "inception_precision",
        "inception_recall",
        "inception_density",
        "inception_coverage",
    ):
        assert np.isfinite(metrics[name]), name
    assert 1.0 <= metrics["inception_score"] <= 12.0 and metrics["real_inception_score"] >= 1.0
    assert metrics["inception_frechet_distance"] is None
    assert (
        "needs more than 2048 images per set (have 12 real, 12 generated)"
        in protocol["frechet_distance"]
    )
    assert protocol["extractor"] == "inception_v3" and protocol["feature_dim"] == 2048
    assert protocol["extractor_fingerprint"] == extractor.fingerprint
    assert protocol["resize"] == {
        "size": [299, 299],
        "interpolation": "bilinear",
        "antialias": False,
    }
    assert (protocol["num_real"], protocol["num_generated"]) == (12, 12)


def test_weights_without_the_top_load_as_pool_features_only(tmp_path):
    net = inception_lib._network(include_top=False)
    path = str(tmp_path / "notop.weights.h5")
    net.save_weights(path)
    extractor = InceptionExtractor.from_weights(path)
    assert not extractor.has_logits
    assert [tuple(output.shape) for output in extractor.model.outputs] == [(None, 2048)]
    saved, loaded = net.get_weights(), extractor.model.get_weights()
    assert len(saved) == len(loaded) and all(np.array_equal(a, b) for a, b in zip(saved, loaded))


def test_a_file_that_is_not_inception_weights_is_an_error(tmp_path):
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    path = str(tmp_path / "dense.weights.h5")
    other.save_weights(path)
    with pytest.raises(ValueError, match="does not hold InceptionV3 weights"):
        InceptionExtractor.from_weights(path)
    text = tmp_path / "notes.h5"
    text.write_text("not weights")
    with pytest.raises(ValueError, match="is not an HDF5 weights file"):
        InceptionExtractor.from_weights(str(text))
    with pytest.raises(ValueError, match="is not a file"):
        InceptionExtractor.from_weights(str(tmp_path / "missing.h5"))


def test_imagenet_download_offline_says_so(monkeypatch):
    # Offline (as here), Keras's download fails; the error says what to do
    # instead. The failure is simulated so that the test never downloads.
    from keras.src.applications import inception_v3

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -2] Name or service not known")

    monkeypatch.setattr(inception_v3.file_utils, "get_file", offline)
    with pytest.raises(ValueError, match="Could not download the InceptionV3 ImageNet weights"):
        InceptionExtractor.from_weights("imagenet")
