"""The Fréchet distance between Gaussians fitted to two sets of features.

Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge
to a Local Nash Equilibrium" (the FID formula): with means `mu1, mu2` and
covariances `S1, S2`,

    FD = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

`Tr((S1 S2)^(1/2))` is computed as `sum(sqrt(eig(S1^(1/2) S2 S1^(1/2))))`
(the symmetric form TF-GAN uses): `S1^(1/2) S2 S1^(1/2)` is symmetric
positive semi-definite, so a symmetric eigen-decomposition applies, and the
tiny negative eigenvalues that round-off produces for rank-deficient
covariances are clipped to 0 instead of giving complex square roots
(scipy.linalg.sqrtm of the non-symmetric `S1 S2` returns complex matrices
there, which is why we do not use it).
"""

import numpy as np

from gankeras.evaluation import checks


def gaussian_statistics(features):
    """Mean `[d]` and unbiased covariance `[d, d]` of `features` `[n, d]`."""
    features = checks.as_matrix(features, "features", min_rows=2)
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(
        features.shape[1], features.shape[1]
    )


def symmetric_sqrt(matrix):
    """The positive square root of a symmetric PSD matrix; round-off
    negative eigenvalues are clipped to 0."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    root = np.sqrt(np.clip(eigenvalues, 0.0, None))
    return (eigenvectors * root) @ eigenvectors.T


def trace_sqrt_product(sigma1, sigma2):
    """`Tr((sigma1 sigma2)^(1/2))` for symmetric PSD covariances."""
    root1 = symmetric_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    middle = 0.5 * (middle + middle.T)
    return float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None))))


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2):
    """FD between N(mu1, sigma1) and N(mu2, sigma2); >= 0."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError(
            "The two Gaussians must have the same dimension. Received means "
            f"of shapes {mu1.shape} and {mu2.shape}, covariances "
            f"{sigma1.shape} and {sigma2.shape}."
        )
    mean_term = float(np.sum(np.square(mu1 - mu2)))
    cov_term = float(np.trace(sigma1) + np.trace(sigma2)) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return max(mean_term + cov_term, 0.0)


def frechet_distance(real_features, fake_features):
    """The Fréchet distance (FID formula) between two feature sets.

    Args:
        real_features: float `[n, d]`, classifier features of real images.
        fake_features: float `[m, d]`, same extractor on generated images.

    Returns:
        Python float >= 0; 0 for identical statistics. Biased upwards for
        small `n` (use at least a few thousand samples and compare models
        at equal `n`).

    Raises:
        ValueError: on NaN/Inf, mismatched dimensions, or no more samples
            than feature dimensions in a set (a singular covariance).
    """
    real = checks.as_matrix(real_features, "real_features", min_rows=2)
    fake = checks.as_matrix(fake_features, "fake_features", min_rows=2)
    checks.check_same_dim(real, fake, "real_features", "fake_features")
    dim = real.shape[1]
    for name, x in (("real_features", real), ("fake_features", fake)):
        if len(x) <= dim:
            raise ValueError(
                f"`{name}` has {len(x)} samples of dimension {dim}: a "
                f"covariance of {dim}-d features needs more than {dim} samples "
                "to be full rank, and the distance would be meaningless. Use "
                "more samples (thousands, to keep FD's bias small)."
            )
    return frechet_distance_from_statistics(*gaussian_statistics(real), *gaussian_statistics(fake))
