"""The classifier score: the Inception Score formula on any classifier.

Salimans et al. 2016, "Improved Techniques for Training GANs":
IS = exp(E_x KL(p(y|x) || p(y))), with p(y) the mean of p(y|x) over the
samples. It is 1 when every sample gets the same class distribution
(collapse) and at most the number of classes (confident and balanced).
"""

import numpy as np
from scipy.special import log_softmax

from gankeras.evaluation import checks


def classifier_score(logits):
    """`exp(mean KL(p(y|x) || p(y)))` from classifier logits.

    Args:
        logits: float `[n, num_classes]`, raw (pre-softmax) scores.

    Returns:
        Python float in [1, num_classes].

    Raises:
        ValueError: on NaN/Inf or fewer than 2 samples.
    """
    logits = checks.as_matrix(logits, "logits", min_rows=2)
    log_p = log_softmax(logits, axis=1)
    p = np.exp(log_p)
    log_marginal = np.log(p.mean(axis=0))
    kl = np.sum(p * (log_p - log_marginal), axis=1)
    return float(np.exp(kl.mean()))
