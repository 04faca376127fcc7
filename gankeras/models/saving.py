"""How a `GAN` is written to and read from a `.keras` file, beyond Keras's defaults.

Two details live here so `gankeras/models/gan.py` keeps the model:

- The Keras objects a GAN's config holds serialized (`COMPONENTS`: the
  networks, the replay pool, the augmentation), written and read by
  `serialize_components` / `deserialize_components`.
- The GAN's own state. Keras saves a layer's own variables but not its
  `SeedGenerator`'s state; without it a reloaded GAN would replay the same
  latents as step 0 and resumed training would not continue identically.
  `save_own_state` / `load_own_state` store the GAN's own variables, then
  the seed state, under the keys `"0"`, `"1"`, ... (the order of files saved
  by earlier versions, e.g. `tests/data/legacy_gan.keras`).
"""

import keras

# The Keras objects a GAN's config holds serialized.
COMPONENTS = ("generator", "discriminator", "encoder", "replay_buffer", "augment")


def serialize_components(gan):
    """`{name: serialized object or None}` for each of `COMPONENTS`."""
    return {
        key: None
        if getattr(gan, key) is None
        else keras.saving.serialize_keras_object(getattr(gan, key))
        for key in COMPONENTS
    }


def deserialize_components(config, custom_objects=None):
    """A copy of a GAN config with each serialized component rebuilt."""
    config = dict(config)
    for key in COMPONENTS:
        if config.get(key) is not None:
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
    return config


def own_state(gan):
    """The GAN's own variables (not its networks'), then its RNG state."""
    return gan._trainable_variables + gan._non_trainable_variables + [gan.seed_generator.state]


def save_own_state(gan, store):
    for i, variable in enumerate(own_state(gan)):
        store[f"{i}"] = variable


def load_own_state(gan, store):
    """Assigns the stored state; a count mismatch is a `ValueError`."""
    variables = own_state(gan)
    if len(store.keys()) != len(variables):
        raise ValueError(
            f"The saved GAN state holds {len(store.keys())} variables but "
            f"this GAN has {len(variables)} (its own variables and the RNG "
            "state). The file was saved by another gankeras version or "
            "model."
        )
    for i, variable in enumerate(variables):
        variable.assign(store[f"{i}"])
