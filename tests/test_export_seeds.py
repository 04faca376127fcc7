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


def lowbias32_latents_of_the_low_32_bits(seeds, latent_dim):
    """The seed -> latent map before seeds were hashed in full (seed modulo
    2**32): seeds in [0, 2**32) must still give exactly these latents."""
    from gankeras.sampling import hash32

    base = hash32(np.asarray(seeds, np.int64).astype(np.uint64) & np.uint64(0xFFFFFFFF))
    half = (latent_dim + 1) // 2
    counters = np.arange(2 * half, dtype=np.uint64).reshape(1, -1)
    u = (hash32((base.reshape(-1, 1) + counters) & np.uint64(0xFFFFFFFF)) + 0.5) / 2.0**32
    radius = np.sqrt(-2.0 * np.log(u[:, :half]))
    z = np.concatenate(
        [radius * np.cos(2 * np.pi * u[:, half:]), radius * np.sin(2 * np.pi * u[:, half:])], axis=1
    )
    return z[:, :latent_dim].astype(np.float32)


@pytest.mark.backend_independent
def test_every_bit_of_the_seed_counts():
    import tensorflow as tf

    from gankeras.export import seeds

    aliases = np.array([0, 2**32, -(2**63), 1, 2**32 + 1, -(2**32) + 1, -1, 2**32 - 1], np.int64)
    for latents in (
        numpy_latents(aliases, 8),
        seeds.latents_from_seeds(tf.constant(aliases), 8).numpy(),
    ):
        assert len({row.tobytes() for row in latents}) == len(aliases)


@pytest.mark.backend_independent
def test_seeds_below_2_to_the_32_keep_their_latents():
    kept = np.array([0, 1, 7, 12345, 2**31, 2**32 - 1], np.int64)
    np.testing.assert_array_equal(
        numpy_latents(kept, 5), lowbias32_latents_of_the_low_32_bits(kept, 5)
    )


@pytest.mark.backend_independent
@pytest.mark.parametrize("bad", [[[1, 2]], [[1], [2]], 7])
def test_seeds_of_another_rank_are_refused_in_numpy_and_tensorflow(bad):
    import tensorflow as tf

    from gankeras.export import seeds

    with pytest.raises(ValueError, match=r"Expected seeds of shape \[n\]"):
        numpy_latents(bad, 4)
    with pytest.raises(ValueError, match=r"Expected seeds of shape \[n\]"):
        seeds.latents_from_seeds(tf.constant(bad, tf.int64), 4)
    # Rank known only when the graph runs: refused then, with the same words.
    dynamic = tf.function(
        lambda s: seeds.latents_from_seeds(s, 4), input_signature=[tf.TensorSpec(None, tf.int64)]
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected seeds of shape \[n\]"):
        dynamic(tf.constant(bad, tf.int64))
    # The SavedModel's generate_from_seeds signature: seeds are TensorSpec([None]).
    served = tf.function(
        lambda s: seeds.latents_from_seeds(s, 4), input_signature=[tf.TensorSpec([None], tf.int64)]
    )
    with pytest.raises((ValueError, TypeError)):
        served(tf.constant(bad, tf.int64))


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([0.5, 1.0]), "Expected integer seeds"),
        ([2**64], "int64 range"),
        (np.array([2**63], np.uint64), r"\[-2\*\*63, 2\*\*63\)"),
    ],
)
def test_seeds_that_are_not_int64_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        numpy_latents(bad, 4)
