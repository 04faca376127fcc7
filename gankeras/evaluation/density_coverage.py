"""Density and coverage (Naeem et al. 2020).

"Reliable Fidelity and Diversity Metrics for Generative Models": the k-NN
balls of precision/recall (Kynkäänniemi et al. 2019) are built around the
*real* samples only, which makes both metrics robust to outliers among the
generated samples. With B(r_j) the ball around real feature r_j of radius
its distance to the k-th nearest other real feature, for n generated
samples g_i and m real ones:

- density  = 1 / (k n) sum_i sum_j 1[g_i in B(r_j)]: how many real
  neighbourhoods a sample falls in, on average, over k. About 1 for
  samples from the real distribution; above 1 when samples crowd into
  dense real regions; near 0 for noise.
- coverage = 1 / m sum_j 1[exists i: g_i in B(r_j)]: the share of real
  neighbourhoods that hold at least one sample (diversity); a collapsed
  or mode-dropping generator leaves many empty. The paper uses k = 5.
"""

import numpy as np

from gankeras.evaluation import checks, neighbours


def density_coverage(real_features, fake_features, k=5):
    """Naeem et al. 2020 density and coverage, k = 5 as in the paper.

    Args:
        real_features: float `[m, d]`, m > k.
        fake_features: float `[n, d]`, same extractor on generated images.
        k: the real neighbour whose distance sets each real ball's radius.

    Returns:
        dict with `density` (float >= 0, about 1 for real data; at most
        m / k) and `coverage` (float in [0, 1]).

    Raises:
        ValueError: on NaN/Inf, mismatched dimensions, or `k` real samples
            or fewer.
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"`k` must be >= 1. Received: k={k}")
    real = checks.as_matrix(real_features, "real_features", min_rows=k + 1)
    fake = checks.as_matrix(fake_features, "fake_features", min_rows=1)
    checks.check_same_dim(real, fake, "real_features", "fake_features")
    radii2 = np.square(neighbours.kth_neighbour_distance(real, k)).astype(np.float32)
    inside_count = np.zeros(len(fake), np.int64)
    covered = np.zeros(len(real), bool)
    for start, d2 in neighbours.squared_distance_blocks(real, fake):
        inside = d2 <= radii2[start : start + len(d2), None]  # [real rows, fake]
        inside_count += inside.sum(axis=0)
        covered[start : start + len(d2)] = inside.any(axis=1)
    return {
        "density": float(inside_count.sum() / (k * len(fake))),
        "coverage": float(covered.mean()),
    }
