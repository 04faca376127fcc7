"""The seeds' theory, checked: a discriminator trained against a fixed
generator approaches D* = p / (p + p_g) and the value 2 JSD - log 4; a
gradient-penalty critic's value approaches W1. Reference values come from
numerical integration (`gankeras.evaluation.theory`)."""

import keras
import numpy as np
import pytest
from scipy import stats

from gankeras.evaluation import probes, theory

# Data: a two-component mixture; fixed generator: N(0, 1). D* is not a
# sigmoid of a linear function and the optimal critic is not monotone.
P = theory.GaussianMixture1D([-1.5, 1.0], [0.5, 0.7])
P_G = theory.GaussianMixture1D([0.0], [1.0])


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.backend_independent
def test_jsd_integration_matches_closed_form_extremes():
    same = theory.GaussianMixture1D([0.0], [1.0])
    far = theory.GaussianMixture1D([60.0], [1.0])
    assert theory.jensen_shannon_divergence(same, same) == pytest.approx(0.0, abs=1e-9)
    assert theory.jensen_shannon_divergence(same, far) == pytest.approx(np.log(2.0), rel=1e-6)
    assert theory.optimal_discriminator_value(same, same) == pytest.approx(-np.log(4.0))


@pytest.mark.backend_independent
def test_w1_by_integration_matches_sorted_samples_and_shift():
    shifted = theory.GaussianMixture1D([0.75], [1.0])
    assert theory.wasserstein1(P_G, shifted) == pytest.approx(0.75, rel=1e-6)
    a, b = P.sample(200_000, seed=1), P_G.sample(200_000, seed=2)
    assert theory.wasserstein1_from_samples(a, b) == pytest.approx(
        theory.wasserstein1(P, P_G), rel=0.02
    )
    assert theory.wasserstein1_from_samples(a, b) == pytest.approx(
        stats.wasserstein_distance(a.ravel(), b.ravel()), rel=1e-6
    )


@pytest.mark.backend_independent
def test_optimal_discriminator_value_is_its_expected_log_likelihood():
    x = np.linspace(-8.0, 8.0, 40001)
    d_star = theory.optimal_discriminator(P, P_G, x)
    integrand = P.pdf(x) * np.log(d_star) + P_G.pdf(x) * np.log1p(-d_star)
    assert np.trapezoid(integrand, x) == pytest.approx(
        theory.optimal_discriminator_value(P, P_G), abs=1e-6
    )


def test_trained_discriminator_approaches_d_star_and_2jsd_minus_log4():
    gan, discriminator = probes.train_probe(
        P.sample(250 * 1024, seed=0), 0.0, 1.0, batch_size=1024, learning_rate=1e-2
    )
    # The generator was held fixed.
    kernel, bias = gan.generator.get_weights()
    assert (float(kernel[0, 0]), float(bias[0])) == (1.0, 0.0)

    x = np.linspace(-3.0, 3.0, 121, dtype=np.float32)
    d = 1.0 / (1.0 + np.exp(-_numpy(discriminator(x[:, None])).ravel()))
    d_star = theory.optimal_discriminator(P, P_G, x)
    weight = P.pdf(x) + P_G.pdf(x)
    weighted_error = np.sum(weight * np.abs(d - d_star)) / np.sum(weight)
    assert weighted_error < 0.04

    value = theory.discriminator_value(
        _numpy(discriminator(P.sample(20_000, seed=11))),
        _numpy(discriminator(P_G.sample(20_000, seed=12))),
    )
    target = theory.optimal_discriminator_value(P, P_G)
    # 2 JSD = 0.18 here; the trained value must land within 0.02 of the optimum.
    assert value == pytest.approx(target, abs=0.02)


def test_gradient_penalty_critic_value_approaches_w1():
    gan, critic = probes.train_probe(
        P.sample(250 * 1024, seed=1),
        0.0,
        1.0,
        loss="wasserstein",
        gradient_penalty=10.0,
        batch_size=1024,
        learning_rate=1e-2,
        hidden=64,
        activation="relu",
    )
    value = np.mean(_numpy(critic(P.sample(20_000, seed=13)))) - np.mean(
        _numpy(critic(P_G.sample(20_000, seed=14)))
    )
    w1 = theory.wasserstein1(P, P_G)
    assert value == pytest.approx(w1, rel=0.12)
