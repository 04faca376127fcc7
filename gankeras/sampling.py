"""Latent vectors from integer seeds, identical everywhere.

`latents_from_seeds(seeds, latent_dim)` turns each integer seed into one
standard-normal latent vector with a counter-based hash (a 32-bit
"lowbias32" integer hash, Wellons 2018) and the Box-Muller transform. Being
plain integer arithmetic, it gives bit-identical latents in numpy, on every
Keras backend and inside the exported TensorFlow SavedModel
(`gankeras.export` implements the same arithmetic in TensorFlow), so
`gan.generate(seeds=[7])` and a serving request for seed 7 draw the same
image.
"""

import numpy as np

_MASK = np.uint64(0xFFFFFFFF)


def hash32(x):
    """The lowbias32 hash of uint32 values (numpy, wrap-around arithmetic)."""
    x = np.asarray(x, dtype=np.uint64) & _MASK
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & _MASK
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & _MASK
    x ^= x >> np.uint64(16)
    return x


def uniforms_from_seeds(seeds, count):
    """`[n, count]` float64 uniforms in (0, 1): element j of seed s is
    `(hash32(hash32(s) + j) + 0.5) / 2**32`."""
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1, 1)
    base = hash32(seeds.astype(np.uint64) & _MASK)
    counters = np.arange(count, dtype=np.uint64).reshape(1, -1)
    bits = hash32((base + counters) & _MASK)
    return (bits.astype(np.float64) + 0.5) / 2.0**32


def latents_from_seeds(seeds, latent_dim):
    """Standard-normal latents, one row per integer seed.

    Args:
        seeds: int array `[n]` (values taken modulo 2**32).
        latent_dim: size of each latent vector.

    Returns:
        float32 array `[n, latent_dim]`, each entry ~ N(0, 1).
    """
    half = (int(latent_dim) + 1) // 2
    u = uniforms_from_seeds(seeds, 2 * half)
    u1, u2 = u[:, :half], u[:, half:]
    radius = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate(
        [radius * np.cos(2 * np.pi * u2), radius * np.sin(2 * np.pi * u2)], axis=1
    )
    return z[:, : int(latent_dim)].astype(np.float32)
