"""The one input pipeline every data source ends in.

Each source (`idx`, `folder`, `tfds_source`, `arrays`) only finds and
decodes images; this module turns them into what `GAN.fit` takes on every
Keras backend: a `tf.data.Dataset` of float32 batches `[batch, H, W, C]` in
[-1, 1] (the range of a tanh generator), with int32 labels `[batch]` when
asked for, as `(images, labels)` tuples.

The order of the stages follows the tf.data performance guide
(https://www.tensorflow.org/guide/data_performance): cache the decoded
*uint8* elements (4x smaller than float32), shuffle with a seed, batch, then
rescale whole batches in one vectorised op (much cheaper than a per-image
map), and prefetch so the next batch is ready while the model trains.

Two shapes of result:

- `finish(...)` (the default): one pass over the data per iteration, as
  `fit(dataset, epochs=n)` expects; reshuffled each time it is iterated, from
  a sequence that starts again in every process.
- `finish(..., start_batch=k)`: an endless stream of batches whose batch `k`
  is a pure function of `(seed, k)`: pass `p` over the data is put in the
  order of stateless random keys drawn from `(seed, p)` (in windows of
  `shuffle_buffer` examples; by default one window, the whole data, so a
  uniform permutation; TensorFlow's global seed plays no part), and the
  passes follow each other
  without a gap (a batch can straddle two passes). Starting at `k` gives
  exactly the batches an uninterrupted stream gives from its `k`-th on, so a
  resumed run (`start_batch` = batches already trained on) sees the same
  data in the same order as a run that was never stopped. Use it with
  `fit(..., steps_per_epoch=...)`.
"""

import numpy as np
import tensorflow as tf

#: The value range every gankeras dataset delivers (a tanh generator's range).
DATA_RANGE = (-1.0, 1.0)

#: The value range assumed for uint8 images.
UINT8_RANGE = (0.0, 255.0)


def rescale(images, value_range):
    """Maps images linearly from `value_range` to [-1, 1], as float32.

    Args:
        images: a tensor of any numeric dtype, any shape.
        value_range: `(low, high)` of the input values, e.g. `(0, 255)`.

    Returns:
        float32 tensor of the same shape; `low` maps to -1, `high` to 1.
    """
    low, high = (float(v) for v in value_range)
    scale = 2.0 / (high - low)
    return (tf.cast(images, tf.float32) - low) * scale - 1.0


def check_value_range(value_range):
    """Returns `value_range` as a `(low, high)` float pair, or raises."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            "`value_range` must be a (low, high) pair of numbers, e.g. (0, 255) "
            f"or (0, 1). Received: value_range={value_range!r}"
        ) from None
    if not low < high:
        raise ValueError(
            f"`value_range` must have low < high. Received: value_range={value_range!r}"
        )
    return low, high


def check_batch_size(batch_size):
    """Returns `batch_size` as a positive int, or raises."""
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(
            f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}"
        )
    return int(batch_size)


def finish(
    dataset,
    *,
    value_range,
    batch_size=64,
    shuffle=True,
    seed=0,
    shuffle_buffer=None,
    drop_remainder=True,
    cache=False,
    source="the data",
    start_batch=None,
):
    """Turns a dataset of single examples into the finished training dataset.

    Args:
        dataset: a `tf.data.Dataset` whose elements are images `[H, W, C]`
            (any numeric dtype) or `(image, label)` pairs.
        value_range: `(low, high)` of the image values, mapped to [-1, 1].
        batch_size: images per batch.
        shuffle: whether to shuffle (reshuffled every epoch).
        seed: int seed of the shuffle, so runs see the same order of batches.
        shuffle_buffer: shuffle buffer size; `None` means the whole dataset
            when its size is known (a uniform shuffle), else 10,000. With
            `start_batch`, the window that is permuted at a time.
        drop_remainder: drop the last partial batch, so every batch has the
            same static shape (no re-tracing under `jit_compile`, and batch
            statistics are never computed on a handful of images).
        cache: `True` caches the decoded examples in memory after the first
            epoch, a path caches them to that file, `False` does not cache
            (right for sources that already sit in memory).
        source: how error messages name the data, e.g. a directory.
        start_batch: `None` for one pass per iteration; an int `k >= 0` for
            the endless deterministic stream from its batch `k` on (see the
            module docstring; needs a dataset of known, finite size).

    Returns:
        `tf.data.Dataset` of float32 `[batch, H, W, C]` in [-1, 1], or of
        `(images, labels)` with int32 labels `[batch]`.

    Raises:
        ValueError: if the dataset is known to hold fewer examples than one
            batch while `drop_remainder=True` (it would yield nothing), or
            `start_batch` is given for a dataset of unknown size.
    """
    batch_size = check_batch_size(batch_size)
    value_range = check_value_range(value_range)
    count = int(dataset.cardinality())
    if start_batch is not None:
        return _stream(
            dataset,
            count,
            value_range,
            batch_size,
            shuffle,
            seed,
            shuffle_buffer,
            cache,
            source,
            start_batch,
        )
    if drop_remainder and 0 <= count < batch_size:
        raise ValueError(
            f"{source} holds {count} examples, fewer than one batch of "
            f"batch_size={batch_size}, so with drop_remainder=True it would "
            "yield no batches. Use a smaller batch_size or drop_remainder=False."
        )
    if cache is True:
        dataset = dataset.cache()
    elif cache:
        dataset = dataset.cache(str(cache))
    if shuffle:
        if shuffle_buffer is None:
            shuffle_buffer = count if count > 0 else 10_000
        dataset = dataset.shuffle(int(shuffle_buffer), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return _to_model_range(dataset, value_range)


def _to_model_range(batches, value_range):
    def to_model_range(*element):
        images = rescale(element[0], value_range)
        if len(element) == 1:
            return images
        return images, tf.cast(element[1], tf.int32)

    batches = batches.map(to_model_range, num_parallel_calls=tf.data.AUTOTUNE)
    return batches.prefetch(tf.data.AUTOTUNE)


def pass_seed(seed, pass_index):
    """The shuffle seed of pass `pass_index` over the data: a stateless
    hash of `(seed, pass_index)` (`tf.random.stateless_uniform`), an int64
    scalar tensor in [0, 2**31 - 1), the same in every process."""
    pair = tf.stack([tf.cast(seed, tf.int64), tf.cast(pass_index, tf.int64)])
    return tf.random.stateless_uniform([], seed=pair, minval=0, maxval=2**31 - 1, dtype=tf.int64)


def _stream(
    dataset,
    count,
    value_range,
    batch_size,
    shuffle,
    seed,
    shuffle_buffer,
    cache,
    source,
    start_batch,
):
    """The endless stream of `finish(..., start_batch=k)`."""
    if isinstance(start_batch, bool) or int(start_batch) != start_batch or start_batch < 0:
        raise ValueError(
            f"`start_batch` must be an integer >= 0 (batches already trained "
            f"on). Received: start_batch={start_batch!r}"
        )
    if count < 0:
        raise ValueError(
            f"{source} has an unknown or infinite number of examples; the "
            "deterministic stream (start_batch=...) needs a finite dataset "
            "of known size (e.g. dataset.apply(tf.data.experimental."
            "assert_cardinality(n)))."
        )
    if count < batch_size:
        raise ValueError(
            f"{source} holds {count} examples, fewer than one batch of "
            f"batch_size={batch_size}. Use a smaller batch_size."
        )
    if cache is True:
        dataset = dataset.cache()
    elif cache:
        dataset = dataset.cache(str(cache))
    first_example = int(start_batch) * batch_size
    first_pass, offset = divmod(first_example, count)
    buffer = int(shuffle_buffer or count)
    base = dataset

    def one_pass(pass_index):
        # Windows of `buffer` examples (the whole data by default), each put
        # in the order of stateless random keys drawn from (seed, pass,
        # window): no state carried from earlier passes or processes, and
        # TensorFlow's global seed plays no part.
        if not shuffle:
            return base
        pass_key = pass_seed(seed, pass_index)

        def permute(window_index, window):
            size = tf.shape(tf.nest.flatten(window)[0])[0]
            keys = tf.random.stateless_uniform(  # full-range int64 keys
                [size],
                seed=tf.stack([pass_key, window_index]),
                minval=None,
                maxval=None,
                dtype=tf.int64,
            )
            order = tf.argsort(keys, stable=True)
            return tf.nest.map_structure(lambda t: tf.gather(t, order), window)

        return base.batch(buffer).enumerate().map(permute).unbatch()

    examples = tf.data.Dataset.counter(start=first_pass).flat_map(one_pass)
    examples = examples.skip(offset)
    return _to_model_range(examples.batch(batch_size, drop_remainder=True), value_range)


def from_arrays(images, labels=None, *, value_range, source="the arrays", **options):
    """The finished dataset from in-memory images (and labels).

    Args:
        images: numpy array `[N, H, W, C]`, values in `value_range`.
        labels: optional int array `[N]`; with it the dataset yields
            `(images, labels)`.
        value_range: `(low, high)` of the image values.
        source: how error messages name the data.
        **options: `finish`'s options (`batch_size`, `shuffle`, `seed`, ...).

    Returns:
        See `finish`. `cache` defaults to False: the data is in memory.
    """
    if labels is None:
        dataset = tf.data.Dataset.from_tensor_slices(images)
    else:
        labels = np.asarray(labels).astype(np.int32)
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    return finish(dataset, value_range=value_range, source=source, **options)
