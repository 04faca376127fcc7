"""The uint8 <-> [-1, 1] mapping (`gankeras.data.pixels`), and that the
tf.data rescale and the served uint8 output agree with it."""

import numpy as np

from gankeras.data import pipeline, pixels


def test_to_model_range_maps_0_and_255_to_the_ends():
    out = pixels.to_model_range(np.array([0, 255, 51], np.uint8))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-1.0, 1.0, 51 / 127.5 - 1.0], rtol=1e-6)


def test_to_pixels_inverts_to_model_range_on_every_value():
    values = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(pixels.to_pixels(pixels.to_model_range(values)), values)


def test_to_pixels_clips_out_of_range_values():
    out = pixels.to_pixels(np.array([-3.0, 3.0, 0.0]))
    np.testing.assert_array_equal(out, [0, 255, 128])
    assert out.dtype == np.uint8


def test_the_tf_data_rescale_agrees():
    values = np.arange(256, dtype=np.uint8)
    np.testing.assert_allclose(
        np.asarray(pipeline.rescale(values, pipeline.UINT8_RANGE)),
        pixels.to_model_range(values),
        atol=1e-6,
    )
