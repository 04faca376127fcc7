"""gankeras.data.tfds_source: TFDS image datasets, offline.

Two offline stand-ins for a download: `tfds.testing.mock_data` (random
examples with the real dataset's features) and TFDS's own `dummy_mnist`
builder, which generates 20 train / 20 test MNIST-shaped examples without
the network and writes real TFRecord files (so split checks run on real
dataset metadata).
"""

import time

import numpy as np
import pytest
import requests
import tensorflow_datasets as tfds
import tensorflow_datasets.testing  # noqa: F401  (registers "dummy_mnist")

from gankeras import data


@pytest.fixture(scope="module")
def dummy_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tfds")
    tfds.testing.DummyMnist(data_dir=str(directory)).download_and_prepare()
    return str(directory)


@pytest.fixture
def mocked_download(monkeypatch):
    """`tfds.testing.mock_data` stands in for the download, so the offline
    check before a download (`network_reachable`) must let it through."""
    from gankeras.data import tfds_source

    monkeypatch.setattr(tfds_source, "network_reachable", lambda *args, **kwargs: True)


@pytest.mark.backend_independent
def test_mock_mnist_yields_batches_in_minus_one_one(tmp_path, mocked_download):
    with tfds.testing.mock_data(num_examples=16, data_dir=str(tmp_path)):
        dataset = data.tfds_dataset("mnist", batch_size=8, with_labels=True, data_dir=str(tmp_path))
        batches = list(dataset.as_numpy_iterator())
    assert len(batches) == 2
    images, labels = batches[0]
    assert images.shape == (8, 28, 28, 1) and images.dtype == np.float32
    assert -1.0 <= images.min() and images.max() <= 1.0
    assert labels.shape == (8,) and labels.dtype == np.int32
    assert dataset.class_names == [str(i) for i in range(10)]


def test_image_size_resizes_inside_tf_data(tmp_path, mocked_download):
    # Keras' Resizing layer runs in tf.data under every backend.
    with tfds.testing.mock_data(num_examples=4, data_dir=str(tmp_path)):
        dataset = data.tfds_dataset(
            "mnist", batch_size=4, image_size=(14, 10), data_dir=str(tmp_path)
        )
        images = next(dataset.as_numpy_iterator())
    assert images.shape == (4, 14, 10, 1) and images.dtype == np.float32
    assert -1.0 <= images.min() and images.max() <= 1.0


@pytest.mark.backend_independent
def test_prepared_dataset_reads_its_split(dummy_dir):
    dataset = data.tfds_dataset(
        "dummy_mnist", split="test", batch_size=5, data_dir=dummy_dir, download=False
    )
    assert [b.shape for b in dataset] == [(5, 28, 28, 1)] * 4


@pytest.mark.backend_independent
def test_load_tfds_returns_uint8_arrays(dummy_dir):
    images, labels = data.load_tfds("dummy_mnist", "train", data_dir=dummy_dir)
    assert images.shape == (20, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (20,) and labels.dtype == np.int32


# -- bad input -----------------------------------------------------------------


@pytest.mark.backend_independent
def test_unknown_split_lists_the_splits(dummy_dir):
    with pytest.raises(
        ValueError, match=r"Unknown split 'validation' .*it has splits \['train', 'test'\]"
    ):
        data.tfds_dataset("dummy_mnist", split="validation", data_dir=dummy_dir)


@pytest.mark.backend_independent
def test_unknown_split_inside_a_split_expression(dummy_dir):
    with pytest.raises(ValueError, match=r"Unknown split 'dev' .*split='train\+dev\[:10%\]'"):
        data.tfds_dataset("dummy_mnist", split="train+dev[:10%]", data_dir=dummy_dir)


@pytest.mark.backend_independent
def test_unknown_name_suggests_close_matches():
    with pytest.raises(
        ValueError,
        match=r"Unknown TFDS dataset name='fashion_mnsit'. Did you mean one of \['fashion_mnist'",
    ):
        data.tfds_dataset("fashion_mnsit")


@pytest.mark.backend_independent
def test_offline_download_says_so_and_points_to_the_offline_sources(tmp_path, monkeypatch):
    # A real download here takes minutes of TFDS retries before it fails with
    # exactly this chain (requests ConnectionError <- DNS failure), so the test
    # raises it directly.
    def no_network(self, *args, **kwargs):
        try:
            raise OSError("[Errno -2] Name or service not known")
        except OSError as dns_error:
            raise requests.exceptions.ConnectionError(
                "HTTPSConnectionPool(host='storage.googleapis.com', port=443): Max retries exceeded"
            ) from dns_error

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", no_network)
    from gankeras.data import tfds_source

    monkeypatch.setattr(tfds_source, "network_reachable", lambda *args, **kwargs: True)
    with pytest.raises(
        ConnectionError,
        match=r"the network is unreachable.*idx_dataset.*FASHION_MNIST_DIR.*image_folder_dataset",
    ):
        data.tfds_dataset("mnist", data_dir=str(tmp_path))


@pytest.mark.backend_independent
def test_missing_data_without_download_is_an_error(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"'mnist' is not prepared in .* and download=False"
    ):
        data.tfds_dataset("mnist", data_dir=str(tmp_path), download=False)


@pytest.mark.backend_independent
def test_offline_download_fails_within_seconds(tmp_path):
    # No network here: the bounded check answers before TFDS's own retries
    # (3.5 minutes) start.
    from gankeras.data import tfds_source

    if tfds_source.network_reachable():
        pytest.skip("needs a machine without network")
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=r"network is unreachable.*--idx_dir.*--image_dir"):
        data.load_tfds("mnist", data_dir=str(tmp_path))
    assert time.monotonic() - start < tfds_source.NETWORK_TIMEOUT + 5
