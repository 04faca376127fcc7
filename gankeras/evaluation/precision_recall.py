"""Improved precision and recall (Kynkäänniemi et al. 2019).

"Improved Precision and Recall Metric for Assessing Generative Models": the
real manifold is the union of balls around each real feature vector, of
radius the distance to its k-th nearest real neighbour; likewise for the
generated samples.

- precision: share of generated samples inside the real manifold (quality;
  noise scores ~0).
- recall: share of real samples inside the generated manifold (diversity;
  a collapsed generator's balls have radius ~0, so recall ~0).
"""

from gankeras.evaluation import checks, neighbours


def precision_recall(real_features, fake_features, k=3):
    """Kynkäänniemi et al. 2019 precision and recall, k = 3 as in the paper.

    Args:
        real_features: float `[n, d]`, n > k.
        fake_features: float `[m, d]`, m > k.
        k: the neighbour whose distance sets each ball's radius.

    Returns:
        dict with `precision` and `recall`, Python floats in [0, 1].

    Raises:
        ValueError: on NaN/Inf, mismatched dimensions, or `k` samples or
            fewer in a set (the k-th neighbour would not exist).
    """
    k = int(k)
    if k < 1:
        raise ValueError(f"`k` must be >= 1. Received: k={k}")
    real = checks.as_matrix(real_features, "real_features", min_rows=k + 1)
    fake = checks.as_matrix(fake_features, "fake_features", min_rows=k + 1)
    checks.check_same_dim(real, fake, "real_features", "fake_features")
    real_radii = neighbours.kth_neighbour_distance(real, k)
    fake_radii = neighbours.kth_neighbour_distance(fake, k)
    fake_in_real, real_in_fake = neighbours.mutual_ball_membership(
        fake, fake_radii, real, real_radii
    )
    precision, recall = fake_in_real.mean(), real_in_fake.mean()
    return {"precision": float(precision), "recall": float(recall)}
