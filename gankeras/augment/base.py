"""`Augmentation`: the interface the GAN's train step calls."""

import keras

from gankeras import backend as gan_backend


class Augmentation(keras.layers.Layer):
    """Base class of differentiable augmentations applied before D.

    The whole interface a train step needs:

    - `augment(images, seed_generator, training=True)` (also the layer's
      `__call__`): images `[batch, H, W, C]` in [-1, 1] -> the same shape.
      The identity when `training` is false.
    - `sample_parameters(images, seed_generator)` and
      `apply(images, parameters)`: the same split in two, so that a function
      differentiated with respect to its input (R1, whose
      `gankeras.backend.value_and_input_gradient` drops the variable
      assignments made inside it, including a SeedGenerator's advance) can
      apply a fixed, pre-drawn augmentation: draw outside, apply inside.
    - `update(real_logits)`: after D saw the augmented real batch. A no-op
      here; `AdaptiveAugment` adjusts its probability p.

    Subclasses implement `sample_parameters` and `apply`.
    """

    def sample_parameters(self, images, seed_generator):
        """A dict of per-example parameter tensors for `apply`."""
        raise NotImplementedError

    def apply(self, images, parameters):
        """Applies pre-drawn `parameters` to `images` (deterministic)."""
        raise NotImplementedError

    def augment(self, images, seed_generator, training=True):
        """Augments `images` with randomness drawn from `seed_generator`."""
        return self(images, seed_generator=seed_generator, training=training)

    def call(self, images, seed_generator=None, training=True):
        if not training:
            return images
        if not isinstance(seed_generator, keras.random.SeedGenerator):
            raise TypeError(
                f"{type(self).__name__} draws its randomness from a "
                "`keras.random.SeedGenerator` passed by the caller (e.g. "
                "`gan.seed_generator`). Received: "
                f"seed_generator={seed_generator!r}"
            )
        return self.apply(images, self.sample_parameters(images, seed_generator))

    def random(self, draw, batch_size, seed_generator, **kwargs):
        """`draw((batch_size,), seed=seed_generator, **kwargs)`: one value per
        example, independent of the number of replicas.

        Under a `tf.distribute` strategy every replica runs with the same
        seed state; each draws for the global batch and keeps its own rows
        (as `gankeras.GAN` draws latents), so replicas augment differently
        and a replicated step augments as a single-device step would.
        """
        replica_id, num_replicas = gan_backend.replica_shard()
        if num_replicas == 1:
            return draw((batch_size,), seed=seed_generator, **kwargs)
        values = draw((batch_size * num_replicas,), seed=seed_generator, **kwargs)
        return values[replica_id * batch_size : (replica_id + 1) * batch_size]

    def update(self, real_logits):
        """Feedback from D's logits on augmented reals; no-op by default."""
        del real_logits

    def compute_output_shape(self, input_shape):
        return input_shape
