"""Data sources: everything becomes the same `tf.data.Dataset`.

Every `*_dataset` function returns a shuffled (seeded), batched, prefetched
`tf.data.Dataset` of float32 images `[batch, H, W, C]` in [-1, 1], or of
`(images, labels)` with int32 labels `[batch]` when `with_labels=True`;
`GAN.fit` takes it on the TensorFlow, JAX and PyTorch backends.

Sources (one module each; all end in `pipeline.py`):

- `idx_dataset`: MNIST-format IDX files, e.g. the real Fashion-MNIST in
  `FASHION_MNIST_DIR` (offline).
- `image_folder_dataset`: a folder of image files (offline); the shared
  decoding rules (transparency, resize + centre crop, channels) are in
  `decoding`, streamed decoding in `iter_decoded`.
- `array_dataset`: NumPy arrays in memory.
- `tfds_dataset`: any TensorFlow Datasets image dataset (needs the network
  the first time, or a `data_dir` where it was prepared).
- `toy`: 1-D and 2-D Gaussian mixtures (not images).

For evaluation, the `load_*` functions return the raw numpy arrays (uint8
images `[N, H, W, C]`, int32 labels `[N]`).
"""

from gankeras.data import decoding, pipeline, toy
from gankeras.data.arrays import array_dataset
from gankeras.data.folder import (
    IMAGE_EXTENSIONS,
    ImageFolder,
    image_folder_dataset,
    iter_decoded,
    list_image_folder,
    load_image_folder,
)
from gankeras.data.idx import (
    FASHION_MNIST_DIR,
    IDXFormatError,
    idx_dataset,
    load_idx,
    read_idx,
)
from gankeras.data.pipeline import DATA_RANGE
from gankeras.data.tfds_source import load_tfds, tfds_dataset
