"""Exports a trained generator as a TF Serving model version.

Layout written (TF Serving's; https://www.tensorflow.org/tfx/serving/serving_basic):

```
<serving_dir>/<model_name>/<version>/
    saved_model.pb
    variables/
    assets.extra/tf_serving_warmup_requests
```

Signatures (inputs -> outputs; `batch` is free):

- `serving_default`: `z` float32 `[batch, latent_dim]` (+ `labels` int32
  `[batch]` for a conditional generator) -> `images` float32
  `[batch, H, W, C]` in [-1, 1].
- `generate_from_seeds`: `seeds` int64 `[batch]` (+ `labels` int32 `[batch]`)
  -> `images` uint8 `[batch, H, W, C]` in 0..255, i.e.
  `round(clip((x + 1) * 127.5, 0, 255))` of the float image. The latent of
  seed s is `gankeras.latents_from_seeds([s], latent_dim)`, computed in the
  graph (`gankeras.export.seeds`), so seed s served equals
  `gan.generate(seeds=[s])`.
- `generate_from_seeds_truncated`: `seeds` int64 `[batch]`, `truncation`
  float32 scalar psi (+ `labels`) -> `images` uint8 as above, from the
  truncated latents `psi * z` (the truncation trick of Brock et al. 2019 /
  Karras et al. 2019 for z ~ N(0, I), whose mean is 0: psi = 1 is
  `generate_from_seeds`, smaller psi trades variety for fidelity), so seed s
  at psi served equals `gan.generate(seeds=[s], truncation=psi)`.

The archive is built with Keras 3's `keras.export.ExportArchive`, which names
endpoints and their input signatures and tracks the generator's variables.
It is built under the TensorFlow backend only: Keras's JAX archive goes
through jax2tf and its torch archive through torch_xla, and neither could
carry the TensorFlow seed-hash ops of `generate_from_seeds` in the same
graph. From a JAX or torch session the generator (with its EMA weights) is
saved to a `.keras` file and `python -m gankeras.export` rebuilds it under
`KERAS_BACKEND=tensorflow` in a subprocess (Keras 3 weight files are backend
independent).
"""

import dataclasses
import importlib
import os
import subprocess
import sys
import tempfile

import keras

from gankeras.export import versions, warmup

SEEDS_SIGNATURE = "generate_from_seeds"
TRUNCATED_SIGNATURE = "generate_from_seeds_truncated"
LATENT_SIGNATURE = "serving_default"


@dataclasses.dataclass(frozen=True)
class ExportedModel:
    """Where and what `export_generator` wrote.

    Attributes:
        path: the version directory `<serving_dir>/<model_name>/<version>`.
        model_name: the name TF Serving serves it under.
        version: the integer version.
        latent_dim: size of `z`.
        num_classes: class count for conditional generators, else None.
        image_shape: `(H, W, C)` of one image.
        reused: True when a version with the same fingerprint existed and
            was returned instead of writing a new one.
    """

    path: str
    model_name: str
    version: int
    latent_dim: int
    num_classes: object
    image_shape: tuple
    reused: bool = False


def export_generator(
    model,
    serving_dir,
    model_name,
    version=None,
    num_classes=None,
    use_ema=True,
    warmup_batch_sizes=(1, 8, 64),
    extra_assets=None,
    fingerprint=None,
):
    """Writes `<serving_dir>/<model_name>/<version>/` for TF Serving.

    Args:
        model: a trained `gankeras.GAN` (its generator is exported, with the
            EMA weights when `g_optimizer` keeps them and `use_ema`), or a
            generator `keras.Model` mapping `z` `[batch, latent_dim]` (or
            `[z, labels]`) to images `[batch, H, W, C]` in [-1, 1].
        serving_dir: the directory TF Serving's `--model_base_path` parent,
            e.g. `saved_models`.
        model_name: model name; the version goes to `serving_dir/model_name`.
        version: positive int; default: one more than the highest existing.
            An existing version is an error (never overwritten).
        num_classes: class count of a conditional bare generator (taken from
            the GAN otherwise); used for the warm-up requests' labels.
        use_ema: export the generator's moving-average weights if present.
        warmup_batch_sizes: batch sizes of the warm-up requests.
        extra_assets: optional `{file name: text}` written into the
            version's `assets.extra/` before it appears (e.g. the evaluation
            that blessed it); TF Serving ignores these files.
        fingerprint: optional string identifying the model (e.g. a hash of
            its `.keras` file), stored as `assets.extra/model_fingerprint`.
            If a version with this fingerprint exists already, nothing is
            written and that version is returned (`reused=True`): the same
            model is never exported twice, e.g. by a re-run after a kill
            that came right after the version appeared.

    Returns:
        `ExportedModel`.

    Raises:
        PermissionError: `serving_dir` cannot be written.
        gankeras.export.VersionExistsError: `version` exists already.
    """
    generator, num_classes, ema_context = _unpack_model(model, num_classes, use_ema)
    conditional = len(generator.inputs or []) == 2
    latent_dim = int(generator.inputs[0].shape[-1])
    image_shape = tuple(int(d) for d in generator.outputs[0].shape[1:])
    model_dir = os.path.join(serving_dir, model_name)
    versions.check_writable(model_dir)
    # One exporter at a time: the next free version stays free until it is
    # written, and temporary directories of killed exporters are removed.
    with versions.exclusive(model_dir):
        existing = fingerprint and versions.find_version_with_fingerprint(model_dir, fingerprint)
        if existing:
            version, reused = existing, True
        else:
            if version is None:
                version = versions.next_version(model_dir)
            reused = False
            _write_version(
                generator,
                ema_context,
                model_dir,
                version,
                model_name,
                latent_dim,
                (num_classes or 1) if conditional else None,
                warmup_batch_sizes,
                extra_assets,
                fingerprint,
            )
    return ExportedModel(
        path=os.path.join(model_dir, str(version)),
        model_name=model_name,
        version=version,
        latent_dim=latent_dim,
        num_classes=num_classes if conditional else None,
        image_shape=image_shape,
        reused=reused,
    )


def _write_version(
    generator,
    ema_context,
    model_dir,
    version,
    model_name,
    latent_dim,
    warmup_classes,
    warmup_batch_sizes,
    extra_assets,
    fingerprint,
):
    """Writes version `version` atomically (see `versions.atomic_version_dir`)."""
    with versions.atomic_version_dir(model_dir, version) as temp_dir:
        with ema_context():
            _write_savedmodel(generator, temp_dir)
        logs = warmup.warmup_requests(
            model_name, latent_dim, num_classes=warmup_classes, batch_sizes=warmup_batch_sizes
        )
        warmup.write_warmup_requests(temp_dir, logs)
        assets = dict(extra_assets or {})
        if fingerprint:
            assets[os.path.basename(versions.FINGERPRINT_FILE)] = fingerprint
        for name, text in assets.items():
            with open(os.path.join(temp_dir, "assets.extra", name), "w") as f:
                f.write(text)


def write_archive(generator, export_dir):
    """Writes the SavedModel of `generator` (TensorFlow backend only).

    Args:
        generator: a built generator `keras.Model` (inputs `z` or `[z, labels]`).
        export_dir: destination directory (may exist and be empty).
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "write_archive builds a TensorFlow graph and needs "
            "KERAS_BACKEND=tensorflow. Received backend "
            f"{keras.backend.backend()!r}; use export_generator, which runs "
            "it in a TensorFlow subprocess for other backends."
        )
    import tensorflow as tf

    from gankeras.export import seeds as tf_seeds

    conditional = len(generator.inputs or []) == 2
    latent_dim = int(generator.inputs[0].shape[-1])
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    seeds_spec = tf.TensorSpec([None], tf.int64, name="seeds")
    labels_spec = tf.TensorSpec([None], tf.int32, name="labels")
    psi_spec = tf.TensorSpec([], tf.float32, name="truncation")

    def images_from(z, labels):
        inputs = [z, labels] if conditional else z
        return tf.cast(generator(inputs, training=False), tf.float32)

    def to_uint8(images):
        pixels = tf.clip_by_value((images + 1.0) * 127.5, 0.0, 255.0)
        return tf.cast(tf.round(pixels), tf.uint8)

    def latents(seeds):
        return tf_seeds.latents_from_seeds(seeds, latent_dim)

    def truncated(seeds, truncation):
        # gankeras.interpolation.truncate with mean 0: psi * z.
        return truncation * latents(seeds)

    archive = keras.export.ExportArchive()
    archive.track(generator)
    if conditional:

        def serve(z, labels):
            return {"images": images_from(z, labels)}

        def from_seeds(seeds, labels):
            return {"images": to_uint8(images_from(latents(seeds), labels))}

        archive.add_endpoint(LATENT_SIGNATURE, serve, [z_spec, labels_spec])
        archive.add_endpoint(SEEDS_SIGNATURE, from_seeds, [seeds_spec, labels_spec])

        def from_seeds_truncated(seeds, truncation, labels):
            return {"images": to_uint8(images_from(truncated(seeds, truncation), labels))}

        archive.add_endpoint(
            TRUNCATED_SIGNATURE, from_seeds_truncated, [seeds_spec, psi_spec, labels_spec]
        )
    else:

        def serve(z):
            return {"images": images_from(z, None)}

        def from_seeds(seeds):
            return {"images": to_uint8(images_from(latents(seeds), None))}

        archive.add_endpoint(LATENT_SIGNATURE, serve, [z_spec])
        archive.add_endpoint(SEEDS_SIGNATURE, from_seeds, [seeds_spec])

        def from_seeds_truncated(seeds, truncation):
            return {"images": to_uint8(images_from(truncated(seeds, truncation), None))}

        archive.add_endpoint(TRUNCATED_SIGNATURE, from_seeds_truncated, [seeds_spec, psi_spec])
    archive.write_out(export_dir, verbose=False)


def _write_savedmodel(generator, export_dir):
    """`write_archive` here under TensorFlow, else in a TensorFlow subprocess."""
    if keras.backend.backend() == "tensorflow":
        write_archive(generator, export_dir)
    else:
        _write_archive_in_tensorflow_process(generator, export_dir)


def _unpack_model(model, num_classes, use_ema):
    """(generator, num_classes, context manager giving EMA weights)."""
    import contextlib

    if hasattr(model, "generator") and hasattr(model, "ema_weights"):
        return (
            model.generator,
            model.num_classes,
            lambda: model.ema_weights(enabled=use_ema),
        )
    if isinstance(model, keras.Model):
        return model, num_classes, contextlib.nullcontext
    raise TypeError(
        "Expected a gankeras.GAN or a generator keras.Model. "
        f"Received: model={model!r} of type {type(model).__name__}"
    )


def _write_archive_in_tensorflow_process(generator, export_dir):
    """Saves `generator` to `.keras` and exports it under TensorFlow.

    The child imports the modules that define the generator's layer classes
    so that registered custom layers deserialize there too.
    """
    modules = sorted(
        {
            type(layer).__module__
            for layer in [generator] + list(generator._flatten_layers())
            if not type(layer).__module__.startswith("keras")
            and type(layer).__module__ != "__main__"
        }
    )
    with tempfile.TemporaryDirectory(prefix="gankeras-export-") as scratch:
        model_file = os.path.join(scratch, "generator.keras")
        generator.save(model_file)
        command = [
            sys.executable,
            "-m",
            "gankeras.export",
            "--generator",
            model_file,
            "--export_dir",
            export_dir,
        ]
        for module in modules:
            command += ["--import_module", module]
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(
            "Exporting the generator in a TensorFlow subprocess failed "
            f"(exit code {result.returncode}). Its stderr:\n{result.stderr[-4000:]}"
        )


def load_generator_file(path, import_modules=()):
    """Loads a generator `.keras` file after importing `import_modules`."""
    for module in import_modules:
        importlib.import_module(module)
    return keras.saving.load_model(path, compile=False)
