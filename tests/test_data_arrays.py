"""gankeras.data.arrays and the shared pipeline: numpy arrays -> dataset."""

import numpy as np
import pytest

from gankeras import data

pytestmark = pytest.mark.backend_independent


def all_images(dataset):
    return np.concatenate([b[0] if isinstance(b, tuple) else b
                           for b in dataset.as_numpy_iterator()])


def test_uint8_means_0_to_255():
    images = np.array([0, 51, 255], np.uint8).repeat(4).reshape(3, 2, 2, 1)
    out = all_images(data.array_dataset(images, batch_size=3, shuffle=False))
    np.testing.assert_allclose(out[:, 0, 0, 0], [-1.0, 51 / 127.5 - 1, 1.0], atol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    "value_range, values, expected",
    [((0, 1), [0.0, 0.5, 1.0], [-1.0, 0.0, 1.0]),
     ((-1, 1), [-1.0, 0.25, 1.0], [-1.0, 0.25, 1.0]),
     ((0, 255), [0.0, 127.5, 255.0], [-1.0, 0.0, 1.0])],
)
def test_float_images_map_from_their_stated_range(value_range, values, expected):
    images = np.array(values, np.float32).reshape(3, 1, 1, 1)
    out = all_images(data.array_dataset(images, batch_size=3, shuffle=False,
                                        value_range=value_range))
    np.testing.assert_allclose(out.ravel(), expected, atol=1e-6)


def test_float_images_need_a_value_range():
    with pytest.raises(ValueError, match=r"dtype float32, so the value range must be given: pass value_range=\(0, 1\)"):
        data.array_dataset(np.zeros((4, 2, 2, 1), np.float32))


def test_values_outside_the_stated_range_are_rejected():
    images = np.full((4, 2, 2, 1), 200.0, np.float32)
    with pytest.raises(ValueError, match=r"values in \[200, 200\], outside value_range=\(0, 1\)"):
        data.array_dataset(images, value_range=(0, 1))


def test_three_dimensional_images_get_one_channel():
    dataset = data.array_dataset(np.zeros((4, 5, 6), np.uint8), batch_size=2)
    assert dataset.element_spec.shape.as_list() == [2, 5, 6, 1]


def test_labels_come_as_int32_pairs():
    images = np.zeros((4, 2, 2, 3), np.uint8)
    dataset = data.array_dataset(images, labels=np.array([3, 1, 2, 0]), batch_size=2)
    image_spec, label_spec = dataset.element_spec
    assert image_spec.shape.as_list() == [2, 2, 2, 3]
    assert label_spec.dtype.name == "int32" and label_spec.shape.as_list() == [2]


def test_label_count_must_match_image_count():
    with pytest.raises(ValueError, match=r"Expected one label per image: 4 labels of shape \(4,\). Received labels of shape \(3,\)"):
        data.array_dataset(np.zeros((4, 2, 2, 1), np.uint8), labels=np.zeros(3, int))


def test_one_hot_labels_are_rejected_with_the_fix():
    with pytest.raises(ValueError, match="argmax"):
        data.array_dataset(np.zeros((4, 2, 2, 1), np.uint8), labels=np.eye(4))


def test_channels_first_images_are_rejected_with_the_fix():
    with pytest.raises(ValueError, match=r"Received shape \(4, 8, 28, 28\).*transpose"):
        data.array_dataset(np.zeros((4, 8, 28, 28), np.uint8))


def test_fewer_images_than_one_batch_is_an_error_when_dropping_the_remainder():
    with pytest.raises(ValueError, match=r"holds 3 examples, fewer than one batch of batch_size=8"):
        data.array_dataset(np.zeros((3, 2, 2, 1), np.uint8), batch_size=8)


def test_pipeline_rescale_maps_the_range_ends_to_minus_one_and_one():
    out = data.pipeline.rescale(np.array([2.0, 4.0, 6.0]), (2, 6)).numpy()
    np.testing.assert_allclose(out, [-1.0, 0.0, 1.0])


def test_pipeline_rejects_a_bad_value_range():
    with pytest.raises(ValueError, match=r"low < high. Received: value_range=\(1, 0\)"):
        data.pipeline.check_value_range((1, 0))
