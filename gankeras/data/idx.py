"""MNIST-format IDX files -> numpy arrays and the finished dataset.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a
big-endian header followed by raw values:

    bytes 0-1   0x00 0x00
    byte  2     value type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4*d bytes   each dimension's size, big-endian uint32
    then        prod(dims) values, big-endian

MNIST, Fashion-MNIST (Xiao et al. 2017, arXiv:1708.07747), KMNIST and EMNIST
ship as `{train,t10k}-images-idx3-ubyte[.gz]` and
`{train,t10k}-labels-idx1-ubyte[.gz]`. Debian's `dataset-fashion-mnist`
package installs Fashion-MNIST in `/usr/share/datasets/fashion-mnist`, which
makes this the offline source of real data.

`keras.datasets.fashion_mnist.load_data()` parses the same files but always
downloads them into `~/.keras` first; this module reads any directory.
"""

import gzip
import os

import numpy as np

from gankeras.data import arrays, pipeline

#: Where Debian's `dataset-fashion-mnist` package installs the IDX files.
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

#: Split name -> file-name prefix (MNIST calls its test split "t10k").
SPLIT_PREFIXES = {"train": "train", "test": "t10k"}

_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IDXFormatError(ValueError):
    """A file is not a valid IDX file (bad magic number, truncated, ...)."""


def _read_bytes(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (EOFError, gzip.BadGzipFile, OSError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise IDXFormatError(
            f"Could not read {path}: {err}. Expected a complete "
            f"{'gzip-compressed ' if str(path).endswith('.gz') else ''}IDX "
            "file; the file is probably truncated or corrupt: download it again."
        ) from err


def parse_idx(data, path="<bytes>"):
    """Parses the bytes of one IDX file.

    Args:
        data: the file's (decompressed) bytes.
        path: the file's name, for error messages.

    Returns:
        numpy array of the file's shape and value type (native byte order).

    Raises:
        IDXFormatError: naming `path`, for a bad magic number, a header
            shorter than its dimensions, or a data size that does not match
            the dimensions.
    """
    if len(data) < 4:
        raise IDXFormatError(
            f"{path} is {len(data)} bytes long; an IDX file starts with a 4-byte magic number."
        )
    zero, type_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or type_code not in _DTYPES or ndim == 0:
        raise IDXFormatError(
            f"{path} has magic number 0x{data[:4].hex()}; expected an IDX "
            "magic number 0x0000TTDD (TT: value type 08, 09, 0b, 0c, 0d or "
            "0e; DD: number of dimensions), e.g. 0x00000803 for MNIST images "
            "or 0x00000801 for labels. Is this an IDX file?"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXFormatError(
            f"{path} is truncated: its {ndim} dimension sizes need a "
            f"{header}-byte header but the file has {len(data)} bytes."
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _DTYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    received = len(data) - header
    if received != expected:
        problem = "truncated" if received < expected else "longer than its header says"
        raise IDXFormatError(
            f"{path} is {problem}: its header declares shape {shape} of "
            f"{dtype.name}, i.e. {expected} bytes of data, but the file holds "
            f"{received} bytes after the header."
        )
    values = np.frombuffer(data, dtype=dtype, count=int(np.prod(shape)), offset=header)
    # A writable copy in native byte order (frombuffer's view is read-only).
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path):
    """Reads one IDX file (`.gz` is decompressed) into a numpy array.

    Raises:
        FileNotFoundError: if `path` does not exist.
        IDXFormatError: naming `path` if the file is corrupt or truncated.
    """
    return parse_idx(_read_bytes(path), path=path)


def find_idx_files(directory, split="train", kind="images"):
    """The path of a split's images or labels file in `directory`.

    Accepts `{prefix}-{kind}-idx{d}-ubyte` and the `{prefix}-{kind}.idx{d}-ubyte`
    spelling, each optionally gzipped (the uncompressed one wins).

    Args:
        directory: folder holding the IDX files.
        split: "train" or "test" (file prefix "train" or "t10k").
        kind: "images" or "labels".

    Raises:
        ValueError: for an unknown split.
        FileNotFoundError: listing the names looked for and what the
            directory holds.
    """
    if split not in SPLIT_PREFIXES:
        raise ValueError(
            f"Unknown IDX split {split!r}; expected one of "
            f"{sorted(SPLIT_PREFIXES)} (files named 'train-...' / 't10k-...')."
        )
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"IDX directory {directory} does not exist. Expected a folder with "
            "train-images-idx3-ubyte.gz etc. (Fashion-MNIST: `apt-get install "
            f"dataset-fashion-mnist` puts them in {FASHION_MNIST_DIR})."
        )
    prefix = SPLIT_PREFIXES[split]
    ndim = 3 if kind == "images" else 1
    names = []
    for sep in ("-", "."):
        base = f"{prefix}-{kind}{sep}idx{ndim}-ubyte"
        names += [base, base + ".gz"]
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    present = sorted(os.listdir(directory))
    raise FileNotFoundError(
        f"No {split} {kind} file in {directory}: expected one of {names}. "
        f"The directory holds {present[:20]}"
        f"{' ...' if len(present) > 20 else ''}."
    )


def load_idx(directory, split="train", with_labels=True):
    """Loads a split of an MNIST-format IDX dataset into numpy arrays.

    Example:
        ```python
        x_test, y_test = gankeras.data.load_idx(gankeras.data.FASHION_MNIST_DIR, "test")
        x_test.shape, x_test.dtype, y_test.shape   # (10000, 28, 28, 1) uint8 (10000,)
        ```

    Args:
        directory: folder with `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
        split: "train" or "test".
        with_labels: also read the labels file (it may be absent otherwise).

    Returns:
        `(images, labels)`: images `[N, H, W, 1]` in the file's dtype
        (uint8 0..255 for MNIST-style data), labels int32 `[N]` (None when
        `with_labels=False`).

    Raises:
        FileNotFoundError: if a file is missing (listing the directory).
        IDXFormatError: if a file is corrupt, or holds the wrong number of
            dimensions (images need 3, labels 1).
        ValueError: if the image and label counts differ.
    """
    images_path = find_idx_files(directory, split, "images")
    images = read_idx(images_path)
    if images.ndim != 3:
        raise IDXFormatError(
            f"{images_path} holds an array of shape {images.shape}; expected "
            "images of shape [N, H, W] (an idx3 file)."
        )
    images = images[..., np.newaxis]
    if not with_labels:
        return images, None
    labels_path = find_idx_files(directory, split, "labels")
    labels = read_idx(labels_path)
    if labels.ndim != 1:
        raise IDXFormatError(
            f"{labels_path} holds an array of shape {labels.shape}; expected "
            "labels of shape [N] (an idx1 file)."
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"Image and label counts differ: {images_path} holds "
            f"{images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels. Expected one label per image; the "
            "files probably come from different datasets or splits."
        )
    return images, arrays.check_labels(labels, images.shape[0], source=labels_path)


def idx_dataset(
    directory,
    split="train",
    batch_size=64,
    with_labels=False,
    shuffle=True,
    seed=0,
    drop_remainder=True,
    value_range=None,
):
    """A finished training dataset from a folder of MNIST-format IDX files.

    Works offline; e.g. the real Fashion-MNIST in `FASHION_MNIST_DIR`.

    Example:
        ```python
        dataset = gankeras.data.idx_dataset(gankeras.data.FASHION_MNIST_DIR)
        gan.fit(dataset, epochs=5)     # float32 [64, 28, 28, 1] in [-1, 1]
        ```

    Args:
        directory: folder with `{train,t10k}-images-idx3-ubyte[.gz]` (and the
            labels files when `with_labels`).
        split: "train" or "test".
        batch_size: images per batch.
        with_labels: yield `(images, labels)` with int32 labels `[batch]`.
        shuffle: shuffle all images, reshuffled every epoch.
        seed: shuffle seed.
        drop_remainder: drop the last partial batch (static batch shape).
        value_range: `(low, high)` of the stored values; only needed for
            IDX files of a type other than uint8 (which means 0..255).

    Returns:
        `tf.data.Dataset` of float32 `[batch, H, W, 1]` in [-1, 1] (uint8
        files map 0 -> -1, 255 -> 1), or `(images, labels)`.

    Raises:
        See `load_idx`.
    """
    images, labels = load_idx(directory, split, with_labels=with_labels)
    source = f"The {split} split in {directory}"
    return pipeline.from_arrays(
        images,
        labels,
        value_range=arrays.infer_value_range(images, value_range, source=source),
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        source=source,
    )
