"""A folder of PNG/JPEG images -> numpy arrays and the finished dataset.

Every file is decoded with Pillow and checked up front, so a bad file is
reported by name before training starts. `keras.utils.image_dataset_from_directory`
falls short here: it decodes lazily inside tf.data, so an unreadable file
surfaces mid-epoch as a TensorFlow op error without its path; it always
converts to one `color_mode`, so a folder that mixes grayscale and colour
images is silently converted; and it squashes images with a plain resize
unless asked to crop. The decoded uint8 images stay in memory (a GAN reads
every image every epoch anyway), then go through `pipeline.from_arrays`.

Resizing follows the common GAN dataset preparation (e.g. NVlabs
stylegan2-ada `dataset_tool.py`, DCGAN's CelebA crops): crop the largest
centred region of the target aspect ratio, then resize with Lanczos
filtering (antialiased), so faces and objects keep their proportions.
"""

import collections
import concurrent.futures
import os

import numpy as np
from PIL import Image, ImageOps

from gankeras.data import pipeline

#: File extensions read as images (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")

#: color_mode -> (Pillow mode, channels).
COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3)}

# Pillow modes that hold one channel of intensity; all others are read as RGB.
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")

ImageFolder = collections.namedtuple(
    "ImageFolder", ["images", "labels", "class_names", "paths"]
)
ImageFolder.__doc__ = """A decoded image folder.

Attributes:
    images: uint8 `[N, H, W, C]`, values 0..255.
    labels: int32 `[N]` class ids (index into `class_names`), or None.
    class_names: sorted sub-folder names, or None without labels.
    paths: the `N` file paths, in the order of `images`.
"""


def list_image_files(directory):
    """All PNG/JPEG files under `directory` (recursively), sorted.

    Raises:
        FileNotFoundError: if `directory` is not a folder.
        ValueError: if it holds no PNG/JPEG file, naming what it holds.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Image folder {directory} does not exist or is not a directory."
        )
    paths, others = [], []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            (paths if name.lower().endswith(IMAGE_EXTENSIONS) else others).append(path)
    if not paths:
        held = (
            "it is empty"
            if not others
            else f"it holds {len(others)} other files, e.g. {others[:3]}"
        )
        raise ValueError(
            f"No images in {directory}: expected files ending in "
            f"{', '.join(IMAGE_EXTENSIONS)} (searched recursively), but {held}."
        )
    return paths


def _channels(image):
    return 1 if image.mode in _GRAY_MODES else 3


def _decode(path, pil_mode, image_size):
    """Returns `(uint8 array [H, W, C], channels of the file)`."""
    try:
        with Image.open(path) as image:
            image.load()
            channels = _channels(image)
            mode = pil_mode or ("L" if channels == 1 else "RGB")
            image = image.convert(mode)
    except (OSError, SyntaxError, ValueError) as err:  # UnidentifiedImageError is an OSError
        raise ValueError(
            f"Could not read image file {path}: {err}. Expected a valid "
            "PNG or JPEG file; delete or replace it."
        ) from err
    if image_size is not None:
        height, width = image_size
        image = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    return array, channels


def _check_image_size(image_size):
    if image_size is None:
        return None
    try:
        height, width = (int(v) for v in image_size)
    except (TypeError, ValueError):
        height = width = 0
    if height < 1 or width < 1:
        raise ValueError(
            "`image_size` must be (height, width) with positive integers, or "
            f"None to keep the files' size. Received: image_size={image_size!r}"
        )
    return height, width


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


def load_image_folder(directory, image_size=None, color_mode=None, with_labels=False):
    """Decodes every PNG/JPEG under `directory` into one uint8 array.

    Args:
        directory: the folder; searched recursively.
        image_size: `(height, width)`: each image is center-cropped to this
            aspect ratio and resized (Lanczos). None keeps the files' size,
            which must then be the same for all.
        color_mode: "grayscale" (1 channel) or "rgb" (3 channels) converts
            every image; None keeps the files' channel count, which must then
            be the same for all (alpha is dropped; palette images count as RGB).
        with_labels: label each image by its first-level sub-folder; class
            ids follow the sorted folder names.

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
    image_size = _check_image_size(image_size)
    paths = list_image_files(directory)
    labels, class_names = (
        _class_labels(directory, paths) if with_labels else (None, None)
    )
    pil_mode = COLOR_MODES[color_mode][0] if color_mode else None
    workers = min(8, os.cpu_count() or 1)  # Pillow releases the GIL while decoding.
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        decoded = list(pool.map(lambda p: _decode(p, pil_mode, image_size), paths))
    if color_mode is None:
        first_with = {}
        for path, (_, channels) in zip(paths, decoded):
            first_with.setdefault(channels, path)
        if len(first_with) > 1:
            examples = ", ".join(
                f"{'grayscale' if c == 1 else 'colour'}: {p}"
                for c, p in sorted(first_with.items())
            )
            raise ValueError(
                f"{directory} mixes grayscale and colour images ({examples}). "
                "Pass color_mode='rgb' or color_mode='grayscale' to convert "
                "them all to one."
            )
    shapes = {}
    for path, (array, _) in zip(paths, decoded):
        shapes.setdefault(array.shape[:2], path)
    if len(shapes) > 1:
        examples = ", ".join(f"{h}x{w}: {p}" for (h, w), p in list(shapes.items())[:3])
        raise ValueError(
            f"{directory} holds images of {len(shapes)} different sizes "
            f"({examples}). Pass image_size=(height, width) to center-crop "
            "and resize them all to one size."
        )
    images = np.stack([array for array, _ in decoded])
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
):
    """A finished training dataset from a folder of PNG/JPEG images.

    Example:
        ```python
        dataset = gankeras.data.image_folder_dataset(
            "celeba/", image_size=(64, 64), color_mode="rgb")
        gan.fit(dataset, epochs=10)    # float32 [64, 64, 64, 3] in [-1, 1]
        ```

    Args:
        directory: the folder; searched recursively.
        image_size: `(height, width)` to center-crop and resize to, or None
            to keep the files' (common) size.
        color_mode: "grayscale", "rgb", or None to keep the files' (common)
            channel count.
        batch_size: images per batch.
        with_labels: yield `(images, labels)`, the class being each image's
            sub-folder (sorted names -> ids 0, 1, ...). The dataset's
            `class_names` attribute lists them.
        shuffle: shuffle all images, reshuffled every epoch.
        seed: shuffle seed.
        drop_remainder: drop the last partial batch (static batch shape).

    Returns:
        `tf.data.Dataset` of float32 `[batch, H, W, C]` in [-1, 1], or of
        `(images, labels)` with int32 labels `[batch]`.

    Raises:
        See `load_image_folder`.
    """
    folder = load_image_folder(directory, image_size, color_mode, with_labels)
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
