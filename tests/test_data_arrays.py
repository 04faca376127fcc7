"""gankeras.data.arrays and the shared pipeline: numpy arrays -> dataset."""

import numpy as np
import pytest

from gankeras import data

pytestmark = pytest.mark.backend_independent


def all_images(dataset):
    return np.concatenate(
        [b[0] if isinstance(b, tuple) else b for b in dataset.as_numpy_iterator()]
    )


def test_uint8_means_0_to_255():
    images = np.array([0, 51, 255], np.uint8).repeat(4).reshape(3, 2, 2, 1)
    out = all_images(data.array_dataset(images, batch_size=3, shuffle=False))
    np.testing.assert_allclose(out[:, 0, 0, 0], [-1.0, 51 / 127.5 - 1, 1.0], atol=1e-6)
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    "value_range, values, expected",
    [
        ((0, 1), [0.0, 0.5, 1.0], [-1.0, 0.0, 1.0]),
        ((-1, 1), [-1.0, 0.25, 1.0], [-1.0, 0.25, 1.0]),
        ((0, 255), [0.0, 127.5, 255.0], [-1.0, 0.0, 1.0]),
    ],
)
def test_float_images_map_from_their_stated_range(value_range, values, expected):
    images = np.array(values, np.float32).reshape(3, 1, 1, 1)
    out = all_images(
        data.array_dataset(images, batch_size=3, shuffle=False, value_range=value_range)
    )
    np.testing.assert_allclose(out.ravel(), expected, atol=1e-6)


def test_float_images_need_a_value_range():
    with pytest.raises(
        ValueError,
        match=r"dtype float32, so the value range must be given: pass value_range=\(0, 1\)",
    ):
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
    with pytest.raises(
        ValueError,
        match=r"Expected one label per image: 4 labels of shape \(4,\). Received labels of shape \(3,\)",
    ):
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


# --- The deterministic stream (finish(start_batch=k)) -------------------------


def stream_batches(start_batch, count, labels=False, seed=0, buffer=None):
    import tensorflow as tf

    from gankeras.data import pipeline

    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    base = tf.data.Dataset.from_tensor_slices(
        (images, np.arange(10, dtype=np.int32)) if labels else images
    )
    stream = pipeline.finish(
        base,
        value_range=(0, 9),
        batch_size=3,
        seed=seed,
        start_batch=start_batch,
        shuffle_buffer=buffer,
    )
    out = []
    for batch in stream.take(count):
        ids = np.round((np.asarray(batch[0] if labels else batch).ravel() + 1) * 4.5).astype(int)
        if labels:
            np.testing.assert_array_equal(ids, np.asarray(batch[1]))  # pairs kept
        out.append(tuple(ids))
    return out


@pytest.mark.backend_independent
def test_stream_started_at_batch_k_equals_the_uninterrupted_stream_from_k():
    full = stream_batches(0, 10)
    for k in (1, 3, 4, 7):
        assert stream_batches(k, 10 - k) == full[k:], k


@pytest.mark.backend_independent
def test_stream_passes_are_permutations_that_differ_and_straddle_batches():
    examples = [i for batch in stream_batches(0, 10) for i in batch]  # 30 = 3 passes of 10
    passes = [examples[i : i + 10] for i in (0, 10, 20)]
    assert all(sorted(p) == list(range(10)) for p in passes)
    assert len({tuple(p) for p in passes}) == 3
    assert stream_batches(0, 4, seed=1) != stream_batches(0, 4, seed=0)


@pytest.mark.backend_independent
def test_stream_depends_on_its_seed_only():
    import tensorflow as tf

    expected = stream_batches(0, 4, labels=True)
    for global_seed in (0, 5):
        tf.random.set_seed(global_seed)
        assert stream_batches(0, 4, labels=True) == expected


@pytest.mark.backend_independent
def test_stream_with_a_smaller_buffer_permutes_window_by_window():
    examples = [i for batch in stream_batches(0, 4, buffer=4) for i in batch][:10]
    assert sorted(examples[:4]) == [0, 1, 2, 3] and sorted(examples[4:8]) == [4, 5, 6, 7]
    assert sorted(examples[8:10]) == [8, 9]


@pytest.mark.backend_independent
def test_stream_refuses_a_dataset_of_unknown_size():
    import tensorflow as tf

    from gankeras.data import pipeline

    unknown = tf.data.Dataset.range(10).filter(lambda i: i >= 0).map(lambda i: tf.zeros([1, 1, 1]))
    with pytest.raises(ValueError, match="unknown or infinite number of examples"):
        pipeline.finish(unknown, value_range=(0, 1), batch_size=2, start_batch=0)
