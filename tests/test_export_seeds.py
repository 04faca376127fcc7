"""The TensorFlow seed -> latent arithmetic of the export equals
`gankeras.latents_from_seeds` (numpy) bit for bit."""

import numpy as np
import pytest

from gankeras.sampling import latents_from_seeds as numpy_latents

SEEDS = np.concatenate(
    [np.arange(-500, 20000), [2**31 - 1, 2**31, 2**32 - 1, 2**32 + 5, -(2**40), 2**62]]
).astype(np.int64)


@pytest.mark.backend_independent
@pytest.mark.parametrize("latent_dim", [1, 7, 64, 128])
def test_tensorflow_latents_equal_numpy_bit_for_bit(latent_dim):
    import tensorflow as tf

    from gankeras.export import seeds

    graph_fn = tf.function(lambda s: seeds.latents_from_seeds(s, latent_dim))
    latents = graph_fn(tf.constant(SEEDS)).numpy()
    assert latents.dtype == np.float32
    np.testing.assert_array_equal(latents, numpy_latents(SEEDS, latent_dim))


@pytest.mark.backend_independent
def test_tensorflow_hash_matches_numpy_hash():
    import tensorflow as tf

    from gankeras import sampling
    from gankeras.export import seeds

    values = np.array([0, 1, 12345, 2**32 - 1], dtype=np.uint32)
    np.testing.assert_array_equal(
        seeds.hash32(tf.constant(values)).numpy(), sampling.hash32(values).astype(np.uint32)
    )
