"""The one mapping between stored pixels and model images, for NumPy arrays.

Models see float32 images in [-1, 1] (a tanh generator's range); files,
TFRecord shards and the served `generate_from_seeds` signature hold uint8
pixels in [0, 255]. `to_model_range` and `to_pixels` are that mapping and its
inverse. `gankeras.data.pipeline.rescale` is the same map inside `tf.data`
(any input range), and the export's `to_uint8` the same inverse inside the
SavedModel graph; `pipelines.generate` keeps its own copy because it must run
where only TensorFlow is installed.
"""

import numpy as np


def to_model_range(pixels):
    """uint8 (or integer-valued) pixels in [0, 255], any shape -> float32 in
    [-1, 1]: `x / 127.5 - 1`."""
    return np.asarray(pixels).astype(np.float32) / 127.5 - 1.0


def to_pixels(images):
    """Float images in [-1, 1], any shape -> uint8 in [0, 255]:
    `round(clip((x + 1) * 127.5, 0, 255))`; values outside [-1, 1] clip."""
    images = np.clip(np.asarray(images, np.float32), -1.0, 1.0)
    return np.round((images + 1.0) * 127.5).astype(np.uint8)
