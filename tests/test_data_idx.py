"""gankeras.data.idx: MNIST-format IDX files -> arrays and datasets."""

import gzip

import numpy as np
import pytest

from gankeras import data

pytestmark = pytest.mark.backend_independent


def idx_bytes(array):
    """The IDX encoding of a uint8 array (header + raw big-endian values)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(directory, images, labels=None, split="train", compress=True):
    """Writes `{train,t10k}-images-idx3-ubyte[.gz]` (+ labels) into directory."""
    prefix = {"train": "train", "test": "t10k"}[split]
    suffix = ".gz" if compress else ""
    opener = gzip.open if compress else open
    paths = []
    for kind, ndim, array in (("images", 3, images), ("labels", 1, labels)):
        if array is None:
            continue
        path = directory / f"{prefix}-{kind}-idx{ndim}-ubyte{suffix}"
        with opener(path, "wb") as f:
            f.write(idx_bytes(array))
        paths.append(path)
    return paths


def labelled_images(n=10, size=6):
    """Images whose constant value encodes their label (value = 20 * label)."""
    labels = np.arange(n) % 10
    images = np.broadcast_to((20 * labels)[:, None, None], (n, size, size))
    return images.astype(np.uint8), labels.astype(np.uint8)


@pytest.mark.parametrize("compress", [True, False])
def test_load_idx_reads_images_and_labels(tmp_path, compress):
    images, labels = labelled_images(12)
    write_idx(tmp_path, images, labels, compress=compress)
    x, y = data.load_idx(tmp_path, "train")
    assert x.shape == (12, 6, 6, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[..., 0], images)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, labels)


def test_test_split_reads_t10k_files(tmp_path):
    write_idx(tmp_path, np.zeros((3, 4, 4)), np.zeros(3), split="test")
    x, y = data.load_idx(tmp_path, "test")
    assert x.shape == (3, 4, 4, 1) and y.shape == (3,)


def test_read_idx_parses_other_value_types(tmp_path):
    values = np.arange(6, dtype=">i4").reshape(2, 3)
    path = tmp_path / "values.idx"
    path.write_bytes(
        bytes([0, 0, 0x0C, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + values.tobytes()
    )
    np.testing.assert_array_equal(data.read_idx(path), np.arange(6).reshape(2, 3))


def test_idx_dataset_maps_0_255_to_minus_one_one(tmp_path):
    images = np.zeros((8, 4, 4), np.uint8)
    images[:, :2] = 255
    write_idx(tmp_path, images)
    batches = list(data.idx_dataset(tmp_path, batch_size=4).as_numpy_iterator())
    assert len(batches) == 2
    assert batches[0].shape == (4, 4, 4, 1) and batches[0].dtype == np.float32
    assert set(np.unique(np.concatenate(batches))) == {-1.0, 1.0}


def test_idx_dataset_keeps_each_label_with_its_image(tmp_path):
    images, labels = labelled_images(20)
    write_idx(tmp_path, images, labels)
    dataset = data.idx_dataset(tmp_path, batch_size=5, with_labels=True)
    for x, y in dataset.as_numpy_iterator():
        assert y.dtype == np.int32 and y.shape == (5,)
        expected = (20 * y / 127.5 - 1).astype(np.float32)
        np.testing.assert_allclose(x[:, 0, 0, 0], expected, atol=1e-6)


def test_shuffle_is_seeded_and_reshuffles_each_epoch(tmp_path):
    images, labels = labelled_images(40)
    write_idx(tmp_path, images, labels)

    def label_order(seed):
        dataset = data.idx_dataset(tmp_path, batch_size=40, with_labels=True, seed=seed)
        return [y.tolist() for _, y in dataset.as_numpy_iterator()] + [
            y.tolist() for _, y in dataset.as_numpy_iterator()
        ]

    first, again = label_order(seed=1), label_order(seed=1)
    assert first == again  # same seed, same order
    assert first[0] != first[1]  # a new order every epoch
    assert sorted(first[0]) == sorted(labels.tolist())  # every image once


def test_drop_remainder_controls_the_last_partial_batch(tmp_path):
    write_idx(tmp_path, np.zeros((10, 4, 4)))

    def sizes(**kw):
        return [len(b) for b in data.idx_dataset(tmp_path, batch_size=4, **kw)]

    assert sizes() == [4, 4]
    assert sorted(sizes(drop_remainder=False)) == [2, 4, 4]


# -- bad input -----------------------------------------------------------------


def test_bad_magic_number_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x89PNG" + bytes(100))
    with pytest.raises(
        data.IDXFormatError, match=r"train-images-idx3-ubyte has magic number 0x89504e47; expected"
    ):
        data.load_idx(tmp_path, with_labels=False)


def test_truncated_data_names_the_file_and_sizes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((5, 4, 4)))[:-10])
    with pytest.raises(
        data.IDXFormatError, match=r"train-images-idx3-ubyte is truncated.*80 bytes.*70 bytes"
    ):
        data.load_idx(tmp_path, with_labels=False)


def test_truncated_gzip_names_the_file(tmp_path):
    (path,) = write_idx(tmp_path, np.zeros((50, 8, 8)))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(data.IDXFormatError, match=r"Could not read .*train-images-idx3-ubyte.gz"):
        data.load_idx(tmp_path, with_labels=False)


def test_image_and_label_counts_must_match(tmp_path):
    write_idx(tmp_path, np.zeros((5, 4, 4)), np.zeros(4))
    with pytest.raises(
        ValueError, match=r"holds 5 images but .*labels-idx1-ubyte.gz holds 4 labels"
    ):
        data.load_idx(tmp_path)


def test_images_file_must_be_three_dimensional(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros(7)))
    with pytest.raises(
        data.IDXFormatError, match=r"shape \(7,\); expected images of shape \[N, H, W\]"
    ):
        data.load_idx(tmp_path, with_labels=False)


def test_missing_file_lists_what_the_directory_holds(tmp_path):
    (tmp_path / "readme.txt").write_text("no data")
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte.*readme.txt"):
        data.idx_dataset(tmp_path)


def test_unknown_split_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"'validation'; expected one of \['test', 'train'\]"):
        data.load_idx(tmp_path, "validation")
