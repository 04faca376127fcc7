"""`gankeras.sampling.latents_from_seeds`, re-written in TensorFlow ops.

The exported SavedModel must turn a client's integer seed into exactly the
latent that `gan.generate(seeds=[s])` uses, without Python or numpy at serving
time. The numpy reference (`gankeras/sampling.py`) is a counter-based hash
(the 32-bit "lowbias32" integer hash, Wellons 2018) followed by the Box-Muller
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


def seeds_to_uint32(seeds):
    """Integer seeds (any int dtype, negative allowed) -> uint32, modulo 2**32.

    Matches numpy's `np.int64(s).astype(np.uint64) & 0xFFFFFFFF`: the low 32
    bits of the two's-complement int64 value.
    """
    seeds = tf.cast(seeds, tf.int64)
    low_bits = tf.bitwise.bitwise_and(seeds, tf.constant(0xFFFFFFFF, tf.int64))
    return tf.cast(low_bits, tf.uint32)


def uniforms_from_seeds(seeds, count):
    """float64 uniforms in (0, 1), shape `[n, count]`.

    Element j of seed s is `(hash32(hash32(s) + j) + 0.5) / 2**32`.
    """
    base = hash32(seeds_to_uint32(tf.reshape(seeds, [-1, 1])))
    counters = tf.reshape(tf.cast(tf.range(count, dtype=tf.int64), tf.uint32), [1, -1])
    bits = hash32(base + counters)
    return (tf.cast(bits, tf.float64) + 0.5) / 2.0**32


def latents_from_seeds(seeds, latent_dim):
    """Standard-normal latents, one row per integer seed (TensorFlow).

    Args:
        seeds: integer tensor `[n]` (values taken modulo 2**32).
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
