"""`python -m pipelines.generate`: images from a trained generator, by seed.

```
python -m pipelines.generate --model=saved_models/NAME[/VERSION] --n=64 \\
    --seed=0 [--truncation=0.7] [--labels=3 | --labels=0,1,2,...] --out=grid.png
```

Image `i` is drawn from the latent of seed `seed + i` (`gankeras.sampling.
latents_from_seeds`), so the files equal `gan.generate(n, seed=seed)` of
the GAN that was trained.

`--model`:

- a pushed SavedModel: `saved_models/NAME` (its highest numbered version) or
  `saved_models/NAME/VERSION`. Read in a process that imports TensorFlow
  only (no Keras model code, no gankeras): what a serving client has. Seeds
  go through the `generate_from_seeds` signature. With `--truncation` (the
  signature has no truncation input), or for `.npy` output (float images),
  the seeds' latents are computed by the export's own TensorFlow code
  (`gankeras/export/seeds.py`, loaded as a file so that the gankeras
  package, and Keras with it, is not imported; bit-identical to the numpy
  `latents_from_seeds`), truncated, and fed to `serving_default`.
- a `.keras` file of a `gankeras.GAN` (sampled with its EMA generator when
  it keeps one; `--no_ema` for the raw weights) or of a bare generator.

`--out` by suffix: `.png` one grid (1-pixel white borders, `--columns`
cells per row, default square); `.npy` float32 `[n, H, W, C]` in [-1, 1];
an existing directory or a path ending in `/` or without suffix, a folder
of `seed<seed:06d>.png` files (created; an existing one must be empty).
Everything is written to a temporary path next to the target and renamed
into place, so a failed run leaves no partial output and an older file at
`--out` unchanged.

`--labels` (conditional generators only): one class id for every image or
`n` comma-separated ids; default: cycling through the classes (GAN `.keras`
files; a SavedModel does not record its class count, so pass `--labels`).

`--truncation=psi` pulls each latent toward 0: `z' = psi z` (Brock et al.
2019; Karras et al. 2019), psi in [0, 1].

Bad input (a missing model, `--n` not a positive integer, labels for an
unconditional model, an unknown output suffix, ...) prints one `error:`
line naming the problem and exits with status 2; nothing is written.
Progress goes to stderr when `--n` exceeds one batch.
"""

import argparse
import dataclasses
import importlib.util
import math
import os
import shutil
import sys
import tempfile

import numpy as np

OUTPUT_KINDS = ("png", "npy", "folder")


class GenerateError(Exception):
    """A user error: the message says what was expected and received."""


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
    """One generate run.

    Attributes:
        model: SavedModel directory (model or version) or `.keras` file.
        out: output path (see the module docstring).
        n: number of images, >= 1.
        seed: first seed (image i uses seed + i).
        truncation: psi in [0, 1], or None for no truncation.
        labels: class ids `[n]` as a tuple, or None.
        batch_size: images per forward pass.
        columns: grid columns (PNG output); default ceil(sqrt(n)).
        use_ema: sample a GAN `.keras` file with its EMA weights.
    """

    model: str
    out: str
    n: int = 64
    seed: int = 0
    truncation: object = None
    labels: object = None
    batch_size: int = 256
    columns: object = None
    use_ema: bool = True

    @property
    def output_kind(self):
        return output_kind(self.out)


# ----------------------------------------------------------------------
# Flags -> config
# ----------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise GenerateError(f"{message}. Run with --help for the flags.")


def parse_args(argv):
    """Command-line flags -> a validated `GenerateConfig`."""
    parser = _Parser(
        prog="python -m pipelines.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", required=True, help="saved_models/NAME[/VERSION] or a .keras file"
    )
    parser.add_argument("--out", required=True, help="grid.png, images.npy or a folder")
    parser.add_argument("--n", default="64", help="number of images (default 64)")
    parser.add_argument("--seed", default="0", help="first seed (default 0)")
    parser.add_argument("--truncation", default=None, help="psi in [0, 1]")
    parser.add_argument("--labels", default=None, help="one class id, or n comma-separated ids")
    parser.add_argument("--batch_size", default="256", help="images per forward pass")
    parser.add_argument("--columns", default=None, help="grid columns (PNG output)")
    parser.add_argument(
        "--no_ema", action="store_true", help="raw generator weights of a GAN .keras file"
    )
    args = parser.parse_args(argv)
    n = _integer(args.n, "--n", minimum=1)
    truncation = None
    if args.truncation is not None:
        try:
            truncation = float(args.truncation)
        except ValueError:
            truncation = float("nan")
        if not 0.0 <= truncation <= 1.0:
            raise GenerateError(
                f"--truncation must be a number psi in [0, 1] (1 = no truncation). "
                f"Received: --truncation={args.truncation}"
            )
    labels = None
    if args.labels is not None:
        try:
            labels = [int(v) for v in args.labels.split(",")]
        except ValueError:
            labels = []
        if not labels or min(labels) < 0:
            raise GenerateError(
                "--labels must be one class id (for every image) or n "
                f"comma-separated ids, each >= 0. Received: --labels={args.labels}"
            )
        if len(labels) == 1:
            labels = labels * n
        if len(labels) != n:
            raise GenerateError(
                f"--labels holds {len(labels)} ids but --n={n}: pass one id "
                f"for every image or exactly {n} ids."
            )
        labels = tuple(labels)
    config = GenerateConfig(
        model=args.model,
        out=args.out,
        n=n,
        seed=_integer(args.seed, "--seed"),
        truncation=truncation,
        labels=labels,
        batch_size=_integer(args.batch_size, "--batch_size", minimum=1),
        columns=None if args.columns is None else _integer(args.columns, "--columns", minimum=1),
        use_ema=not args.no_ema,
    )
    config.output_kind  # noqa: B018  (validates --out now)
    return config


def _integer(text, flag, minimum=None):
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = None
    if value is None or (minimum is not None and value < minimum):
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise GenerateError(f"{flag} must be {expected}. Received: {flag}={text}")
    return value


def output_kind(out):
    """ "png", "npy" or "folder" for an `--out` path, or GenerateError."""
    out = os.fspath(out)
    if os.path.isdir(out) or out.endswith(("/", os.sep)):
        return "folder"
    suffix = os.path.splitext(out)[1].lower()
    if suffix == "":
        return "folder"
    if suffix in (".png", ".npy"):
        return suffix[1:]
    raise GenerateError(
        f"--out={out}: unknown output suffix {suffix!r}. Expected a .png "
        "file (one grid), a .npy file (float32 images in [-1, 1]) or a "
        "folder (one PNG per image)."
    )


# ----------------------------------------------------------------------
# Model sources
# ----------------------------------------------------------------------
def resolve_model(path):
    """("savedmodel" | "keras", path): a `.keras` file, a SavedModel version
    directory, or a model directory's highest numbered version."""
    path = os.fspath(path)
    if path.endswith(".keras"):
        if not os.path.isfile(path):
            raise GenerateError(f"--model={path}: no such .keras file.")
        return "keras", path
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return "savedmodel", path
    if os.path.isdir(path):
        versions = [
            int(name)
            for name in os.listdir(path)
            if name.isdigit() and os.path.isfile(os.path.join(path, name, "saved_model.pb"))
        ]
        if versions:
            return "savedmodel", os.path.join(path, str(max(versions)))
    raise GenerateError(
        f"--model={path}: not a model. Expected a SavedModel version "
        "directory (holding saved_model.pb), a model directory with numbered "
        "versions (saved_models/NAME), or a .keras file."
    )


def to_uint8(images):
    """Float images in [-1, 1] -> uint8, as the export's `generate_from_seeds`
    maps them: `round(clip((x + 1) * 127.5, 0, 255))`."""
    pixels = np.clip((np.asarray(images, np.float32) + 1.0) * 127.5, 0, 255)
    return np.round(pixels).astype(np.uint8)


class SavedModelSource:
    """A pushed SavedModel, read with TensorFlow only."""

    def __init__(self, path):
        import tensorflow as tf

        self._tf = tf
        try:
            loaded = tf.saved_model.load(path)
        except Exception as error:  # noqa: BLE001  (a corrupt or foreign SavedModel)
            raise GenerateError(f"--model={path}: cannot load the SavedModel: {error}") from None
        self._loaded = loaded  # keeps the signatures' variables alive
        signatures = loaded.signatures
        for name in ("serving_default", "generate_from_seeds"):
            if name not in signatures:
                raise GenerateError(
                    f"--model={path}: the SavedModel has no {name!r} signature "
                    f"(it has {sorted(signatures)}). Export it with "
                    "gankeras.export.export_generator."
                )
        self._from_seeds = signatures["generate_from_seeds"]
        self._from_z = signatures["serving_default"]
        z_spec = self._from_z.structured_input_signature[1]["z"]
        self.latent_dim = int(z_spec.shape[-1])
        self.conditional = "labels" in self._from_seeds.structured_input_signature[1]
        self.num_classes = None  # not recorded in the SavedModel

    def images(self, seeds, labels, truncation, as_float):
        tf = self._tf
        extra = {} if labels is None else {"labels": tf.constant(labels, tf.int32)}
        if truncation is None and not as_float:
            out = self._from_seeds(seeds=tf.constant(seeds, tf.int64), **extra)
            return out["images"].numpy()
        z = _export_seeds().latents_from_seeds(tf.constant(seeds, tf.int64), self.latent_dim)
        if truncation is not None:
            z = z * tf.constant(truncation, tf.float32)  # truncate(z, psi), mean 0
        images = self._from_z(z=z, **extra)["images"].numpy()
        return images if as_float else to_uint8(images)


class KerasSource:
    """A `.keras` file of a `gankeras.GAN` or of a bare generator."""

    def __init__(self, path, use_ema):
        import contextlib

        import keras

        import gankeras  # noqa: F401  (registers the gankeras classes)
        from gankeras import interpolation

        self._keras = keras
        self._interpolation = interpolation
        try:
            # compile=True restores a GAN's optimizers, and with them the
            # generator's EMA weights.
            model = keras.saving.load_model(path)
        except Exception as error:  # noqa: BLE001  (a corrupt or foreign file)
            raise GenerateError(f"--model={path}: cannot load the .keras file: {error}") from None
        if hasattr(model, "generator") and hasattr(model, "ema_weights"):
            self.generator = model.generator
            self.num_classes = model.num_classes
            self._context = lambda: model.ema_weights(enabled=use_ema)
        elif isinstance(model, keras.Model):
            self.generator = model
            self.num_classes = None
            self._context = contextlib.nullcontext
        else:
            raise GenerateError(
                f"--model={path}: holds a {type(model).__name__}, not a GAN or a generator."
            )
        self.latent_dim = int(self.generator.inputs[0].shape[-1])
        self.conditional = len(self.generator.inputs or []) == 2

    def images(self, seeds, labels, truncation, as_float):
        from gankeras.sampling import latents_from_seeds

        ops = self._keras.ops
        z = latents_from_seeds(seeds, self.latent_dim)
        if truncation is not None:
            z = self._interpolation.truncate(z, truncation)
        inputs = z if labels is None else [z, np.asarray(labels, np.int32)]
        with self._context():
            images = self.generator(inputs, training=False)
            images = ops.convert_to_numpy(ops.cast(images, "float32"))
        return images if as_float else to_uint8(images)


def _export_seeds():
    """`gankeras/export/seeds.py` (TensorFlow only) loaded as a file, so the
    gankeras package (which imports Keras) is not imported."""
    name = "_gankeras_export_seeds"
    if name in sys.modules:
        return sys.modules[name]
    package = importlib.util.find_spec("gankeras")  # locates, does not import
    path = os.path.join(package.submodule_search_locations[0], "export", "seeds.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def open_source(config):
    kind, path = resolve_model(config.model)
    if kind == "savedmodel":
        return SavedModelSource(path)
    return KerasSource(path, config.use_ema)


# ----------------------------------------------------------------------
# Run
# ----------------------------------------------------------------------
def run(config, progress=None):
    """Generates `config.n` images and writes them to `config.out`.

    Args:
        config: a `GenerateConfig`.
        progress: text stream for progress lines (default `sys.stderr`).

    Returns:
        The path written.
    """
    progress = sys.stderr if progress is None else progress
    kind = config.output_kind
    if kind == "folder" and os.path.isdir(config.out) and os.listdir(config.out):
        raise GenerateError(
            f"--out={config.out} is a folder that is not empty. Pass a new "
            "or empty folder (files are never mixed into an existing set)."
        )
    source = open_source(config)
    labels = _labels(config, source)
    seeds = np.arange(config.seed, config.seed + config.n, dtype=np.int64)
    batches = []
    for start in range(0, config.n, config.batch_size):
        stop = min(start + config.batch_size, config.n)
        batch_labels = None if labels is None else labels[start:stop]
        try:
            batches.append(
                source.images(seeds[start:stop], batch_labels, config.truncation, kind == "npy")
            )
        except GenerateError:
            raise
        except Exception as error:
            if labels is None or "labels" not in str(error).lower() and "indices" not in str(error):
                raise
            raise GenerateError(
                f"the model rejected --labels (ids {min(labels)}..{max(labels)}): "
                f"{str(error).splitlines()[0]}. Pass class ids the model was trained on."
            ) from None
        if config.n > config.batch_size:
            print(f"generated {stop}/{config.n} images", file=progress, flush=True)
    images = np.concatenate(batches)
    write_output(images, config, seeds)
    return config.out


def _labels(config, source):
    if not source.conditional:
        if config.labels is not None:
            raise GenerateError(
                "--labels given, but the model is unconditional (it takes "
                "latents only). Drop --labels."
            )
        return None
    if config.labels is None:
        if source.num_classes is None:
            raise GenerateError(
                "the model is conditional and does not record its class count: "
                "pass --labels (one class id, or n comma-separated ids)."
            )
        return (np.arange(config.n) % source.num_classes).astype(np.int32)
    labels = np.asarray(config.labels, np.int32)
    if source.num_classes is not None and labels.max() >= source.num_classes:
        raise GenerateError(
            f"--labels must be class ids in [0, {source.num_classes}). "
            f"Received ids up to {labels.max()}."
        )
    return labels


def write_output(images, config, seeds):
    """Writes images (uint8, or float32 for .npy) atomically."""
    kind = config.output_kind
    out = os.path.abspath(config.out.rstrip("/" + os.sep) or config.out)
    parent = os.path.dirname(out)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as error:
        raise GenerateError(f"--out={config.out}: cannot create {parent}: {error}") from None
    from PIL import Image

    if kind == "folder":
        temp = tempfile.mkdtemp(dir=parent, prefix=f".{os.path.basename(out)}.tmp-")
        try:
            for seed, image in zip(seeds, images):
                _pil(Image, image).save(os.path.join(temp, f"seed{int(seed):06d}.png"))
            if os.path.isdir(out):
                os.rmdir(out)  # empty (checked before generating)
            os.replace(temp, out)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return
    fd, temp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(out)}.tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            if kind == "npy":
                np.save(f, images.astype(np.float32))
            else:
                columns = config.columns or max(1, math.ceil(math.sqrt(len(images))))
                _pil(Image, grid(images, columns)).save(f, format="PNG")
        os.replace(temp, out)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def grid(pixels, columns, padding=1):
    """uint8 `[n, H, W, C]` -> one uint8 `[rows (H+1) + 1, columns (W+1) + 1, C]`
    grid with white borders: the layout of `gankeras.callbacks.sample_grid.
    tile`, written again on uint8 pixels because that module imports Keras
    and this command's SavedModel path must not."""
    n, h, w, c = pixels.shape
    rows = math.ceil(n / columns)
    canvas = np.full(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, c), 255, np.uint8
    )
    for i in range(n):
        r, col = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        canvas[top : top + h, left : left + w] = pixels[i]
    return canvas


def _pil(Image, pixels):
    pixels = np.asarray(pixels, np.uint8)
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def main(argv=None):
    try:
        config = parse_args(sys.argv[1:] if argv is None else argv)
        path = run(config)
    except GenerateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {config.n} images to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
