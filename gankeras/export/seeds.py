"""`gankeras.sampling.latents_from_seeds`, re-written in TensorFlow ops.

The exported SavedModel must turn a client's integer seed into exactly the
latent that `gan.generate(seeds=[s])` uses, without Python or numpy at serving
time. The numpy reference (`gankeras/sampling.py`) is a counter-based hash
(the 32-bit "lowbias32" integer hash, Wellons 2018, of a 32-bit key that
mixes all 64 bits of the seed) followed by the Box-Muller
transform (Box & Muller 1958). Every step is repeated here with the same
dtypes: wrap-around uint32 arithmetic for the hash, float64 for the uniforms
and the transform, a final cast to float32. `tests/test_export_seeds.py`
checks bit-for-bit equality with the numpy version.

Why not `keras.ops`: the export graph is TensorFlow by nature (it runs in TF
Serving), and keras.ops has no unsigned wrap-around multiply to rely on.
"""

import math

import tensorflow as tf


def hash32(x):
    """The lowbias32 hash of a uint32 tensor (wrap-around arithmetic).

    Args:
        x: uint32 tensor, any shape.

    Returns:
        uint32 tensor of the same shape.
    """
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    x = x * tf.constant(0x7FEB352D, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(15, tf.uint32)))
    x = x * tf.constant(0x846CA68B, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, tf.constant(16, tf.uint32)))
    return x


def seed_keys(seeds):
    """int64 seeds -> their uint32 keys, `low ^ hash32(high)` of the
    two's-complement value (see `gankeras.sampling.seed_keys`)."""
    seeds = tf.cast(seeds, tf.int64)
    mask = tf.constant(0xFFFFFFFF, tf.int64)
    low = tf.cast(tf.bitwise.bitwise_and(seeds, mask), tf.uint32)
    shifted = tf.bitwise.right_shift(seeds, tf.constant(32, tf.int64))
    high = tf.cast(tf.bitwise.bitwise_and(shifted, mask), tf.uint32)
    return tf.bitwise.bitwise_xor(low, hash32(high))


def check_seeds(seeds):
    """`seeds` as int64 `[n]`; a tensor of another rank fails (statically
    when its rank is known, else when the graph runs) with the message the
    numpy version gives. The dtype is fixed to int64 by the signature."""
    seeds = tf.convert_to_tensor(seeds)
    if not seeds.dtype.is_integer:
        raise ValueError(
            f"Expected integer seeds. Received dtype {seeds.dtype.name}; pass "
            "whole numbers (e.g. np.arange(n))."
        )
    message = "Expected seeds of shape [n] (one integer per latent)."
    if seeds.shape.rank is not None:
        if seeds.shape.rank != 1:
            raise ValueError(f"{message} Received shape {tuple(seeds.shape)}.")
        return tf.cast(seeds, tf.int64)
    with tf.control_dependencies([tf.debugging.assert_rank(seeds, 1, message=message)]):
        return tf.cast(tf.identity(seeds), tf.int64)


def uniforms_from_seeds(seeds, count):
    """float64 uniforms in (0, 1), shape `[n, count]`.

    Element j of seed s is `(hash32(hash32(seed_keys(s)) + j) + 0.5) / 2**32`.
    """
    base = hash32(tf.reshape(seed_keys(check_seeds(seeds)), [-1, 1]))
    counters = tf.reshape(tf.cast(tf.range(count, dtype=tf.int64), tf.uint32), [1, -1])
    bits = hash32(base + counters)
    return (tf.cast(bits, tf.float64) + 0.5) / 2.0**32


def latents_from_seeds(seeds, latent_dim):
    """Standard-normal latents, one row per integer seed (TensorFlow).

    Args:
        seeds: integer tensor `[n]` (any rank other than 1 is refused);
            all 64 bits of each seed matter.
        latent_dim: Python int, size of each latent vector.

    Returns:
        float32 tensor `[n, latent_dim]`, equal bit for bit to
        `gankeras.latents_from_seeds(seeds, latent_dim)`.
    """
    latent_dim = int(latent_dim)
    half = (latent_dim + 1) // 2
    u = uniforms_from_seeds(seeds, 2 * half)
    u1, u2 = u[:, :half], u[:, half:]
    radius = tf.sqrt(-2.0 * tf.math.log(u1))
    angle = tf.constant(2.0 * math.pi, tf.float64) * u2
    z = tf.concat([radius * tf.cos(angle), radius * tf.sin(angle)], axis=1)
    return tf.cast(z[:, :latent_dim], tf.float32)
