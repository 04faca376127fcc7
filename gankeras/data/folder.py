"""A folder of image files -> numpy arrays, a streamed iterator, the dataset.

Every file is decoded with Pillow by the shared rules of
`gankeras.data.decoding` (PNG, JPEG, WebP, BMP, GIF first frame;
transparency composited onto `background`; resize the shorter side, then
centre crop). `keras.utils.image_dataset_from_directory` falls short for
GAN data: it decodes lazily inside tf.data, so an unreadable file surfaces
mid-epoch as a TensorFlow op error without its path; it always converts to
one `color_mode`, so a folder that mixes grayscale and colour images is
silently converted; and it squashes images with a plain resize unless asked
to crop.

Two ways to read a folder:

- `load_image_folder` / `image_folder_dataset`: decode every file up front
  into one uint8 array (a bad file is an error naming it), for folders that
  fit in memory.
- `list_image_folder` + `iter_decoded`: stream the decoded images in file
  order from a pool of worker processes, with unusable files reported
  rather than raised; memory does not grow with the number of files (the
  pipeline's ExampleGen writes them to TFRecord shards this way).
"""

import collections
import concurrent.futures
import multiprocessing
import os

import numpy as np

from gankeras.data import decoding, pipeline
from gankeras.data.decoding import IMAGE_EXTENSIONS, UnusableImage  # noqa: F401

#: color_mode -> channels.
COLOR_MODES = {"grayscale": 1, "rgb": 3}

ImageFolder = collections.namedtuple("ImageFolder", ["images", "labels", "class_names", "paths"])
ImageFolder.__doc__ = """A decoded image folder.

Attributes:
    images: uint8 `[N, H, W, C]`, values 0..255.
    labels: int32 `[N]` class ids (index into `class_names`), or None.
    class_names: sorted sub-folder names, or None without labels.
    paths: the `N` file paths, in the order of `images`.
"""

FolderListing = collections.namedtuple("FolderListing", ["images", "others"])
FolderListing.__doc__ = """The files under a folder, sorted (directories
walked in sorted order): `images` have an image extension
(`IMAGE_EXTENSIONS`), `others` do not."""


def list_image_folder(directory):
    """`FolderListing` of every file under `directory` (recursively).

    Raises:
        FileNotFoundError: if `directory` is not a folder.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Image folder {directory} does not exist or is not a directory.")
    paths, others = [], []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            (paths if name.lower().endswith(IMAGE_EXTENSIONS) else others).append(path)
    return FolderListing(paths, others)


def list_image_files(directory):
    """All image files under `directory` (recursively), sorted.

    Raises:
        FileNotFoundError: if `directory` is not a folder.
        ValueError: if it holds no image file, naming what it holds.
    """
    listing = list_image_folder(directory)
    if not listing.images:
        others = listing.others
        held = (
            "it is empty"
            if not others
            else f"it holds {len(others)} other files, e.g. {others[:3]}"
        )
        raise ValueError(
            f"No images in {directory}: expected files ending in "
            f"{', '.join(IMAGE_EXTENSIONS)} (searched recursively), but {held}."
        )
    return listing.images


def _decode_chunk(paths, options):
    """Decodes `paths`; per path a `DecodedImage` or the reason (str) it is
    unusable (numpy and Pillow only, so it runs in forked workers)."""
    results = []
    for path in paths:
        try:
            results.append(decoding.decode_file(path, **options))
        except UnusableImage as err:
            results.append(err.reason)
    return results


def _decode_packed(paths, options):
    """Worker: `_decode_chunk` packed for the trip to the parent: the pixels
    of the chunk in one bytes object, the channel sums in one array and
    per path `(shape, size, mode, upscaled)` or the reason (str). One large
    buffer pickles much faster than a list of small arrays."""
    results = _decode_chunk(paths, options)
    images = [r for r in results if not isinstance(r, str)]
    pixels = b"".join(r.array.tobytes() for r in images)
    sums = np.concatenate([r.sums for r in images], axis=1) if images else np.zeros((2, 0))
    entries = [
        r if isinstance(r, str) else (r.array.shape, r.size, r.mode, r.upscaled) for r in results
    ]
    return entries, pixels, sums


def _unpack(packed):
    """The `DecodedImage`s (or reasons) of `_decode_packed`; the arrays are
    read-only views of the chunk's buffer."""
    entries, pixels, sums = packed
    results, offset, row = [], 0, 0
    for entry in entries:
        if isinstance(entry, str):
            results.append(entry)
            continue
        shape, size, mode, upscaled = entry
        count, channels = shape[0] * shape[1] * shape[2], shape[2]
        array = np.frombuffer(pixels, np.uint8, count, offset).reshape(shape)
        results.append(
            decoding.DecodedImage(array, size, mode, upscaled, sums[:, row : row + channels])
        )
        offset, row = offset + count, row + channels
    return results


def iter_decoded(
    paths,
    image_size=None,
    channels=None,
    background=(255, 255, 255),
    upscale=True,
    workers=None,
    chunk_size=256,
):
    """Decodes `paths` in parallel, yielding results in the order of `paths`.

    At most `2 * workers` chunks of `chunk_size` files are in flight, so
    memory stays bounded however many files there are; stop iterating to
    stop the workers.

    Args:
        paths: image files.
        image_size, channels, background, upscale: see
            `gankeras.data.decoding.decode_file`.
        workers: worker processes (None: the CPU count; 0 or 1 decodes in
            this process). Workers are forked: they run numpy and Pillow only.
        chunk_size: files per task.

    Yields:
        `(path, DecodedImage)` or `(path, reason)` with `reason` a str
        saying why the file is unusable. From workers, `DecodedImage.array`
        is read-only.
    """
    options = dict(
        image_size=decoding.check_image_size(image_size),
        channels=channels,
        background=decoding.parse_background(background),
        upscale=upscale,
    )
    workers = (os.cpu_count() or 1) if workers is None else int(workers)
    chunks = (paths[i : i + chunk_size] for i in range(0, len(paths), chunk_size))
    if workers <= 1 or len(paths) <= chunk_size:
        for chunk in chunks:
            yield from zip(chunk, _decode_chunk(chunk, options))
        return
    context = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending = collections.deque()
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(_decode_packed, chunk, options)))
                if len(pending) >= 2 * workers:
                    chunk, future = pending.popleft()
                    yield from zip(chunk, _unpack(future.result()))
            while pending:
                chunk, future = pending.popleft()
                yield from zip(chunk, _unpack(future.result()))
        finally:
            for _, future in pending:
                future.cancel()


def _class_labels(directory, paths):
    """Class ids from the first-level sub-folder of each path."""
    class_of = []
    for path in paths:
        parts = os.path.relpath(path, directory).split(os.sep)
        if len(parts) < 2:
            raise ValueError(
                f"with_labels=True takes the class from each image's sub-folder "
                f"(e.g. {directory}/cat/001.png), but {path} lies directly in "
                f"{directory}. Move it into a class folder or use with_labels=False."
            )
        class_of.append(parts[0])
    class_names = sorted(set(class_of))
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[c] for c in class_of], dtype=np.int32), class_names


def load_image_folder(
    directory, image_size=None, color_mode=None, with_labels=False, background="white", upscale=True
):
    """Decodes every image under `directory` into one uint8 array.

    Args:
        directory: the folder; searched recursively.
        image_size: S or `(height, width)`: each image's shorter side is
            resized to the target (Lanczos), then the centre is cropped
            (`gankeras.data.decoding`). None keeps the files' size, which
            must then be the same for all.
        color_mode: "grayscale" (1 channel) or "rgb" (3 channels) converts
            every image; None keeps the files' channel count, which must then
            be the same for all (palette images count as RGB).
        with_labels: label each image by its first-level sub-folder; class
            ids follow the sorted folder names.
        background: colour that transparent pixels are composited onto
            ("white", "black", "#rrggbb", ...).
        upscale: enlarge images smaller than `image_size`; if False such an
            image is an error naming it.

    Returns:
        `ImageFolder(images, labels, class_names, paths)`; images uint8
        `[N, H, W, C]`.

    Raises:
        FileNotFoundError: if `directory` does not exist.
        ValueError: for an empty or image-less folder, an unreadable file
            (named), mixed channel counts or sizes without `color_mode` /
            `image_size` (naming an example file of each), a bad argument.
    """
    if color_mode is not None and color_mode not in COLOR_MODES:
        raise ValueError(
            f"`color_mode` must be one of {sorted(COLOR_MODES)} or None (keep "
            f"the files' channels). Received: color_mode={color_mode!r}"
        )
    image_size = decoding.check_image_size(image_size)
    background = decoding.parse_background(background)
    paths = list_image_files(directory)
    labels, class_names = _class_labels(directory, paths) if with_labels else (None, None)
    channels = COLOR_MODES[color_mode] if color_mode else None
    decoded = []
    for path, result in iter_decoded(paths, image_size, channels, background, upscale):
        if isinstance(result, str):
            raise ValueError(
                f"Could not read image file {path}: {result}. Expected a valid "
                f"image file ({', '.join(IMAGE_EXTENSIONS)}); delete or replace it."
            )
        decoded.append(result.array)
    if color_mode is None:
        first_with = {}
        for path, array in zip(paths, decoded):
            first_with.setdefault(array.shape[-1], path)
        if len(first_with) > 1:
            examples = ", ".join(
                f"{'grayscale' if c == 1 else 'colour'}: {p}" for c, p in sorted(first_with.items())
            )
            raise ValueError(
                f"{directory} mixes grayscale and colour images ({examples}). "
                "Pass color_mode='rgb' or color_mode='grayscale' to convert "
                "them all to one."
            )
    shapes = {}
    for path, array in zip(paths, decoded):
        shapes.setdefault(array.shape[:2], path)
    if len(shapes) > 1:
        examples = ", ".join(f"{h}x{w}: {p}" for (h, w), p in list(shapes.items())[:3])
        raise ValueError(
            f"{directory} holds images of {len(shapes)} different sizes "
            f"({examples}). Pass image_size=(height, width) to center-crop "
            "and resize them all to one size."
        )
    images = np.stack(decoded)
    return ImageFolder(images, labels, class_names, paths)


def image_folder_dataset(
    directory,
    image_size=None,
    color_mode=None,
    batch_size=64,
    with_labels=False,
    shuffle=True,
    seed=0,
    drop_remainder=True,
    background="white",
    upscale=True,
):
    """A finished training dataset from a folder of image files.

    Example:
        ```python
        dataset = gankeras.data.image_folder_dataset(
            "celeba/", image_size=(64, 64), color_mode="rgb")
        gan.fit(dataset, epochs=10)    # float32 [64, 64, 64, 3] in [-1, 1]
        ```

    Args:
        directory: the folder; searched recursively.
        image_size: S or `(height, width)`: resize the shorter side, then
            centre-crop to it (as the pipeline's `--image_size`), or None to
            keep the files' (common) size.
        color_mode: "grayscale", "rgb", or None to keep the files' (common)
            channel count.
        batch_size: images per batch.
        with_labels: yield `(images, labels)`, the class being each image's
            sub-folder (sorted names -> ids 0, 1, ...). The dataset's
            `class_names` attribute lists them.
        shuffle: shuffle all images, reshuffled every epoch.
        seed: shuffle seed.
        drop_remainder: drop the last partial batch (static batch shape).
        background: colour transparency is composited onto.
        upscale: enlarge images smaller than `image_size` (else an error).

    Returns:
        `tf.data.Dataset` of float32 `[batch, H, W, C]` in [-1, 1], or of
        `(images, labels)` with int32 labels `[batch]`.

    Raises:
        See `load_image_folder`.
    """
    folder = load_image_folder(
        directory, image_size, color_mode, with_labels, background=background, upscale=upscale
    )
    dataset = pipeline.from_arrays(
        folder.images,
        folder.labels,
        value_range=pipeline.UINT8_RANGE,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        drop_remainder=drop_remainder,
        source=f"The image folder {directory}",
    )
    dataset.class_names = folder.class_names
    return dataset
