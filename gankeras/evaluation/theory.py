"""The seeds' GAN theory in one dimension, by numerical integration.

For a fixed generator distribution p_g, Goodfellow et al. 2014 ("Generative
Adversarial Nets", Prop. 1 and Thm. 1) show that the discriminator that
maximises V(D) = E_p[log D(x)] + E_pg[log(1 - D(x))] is

    D*(x) = p(x) / (p(x) + p_g(x)),   with   V(D*) = 2 JSD(p, p_g) - log 4.

For WGAN (Arjovsky et al. 2017), the best 1-Lipschitz critic's value
E_p[f] - E_pg[f] is the Wasserstein-1 distance, which in 1-D equals
integral |F(x) - G(x)| dx and, for two equal-size samples, the mean
distance between their sorted values.

These are the reference values the trained probes of
`gankeras.evaluation.probes` are compared with.
"""

import numpy as np
from scipy import integrate, special, stats


class GaussianMixture1D:
    """A 1-D mixture of Gaussians with a density, a CDF and a sampler.

    Args:
        means: component means.
        stds: component standard deviations (> 0).
        weights: component weights (normalised); equal when omitted.
    """

    def __init__(self, means, stds, weights=None):
        self.means = np.asarray(means, np.float64).reshape(-1)
        self.stds = np.asarray(stds, np.float64).reshape(-1)
        if weights is None:
            weights = np.ones_like(self.means)
        weights = np.asarray(weights, np.float64).reshape(-1)
        if not (len(self.means) == len(self.stds) == len(weights)):
            raise ValueError(
                "`means`, `stds` and `weights` need one entry per component. "
                f"Received {len(self.means)}, {len(self.stds)} and {len(weights)}."
            )
        if np.any(self.stds <= 0) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(
                "Component stds must be > 0 and weights >= 0 with a positive "
                f"sum. Received stds={self.stds.tolist()}, weights={weights.tolist()}."
            )
        self.weights = weights / weights.sum()

    def pdf(self, x):
        x = np.asarray(x, np.float64)[..., None]
        return np.sum(self.weights * stats.norm.pdf(x, self.means, self.stds), axis=-1)

    def cdf(self, x):
        x = np.asarray(x, np.float64)[..., None]
        return np.sum(self.weights * stats.norm.cdf(x, self.means, self.stds), axis=-1)

    def sample(self, count, seed=0):
        """float32 `[count, 1]` samples from a seeded numpy generator."""
        rng = np.random.default_rng(seed)
        component = rng.choice(len(self.weights), size=count, p=self.weights)
        x = rng.normal(self.means[component], self.stds[component])
        return x.astype(np.float32).reshape(-1, 1)

    def support(self, width=8.0):
        """An interval holding all but a negligible share of the mass."""
        return (
            float(np.min(self.means - width * self.stds)),
            float(np.max(self.means + width * self.stds)),
        )


def _joint_support(p, q):
    (a1, b1), (a2, b2) = p.support(), q.support()
    return min(a1, a2), max(b1, b2)


def optimal_discriminator(p, p_g, x):
    """D*(x) = p(x) / (p(x) + p_g(x)) on points `x` (Goodfellow et al. 2014,
    Prop. 1); 0.5 where both densities vanish."""
    num, other = p.pdf(x), p_g.pdf(x)
    total = num + other
    return np.where(total > 0, num / np.where(total > 0, total, 1.0), 0.5)


def jensen_shannon_divergence(p, p_g):
    """JSD(p, p_g) in nats, in [0, log 2], by adaptive quadrature."""

    def integrand(x):
        a, b = p.pdf(x), p_g.pdf(x)
        m = 0.5 * (a + b)
        return 0.5 * (special.xlogy(a, a) - special.xlogy(a, m)) + 0.5 * (
            special.xlogy(b, b) - special.xlogy(b, m)
        )

    low, high = _joint_support(p, p_g)
    value, _ = integrate.quad(integrand, low, high, limit=400)
    return float(value)


def optimal_discriminator_value(p, p_g):
    """max_D V(D) = 2 JSD(p, p_g) - log 4 (Goodfellow et al. 2014, Thm. 1)."""
    return 2.0 * jensen_shannon_divergence(p, p_g) - np.log(4.0)


def discriminator_value(real_logits, fake_logits):
    """V(D) = E_p[log D(x)] + E_pg[log(1 - D(x))] from logits (D = sigmoid)."""
    real_logits = np.asarray(real_logits, np.float64)
    fake_logits = np.asarray(fake_logits, np.float64)
    return float(
        np.mean(-np.logaddexp(0.0, -real_logits)) + np.mean(-np.logaddexp(0.0, fake_logits))
    )


def wasserstein1(p, p_g):
    """W1(p, p_g) = integral |F_p - F_pg| dx, by adaptive quadrature."""
    low, high = _joint_support(p, p_g)
    value, _ = integrate.quad(lambda x: abs(p.cdf(x) - p_g.cdf(x)), low, high, limit=400)
    return float(value)


def wasserstein1_from_samples(a, b):
    """Exact W1 between two empirical 1-D distributions of equal size: the
    mean absolute difference of the sorted samples."""
    a = np.sort(np.asarray(a, np.float64).reshape(-1))
    b = np.sort(np.asarray(b, np.float64).reshape(-1))
    if a.shape != b.shape or a.size == 0:
        raise ValueError(
            "Pass two non-empty samples of equal size (the sorted-sample "
            f"formula pairs them). Received sizes {a.size} and {b.size}."
        )
    return float(np.mean(np.abs(a - b)))
