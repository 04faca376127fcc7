"""Kernel (Inception) distance: an unbiased squared MMD in feature space.

Bińkowski et al. 2018, "Demystifying MMD GANs" (KID): the unbiased
estimator of MMD^2 with the polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over blocks of samples as TF-GAN's
`kernel_classifier_distance_and_std_from_activations` does (the block
estimator of Zaremba et al. 2013). Per block of m real rows r and n fake
rows g:

    sum_{i != j} k(r_i, r_j) / (m (m - 1))
  + sum_{i != j} k(g_i, g_j) / (n (n - 1))
  - 2 mean_{i, j} k(r_i, g_j).
"""

import numpy as np

from gankeras.evaluation import checks


def _polynomial_kernel(a, b, dim):
    k = a @ b.T
    k /= dim
    k += 1.0
    return k * k * k  # several times faster than k ** 3 in numpy


def _block_sizes(count, num_blocks):
    base = count // num_blocks
    extra = count - base * num_blocks
    # TF-GAN's split: the last `extra` blocks take one more sample.
    sizes = np.full(num_blocks, base)
    sizes[num_blocks - extra :] += 1
    return np.concatenate([[0], np.cumsum(sizes)])


def kernel_distance(real_features, fake_features, max_block_size=1024):
    """KID between two feature sets, with its standard error.

    Args:
        real_features: float `[n, d]`; keep the rows in random order (blocks
            are contiguous slices).
        fake_features: float `[m, d]`, random order.
        max_block_size: largest block; larger blocks lower the variance and
            cost O(block^2) each.

    Returns:
        `(kid, standard_error)`: Python floats. `kid` is unbiased, so it is
        near 0 (and may be slightly negative) for equal distributions. The
        standard error is NaN with a single block.

    Raises:
        ValueError: on NaN/Inf, mismatched dimensions, or blocks of fewer
            than 2 samples.
    """
    real = checks.as_matrix(real_features, "real_features", min_rows=2)
    fake = checks.as_matrix(fake_features, "fake_features", min_rows=2)
    checks.check_same_dim(real, fake, "real_features", "fake_features")
    num_blocks = int(np.ceil(max(len(real), len(fake)) / float(max_block_size)))
    if min(len(real), len(fake)) < 2 * num_blocks:
        raise ValueError(
            f"KID splits the samples into {num_blocks} blocks (the larger set "
            f"has {max(len(real), len(fake))} samples, max_block_size="
            f"{max_block_size}), but the smaller set has only "
            f"{min(len(real), len(fake))}: each block needs at least 2. Pass "
            "sets of similar size or raise max_block_size."
        )
    dim = real.shape[1]
    real_edges = _block_sizes(len(real), num_blocks)
    fake_edges = _block_sizes(len(fake), num_blocks)
    estimates = np.empty(num_blocks)
    for i in range(num_blocks):
        r = real[real_edges[i] : real_edges[i + 1]]
        g = fake[fake_edges[i] : fake_edges[i + 1]]
        m, n = len(r), len(g)
        k_rr = _polynomial_kernel(r, r, dim)
        k_gg = _polynomial_kernel(g, g, dim)
        k_rg = _polynomial_kernel(r, g, dim)
        estimates[i] = (
            (k_rr.sum() - np.trace(k_rr)) / (m * (m - 1))
            + (k_gg.sum() - np.trace(k_gg)) / (n * (n - 1))
            - 2.0 * k_rg.mean()
        )
    mean = float(estimates.mean())
    if num_blocks == 1:
        return mean, float("nan")
    variance = float(np.sum((estimates - mean) ** 2) / (num_blocks - 1))
    return mean, float(np.sqrt(variance / num_blocks))
