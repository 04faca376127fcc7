"""Any TensorFlow Datasets (TFDS) image dataset -> the finished dataset.

`tfds.load` does the work; this module adds the checks a GAN user needs:
an unknown name or split is reported with what exists, images must be uint8
of one size (or be resized with `image_size`), and a download that fails
because the machine is offline says so and points to the offline sources
(`idx_dataset`, `image_folder_dataset`, `array_dataset`).

Offline, TFDS itself retries each download for minutes (urllib3 back-off)
before it gives up; this module first checks, within `NETWORK_TIMEOUT`
seconds, that the download host answers (`network_reachable`) and fails at
once when it does not. Prepare the data once on a machine with network and
pass its `data_dir`, or use the offline sources.

`iter_tfds` streams one split as numpy `(image, label)` pairs, with the
image and label features found automatically (`find_features`), for
datasets whose images vary in size too.
"""

import difflib
import re
import socket
import threading

import tensorflow as tf

from gankeras.data import pipeline


def _tfds():
    # Imported lazily: tensorflow_datasets takes seconds to import, and the
    # offline sources do not need it.
    import tensorflow_datasets as tfds

    return tfds


def _is_network_error(err):
    """Whether `err` (or an exception it was raised from) means no network."""
    network_types = (ConnectionError, socket.gaierror, socket.timeout, TimeoutError)
    try:
        import requests

        network_types += (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
    except ImportError:  # pragma: no cover - requests comes with tfds
        pass
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, network_types):
            return True
        text = str(err)
        if "Name or service not known" in text or "Failed to resolve" in text:
            return True
        err = err.__cause__ or err.__context__
    return False


#: Where TFDS downloads from (its GCS mirror; most datasets' own hosts are
#: unreachable too when this one is).
DOWNLOAD_HOST = ("storage.googleapis.com", 443)

#: Seconds `network_reachable` waits for the download host.
NETWORK_TIMEOUT = 3.0

OFFLINE_SOURCES = (
    "Offline, use a local source instead: gankeras.data.idx_dataset(directory) for "
    "MNIST-format IDX files (real Fashion-MNIST: gankeras.data.FASHION_MNIST_DIR, from "
    "`apt-get install dataset-fashion-mnist`; the pipeline's --idx_dir), "
    "gankeras.data.image_folder_dataset(directory) for a folder of image files (the "
    "pipeline's --image_dir), or pass data_dir= (--tfds_data_dir) a folder where the "
    "dataset was already prepared."
)


def network_reachable(host=DOWNLOAD_HOST, timeout=NETWORK_TIMEOUT):
    """Whether a verified TLS connection to `host` opens within `timeout` s.

    A TLS handshake with certificate checks, not just a TCP connect: some
    sandboxes accept every TCP connection. Name resolution is not bounded by
    socket timeouts, so the attempt runs in a daemon thread that is
    abandoned after `timeout`.
    """
    import ssl

    outcome = []

    def attempt():
        try:
            with socket.create_connection(host, timeout=timeout) as raw:
                context = ssl.create_default_context()
                with context.wrap_socket(raw, server_hostname=host[0]):
                    outcome.append(True)
        except (OSError, ValueError):  # ssl.SSLError is an OSError
            outcome.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(outcome and outcome[0])


def is_prepared(name, data_dir=None):
    """Whether TFDS dataset `name` is prepared in `data_dir` (no network)."""
    try:
        return _builder(name, data_dir).is_prepared()
    except ValueError:
        return False


def _builder(name, data_dir):
    tfds = _tfds()
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        known = tfds.list_builders()
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
        raise ValueError(
            f"Unknown TFDS dataset name={name!r}. "
            + (f"Did you mean one of {close}? " if close else "")
            + f"TFDS knows {len(known)} datasets (tfds.list_builders()); "
            "image datasets include 'mnist', 'fashion_mnist', 'cifar10', "
            "'celeb_a', 'lsun'."
        ) from None


def _split_names(split):
    """Base split names in a TFDS split string, e.g. 'train[:10%]+test'."""
    return [re.sub(r"\[.*\]$", "", part.strip()) for part in str(split).split("+")]


def _check_split(builder, split):
    known = list(builder.info.splits.keys())
    if not known:  # not prepared yet and no metadata: TFDS checks it later
        return
    unknown = [s for s in _split_names(split) if s not in known]
    if unknown:
        raise ValueError(
            f"Unknown split {unknown[0]!r} of TFDS dataset {builder.name!r} "
            f"(split={split!r}); it has splits {known}. Slices like "
            "'train[:10%]' and unions like 'train+test' work too."
        )


def _prepare(builder, download):
    if builder.is_prepared():
        return
    if not download:
        raise FileNotFoundError(
            f"TFDS dataset {builder.name!r} is not prepared in "
            f"{builder.data_dir} and download=False. Pass download=True, or "
            "the data_dir where it was prepared."
        )
    if not network_reachable():
        raise ConnectionError(
            f"Could not download TFDS dataset {builder.name!r}: it is not prepared in "
            f"{builder.data_dir} and the network is unreachable ({DOWNLOAD_HOST[0]} did "
            f"not answer within {NETWORK_TIMEOUT:g} s). " + OFFLINE_SOURCES
        )
    try:
        builder.download_and_prepare()
    except Exception as err:  # noqa: BLE001 - re-raised with advice
        if not _is_network_error(err):
            raise
        raise ConnectionError(
            f"Could not download TFDS dataset {builder.name!r}: the network "
            f"is unreachable ({type(err).__name__}: {err}). " + OFFLINE_SOURCES
        ) from err


def _image_feature(builder, image_key, label_key, with_labels):
    features = builder.info.features
    keys = list(features.keys()) if hasattr(features, "keys") else []
    if image_key not in keys:
        raise ValueError(
            f"TFDS dataset {builder.name!r} has no feature {image_key!r}; its "
            f"features are {keys}. Pass image_key= the image feature."
        )
    if with_labels and label_key not in keys:
        raise ValueError(
            f"TFDS dataset {builder.name!r} has no feature {label_key!r} to use "
            f"as labels; its features are {keys}. Pass label_key= or "
            "with_labels=False."
        )
    feature = features[image_key]
    if len(feature.shape) != 3 or tf.as_dtype(feature.dtype) != tf.uint8:
        raise ValueError(
            f"Feature {image_key!r} of TFDS dataset {builder.name!r} has shape "
            f"{feature.shape} and dtype {feature.dtype}; expected uint8 images "
            "[H, W, C]."
        )
    return feature


def load_tfds(
    name="mnist",
    split="train",
    data_dir=None,
    with_labels=True,
    download=True,
    image_key="image",
    label_key="label",
):
    """Loads a whole TFDS image split into numpy arrays (e.g. for evaluation).

    Args:
        name: TFDS dataset name, e.g. "mnist", "fashion_mnist", "cifar10".
        split: TFDS split string, e.g. "test" or "train[:10%]".
        data_dir: where TFDS keeps prepared data (None: ~/tensorflow_datasets).
        with_labels: also return the labels.
        download: download and prepare the dataset if it is not there.
        image_key: the image feature's name.
        label_key: the label feature's name.

    Returns:
        `(images, labels)`: uint8 `[N, H, W, C]` and int32 `[N]` (None when
        `with_labels=False`). The images must all have one size.

    Raises:
        See `tfds_dataset`.
    """
    tfds = _tfds()
    builder = _builder(name, data_dir)
    _check_split(builder, split)
    _prepare(builder, download)
    _check_split(builder, split)
    _image_feature(builder, image_key, label_key, with_labels)
    dataset = builder.as_dataset(split=split, batch_size=-1)
    data = tfds.as_numpy(dataset)
    labels = data[label_key].astype("int32") if with_labels else None
    return data[image_key], labels


def tfds_dataset(
    name="mnist",
    split="train",
    batch_size=64,
    data_dir=None,
    with_labels=False,
    image_size=None,
    download=True,
    shuffle=True,
    seed=0,
    shuffle_buffer=10_000,
    drop_remainder=True,
    cache=True,
    image_key="image",
    label_key="label",
):
    """A finished training dataset from a TFDS image dataset.

    Example:
        ```python
        dataset = gankeras.data.tfds_dataset("cifar10", batch_size=128)
        gan.fit(dataset, epochs=20)    # float32 [128, 32, 32, 3] in [-1, 1]
        ```

    Args:
        name: TFDS dataset name ("mnist", "fashion_mnist", "cifar10", ...).
        split: TFDS split string, e.g. "train", "test", "train[:10%]".
        batch_size: images per batch.
        data_dir: where TFDS keeps prepared data (None: ~/tensorflow_datasets).
        with_labels: yield `(images, labels)` with int32 labels `[batch]`;
            the dataset's `class_names` attribute lists the label names.
        image_size: `(height, width)` to center-crop and resize every image
            to (needed when the dataset's images vary in size), or None.
        download: download and prepare the dataset if it is not in
            `data_dir`.
        shuffle: shuffle with a buffer of `shuffle_buffer` examples,
            reshuffled every epoch.
        seed: shuffle seed.
        shuffle_buffer: size of the shuffle buffer.
        drop_remainder: drop the last partial batch (static batch shape).
        cache: cache decoded uint8 examples in memory (True), in a file
            (a path) or not at all (False).
        image_key: the image feature's name.
        label_key: the label feature's name.

    Returns:
        `tf.data.Dataset` of float32 `[batch, H, W, C]` in [-1, 1], or of
        `(images, labels)`.

    Raises:
        ValueError: for an unknown name (with close matches) or split (with
            the existing splits), a missing feature, non-uint8 images, or
            images of varying size without `image_size`.
        ConnectionError: when the download fails because there is no
            network; the message points to the offline sources.
        FileNotFoundError: when the data is absent and `download=False`.
    """
    builder = _builder(name, data_dir)
    _check_split(builder, split)
    _prepare(builder, download)
    _check_split(builder, split)
    feature = _image_feature(builder, image_key, label_key, with_labels)
    if image_size is None and None in tuple(feature.shape[:2]):
        raise ValueError(
            f"The images of TFDS dataset {name!r} vary in size (shape "
            f"{feature.shape}); pass image_size=(height, width) to center-crop "
            "and resize them to one size."
        )
    dataset = builder.as_dataset(
        split=split,
        shuffle_files=shuffle,
        read_config=_tfds().ReadConfig(shuffle_seed=seed),
    )
    resize = None
    if image_size is not None:
        import keras

        # Keras preprocessing layers run inside tf.data on every backend.
        resize = keras.layers.Resizing(
            int(image_size[0]),
            int(image_size[1]),
            crop_to_aspect_ratio=True,
            antialias=True,
        )

    def select(example):
        image = example[image_key]
        if resize is not None:
            # Back to uint8, so the cache holds 1 byte per value, not 4.
            image = tf.cast(tf.clip_by_value(tf.round(resize(image)), 0.0, 255.0), tf.uint8)
        if with_labels:
            return image, tf.cast(example[label_key], tf.int32)
        return image

    dataset = dataset.map(select, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = pipeline.finish(
        dataset,
        value_range=pipeline.UINT8_RANGE,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
        drop_remainder=drop_remainder,
        cache=cache,
        source=f"TFDS {name!r} split {split!r}",
    )
    label = builder.info.features[label_key] if with_labels else None
    dataset.class_names = list(getattr(label, "names", None) or []) or None
    return dataset


def find_features(name, data_dir=None, image_key=None, label_key=None):
    """The image and label feature names of TFDS dataset `name`.

    Without `image_key`, the top-level `tfds.features.Image` feature
    ("image" if there are several); without `label_key`, the top-level
    `ClassLabel` ("label" if there are several), or None when there is none.

    Returns:
        `(image_key, label_key or None, builder)`.

    Raises:
        ValueError: an unknown dataset, or one without an image feature,
            naming its features.
    """
    tfds = _tfds()
    builder = _builder(name, data_dir)
    features = builder.info.features
    items = dict(features.items()) if hasattr(features, "items") else {}

    def pick(kind, preferred):
        found = [k for k, f in items.items() if isinstance(f, kind)]
        return preferred if preferred in found else (found[0] if found else None)

    if image_key is None:
        image_key = pick(tfds.features.Image, "image")
    if image_key is None or image_key not in items:
        described = {k: type(f).__name__ for k, f in items.items()}
        raise ValueError(
            f"TFDS dataset {name!r} has no image feature"
            + (f" {image_key!r}" if image_key else "")
            + f"; its features are {described}. Expected a dataset with a "
            "tfds.features.Image feature (e.g. 'mnist', 'cifar10', 'celeb_a')."
        )
    if label_key is None:
        label_key = pick(tfds.features.ClassLabel, "label")
    elif label_key not in items:
        raise ValueError(
            f"TFDS dataset {name!r} has no feature {label_key!r}; its features are {list(items)}."
        )
    return image_key, label_key, builder


def prepare(name, data_dir=None, download=True):
    """Downloads and prepares `name` if needed (fails within seconds
    offline); returns its split names and example counts `{split: n}`."""
    builder = _builder(name, data_dir)
    _prepare(builder, download)
    return {k: int(v.num_examples) for k, v in builder.info.splits.items()}


def iter_tfds(name, split, data_dir=None, image_key="image", label_key=None):
    """Streams split `split` of a prepared TFDS dataset, in its stored order.

    Yields:
        `(image, label)`: uint8 numpy `[H, W, C]` (sizes may vary) and an
        int (None without `label_key`).
    """
    builder = _builder(name, data_dir)
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    keys = [image_key] + ([label_key] if label_key else [])
    dataset = dataset.map(
        lambda e: tuple(e[k] for k in keys), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    for element in dataset.prefetch(64).as_numpy_iterator():
        yield element[0], (int(element[1]) if label_key else None)


def class_names(builder, label_key):
    """The names of a ClassLabel feature (None without one)."""
    if not label_key:
        return None
    return list(getattr(builder.info.features[label_key], "names", None) or []) or None
