"""`GANTensorBoard`: what a GAN run needs in TensorBoard, on every backend."""

import os

import keras
import numpy as np

# Attributes of a GAN that may hold an adaptive augmentation (ADA, Karras et
# al. 2020) and, on it, the names its current probability p may have.
AUGMENT_ATTRIBUTES = ("augment", "augmentation", "ada")
PROBABILITY_ATTRIBUTES = ("probability", "p")


@keras.saving.register_keras_serializable(package="gankeras")
class GANTensorBoard(keras.callbacks.Callback):
    """Writes TensorBoard summaries of a GAN every `every_n_epochs` epochs.

    Into one events file under `log_dir`, at step = epoch index (0-based,
    as `keras.callbacks.TensorBoard` counts, so both line up in one
    dashboard):

    - `gan/samples` (image): the grid of one fixed set of seeds drawn with
      `gan.generate(seeds=...)` (EMA weights when kept), the same grid as
      `gankeras.callbacks.SampleGrid` makes, so the images show one set of
      latents evolving.
    - `gan/d_accuracy_real`, `gan/d_accuracy_fake` (scalars), with
      `real_images`: D's accuracy on a fixed batch of real images (share
      with logit > threshold) and on as many fakes of fixed seeds (share
      with logit < threshold), drawn with the raw generator weights, the
      generator D is trained against. Near 1/2 each at the game's
      equilibrium (Goodfellow et al. 2014, D* = 1/2); near 1 each means D
      wins (G's gradients may vanish); near 0 on fakes means G fools D.
    - `gan/ada_probability` (scalar), when the GAN has an adaptive
      augmentation (`gan.augment.probability` or the like, a float or a
      Keras variable): ADA's p (Karras et al. 2020).
    - `epoch/<name>` (scalars), with `write_logs`: the epoch's logs
      (`d_loss`, `g_loss`, `d_real`, `d_fake`, and what other callbacks
      such as `gankeras.callbacks.Quality` added before this one).

    Summaries are written with `tf.summary.write`, which works whatever the
    Keras backend (TensorFlow is a gankeras dependency; only numpy arrays
    cross over) and without the `tensorboard` package installed: the
    records carry the metadata of TensorBoard's image and scalar plugins
    (`write_image`, `write_scalar`), so TensorBoard shows them as its own.

    Args:
        log_dir: folder for the events file (created).
        seeds: the grid's seeds; default `range(16)`.
        columns: grid cells per row; default the square root of the count.
        labels: class ids for a conditional generator's grid.
        real_images: optional float array `[m, H, W, C]` in [-1, 1]: the
            fixed real batch for D's accuracy (keep m small, e.g. 64).
        real_labels: int `[m]` labels of `real_images` (conditional D).
        accuracy_seed: first seed of the `m` fakes D is scored on.
        threshold: logit that separates "real" from "fake"; "auto": 0.5 for
            the least-squares loss (targets 0 and 1), else 0 (sigmoid 1/2
            for minimax / non-saturating; the sign for hinge and Wasserstein
            critics, where accuracy is only indicative).
        every_n_epochs: write after every n-th epoch and the last.
        use_ema: draw the grid with the generator's moving average.
        write_logs: also write the epoch's numeric logs as scalars.
        scale: integer pixel upscaling of the grid.
    """

    def __init__(
        self,
        log_dir,
        seeds=None,
        columns=None,
        labels=None,
        real_images=None,
        real_labels=None,
        accuracy_seed=1_000_000,
        threshold="auto",
        every_n_epochs=1,
        use_ema=True,
        write_logs=True,
        scale=1,
    ):
        super().__init__()
        if int(every_n_epochs) < 1:
            raise ValueError(
                f"`every_n_epochs` must be >= 1. Received: every_n_epochs={every_n_epochs}"
            )
        if threshold != "auto" and not np.isfinite(float(threshold)):
            raise ValueError(
                f"`threshold` must be 'auto' or a finite number. Received: threshold={threshold!r}"
            )
        self.log_dir = os.fspath(log_dir)
        self.seeds = np.arange(16) if seeds is None else np.asarray(seeds, np.int64).reshape(-1)
        self.columns = int(columns or max(1, int(np.ceil(np.sqrt(len(self.seeds))))))
        self.labels = None if labels is None else np.asarray(labels)
        self.real_images = None if real_images is None else np.asarray(real_images, np.float32)
        self.real_labels = None if real_labels is None else np.asarray(real_labels, np.int32)
        if self.real_images is not None and self.real_images.ndim < 2:
            raise ValueError(
                "`real_images` must be a batch `[m, H, W, C]`. Received shape "
                f"{self.real_images.shape}."
            )
        self.accuracy_seed = int(accuracy_seed)
        self.threshold = threshold if threshold == "auto" else float(threshold)
        self.every_n_epochs = int(every_n_epochs)
        self.use_ema = bool(use_ema)
        self.write_logs = bool(write_logs)
        self.scale = int(scale)
        self._writer = None
        from gankeras.callbacks.checkpoint import ensure_writable

        ensure_writable(self.log_dir)

    # ------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self.real_images is not None:
            expected = tuple(self.model.image_shape)
            if tuple(self.real_images.shape[1:]) != expected:
                raise ValueError(
                    f"`real_images` have shape {self.real_images.shape[1:]} per "
                    f"image but the generator makes {expected}."
                )
            if self.model.conditional_discriminator and self.real_labels is None:
                raise ValueError(
                    "The discriminator is conditional: pass `real_labels` with "
                    "`real_images` for D's accuracy."
                )

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        last = (self.params or {}).get("epochs")
        if done % self.every_n_epochs and done != last:
            return
        self.write(epoch, logs)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    # ------------------------------------------------------------------
    def write(self, step, logs=None):
        """Writes every summary for `step` now."""
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default(step=int(step)):
            write_image("gan/samples", self.sample_grid())
            if self.real_images is not None:
                real, fake = self.discriminator_accuracy()
                write_scalar("gan/d_accuracy_real", real)
                write_scalar("gan/d_accuracy_fake", fake)
            probability = augment_probability(self.model)
            if probability is not None:
                write_scalar("gan/ada_probability", probability)
            if self.write_logs:
                for name, value in (logs or {}).items():
                    value = np.asarray(keras.ops.convert_to_numpy(value))
                    if value.size == 1 and np.issubdtype(value.dtype, np.number):
                        write_scalar(f"epoch/{name}", float(value.reshape(())))
        self._writer.flush()

    def sample_grid(self):
        """uint8 `[rows, columns, C]` grid of the fixed seeds' samples."""
        from gankeras.callbacks.sample_grid import tile

        images = self.model.generate(seeds=self.seeds, labels=self.labels, use_ema=self.use_ema)
        grid = np.asarray(tile(images, self.columns, self.scale))
        return grid[..., None] if grid.ndim == 2 else grid

    def discriminator_accuracy(self):
        """(share of `real_images` D calls real, share of fakes D calls fake)."""
        gan = self.model
        count = len(self.real_images)
        fake_labels = None
        if gan.conditional:
            fake_labels = (np.arange(count) % gan.num_classes).astype(np.int32)
        fakes = gan.generate(
            seeds=np.arange(self.accuracy_seed, self.accuracy_seed + count),
            labels=fake_labels if gan.conditional_generator else None,
            use_ema=False,
        )
        threshold = self._threshold()
        real_logits = discriminator_logits(gan, self.real_images, self.real_labels)
        fake_logits = discriminator_logits(gan, fakes, fake_labels)
        return float(np.mean(real_logits > threshold)), float(np.mean(fake_logits < threshold))

    def _threshold(self):
        if self.threshold != "auto":
            return self.threshold
        loss = getattr(self.model, "adversarial_loss", None)
        return 0.5 if getattr(loss, "name", None) == "least_squares" else 0.0

    def get_config(self):
        return {
            "log_dir": self.log_dir,
            "seeds": self.seeds.tolist(),
            "columns": self.columns,
            "labels": None if self.labels is None else self.labels.tolist(),
            "real_images": None,  # data, not configuration
            "real_labels": None,
            "accuracy_seed": self.accuracy_seed,
            "threshold": self.threshold,
            "every_n_epochs": self.every_n_epochs,
            "use_ema": self.use_ema,
            "write_logs": self.write_logs,
            "scale": self.scale,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _metadata(plugin_name, data_class):
    from tensorflow.core.framework import summary_pb2

    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin_name),
        data_class=data_class,
    )


def write_scalar(tag, value):
    """A TensorBoard scalar (the "scalars" plugin's record: a float32 scalar
    tensor) into the default `tf.summary` writer, at its default step."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    tf.summary.write(
        tag,
        tf.constant(float(value), tf.float32),
        metadata=_metadata("scalars", summary_pb2.DATA_CLASS_SCALAR),
    )


def write_image(tag, pixels):
    """A TensorBoard image (the "images" plugin's record: the string tensor
    `[width, height, png]`) of uint8 pixels `[H, W, C]`, C in {1, 3, 4}."""
    import tensorflow as tf
    from tensorflow.core.framework import summary_pb2

    pixels = np.asarray(pixels, np.uint8)
    height, width = pixels.shape[:2]
    record = tf.stack(
        [
            tf.constant(str(width)),
            tf.constant(str(height)),
            tf.io.encode_png(tf.constant(pixels)),
        ]
    )
    tf.summary.write(
        tag, record, metadata=_metadata("images", summary_pb2.DATA_CLASS_BLOB_SEQUENCE)
    )


def discriminator_logits(gan, images, labels=None, batch_size=256):
    """D's realness logits `[n]` (float32 numpy) of `images` in inference
    mode; the first output of an auxiliary-classifier D."""
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        inputs = batch
        if gan.conditional_discriminator:
            inputs = [batch, labels[start : start + batch_size]]
        output = gan.discriminator(inputs, training=False)
        if isinstance(output, (list, tuple)):
            output = output[0]
        output = keras.ops.convert_to_numpy(keras.ops.cast(output, "float32"))
        outputs.append(np.reshape(output, (len(batch), -1))[:, 0])
    return np.concatenate(outputs)


def augment_probability(gan):
    """ADA's current probability as a float, or None without augmentation.

    Looks for `gan.<augment|augmentation|ada>.<probability|p>`: a number or
    a Keras variable (whose value the compiled step updates)."""
    for name in AUGMENT_ATTRIBUTES:
        augment = getattr(gan, name, None)
        if augment is None:
            continue
        for attribute in PROBABILITY_ATTRIBUTES:
            value = getattr(augment, attribute, None)
            if value is None or callable(value):
                continue
            value = np.asarray(keras.ops.convert_to_numpy(value), np.float64)
            if value.size == 1:
                return float(value.reshape(()))
    return None
