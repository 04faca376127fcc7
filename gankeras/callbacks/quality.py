"""`Quality`: FD / KID during training, the best generator kept, early stop."""

import json
import math
import os
import shutil
import tempfile

import keras
import numpy as np

METRICS = ("fd", "kid")


@keras.saving.register_keras_serializable(package="gankeras")
class Quality(keras.callbacks.Callback):
    """Measures sample quality every `every_n_epochs` epochs and keeps the
    best generator: `keras.callbacks.ModelCheckpoint(save_best_only=True)`
    and `EarlyStopping` for a GAN, whose losses say little about quality.

    At each measured epoch it draws `num_samples` images with
    `gan.generate(num_samples, seed=seed)` (fixed seeds, so epochs differ
    only by the generator; EMA weights when kept and `use_ema`), maps them
    and the real images through `feature_extractor`, and computes:

    - `fd`: the Fréchet distance (the FID formula, Heusel et al. 2017) of
      `gankeras.evaluation.frechet_distance`;
    - `kid`: the unbiased kernel distance (Bińkowski et al. 2018) of
      `gankeras.evaluation.kernel_distance`.

    Both are lower-is-better and biased by the sample count, so compare runs
    at equal `num_samples`. Values go into the epoch's `logs` (History,
    CSVLogger, `GANTensorBoard` and `keras.callbacks.TensorBoard` see them:
    list this callback before those) only on measured epochs, and into
    `self.history` as `(epoch, {name: value})` (epochs counted from 1).

    With `directory`, whenever `monitor` improves by more than `min_delta`
    the generator is saved as `<directory>/best.keras` (with its EMA weights
    when `use_ema`) and `<directory>/best.json` records
    `{"epoch", "monitor", "value", "metrics", "num_samples", "seed"}`; each
    is written to a temporary file and renamed into place, `best.keras`
    first, so `best.json` never names a generator that is not there.
    With `resume=True` (a run resumed from a checkpoint into the same
    `directory`), an existing `best.json` is the best so far: a later
    measurement replaces it only if it is better. (The patience counter
    starts again at 0.)
    With `patience`, training stops (`model.stop_training`) after that many
    measurements in a row without such an improvement; `stopped_epoch`
    records where.

    Args:
        feature_extractor: callable `images [n, H, W, C] in [-1, 1] ->
            features [n, d]` (numpy), or a `gankeras.evaluation.
            DomainClassifier` (its features are used).
        real_images: float array `[m, H, W, C]` in [-1, 1], the reference
            set (features computed once, at the first `fit`). Keep `m` and
            `num_samples` above the feature dimension `d` (FD's covariance).
        every_n_epochs: measure after every n-th epoch and after the last.
        num_samples: generated images per measurement (M).
        seed: first seed of the samples.
        metrics: which of "fd", "kid" to compute.
        monitor: the metric that decides "best" and stagnation.
        directory: where `best.keras` and `best.json` go (created); None
            keeps no checkpoint.
        patience: stop after this many measurements without improvement;
            None never stops.
        min_delta: the improvement that counts, >= 0.
        use_ema: sample (and save) the generator's moving average.
        batch_size: images per generator pass.
        kid_block_size: largest block of the KID estimate.
        resume: start from the `best.json` already in `directory`.
    """

    def __init__(
        self,
        feature_extractor=None,
        real_images=None,
        every_n_epochs=1,
        num_samples=1000,
        seed=0,
        metrics=("fd", "kid"),
        monitor="fd",
        directory=None,
        patience=None,
        min_delta=0.0,
        use_ema=True,
        batch_size=256,
        kid_block_size=1024,
        resume=False,
    ):
        super().__init__()
        metrics = tuple(metrics)
        if not metrics or any(m not in METRICS for m in metrics):
            raise ValueError(
                f"`metrics` must be a non-empty subset of {METRICS}. Received: metrics={metrics!r}"
            )
        if monitor not in metrics:
            raise ValueError(
                f"`monitor` must be one of the computed metrics {metrics}. "
                f"Received: monitor={monitor!r}"
            )
        for name, value, low in (
            ("every_n_epochs", every_n_epochs, 1),
            ("num_samples", num_samples, 2),
            ("batch_size", batch_size, 1),
        ):
            if int(value) < low:
                raise ValueError(f"`{name}` must be an integer >= {low}. Received: {name}={value}")
        if patience is not None and int(patience) < 1:
            raise ValueError(f"`patience` must be >= 1 or None. Received: patience={patience}")
        if not float(min_delta) >= 0.0:
            raise ValueError(f"`min_delta` must be >= 0. Received: min_delta={min_delta}")
        self.feature_extractor = feature_extractor
        self.real_images = None if real_images is None else np.asarray(real_images, np.float32)
        self.every_n_epochs = int(every_n_epochs)
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.metrics = metrics
        self.monitor = monitor
        self.directory = None if directory is None else os.fspath(directory)
        self.patience = None if patience is None else int(patience)
        self.min_delta = float(min_delta)
        self.use_ema = bool(use_ema)
        self.batch_size = int(batch_size)
        self.kid_block_size = int(kid_block_size)
        self.resume = bool(resume)
        if self.resume and self.directory is None:
            raise ValueError("`resume=True` needs the `directory` that holds best.json.")
        self.history = []
        self.best = None  # {"epoch", "value"} of the best measurement so far
        self.wait = 0
        self.stopped_epoch = None
        self._real_features = None
        if self.directory is not None:
            from gankeras.callbacks.checkpoint import ensure_writable

            ensure_writable(self.directory)

    # ------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self.feature_extractor is None or self.real_images is None:
            raise ValueError(
                "Quality needs `feature_extractor` (images -> features) and "
                "`real_images` (the reference set); a callback restored from "
                "its config has neither: set them before `fit`."
            )
        image_shape = tuple(self.model.image_shape)
        if tuple(self.real_images.shape[1:]) != image_shape:
            raise ValueError(
                f"`real_images` have shape {self.real_images.shape[1:]} per image "
                f"but the generator makes {image_shape}."
            )
        if self._real_features is None:
            self._real_features = self.features(self.real_images)
        self.stopped_epoch = None
        if self.resume and self.best is None:
            self.best = self._recorded_best()

    def _recorded_best(self):
        """`{"epoch", "value"}` of the directory's best.json, or None."""
        record = read_best(self.directory)
        if record is None:
            return None
        ours = {"monitor": self.monitor, "num_samples": self.num_samples, "seed": self.seed}
        theirs = {key: record.get(key) for key in ours}
        if theirs != ours:
            raise ValueError(
                f"{os.path.join(self.directory, 'best.json')} was measured with "
                f"{theirs}, this Quality callback measures {ours}: the values "
                "do not compare. Use the same settings or another directory."
            )
        return {"epoch": int(record["epoch"]), "value": float(record["value"])}

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        last = (self.params or {}).get("epochs")
        if done % self.every_n_epochs and done != last:
            return
        values = self.measure()
        if logs is not None:
            logs.update(values)
        self.history.append((done, values))
        value = values[self.monitor]
        if self.best is None or value < self.best["value"] - self.min_delta:
            self.best = {"epoch": done, "value": value}
            self.wait = 0
            if self.directory is not None:
                self.save_best(done, values)
            return
        self.wait += 1
        if self.patience is not None and self.wait >= self.patience:
            self.model.stop_training = True
            self.stopped_epoch = done

    # ------------------------------------------------------------------
    def features(self, images):
        """Features `[n, d]` float64 of images, by the extractor."""
        extractor = self.feature_extractor
        if hasattr(extractor, "features_and_logits"):  # a DomainClassifier
            features = extractor.features_and_logits(images)[0]
        else:
            features = extractor(images)
        features = np.asarray(keras.ops.convert_to_numpy(features), np.float64)
        return features.reshape(len(images), -1)

    def measure(self):
        """`{metric: value}` of the current generator (Python floats)."""
        from gankeras.evaluation import frechet_distance, kernel_distance

        images = self.model.generate(
            self.num_samples, seed=self.seed, use_ema=self.use_ema, batch_size=self.batch_size
        )
        fake = self.features(images)
        values = {}
        if "fd" in self.metrics:
            values["fd"] = float(frechet_distance(self._real_features, fake))
        if "kid" in self.metrics:
            values["kid"] = float(
                kernel_distance(self._real_features, fake, max_block_size=self.kid_block_size)[0]
            )
        for name, value in values.items():
            if not math.isfinite(value):
                raise ValueError(
                    f"The {name} of epoch's samples is {value}: the generator "
                    "or the feature extractor produced non-finite values."
                )
        return values

    def save_best(self, epoch, values):
        """Writes `best.keras` then `best.json`, each atomically."""
        gan = self.model
        scratch = tempfile.mkdtemp(dir=self.directory, prefix=".best-tmp-")
        try:
            model_file = os.path.join(scratch, "best.keras")
            with gan.ema_weights(enabled=self.use_ema):
                gan.generator.save(model_file)
            record = {
                "epoch": epoch,
                "monitor": self.monitor,
                "value": values[self.monitor],
                "metrics": values,
                "num_samples": self.num_samples,
                "seed": self.seed,
                "ema": bool(self.use_ema and gan.has_ema),
            }
            json_file = os.path.join(scratch, "best.json")
            with open(json_file, "w") as f:
                json.dump(record, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            os.replace(model_file, os.path.join(self.directory, "best.keras"))
            os.replace(json_file, os.path.join(self.directory, "best.json"))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def get_config(self):
        return {
            "feature_extractor": None,  # code and data, not configuration
            "real_images": None,
            "every_n_epochs": self.every_n_epochs,
            "num_samples": self.num_samples,
            "seed": self.seed,
            "metrics": list(self.metrics),
            "monitor": self.monitor,
            "directory": self.directory,
            "patience": self.patience,
            "min_delta": self.min_delta,
            "use_ema": self.use_ema,
            "batch_size": self.batch_size,
            "kid_block_size": self.kid_block_size,
            "resume": self.resume,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def read_best(directory):
    """The `best.json` record of a `Quality` directory, or None."""
    path = os.path.join(os.fspath(directory), "best.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)
