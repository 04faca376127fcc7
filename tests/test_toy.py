"""Toy distributions: the PacGAN/VEEGAN mixtures and their mode scoring."""

import numpy as np
import pytest

from gankeras.data import toy

pytestmark = pytest.mark.backend_independent


def test_ring_has_eight_modes_on_the_unit_circle():
    ring = toy.ring()
    assert ring.means.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 1.0)
    assert ring.std == 0.01


def test_grid_has_25_modes_at_even_coordinates():
    grid = toy.grid()
    assert grid.means.shape == (25, 2)
    assert set(grid.means.ravel()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert len({tuple(m) for m in grid.means}) == 25
    assert grid.std == 0.05


def test_samples_are_seeded_float32_and_spread_over_the_modes():
    grid = toy.grid()
    a, b = grid.sample(5000, seed=3), grid.sample(5000, seed=3)
    assert a.dtype == np.float32 and a.shape == (5000, 2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, grid.sample(5000, seed=4))
    nearest = np.argmin(np.linalg.norm(a[:, None] - grid.means[None], axis=-1), axis=1)
    counts = np.bincount(nearest, minlength=25)
    assert counts.min() > 100  # ~200 each
    offsets = a - grid.means[nearest]
    assert offsets.std() == pytest.approx(0.05, rel=0.05)


def test_true_samples_score_every_mode_at_about_99_percent_quality():
    # In 2-D, P(|noise| <= 3 std) = 1 - exp(-4.5) = 98.9%.
    for dist in (toy.ring(), toy.grid()):
        score = dist.score(dist.sample(2500, seed=0))
        assert score.modes_captured == dist.num_modes
        assert score.high_quality == pytest.approx(1 - np.exp(-4.5), abs=0.01)


def test_score_counts_only_high_quality_samples_toward_modes():
    ring = toy.ring()
    samples = np.concatenate(
        [
            np.repeat(ring.means[:2], 10, axis=0),  # on modes 0 and 1
            ring.means[2:3] + 0.05,  # 5 std from mode 2: low quality
            np.zeros((9, 2)),  # the centre: far from all
        ]
    )
    score = ring.score(samples)
    assert score.modes_captured == 2
    assert score.high_quality == pytest.approx(20 / 30)
    assert score.counts.tolist() == [10, 10, 0, 0, 0, 0, 0, 0]


def test_collapsed_generator_scores_one_mode():
    grid = toy.grid()
    samples = grid.means[7] + np.random.default_rng(0).normal(0, 0.01, size=(2500, 2))
    score = grid.score(samples)
    assert (score.modes_captured, score.high_quality) == (1, 1.0)


def test_dataset_yields_fresh_batches_of_the_mixture():
    ring = toy.ring()
    batches = [b.numpy() for b in ring.dataset(512, seed=1).take(2)]
    assert batches[0].shape == (512, 2) and batches[0].dtype == np.float32
    assert not np.array_equal(batches[0], batches[1])
    again = next(iter(ring.dataset(512, seed=1))).numpy()
    np.testing.assert_array_equal(batches[0], again)
    assert ring.score(np.concatenate(batches)).modes_captured == 8


def test_gaussian_1d():
    dist = toy.gaussian_1d(mean=4.0, std=0.5)
    x = dist.sample(20000, seed=0)
    assert x.shape == (20000, 1)
    assert x.mean() == pytest.approx(4.0, abs=0.02)
    assert x.std() == pytest.approx(0.5, abs=0.02)


def test_score_rejects_samples_of_the_wrong_dimension():
    with pytest.raises(ValueError, match=r"shape \[n, 2\].*Received shape \(10, 3\)"):
        toy.ring().score(np.zeros((10, 3)))
