"""`ReplayBuffer`: experience replay of past fakes for the discriminator.

The seeds' tip "keep a replay buffer of past generations and occasionally
show them" (Shrivastava et al. 2017; TF-GAN's `features.tensor_pool`). The
pool lives in non-trainable variables of this layer, so the compiled step
reads and writes it on every backend (a host-side callback could not, on JAX)
and it is saved with the model.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="gankeras")
class ReplayBuffer(keras.layers.Layer):
    """A ring buffer of past generated images mixed into D's fake batches.

    Each discriminator step, the first `round(fraction * batch)` fakes are
    replaced by images drawn uniformly from the pool (once it holds any),
    then the step's fresh fakes are written into the pool, overwriting the
    oldest. Labels of conditional models travel with their images.

    Args:
        capacity: number of images the pool holds.
        fraction: share of each fake batch taken from the pool, in [0, 1].

    Call args:
        fake: `[batch, *image_shape]` fresh fakes.
        labels: int32 `[batch]` or None.
        seed_generator: a `keras.random.SeedGenerator` for the draws.

    Returns:
        `(mixed_fakes, mixed_labels)`, same shapes as the inputs.
    """

    def __init__(self, capacity=1024, fraction=0.5, **kwargs):
        super().__init__(**kwargs)
        if int(capacity) < 1:
            raise ValueError(
                f"`capacity` must be a positive integer. Received: capacity={capacity}"
            )
        if not 0.0 <= float(fraction) <= 1.0:
            raise ValueError(f"`fraction` must be in [0, 1]. Received: fraction={fraction}")
        self.capacity = int(capacity)
        self.fraction = float(fraction)

    def build(self, image_shape):
        if self.built:
            return
        image_shape = tuple(image_shape)
        self.image_shape = image_shape
        self.images = self.add_weight(
            shape=(self.capacity,) + image_shape,
            initializer="zeros",
            trainable=False,
            name="images",
        )
        self.labels = self.add_weight(
            shape=(self.capacity,),
            initializer="zeros",
            trainable=False,
            dtype="int32",
            name="labels",
        )
        # Number of images ever written; the pool holds min(count, capacity).
        self.count = self.add_weight(
            shape=(), initializer="zeros", trainable=False, dtype="int32", name="count"
        )
        self.built = True

    def call(self, fake, labels=None, seed_generator=None):
        batch_size = ops.shape(fake)[0]
        count = self.count.value
        filled = ops.minimum(count, self.capacity)
        # Draw pool indices uniformly among the filled slots.
        u = keras.random.uniform((batch_size,), seed=seed_generator)
        draw = ops.cast(ops.floor(u * ops.cast(ops.maximum(filled, 1), u.dtype)), "int32")
        draw = ops.minimum(draw, ops.maximum(filled - 1, 0))
        replayed = ops.take(self.images.value, draw, axis=0)
        position = ops.arange(batch_size, dtype="int32")
        use_pool = ops.logical_and(
            ops.cast(position, "float32")
            < ops.cast(batch_size, "float32") * self.fraction - 0.5 + 1e-6,
            filled > 0,
        )
        mask = ops.reshape(use_pool, (-1,) + (1,) * (len(fake.shape) - 1))
        mixed = ops.where(mask, ops.cast(replayed, fake.dtype), fake)
        mixed_labels = labels
        if labels is not None:
            mixed_labels = ops.where(use_pool, ops.take(self.labels.value, draw, axis=0), labels)

        # Write this step's fresh fakes into the ring, oldest slots first.
        slots = ops.mod(count + position, self.capacity)[:, None]
        self.images.assign(
            ops.scatter_update(self.images.value, slots, ops.cast(fake, self.images.dtype))
        )
        if labels is not None:
            self.labels.assign(
                ops.scatter_update(self.labels.value, slots, ops.cast(labels, "int32"))
            )
        self.count.assign(count + ops.cast(batch_size, "int32"))
        return mixed, mixed_labels

    def get_config(self):
        config = super().get_config()
        config.update(capacity=self.capacity, fraction=self.fraction)
        return config
