"""ExampleGen: streams the source's images into TFRecord shards, once.

Sources (exactly one): a folder of image files (`image_dir`), a TFDS image
dataset (`dataset`), or MNIST-format IDX files (`idx_dir`). Every image goes
through `gankeras.data.decoding`'s rules (transparency composited onto
`background`, shorter side resized to `image_size` then centre-cropped,
`channels` converted) in worker processes, and is written as it comes: the
dataset is never held in memory.

A folder is read in a seeded permutation of its sorted file list
(`order_seed`, default 0): a folder of class sub-folders would otherwise be
written class after class, which the Trainer's bounded shuffle window
(`trainer.SHUFFLE_WINDOW_BYTES`) could not mix. The same files and seed give
the same shards. IDX and TFDS data keep the source's order.

Output `examples/`:
- `train-00000.tfrecord`, ... and `test-00000.tfrecord`, ...: one
  `tf.train.Example` per image: `image` (raw uint8 bytes, row-major
  `[H, W, c]`), `shape` (int64 `[H, W, c]`) and, for labelled data, `label`
  (int64). A record may hold 1 channel in a 3-channel dataset (a grayscale
  file among colour ones); readers broadcast it to `stats["channels"]`.
- the held-out split `test-*`: the source's test split, else every 10th
  image in that order (a deterministic 10% hold-out, not trained on).
- `stats.json`: `count`, `test_count`, `image_shape` `[S, S, C]`,
  `channels`, `num_classes`, `class_names`, `sizes_seen` / `modes_seen`
  (of the files), `upscaled`, per-channel `mean` / `std` (0..255, training
  split), the shard lists, `source`, `order`.
- `skipped.json`: every file not used, with the reason.

Later components read the shards through `training_examples` (the Trainer)
and `load_examples` (the Evaluator), so the source is read only when its
parameters or files change.

Parameters: `ExampleGenParameters`, built by `make_example_gen`.
"""

import collections
import dataclasses
import hashlib
import json
import os
import sys

import numpy as np

from pipelines.framework import RUNTIME, Component, Parameters, PipelineError

#: `--image_size` values the networks are built for.
IMAGE_SIZES = (32, 64, 128)
#: `--image_size` used for folders and variable-size TFDS datasets when unset.
DEFAULT_FOLDER_IMAGE_SIZE = 64
#: Every HOLD_OUT_EVERY-th image is held out when the source has no test split.
HOLD_OUT_EVERY = 10
#: A shard is closed once it holds this many bytes of images.
SHARD_BYTES = 64 << 20
STATS_FILE, SKIPPED_FILE = "stats.json", "skipped.json"


@dataclasses.dataclass(frozen=True)
class ExampleGenParameters(Parameters):
    """ExampleGen's parameters (the arguments of `make_example_gen`, which
    documents them; folders made absolute), plus the fingerprint of the
    source's files: `idx_files` (`--idx_dir`) or `image_files`
    (`--image_dir`), None for the other sources. `workers` is not in the
    record or the cache key."""

    dataset: str | None
    idx_dir: str | None
    image_dir: str | None
    tfds_data_dir: str | None
    num_examples: int | None
    image_size: int | None
    channels: int | None
    background: str
    upscale_small_images: bool
    strict_images: bool
    labels_from_folders: bool
    idx_files: dict | None = None
    image_files: dict | None = None
    # The seed of a folder's write order (None for the other sources).
    order_seed: int | None = None
    # Decoding processes (None: the CPU count).
    workers: int | None = dataclasses.field(default=None, metadata=RUNTIME)


def make_example_gen(
    dataset=None,
    idx_dir=None,
    image_dir=None,
    tfds_data_dir=None,
    num_examples=None,
    image_size=None,
    channels=None,
    background="white",
    upscale_small_images=True,
    strict_images=False,
    labels_from_folders=False,
    order_seed=0,
    workers=None,
):
    """The ExampleGen component.

    Args:
        dataset: TFDS image dataset name.
        idx_dir: folder of MNIST-format IDX files.
        image_dir: folder of image files, searched recursively.
        tfds_data_dir: TFDS `data_dir` (None: ~/tensorflow_datasets).
        num_examples: keep only the first N training images (None: all), in
            the written order (for a folder: a random subset, see `order_seed`).
        image_size: S (images become S x S), or None: the source's own size
            (IDX, fixed-size TFDS) or `DEFAULT_FOLDER_IMAGE_SIZE`.
        channels: 1, 3 or None (3 if any image is colour, else 1).
        background: colour transparency is composited onto.
        upscale_small_images: enlarge images smaller than `image_size`;
            otherwise they are skipped (or an error with `strict_images`).
        strict_images: an unusable image file is an error, not a skip.
        labels_from_folders: label folder images by their first-level
            sub-folder (sorted names -> class ids).
        order_seed: folder images are held out and written in the order of
            a permutation of the sorted file list drawn with this seed, so
            shards, the hold-out and `num_examples` mix the classes of a
            folder of class sub-folders (None: the sorted file order).
        workers: decoding processes (None: the CPU count); not in the key.
    """
    sources = [s for s in (dataset, idx_dir, image_dir) if s is not None]
    if len(sources) != 1:
        raise PipelineError(
            "ExampleGen needs exactly one source: --image_dir, --dataset or --idx_dir. "
            f"Received: image_dir={image_dir!r}, dataset={dataset!r}, idx_dir={idx_dir!r}"
        )
    idx_dir = None if idx_dir is None else os.path.abspath(idx_dir)
    image_dir = None if image_dir is None else os.path.abspath(image_dir)
    parameters = ExampleGenParameters(
        dataset=dataset,
        idx_dir=idx_dir,
        image_dir=image_dir,
        tfds_data_dir=tfds_data_dir,
        num_examples=num_examples,
        image_size=image_size,
        channels=channels,
        background=background,
        upscale_small_images=upscale_small_images,
        strict_images=strict_images,
        labels_from_folders=labels_from_folders,
        idx_files=None if idx_dir is None else _file_fingerprints(idx_dir),
        image_files=None if image_dir is None else _tree_fingerprint(image_dir),
        order_seed=order_seed if image_dir is not None else None,
        workers=workers,
    )
    return Component(
        name="ExampleGen",
        executor=run_example_gen,
        outputs=("examples",),
        parameters=parameters,
    )


# ----------------------------------------------------------------------------
# Executor


def run_example_gen(inputs, outputs, p):
    """The executor: `p` is the `ExampleGenParameters`."""
    from gankeras.data import decoding

    try:
        background_rgb = decoding.parse_background(p.background)
    except ValueError as error:
        raise PipelineError(f"Bad --background: {error}") from error
    out = outputs["examples"]
    for name in os.listdir(out.uri):  # what an interrupted run left
        if name.endswith(".tfrecord") or name in (STATS_FILE, SKIPPED_FILE):
            os.remove(out.path(name))
    if p.image_dir is not None:
        source = _FolderSource(p, background_rgb)
    elif p.idx_dir is not None:
        source = _IDXSource(p)
    else:
        source = _TFDSSource(p)
    writers = {split: _ShardWriter(out.uri, split) for split in ("train", "test")}
    stats = {split: _Statistics() for split in ("train", "test")}
    skipped = []
    try:
        for split, item, result in source.examples():
            if isinstance(result, str):
                if p.strict_images:
                    raise PipelineError(
                        f"Unusable image {item}: {result}. Expected only readable image files "
                        f"of at least {source.image_size}x{source.image_size} pixels"
                        + ("" if p.upscale_small_images else " (--noupscale_small_images)")
                        + " under --strict_images; remove the file or drop --strict_images "
                        "to skip such files."
                    )
                skipped.append({"file": item, "reason": result})
                continue
            label = source.label_of(item)
            writers[split].write(result.array, label)
            stats[split].add(result, label)
    finally:
        for writer in writers.values():
            writer.close()
    for other in source.others:
        skipped.append(
            {
                "file": other,
                "reason": "not an image file extension "
                f"(expected one of {', '.join(decoding.IMAGE_EXTENSIONS)})",
            }
        )
    train, test = stats["train"], stats["test"]
    if train.count == 0:
        reasons = collections.Counter(s["reason"].split(" (")[0] for s in skipped)
        raise PipelineError(
            f"ExampleGen could not read the dataset: {source.description} holds no usable "
            "image"
            + (
                f" ({len(skipped)} files skipped: "
                + ", ".join(f"{n} {r}" for r, n in reasons.most_common(3))
                + "; e.g. "
                + skipped[0]["file"]
                + ")"
                if skipped
                else ""
            )
            + ". Expected readable PNG, JPEG, WebP, BMP or GIF files, a TFDS image dataset or "
            "MNIST-format IDX files."
        )
    if test.count == 0:
        raise PipelineError(
            f"ExampleGen: {source.description} gives no held-out images (it has "
            f"{train.count} usable images; every {HOLD_OUT_EVERY}th is held out). "
            f"Expected at least {HOLD_OUT_EVERY} images or a test split."
        )
    channels = max(train.max_channels, test.max_channels)
    if p.channels is not None:
        channels = p.channels
    with open(out.path(SKIPPED_FILE), "w") as f:
        json.dump(skipped, f, indent=2)
    shape = [source.image_size_hw[0], source.image_size_hw[1], channels]
    result = dict(
        source=source.description,
        count=train.count,
        test_count=test.count,
        held_out=source.held_out,
        order=source.order,
        image_shape=shape,
        channels=channels,
        num_classes=source.num_classes,
        class_names=source.class_names,
        labelled=source.labelled,
        sizes_seen=_top(train.sizes + test.sizes),
        modes_seen=dict((train.modes + test.modes).most_common()),
        upscaled=train.upscaled + test.upscaled,
        skipped=len(skipped),
        mean=train.mean(channels),
        std=train.std(channels),
        shards={split: writers[split].names for split in writers},
        record_format="tf.train.Example: image (raw uint8 [H, W, c]), shape (int64 [3]), "
        "label (int64, labelled data only)",
    )
    with open(out.path(STATS_FILE), "w") as f:
        json.dump(result, f, indent=2)
    print(
        f"  {result['count']} training + {result['test_count']} held-out images "
        f"{tuple(shape)} from {source.description}"
        + (
            f", {len(skipped)} files skipped (listed in {out.path(SKIPPED_FILE)})"
            if skipped
            else ""
        )
    )
    if result["upscaled"]:
        print(
            f"  {result['upscaled']} images were smaller than {shape[0]}x{shape[1]} and "
            "upscaled (--noupscale_small_images skips them)"
        )
    return {
        k: result[k]
        for k in (
            "source",
            "count",
            "test_count",
            "image_shape",
            "num_classes",
            "skipped",
            "upscaled",
        )
    }


def _top(counter, n=20):
    top = dict(counter.most_common(n))
    rest = sum(counter.values()) - sum(top.values())
    if rest:
        top["other"] = rest
    return top


class _Statistics:
    """Running count, sizes, modes and per-channel sums of values and squares."""

    def __init__(self):
        self.count = self.upscaled = 0
        self.sizes, self.modes = collections.Counter(), collections.Counter()
        self.max_channels = 0
        self.sums = {1: np.zeros((2, 1)), 3: np.zeros((2, 3))}
        self.pixels = {1: 0, 3: 0}  # per channel

    def add(self, decoded, label):
        height, width, c = decoded.array.shape
        self.sums[c] += decoded.sums
        self.pixels[c] += height * width
        self.count += 1
        self.upscaled += bool(decoded.upscaled)
        self.sizes[f"{decoded.size[0]}x{decoded.size[1]}"] += 1
        self.modes[decoded.mode] += 1
        self.max_channels = max(self.max_channels, c)

    def _moments(self, channels):
        """Per-channel mean and std (0..255) with 1-channel images counted
        in every channel of a 3-channel dataset (readers broadcast them)."""
        if channels == 1:
            sums = self.sums[1] + self.sums[3].sum(1, keepdims=True)
            pixels = self.pixels[1] + 3 * self.pixels[3]
        else:
            sums = self.sums[3] + self.sums[1]
            pixels = self.pixels[3] + self.pixels[1]
        pixels = max(pixels, 1)
        mean = sums[0] / pixels
        var = np.maximum(sums[1] / pixels - mean**2, 0.0)
        return mean, np.sqrt(var)

    def mean(self, channels):
        return [round(float(v), 4) for v in self._moments(channels)[0]]

    def std(self, channels):
        return [round(float(v), 4) for v in self._moments(channels)[1]]


def _varint(value):
    """Protocol-buffer base-128 varint of an int64 (negatives as 10 bytes)."""
    value &= 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number, payload):
    """A length-delimited protocol-buffer field: tag, length, payload."""
    return bytes([number << 3 | 2]) + _varint(len(payload)) + payload


def _int64_feature(values):
    """A serialized `tf.train.Feature` holding an `Int64List` (packed)."""
    return _field(3, _field(1, b"".join(_varint(int(v)) for v in values)))


def _map_entry(key, feature):
    """One `Features.feature` map entry (key 1, value 2) as a field of `Features`."""
    return _field(1, _field(1, key) + _field(2, feature))


#: Serialized pieces that repeat from record to record, by (kind, key):
#: the `image` entry's bytes before the pixels (by pixel count) and the
#: `shape` + `label` entries (by shape and label). Bounded: cleared when full.
_PIECES = {}


def _cached(key, make):
    piece = _PIECES.get(key)
    if piece is None:
        if len(_PIECES) >= 4096:
            _PIECES.clear()
        piece = _PIECES[key] = make()
    return piece


def _image_prefix(nbytes):
    """Features field + `image` entry up to the pixels, for `nbytes` pixels;
    the Features length is left out (it depends on the other entries)."""
    bytes_list = 1 + len(_varint(nbytes)) + nbytes  # BytesList{value: pixels}
    feature = 1 + len(_varint(bytes_list)) + bytes_list  # Feature{bytes_list}
    entry = len(_field(1, b"image")) + 1 + len(_varint(feature)) + feature
    return (
        b"\x0a"
        + _varint(entry)
        + _field(1, b"image")
        + b"\x12"
        + _varint(feature)
        + b"\x0a"
        + _varint(bytes_list)
        + b"\x0a"
        + _varint(nbytes)
    )


def serialize_example(pixels, shape, label=None):
    """The bytes of `tf.train.Example(image=pixels, shape=shape[, label])`,
    encoded directly: no protocol-buffer objects per image.

    Args:
        pixels: the raw uint8 image bytes, row-major `[H, W, c]` (a buffer:
            bytes or a C-contiguous uint8 array).
        shape: `(H, W, c)`.
        label: int class id, or None for unlabelled data.

    Returns:
        bytes that `tf.train.Example.FromString` and `tf.io.parse_example`
        read as the fields above (map entries in the order image, shape,
        label; the protobuf library's own order is unspecified).
    """
    pixels = memoryview(pixels).cast("B")
    nbytes, shape = len(pixels), tuple(int(v) for v in shape)
    prefix = _cached(("image", nbytes), lambda: _image_prefix(nbytes))
    rest = _cached(
        ("rest", shape, label),
        lambda: (
            _map_entry(b"shape", _int64_feature(shape))
            + (b"" if label is None else _map_entry(b"label", _int64_feature([label])))
        ),
    )
    return b"".join((b"\x0a", _varint(len(prefix) + nbytes + len(rest)), prefix, pixels, rest))


class _ShardWriter:
    """Writes `tf.train.Example`s to `<split>-00000.tfrecord`, ... rolling
    over to a new shard every `SHARD_BYTES` of image data."""

    def __init__(self, directory, split):
        self.directory, self.split = directory, split
        self.names, self.writer, self.bytes = [], None, 0

    def write(self, image, label):
        if self.writer is None or self.bytes >= SHARD_BYTES:
            import tensorflow as tf

            self.close()
            name = f"{self.split}-{len(self.names):05d}.tfrecord"
            self.writer = tf.io.TFRecordWriter(os.path.join(self.directory, name))
            self.names.append(name)
            self.bytes = 0
        image = np.ascontiguousarray(image)
        self.writer.write(serialize_example(image, image.shape, label))
        self.bytes += image.nbytes

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


# ----------------------------------------------------------------------------
# Sources: each yields `(split, item, DecodedImage or reason)` in a fixed order.


class _Source:
    held_out = f"every {HOLD_OUT_EVERY}th image in source order (deterministic 10% hold-out)"
    order = "source order"
    others = ()
    class_names = None
    num_classes = None
    labelled = False

    def __init__(self, p):
        self.p = p

    def limited(self, stream):
        """Passes `(split, item, result)` on until `num_examples` usable
        training images have passed; then drops the rest of the training
        stream (a hold-out source ends there; see `train_done`)."""
        limit, used = self.p.num_examples, 0
        for split, item, result in stream:
            if split == "train" and limit is not None and used >= limit:
                return
            yield split, item, result
            used += split == "train" and not isinstance(result, str)

    def resolve_size(self, native_hw):
        """The output (height, width): --image_size, else `native_hw`."""
        size = self.p.image_size
        if size is None:
            if native_hw is None or None in native_hw:
                size = DEFAULT_FOLDER_IMAGE_SIZE
            else:
                self.image_size_hw = tuple(int(v) for v in native_hw)
                self.image_size = self.image_size_hw[0]
                return None  # keep the size
        self.image_size_hw, self.image_size = (size, size), size
        return (size, size)

    @staticmethod
    def split_of(index):
        return "test" if index % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 else "train"


class _FolderSource(_Source):
    def __init__(self, p, background_rgb):
        super().__init__(p)
        from gankeras import data

        self.background_rgb = background_rgb
        directory = p.image_dir
        self.description = f"the image folder {directory}"
        try:
            listing = data.folder.list_image_folder(directory)
        except FileNotFoundError as error:
            raise PipelineError(
                f"ExampleGen could not read the dataset: {error} "
                "Expected --image_dir to be a folder of image files."
            ) from None
        self.paths, self.others = listing.images, listing.others
        seed = p.order_seed
        if seed is not None:
            order = np.random.default_rng(seed).permutation(len(self.paths))
            self.paths = [self.paths[i] for i in order]
            self.held_out = (
                f"every {HOLD_OUT_EVERY}th image of the file list permuted with seed {seed} "
                "(a deterministic random 10% hold-out)"
            )
        self.order = (
            "sorted file order"
            if seed is None
            else f"a permutation of the sorted file list (numpy default_rng({seed}))"
        )
        if not self.paths:
            held = (
                "it is empty"
                if not self.others
                else (
                    f"it holds {len(self.others)} files without an image extension, e.g. "
                    f"{self.others[0]}"
                )
            )
            raise PipelineError(
                f"ExampleGen could not read the dataset: no image files in {directory}: {held}. "
                f"Expected files ending in {', '.join(data.folder.IMAGE_EXTENSIONS)} (searched "
                "recursively)."
            )
        self.labels = None
        if p.labels_from_folders:
            try:
                labels, self.class_names = data.folder._class_labels(directory, self.paths)
            except ValueError as error:
                raise PipelineError(f"--labels_from_folders: {error}") from None
            self.labels = dict(zip(self.paths, labels.tolist()))
            self.num_classes, self.labelled = len(self.class_names), True

    def label_of(self, path):
        return None if self.labels is None else self.labels[path]

    def examples(self):
        from gankeras import data

        size = self.resolve_size(None)
        decoded = data.folder.iter_decoded(
            self.paths,
            image_size=size,
            channels=self.p.channels,
            background=self.background_rgb,
            upscale=self.p.upscale_small_images,
            workers=self.p.workers,
        )
        yield from self.limited(
            (self.split_of(index), path, result) for index, (path, result) in enumerate(decoded)
        )


class _ArraySource(_Source):
    """Sources of decoded uint8 arrays (IDX, TFDS); items are `(name, label)`."""

    def label_of(self, item):
        return item[1]

    def prepared(self, split, index, array, size):
        from gankeras.data import decoding

        name = f"{self.description} {split} #{index}"
        try:
            return decoding.prepare_array(
                array, size, self.p.channels, self.p.upscale_small_images, name=name
            )
        except decoding.UnusableImage as error:
            return error.reason


class _IDXSource(_ArraySource):
    def __init__(self, p):
        super().__init__(p)
        self.description = f"IDX files in {p.idx_dir}"

    def _load(self, split):
        from gankeras import data

        try:
            return data.load_idx(self.p.idx_dir, split, with_labels=True)
        except FileNotFoundError:
            if split == "test":
                return None
            error = sys.exc_info()[1]
            raise PipelineError(
                f"ExampleGen could not read the dataset: {error}\nExpected a folder of "
                "MNIST-format IDX files (--idx_dir, e.g. /usr/share/datasets/fashion-mnist)."
            ) from None
        except (OSError, ValueError) as error:
            raise PipelineError(
                f"ExampleGen could not read the dataset: {error}\nExpected a folder of "
                "MNIST-format IDX files (--idx_dir, e.g. /usr/share/datasets/fashion-mnist)."
            ) from error

    def examples(self):
        images, labels = self._load("train")
        self.labelled = True
        self.num_classes = int(labels.max()) + 1
        test = self._load("test")
        if test is not None:
            self.held_out = "the source's test split (t10k files)"
            self.num_classes = max(self.num_classes, int(test[1].max()) + 1)
        size = self.resolve_size(images.shape[1:3])

        def stream(split_images, split_labels, fixed_split):
            for index, (image, label) in enumerate(zip(split_images, split_labels)):
                split = fixed_split or self.split_of(index)
                yield split, (None, int(label)), self.prepared(split, index, image, size)

        yield from self.limited(stream(images, labels, "train" if test is not None else None))
        if test is not None:
            yield from stream(*test, "test")


class _TFDSSource(_ArraySource):
    def __init__(self, p):
        super().__init__(p)
        from gankeras.data import tfds_source

        name, data_dir = p.dataset, p.tfds_data_dir
        self.description = f"TFDS {name}"
        try:
            self.image_key, self.label_key, builder = tfds_source.find_features(name, data_dir)
            self.splits = tfds_source.prepare(name, data_dir)
        except (OSError, ValueError) as error:
            raise PipelineError(f"ExampleGen could not read the dataset: {error}") from None
        if "train" not in self.splits:
            raise PipelineError(
                f"ExampleGen: TFDS {name} has no 'train' split; it has {sorted(self.splits)}."
            )
        feature = builder.info.features[self.image_key]
        self.native_hw = tuple(feature.shape[:2])
        self.class_names = tfds_source.class_names(builder, self.label_key)
        if self.label_key:
            self.labelled = True
            self.num_classes = int(builder.info.features[self.label_key].num_classes)
        if "test" in self.splits:
            self.held_out = "the source's test split"

    def examples(self):
        from gankeras.data import tfds_source

        name, data_dir = self.p.dataset, self.p.tfds_data_dir
        size = self.resolve_size(self.native_hw)
        has_test = "test" in self.splits

        def stream(split_name, fixed_split):
            examples = tfds_source.iter_tfds(
                name, split_name, data_dir, self.image_key, self.label_key
            )
            for index, (image, label) in enumerate(examples):
                split = fixed_split or self.split_of(index)
                yield split, (None, label), self.prepared(split, index, image, size)

        yield from self.limited(stream("train", "train" if has_test else None))
        if has_test:
            yield from stream("test", "test")


def write_examples(
    directory, images, labels=None, test_images=None, test_labels=None, source="arrays"
):
    """Writes in-memory arrays as an `examples` artifact (shards + stats.json)
    in the layout ExampleGen writes: for tests and for data already in memory.

    Args:
        directory: the artifact directory (exists).
        images: uint8 `[N, H, W, C]`; `labels`: int `[N]` or None.
        test_images / test_labels: the held-out split (default: none, an
            empty test split).
        source: how the stats name the data.

    Returns:
        The stats dict written.
    """
    images = np.asarray(images, np.uint8)
    test_images = (
        np.zeros((0,) + images.shape[1:], np.uint8)
        if test_images is None
        else np.asarray(test_images, np.uint8)
    )
    splits = {"train": (images, labels), "test": (test_images, test_labels)}
    names = {}
    for split, (split_images, split_labels) in splits.items():
        writer = _ShardWriter(directory, split)
        try:
            for i, image in enumerate(split_images):
                writer.write(image, None if split_labels is None else int(split_labels[i]))
        finally:
            writer.close()
        names[split] = writer.names
    labelled = labels is not None
    stats = dict(
        source=source,
        count=int(len(images)),
        test_count=int(len(test_images)),
        image_shape=list(images.shape[1:]),
        channels=int(images.shape[-1]),
        num_classes=int(np.max(labels)) + 1 if labelled else None,
        labelled=labelled,
        shards=names,
    )
    with open(os.path.join(directory, STATS_FILE), "w") as f:
        json.dump(stats, f, indent=2)
    return stats


# ----------------------------------------------------------------------------
# Readers


def read_stats(artifact):
    """The `stats.json` dict of an `examples` artifact."""
    with open(artifact.path(STATS_FILE)) as f:
        return json.load(f)


def _records(artifact, split, stats, with_labels):
    """tf.data of uint8 `[H, W, C]` (or `(image, label int32)`), shard order."""
    import tensorflow as tf

    height, width, channels = stats["image_shape"]
    files = [artifact.path(name) for name in stats["shards"][split]]
    spec = {
        "image": tf.io.FixedLenFeature([], tf.string),
        "shape": tf.io.FixedLenFeature([3], tf.int64),
    }
    if with_labels:
        spec["label"] = tf.io.FixedLenFeature([], tf.int64)

    def parse(record):
        example = tf.io.parse_single_example(record, spec)
        image = tf.reshape(tf.io.decode_raw(example["image"], tf.uint8), example["shape"])
        image = tf.ensure_shape(
            tf.broadcast_to(image, [height, width, channels]), [height, width, channels]
        )
        if with_labels:
            return image, tf.cast(example["label"], tf.int32)
        return image

    dataset = tf.data.TFRecordDataset(files, num_parallel_reads=None)
    return dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def training_examples(artifact, with_labels):
    """The training split for the Trainer, streamed from the shards.

    Args:
        artifact: the ExampleGen `examples` artifact.
        with_labels: yield `(image, label)` pairs (the data must be labelled).

    Returns:
        `(dataset, count)`: an unbatched `tf.data.Dataset` of uint8 images
        `[H, W, C]` (0..255), or of `(image, label int32)`, always in the
        same (shard) order (the caller shuffles); `count` its length.

    Raises:
        PipelineError: labels asked of unlabelled data.
    """
    stats = read_stats(artifact)
    if with_labels and not stats.get("labelled", stats.get("num_classes") is not None):
        raise PipelineError(
            f"Labels were asked for, but {stats['source']} has none. Expected labelled data "
            "(TFDS/IDX labels, or --labels_from_folders with one sub-folder per class)."
        )
    import tensorflow as tf

    dataset = _records(artifact, "train", stats, with_labels)
    count = int(stats["count"])
    return dataset.apply(tf.data.experimental.assert_cardinality(count)), count


def load_examples(artifact, split="train", limit=None):
    """`(images uint8 [N, H, W, C], labels int32 [N] or None, stats dict)` of
    the "train" or "test" split, reading at most `limit` images (None: all)
    from the shards, in shard order."""
    stats = read_stats(artifact)
    labelled = stats.get("labelled", stats.get("num_classes") is not None)
    dataset = _records(artifact, split, stats, labelled)
    total = stats["count" if split == "train" else "test_count"]
    if limit is not None:
        dataset = dataset.take(int(limit))
        total = min(total, int(limit))
    height, width, channels = stats["image_shape"]
    images = np.empty((total, height, width, channels), np.uint8)
    labels = np.empty((total,), np.int32) if labelled else None
    index = 0
    for element in dataset.batch(1024).as_numpy_iterator():
        batch = element[0] if labelled else element
        images[index : index + len(batch)] = batch
        if labelled:
            labels[index : index + len(batch)] = element[1]
        index += len(batch)
    return images[:index], None if labels is None else labels[:index], stats


# ----------------------------------------------------------------------------
# Cache-key fingerprints


def _file_fingerprints(directory):
    """Names, sizes and modification times of the files in `directory`:
    part of the cache key, so replaced data files invalidate the cache."""
    if not os.path.isdir(directory):
        return None  # the executor reports the missing folder
    found = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            stat = os.stat(path)
            found[name] = [stat.st_size, stat.st_mtime_ns]
    return found


def _tree_fingerprint(directory):
    """`{"files": n, "sha256": ...}` over every file's relative path, size and
    mtime under `directory`: a short cache-key entry that changes when any
    file is added, removed or replaced."""
    if not os.path.isdir(directory):
        return None
    digest, count = hashlib.sha256(), 0
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            digest.update(
                f"{os.path.relpath(path, directory)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
            )
            count += 1
    return {"files": count, "sha256": digest.hexdigest()}
