"""The real Fashion-MNIST IDX files (Debian's `dataset-fashion-mnist`).

Skipped where the package is not installed; CI installs it (`make setup`).
"""

import os

import numpy as np
import pytest

from gankeras import data

pytestmark = [
    pytest.mark.backend_independent,
    pytest.mark.skipif(
        not os.path.isdir(data.FASHION_MNIST_DIR),
        reason=f"the real Fashion-MNIST IDX files are not installed in "
        f"{data.FASHION_MNIST_DIR} (apt-get install dataset-fashion-mnist)",
    ),
]


@pytest.mark.parametrize("split, count", [("train", 60000), ("test", 10000)])
def test_splits_hold_the_published_counts_of_ten_balanced_classes(split, count):
    images, labels = data.load_idx(data.FASHION_MNIST_DIR, split)
    assert images.shape == (count, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (count,) and labels.dtype == np.int32
    np.testing.assert_array_equal(np.bincount(labels), [count // 10] * 10)
    assert images.min() == 0 and images.max() == 255


def test_dataset_covers_the_train_split_in_minus_one_one():
    dataset = data.idx_dataset(data.FASHION_MNIST_DIR, batch_size=1000, with_labels=True)
    count, low, high, classes = 0, np.inf, -np.inf, set()
    for images, labels in dataset.as_numpy_iterator():
        assert images.shape == (1000, 28, 28, 1) and images.dtype == np.float32
        count += len(images)
        low, high = min(low, images.min()), max(high, images.max())
        classes.update(labels.tolist())
    assert count == 60000
    assert (low, high) == (-1.0, 1.0)
    assert classes == set(range(10))
