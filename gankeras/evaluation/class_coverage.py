"""Class coverage: does the generator make every class, in the right share?

A domain classifier labels each generated sample; the histogram of its
predictions against the data's exposes mode collapse (one class dominates)
and mode dropping (classes missing), which sample-quality scores miss (cf.
the MNIST mode counts of Metz et al. 2017, "Unrolled GANs", and
Srivastava et al. 2017, "VEEGAN").
"""

import numpy as np

from gankeras.evaluation import checks


def class_histogram(logits):
    """Share of samples per predicted class, float `[num_classes]` summing to 1."""
    logits = checks.as_matrix(logits, "logits")
    counts = np.bincount(np.argmax(logits, axis=1), minlength=logits.shape[1])
    return counts / counts.sum()


def class_coverage(fake_logits, reference_histogram, min_share=0.1):
    """Coverage of the classes by generated samples.

    Args:
        fake_logits: float `[n, num_classes]`, classifier logits of samples.
        reference_histogram: float `[num_classes]`, the data's class shares
            (e.g. `class_histogram` of the classifier on real test images, so
            the classifier's own confusions appear on both sides).
        min_share: a class counts as covered when its generated share is at
            least `min_share` times its reference share.

    Returns:
        dict: `classes_covered` (int), `num_classes`, `class_kl` = KL(data ||
        generated) in nats over add-one-smoothed counts (finite when classes
        are dropped, large then), `histogram` (list of shares).

    Raises:
        ValueError: if the number of classes differs or inputs are invalid.
    """
    fake_logits = checks.as_matrix(fake_logits, "fake_logits")
    reference = np.asarray(reference_histogram, np.float64).reshape(-1)
    if reference.shape[0] != fake_logits.shape[1]:
        raise ValueError(
            f"`reference_histogram` has {reference.shape[0]} classes but the "
            f"logits have {fake_logits.shape[1]}. Use the same classifier for both."
        )
    checks.check_finite(reference[None], "reference_histogram")
    if np.any(reference < 0) or reference.sum() <= 0:
        raise ValueError(
            "`reference_histogram` must hold non-negative class shares with a "
            f"positive sum. Received {reference.tolist()}."
        )
    reference = reference / reference.sum()
    num_classes = fake_logits.shape[1]
    counts = np.bincount(np.argmax(fake_logits, axis=1), minlength=num_classes)
    histogram = counts / counts.sum()
    smoothed = (counts + 1.0) / (counts.sum() + num_classes)
    support = reference > 0
    kl = float(np.sum(reference[support] * np.log(reference[support] / smoothed[support])))
    covered = int(np.sum(histogram >= min_share * reference) - np.sum(reference == 0))
    return {
        "classes_covered": covered,
        "num_classes": int(num_classes),
        "class_kl": max(kl, 0.0),
        "histogram": histogram.tolist(),
    }
