"""`SampleGrid`: PNG grids of one fixed latent batch as training goes on."""

import os

import keras
import numpy as np

from gankeras.data.pixels import to_pixels


@keras.saving.register_keras_serializable(package="gankeras")
class SampleGrid(keras.callbacks.Callback):
    """Writes `fakes<epoch>.png` every `every_n_epochs` epochs, and at the end
    an animated `progress.gif` (or a `contact_sheet.png`) across epochs.

    Every grid draws the same seeds through `gan.generate(seeds=...)`, so
    the files show one set of latents evolving. With `training_images`, a
    last column shows, for each row's final sample, the nearest training
    image in pixel L2 distance: the check of Goodfellow et al. 2014
    (Figure 2) that the generator does not just recall training examples.

    Images are `[H, W, C]` in [-1, 1] with C = 1 (grey) or 3 (RGB).

    Args:
        directory: output folder, created and checked to be writable when
            training starts (`on_train_begin`), never at construction.
        seeds: the fixed latent seeds, one per cell; default `range(64)`.
        columns: cells per row; default the square root of the cell count.
        every_n_epochs: write a grid after every n-th epoch and the last.
        labels: class ids for a conditional generator (default: cycling).
        training_images: optional array `[n, H, W, C]` in [-1, 1] searched
            for the nearest neighbours (keep it to a few thousand images).
        summary: "gif", "contact_sheet" or None: what to write at the end.
        use_ema: sample with the generator's moving average when it has one.
        scale: integer pixel upscaling, for small images.
    """

    def __init__(
        self,
        directory,
        seeds=None,
        columns=None,
        every_n_epochs=1,
        labels=None,
        training_images=None,
        summary="gif",
        use_ema=True,
        scale=1,
    ):
        super().__init__()
        if summary not in ("gif", "contact_sheet", None):
            raise ValueError(
                f"`summary` must be 'gif', 'contact_sheet' or None. Received: summary={summary!r}"
            )
        if int(every_n_epochs) < 1:
            raise ValueError(
                f"`every_n_epochs` must be >= 1. Received: every_n_epochs={every_n_epochs}"
            )
        self.directory = os.fspath(directory)
        self.seeds = np.arange(64) if seeds is None else np.asarray(seeds).reshape(-1)
        self.columns = int(columns or max(1, int(np.ceil(np.sqrt(len(self.seeds))))))
        self.every_n_epochs = int(every_n_epochs)
        self.labels = None if labels is None else np.asarray(labels)
        self.training_images = (
            None if training_images is None else np.asarray(training_images, np.float32)
        )
        self.summary = summary
        self.use_ema = bool(use_ema)
        self.scale = int(scale)
        self.written = []

    def on_train_begin(self, logs=None):
        # Here, not in __init__: building the callback (also from a saved
        # config) must not touch the file system.
        from gankeras.callbacks.checkpoint import ensure_writable

        ensure_writable(self.directory)

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        last = (self.params or {}).get("epochs")
        if done % self.every_n_epochs and done != last:
            return
        self.write_grid(done)

    def on_train_end(self, logs=None):
        if self.summary and self.written:
            self.write_summary()

    def write_grid(self, epoch):
        """Samples the fixed seeds and writes `fakes<epoch:06d>.png`."""
        images = self.model.generate(seeds=self.seeds, labels=self.labels, use_ema=self.use_ema)
        columns = self.columns
        if self.training_images is not None:
            images = self._with_nearest_column(images)
            columns += 1
        path = os.path.join(self.directory, f"fakes{epoch:06d}.png")
        tile(images, columns, self.scale).save(path)
        self.written.append(path)
        return path

    def _with_nearest_column(self, images):
        """Appends to each row the training image nearest (pixel L2) to the
        row's last sample."""
        reference = self.training_images
        if reference.shape[1:] != images.shape[1:]:
            raise ValueError(
                f"`training_images` have shape {reference.shape[1:]} per image "
                f"but the generator makes {images.shape[1:]}."
            )
        rows = int(np.ceil(len(images) / self.columns))
        padded = np.full((rows * self.columns,) + images.shape[1:], -1.0, dtype=np.float32)
        padded[: len(images)] = images
        grid = padded.reshape((rows, self.columns) + images.shape[1:])
        queries = grid[:, -1].reshape(rows, -1)
        flat = reference.reshape(len(reference), -1)
        distances = (
            np.sum(queries**2, 1)[:, None] - 2.0 * queries @ flat.T + np.sum(flat**2, 1)[None, :]
        )
        nearest = reference[np.argmin(distances, axis=1)]
        grid = np.concatenate([grid, nearest[:, None]], axis=1)
        return grid.reshape((-1,) + images.shape[1:])

    def write_summary(self):
        """Writes `progress.gif` (one frame per grid) or `contact_sheet.png`
        (the grids stacked top to bottom)."""
        from PIL import Image

        frames = [Image.open(path).convert("RGB") for path in self.written]
        if self.summary == "gif":
            path = os.path.join(self.directory, "progress.gif")
            frames[0].save(path, save_all=True, append_images=frames[1:], duration=500, loop=0)
        else:
            width = max(f.width for f in frames)
            sheet = Image.new("RGB", (width, sum(f.height for f in frames)), "white")
            top = 0
            for frame in frames:
                sheet.paste(frame, (0, top))
                top += frame.height
            path = os.path.join(self.directory, "contact_sheet.png")
            sheet.save(path)
        return path

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        return {
            "directory": self.directory,
            "seeds": self.seeds.tolist(),
            "columns": self.columns,
            "every_n_epochs": self.every_n_epochs,
            "labels": None if self.labels is None else self.labels.tolist(),
            "training_images": None,  # data, not configuration
            "summary": self.summary,
            "use_ema": self.use_ema,
            "scale": self.scale,
        }


def tile(images, columns, scale=1, padding=1):
    """Tiles `[n, H, W, C]` images in [-1, 1] into one Pillow image.

    Cells are separated by `padding` white pixels; missing cells of the last
    row stay white.
    """
    from PIL import Image

    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            f"Expected images of shape [n, H, W, C] with C = 1 or 3. Received shape {images.shape}."
        )
    n, h, w, c = images.shape
    rows = int(np.ceil(n / columns))
    pixels = to_pixels(images)
    canvas = np.full(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, c),
        255,
        dtype=np.uint8,
    )
    for i in range(n):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        canvas[top : top + h, left : left + w] = pixels[i]
    image = Image.fromarray(canvas[..., 0] if c == 1 else canvas)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image
