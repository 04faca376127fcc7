"""Memorization check: are samples closer to the training set than new data is?

A generator that copies training images scores well on every
distribution metric. Following the nearest-neighbour checks of the GAN
literature (Goodfellow et al. 2014, Fig. 2; Radford et al. 2015), each
generated sample's distance to its nearest training image is compared with
the same distance for held-out real images, which the model never saw:

- `memorization_ratio` = median(sample -> train) / median(held-out -> train).
  About 1 or above: no more copying than new real data shows; well below 1:
  samples sit on training images.
- `copied_fraction`: share of samples closer to a training image than the
  closest 1% of held-out images are.
"""

import numpy as np

from gankeras.evaluation import checks, neighbours


def memorization(samples, train, held_out):
    """Nearest-training-image distances of samples versus held-out images.

    Args:
        samples: float `[n, d]` generated samples (flattened images).
        train: float `[N, d]` training images.
        held_out: float `[m, d]` real images not used for training.

    Returns:
        dict: `memorization_ratio`, `copied_fraction`,
        `nearest_train_distance` (median over samples),
        `held_out_nearest_train_distance` (median over held-out images), and
        `nearest_train_indices` (int list `[n]`, for a nearest-neighbour grid).

    Raises:
        ValueError: on NaN/Inf, mismatched dimensions or empty sets.
    """
    samples = checks.as_matrix(samples, "samples", dtype=np.float32)
    train = checks.as_matrix(train, "train", dtype=np.float32)
    held_out = checks.as_matrix(held_out, "held_out", min_rows=2, dtype=np.float32)
    checks.check_same_dim(samples, train, "samples", "train")
    checks.check_same_dim(held_out, train, "held_out", "train")
    sample_distance, indices = neighbours.nearest_neighbours(samples, train)
    held_out_distance, _ = neighbours.nearest_neighbours(held_out, train)
    reference = float(np.median(held_out_distance))
    threshold = float(np.percentile(held_out_distance, 1.0))
    return {
        "memorization_ratio": float(np.median(sample_distance) / max(reference, 1e-12)),
        "copied_fraction": float(np.mean(sample_distance < threshold)),
        "nearest_train_distance": float(np.median(sample_distance)),
        "held_out_nearest_train_distance": reference,
        "nearest_train_indices": indices.tolist(),
    }
