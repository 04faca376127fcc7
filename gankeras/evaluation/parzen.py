"""Parzen-window (Gaussian kernel density) log-likelihood.

The protocol of Goodfellow et al. 2014, "Generative Adversarial Nets",
Table 1 (after Breuleux et al. 2011): fit a Gaussian Parzen window to
samples of the generator, choose its bandwidth sigma by the log-likelihood
of a validation split of real data, and report the mean log-likelihood of
the test split under that window, with its standard error. The seeds' KDE:
p(x) = 1/n sum_i k((x - x_i) / h), here with a Gaussian k.

The estimate has high variance and suffers from the curse of dimension
(Theis et al. 2016, "A note on the evaluation of generative models"): it is
reported because it is the historical baseline, not because it is reliable.
"""

import numpy as np

from gankeras.evaluation import checks, neighbours

DEFAULT_SIGMAS = tuple(np.logspace(-1.0, 0.0, 10))


def _log_likelihoods(queries, centres, sigmas):
    """`[len(sigmas), n]` log-densities of each query under each bandwidth.

    A log-sum-exp shares its shift across bandwidths: with m the smallest
    squared distance of a query, log sum_i exp(-d_i / 2s^2) =
    -m / 2s^2 + log sum_i exp(-(d_i - m) / 2s^2), where every term is at
    most 1 and one equals 1, so float32 exponentials are accurate and each
    extra bandwidth costs one exp pass (scipy's logsumexp per bandwidth was
    several times slower).
    """
    sigmas = np.asarray(sigmas, np.float64)
    dim = centres.shape[1]
    out = np.empty((len(sigmas), len(queries)))
    log_norm = np.log(len(centres)) + 0.5 * dim * np.log(2.0 * np.pi * sigmas**2)
    for start, d2 in neighbours.squared_distance_blocks(queries, centres):
        nearest = d2.min(axis=1)
        d2 -= nearest[:, None]
        for i, sigma in enumerate(sigmas):
            scale = np.float32(-1.0 / (2.0 * sigma**2))
            total = np.exp(d2 * scale).sum(axis=1, dtype=np.float64)
            out[i, start : start + len(d2)] = nearest * float(scale) + np.log(total) - log_norm[i]
    return out


def parzen_log_likelihood(samples, validation, test, sigmas=DEFAULT_SIGMAS):
    """Mean test log-likelihood under a Parzen window fitted to `samples`.

    Args:
        samples: float `[n, d]` generated samples (flattened images; Goodfellow
            et al. used pixels in [0, 1]).
        validation: float `[v, d]` real samples that choose sigma.
        test: float `[t, d]` held-out real samples that are scored.
        sigmas: candidate bandwidths.

    Returns:
        dict: `parzen_log_likelihood` (mean nats per sample),
        `parzen_standard_error`, `parzen_sigma` (the chosen bandwidth).

    Raises:
        ValueError: on NaN/Inf, mismatched dimensions, empty sets or
            non-positive sigmas.
    """
    samples = checks.as_matrix(samples, "samples", min_rows=2)
    validation = checks.as_matrix(validation, "validation", min_rows=1)
    test = checks.as_matrix(test, "test", min_rows=2)
    checks.check_same_dim(samples, validation, "samples", "validation")
    checks.check_same_dim(samples, test, "samples", "test")
    sigmas = np.asarray(sigmas, np.float64).reshape(-1)
    if sigmas.size == 0 or np.any(sigmas <= 0):
        raise ValueError(f"`sigmas` must be positive bandwidths. Received {sigmas.tolist()}.")
    validation_ll = _log_likelihoods(validation, samples, sigmas).mean(axis=1)
    sigma = float(sigmas[int(np.argmax(validation_ll))])
    test_ll = _log_likelihoods(test, samples, [sigma])[0]
    return {
        "parzen_log_likelihood": float(test_ll.mean()),
        "parzen_standard_error": float(test_ll.std(ddof=1) / np.sqrt(len(test_ll))),
        "parzen_sigma": sigma,
    }
