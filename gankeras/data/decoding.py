"""The decoding rules every image source shares: file -> uint8 `[S, S, C]`.

One place decides how a picture becomes a training image, so
`gankeras.data.image_folder_dataset(..., image_size=64)`, the TFDS and IDX
sources and the pipeline's ExampleGen give the same pixels:

1. **Read** with Pillow: PNG, JPEG, WebP, BMP, GIF (the first frame);
   an EXIF orientation (camera photos) is applied.
2. **Transparency** (RGBA, LA, a palette or grayscale PNG with a
   transparent colour) is alpha-composited onto `background` (white by
   default; any Pillow colour: "black", "#rrggbb", "rgb(0,128,255)").
3. **Channels**: `channels=1` converts to luma (ITU-R 601, Pillow's "L"),
   `channels=3` to RGB. `channels=None` keeps the file's kind: grayscale
   modes give 1 channel, everything else (RGB, CMYK, palette) 3; a
   grayscale image composited onto a coloured background gives 3.
4. **Size**: the image is resized so that its *shorter* side matches the
   target (Lanczos, antialiased; JPEGs are first reduced in the DCT with
   `draft`), then the centre `S x S` (or `height x width`) region is cut
   out: the common GAN preparation (DCGAN's CelebA crops, NVlabs
   `dataset_tool.py --transform=center-crop`), which keeps proportions.
   An image smaller than the target is upscaled the same way (and counted
   as upscaled) unless `upscale=False`, which makes it `UnusableImage`.

Only numpy and Pillow are used here, so worker processes can decode without
TensorFlow.
"""

import collections
import io

import numpy as np
from PIL import Image, ImageColor, ImageOps

#: File extensions read as images (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")

_EXIF_ORIENTATION = 0x0112

#: Pillow modes that hold one channel of intensity (with or without alpha).
GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")

DecodedImage = collections.namedtuple(
    "DecodedImage", ["array", "size", "mode", "upscaled", "sums"], defaults=(None,)
)
DecodedImage.__doc__ = """One decoded image.

Attributes:
    array: uint8 `[H, W, C]`, C = 1 or 3, values 0..255.
    size: `(width, height)` of the file before resizing.
    mode: the file's Pillow mode ("RGB", "RGBA", "P", "L", ...).
    upscaled: whether the image was smaller than the target and enlarged.
    sums: float64 `[2, C]`: per channel the sum of the pixel values and the
        sum of their squares (exact: integers far below 2**53), for dataset
        mean and std without a pass over the pixels later.
"""

_ONES = {}


def channel_sums(array):
    """float64 `[2, C]`: per-channel sum and sum of squares of a uint8
    `[H, W, C]` (two matrix-vector products; exact in float64)."""
    flat = array.reshape(-1, array.shape[-1]).astype(np.float64)
    ones = _ONES.get(len(flat))
    if ones is None:
        ones = _ONES[len(flat)] = np.ones(len(flat))
    return np.stack([ones @ flat, ones @ (flat * flat)])


def _decoded(array, size, mode, upscaled):
    return DecodedImage(array, size, mode, upscaled, channel_sums(array))


class UnusableImage(ValueError):
    """A file that cannot become a training image; `reason` says why."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def parse_background(value):
    """`(r, g, b)` of a colour name, "#rrggbb", "#rgb" or "rgb(r,g,b)".

    Raises:
        ValueError: naming the value and the accepted forms.
    """
    if isinstance(value, (tuple, list)) and len(value) == 3:
        if all(isinstance(v, (int, np.integer)) and 0 <= v <= 255 for v in value):
            return tuple(int(v) for v in value)
    else:
        try:
            return tuple(ImageColor.getrgb(str(value))[:3])
        except ValueError:
            pass
    raise ValueError(
        "`background` must be a colour: a name like 'white' or 'black', "
        f"'#rrggbb', or an (r, g, b) tuple of 0..255. Received: background={value!r}"
    )


def check_image_size(image_size):
    """`(height, width)` from an int, a pair, or None (keep the size).

    Raises:
        ValueError: for anything but positive integers.
    """
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = (int(v) for v in image_size)
    except (TypeError, ValueError):
        height = width = 0
    if height < 1 or width < 1:
        raise ValueError(
            "`image_size` must be a positive integer S (S x S), (height, width), "
            f"or None to keep the files' size. Received: image_size={image_size!r}"
        )
    return height, width


def _has_transparency(image):
    return image.mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in image.info


def to_channels(image, channels=None, background=(255, 255, 255)):
    """A Pillow image in mode "L" (1 channel) or "RGB" (3), composited
    onto `background` where it has transparency. See the module docstring."""
    gray = image.mode in GRAY_MODES
    gray_background = background[0] == background[1] == background[2]
    if _has_transparency(image):
        if gray and gray_background:
            rgba = image.convert("LA").convert("RGBA")
        else:
            rgba = image.convert("RGBA")
            gray = False
        base = Image.new("RGBA", rgba.size, tuple(background) + (255,))
        image = Image.alpha_composite(base, rgba).convert("RGB")
    if channels is None:
        channels = 1 if gray else 3
    mode = "L" if channels == 1 else "RGB"
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F") and mode == "L":
        # 16-bit or float grayscale: scale to 0..255 rather than clip.
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        if image.mode == "F" and array.max() <= 1.0:
            top = 1.0
        return Image.fromarray(np.clip(np.round(array * (255.0 / top)), 0, 255).astype(np.uint8))
    return image if image.mode == mode else image.convert(mode)


def _target(size, target):
    """Size after scaling `size` (w, h) so it covers `target` (h, w)."""
    (width, height), (out_h, out_w) = size, target
    scale = max(out_h / height, out_w / width)
    return (max(out_w, round(width * scale)), max(out_h, round(height * scale))), scale > 1


def resize_and_crop(image, image_size, upscale=True, path="the image"):
    """Resizes (shorter side to the target, Lanczos) and centre-crops.

    Args:
        image: a Pillow image.
        image_size: `(height, width)` from `check_image_size`, or None.
        upscale: enlarge images smaller than the target; if False they raise.
        path: how errors name the image.

    Returns:
        `(image, upscaled)`.

    Raises:
        UnusableImage: an image smaller than the target with `upscale=False`.
    """
    if image_size is None:
        return image, False
    out_h, out_w = image_size
    (new_w, new_h), upscaled = _target(image.size, image_size)
    if upscaled and not upscale:
        raise UnusableImage(
            path,
            f"{image.size[0]}x{image.size[1]} is smaller than the image size "
            f"{out_w}x{out_h} (upscaling is off)",
        )
    if (new_w, new_h) != image.size:
        image = image.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if (new_w, new_h) != (out_w, out_h):
        left, top = (new_w - out_w) // 2, (new_h - out_h) // 2
        image = image.crop((left, top, left + out_w, top + out_h))
    return image, upscaled


def _as_array(image):
    array = np.asarray(image, dtype=np.uint8)
    return array[..., np.newaxis] if array.ndim == 2 else array


def decode_file(path, image_size=None, channels=None, background=(255, 255, 255), upscale=True):
    """Decodes one image file by the rules of this module.

    Args:
        path: the file.
        image_size: `(height, width)` (see `check_image_size`) or None to
            keep the file's size.
        channels: 1, 3 or None (the file's kind).
        background: `(r, g, b)` that transparency is composited onto.
        upscale: enlarge images smaller than `image_size`.

    Returns:
        `DecodedImage`.

    Raises:
        UnusableImage: naming the reason: an empty file, not an image, a
            corrupt or truncated image, or too small with `upscale=False`.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()  # one read: Pillow then parses from memory
    except OSError as err:
        raise UnusableImage(path, f"unreadable file ({err})") from None
    if not data:
        raise UnusableImage(path, "empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            mode, size = image.mode, image.size
            if image_size is not None and image.format == "JPEG":
                (new_w, new_h), _ = _target(size, image_size)
                image.draft("RGB" if mode not in GRAY_MODES else "L", (new_w, new_h))
            image.load()  # GIF/WebP animations: the first frame.
            if image.getexif().get(_EXIF_ORIENTATION, 1) != 1:  # camera photos
                image = ImageOps.exif_transpose(image)
            converted = to_channels(image, channels, background)
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        # UnidentifiedImageError (not an image) and truncated data are OSErrors.
        kind = "not an image Pillow can read" if "cannot identify" in str(err) else "corrupt image"
        raise UnusableImage(path, f"{kind} ({err})") from None
    converted, upscaled = resize_and_crop(converted, image_size, upscale, path)
    return _decoded(_as_array(converted), size, mode, upscaled)


def prepare_array(array, image_size=None, channels=None, upscale=True, name="the image"):
    """The same rules for an already decoded uint8 image `[H, W, C]` (C = 1,
    3 or 4; 4 is composited onto white) from TFDS or IDX files.

    Returns:
        `DecodedImage` whose `mode` is "L", "RGB" or "RGBA".
    """
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[..., np.newaxis]
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(array.shape[-1])
    if mode is None or array.dtype != np.uint8:
        raise UnusableImage(name, f"expected uint8 [H, W, 1|3|4], got {array.dtype} {array.shape}")
    height, width = array.shape[:2]
    native = array.shape[-1] if array.shape[-1] != 4 else 3
    if image_size in (None, (height, width)) and channels in (None, native) and mode != "RGBA":
        return _decoded(array, (width, height), mode, False)  # nothing to do
    image = Image.fromarray(array[..., 0] if mode == "L" else array, mode)
    image = to_channels(image, channels)
    image, upscaled = resize_and_crop(image, image_size, upscale, name)
    return _decoded(_as_array(image), (width, height), mode, upscaled)
