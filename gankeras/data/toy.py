"""Toy distributions for mode-collapse experiments, with their scoring.

The 2-D mixtures are the classic mode-collapse benchmark of Metz et al. 2017
(Unrolled GANs), scored with the protocol of Srivastava et al. 2017 (VEEGAN)
and used with the same settings by Lin et al. 2018 (PacGAN):

- `ring()`: 8 Gaussians evenly spaced on a circle of radius 1, std 0.01.
- `grid()`: 25 Gaussians with means {-4, -2, 0, 2, 4}^2, std 0.05.
- `gaussian_1d()`: one 1-D Gaussian (Goodfellow et al. 2014, Figure 1).

Each is a `ToyDistribution`: `sample(n, seed)` gives a float32 numpy array
`[n, dim]`, `dataset(batch_size, seed)` an infinite, shuffled-by-construction
`tf.data.Dataset` of `[batch_size, dim]` batches, and `score(samples)` the
VEEGAN figures. The samples are not images: train on them with
`gankeras.GAN(..., data_range=None)`.
"""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class ModeScore:
    """VEEGAN's figures for a batch of samples of a mixture of Gaussians.

    Attributes:
        modes_captured: number of modes that are the nearest mode of at least
            one high-quality sample.
        high_quality: share of samples within `3 * std` (Euclidean distance)
            of their nearest mode, in [0, 1].
        counts: int array `[num_modes]`, high-quality samples per mode.
    """

    modes_captured: int
    high_quality: float
    counts: np.ndarray


@dataclasses.dataclass(frozen=True)
class ToyDistribution:
    """An equal-weight mixture of isotropic Gaussians.

    Args:
        name: short name, used in benchmark tables and file names.
        means: float array `[num_modes, dim]`.
        std: standard deviation of every component.
    """

    name: str
    means: np.ndarray
    std: float

    @property
    def dim(self):
        return int(self.means.shape[1])

    @property
    def num_modes(self):
        return int(self.means.shape[0])

    def sample(self, num_samples, seed=0):
        """Draws `[num_samples, dim]` float32 samples (numpy, seeded)."""
        if int(num_samples) < 0:
            raise ValueError(f"`num_samples` must be >= 0. Received: num_samples={num_samples}")
        rng = np.random.default_rng(seed)
        modes = rng.integers(0, self.num_modes, size=int(num_samples))
        noise = rng.normal(0.0, self.std, size=(int(num_samples), self.dim))
        return (self.means[modes] + noise).astype(np.float32)

    def dataset(self, batch_size, seed=0, steps=None):
        """An infinite (or `steps`-long) `tf.data.Dataset` of batches.

        Each batch is `[batch_size, dim]` float32 of fresh samples, drawn by
        a stateless generator seeded with `(seed, batch index)`, so the
        stream is reproducible and needs no shuffle buffer.
        """
        import tensorflow as tf

        means = tf.constant(self.means, tf.float32)
        num_modes, dim, std = self.num_modes, self.dim, float(self.std)

        def make_batch(index):
            seeds = tf.random.experimental.stateless_split(
                tf.stack([tf.cast(seed, tf.int64), index]), 2
            )
            modes = tf.random.stateless_uniform(
                [batch_size], seeds[0], maxval=num_modes, dtype=tf.int32
            )
            noise = tf.random.stateless_normal([batch_size, dim], seeds[1], stddev=std)
            return tf.gather(means, modes) + noise

        indices = tf.data.Dataset.range(steps) if steps else tf.data.Dataset.range(2**62)
        return indices.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(
            tf.data.AUTOTUNE
        )

    def score(self, samples):
        """Scores samples with VEEGAN's protocol (Srivastava et al. 2017).

        Args:
            samples: float array `[n, dim]` (PacGAN and VEEGAN use n = 2,500).

        Returns:
            A `ModeScore`.
        """
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 2 or samples.shape[1] != self.dim:
            raise ValueError(
                f"Expected samples of shape [n, {self.dim}] for the "
                f"{self.name!r} distribution. Received shape {samples.shape}."
            )
        distances = np.linalg.norm(samples[:, None, :] - self.means[None], axis=-1)
        nearest = np.argmin(distances, axis=1)
        good = distances[np.arange(len(samples)), nearest] <= 3.0 * self.std
        counts = np.bincount(nearest[good], minlength=self.num_modes)
        return ModeScore(
            modes_captured=int(np.count_nonzero(counts)),
            high_quality=float(np.mean(good)) if len(samples) else 0.0,
            counts=counts,
        )


def ring(num_modes=8, radius=1.0, std=0.01):
    """Gaussians evenly spaced on a circle (VEEGAN/PacGAN: 8, 1.0, 0.01)."""
    angles = 2.0 * np.pi * np.arange(num_modes) / num_modes
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return ToyDistribution(f"ring{num_modes}", means, float(std))


def grid(values=(-4.0, -2.0, 0.0, 2.0, 4.0), std=0.05):
    """Gaussians on a square grid (VEEGAN/PacGAN: {-4,-2,0,2,4}^2, 0.05)."""
    values = np.asarray(values, dtype=np.float64)
    xx, yy = np.meshgrid(values, values, indexing="ij")
    means = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return ToyDistribution(f"grid{len(means)}", means, float(std))


def gaussian_1d(mean=4.0, std=0.5):
    """One 1-D Gaussian (Goodfellow et al. 2014, Figure 1: N(4, 0.5))."""
    return ToyDistribution("gaussian1d", np.array([[float(mean)]]), float(std))
