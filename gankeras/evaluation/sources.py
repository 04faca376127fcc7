"""Generate functions: `seeds -> images` from a GAN, a generator or a SavedModel.

The metrics take a `generate_fn(seeds)` with seeds an int64 array `[n]`,
returning float images `[n, H, W, C]` in [-1, 1]. Latents come from
`gankeras.latents_from_seeds`, so seed 7 gives the same image from
`gan.generate`, a bare generator model and the exported SavedModel.
"""

import os

import keras
import numpy as np

from gankeras.sampling import latents_from_seeds


def from_gan(gan, use_ema=True, batch_size=256):
    """`seeds -> gan.generate(seeds=seeds)` (EMA weights when kept;
    conditional GANs cycle through the classes)."""

    def generate_fn(seeds):
        return gan.generate(seeds=seeds, use_ema=use_ema, batch_size=batch_size)

    return generate_fn


def from_generator_model(generator, num_classes=None, batch_size=256):
    """`seeds -> generator(latents)` for a bare Keras generator.

    Args:
        generator: `keras.Model` from z `[batch, latent_dim]` (and labels
            `[batch]` when it has two inputs) to images in [-1, 1].
        num_classes: required for a conditional (two-input) generator;
            labels then cycle through the classes, `seed % num_classes`.
    """
    latent_dim = int(generator.inputs[0].shape[-1])
    conditional = len(generator.inputs) == 2
    if conditional and num_classes is None:
        raise ValueError(
            "The generator takes [z, labels]: pass `num_classes` so labels "
            "can cycle through the classes."
        )

    def generate_fn(seeds):
        seeds = np.asarray(seeds, np.int64).reshape(-1)
        z = latents_from_seeds(seeds, latent_dim)
        inputs = [z, (seeds % num_classes).astype(np.int32)] if conditional else z
        images = generator.predict(inputs, batch_size=batch_size, verbose=0)
        # float32 also from a mixed-precision generator (bfloat16 outputs).
        return np.asarray(images).astype(np.float32)

    return generate_fn


def from_saved_model(path, num_classes=None, signature="serving_default", batch_size=256):
    """`seeds -> images` from an exported TF SavedModel.

    The signature takes `z` float32 `[batch, latent_dim]` (and `labels`
    int32 `[batch]` for a conditional model; they cycle through
    `num_classes`) and returns `images` float32 `[batch, H, W, C]` in
    [-1, 1] (gankeras.export's serving signature). TensorFlow-only by
    nature; works whatever the Keras backend.
    """
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    if signature not in loaded.signatures:
        raise ValueError(
            f"The SavedModel at {path} has no signature {signature!r}. "
            f"Available: {sorted(loaded.signatures)}."
        )
    fn = loaded.signatures[signature]
    _, kwargs = fn.structured_input_signature
    if "z" not in kwargs:
        raise ValueError(
            f"Signature {signature!r} of {path} must take an input `z` "
            f"[batch, latent_dim]. Received inputs {sorted(kwargs)}."
        )
    latent_dim = int(kwargs["z"].shape[-1])
    conditional = "labels" in kwargs
    if conditional and num_classes is None:
        raise ValueError(
            f"The SavedModel at {path} takes labels: pass `num_classes` so "
            "labels can cycle through the classes."
        )

    def generate_fn(seeds):
        seeds = np.asarray(seeds, np.int64).reshape(-1)
        z = latents_from_seeds(seeds, latent_dim)
        outputs = []
        for start in range(0, len(z), batch_size):
            inputs = {"z": tf.constant(z[start : start + batch_size])}
            if conditional:
                labels = seeds[start : start + batch_size] % num_classes
                inputs["labels"] = tf.constant(labels.astype(np.int32))
            result = fn(**inputs)
            images = result["images"] if "images" in result else next(iter(result.values()))
            outputs.append(images.numpy())
        return np.concatenate(outputs, axis=0)

    generate_fn.saved_model = loaded  # keep the loaded object alive
    return generate_fn


def load_generate_fn(path, num_classes=None, use_ema=True):
    """A generate function from a path: a SavedModel directory (holding
    `saved_model.pb`), or a `.keras` file of a `gankeras.GAN` or of a bare
    generator."""
    from gankeras.models import GAN

    if os.path.isdir(path):
        if not os.path.exists(os.path.join(path, "saved_model.pb")):
            raise ValueError(
                f"{path} is a directory without saved_model.pb. Pass an "
                "exported SavedModel directory or a .keras model file."
            )
        return from_saved_model(path, num_classes=num_classes)
    if not path.endswith(".keras") or not os.path.exists(path):
        raise ValueError(
            f"Expected an existing .keras model file or a SavedModel directory. Received: {path!r}"
        )
    # compile=True (the default) restores a compiled GAN's optimizers, and
    # with them the generator's EMA weights.
    model = keras.saving.load_model(path)
    if isinstance(model, GAN):
        return from_gan(model, use_ema=use_ema)
    return from_generator_model(model, num_classes=num_classes)
