"""Density and coverage (Naeem et al. 2020): the chunked implementation
against the paper's formulas written directly, and the behaviours the paper
designs them for (robust to fake outliers; coverage sees dropped modes)."""

import numpy as np
import pytest

from gankeras.evaluation import density_coverage

pytestmark = pytest.mark.backend_independent


def _direct(real, fake, k):
    d_rr = np.linalg.norm(real[:, None] - real[None], axis=-1)
    radii = np.sort(d_rr, axis=1)[:, k]  # column 0 is the point itself
    inside = np.linalg.norm(real[:, None] - fake[None], axis=-1) <= radii[:, None]
    return inside.sum() / (k * len(fake)), inside.any(axis=1).mean()


def test_matches_the_formulas_of_the_paper():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(300, 4)), rng.normal(size=(250, 4)) * 1.2 + 0.3
    result = density_coverage(real, fake, k=5)
    density, coverage = _direct(real, fake, 5)
    assert result["density"] == pytest.approx(density, rel=1e-6)
    assert result["coverage"] == pytest.approx(coverage, rel=1e-6)


def test_same_distribution_scores_about_one_and_full_coverage():
    rng = np.random.default_rng(1)
    result = density_coverage(rng.normal(size=(2000, 3)), rng.normal(size=(2000, 3)))
    assert 0.9 < result["density"] < 1.1 and result["coverage"] > 0.9


def test_fake_outliers_lower_density_only_by_their_share():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2))
    clean = density_coverage(real, fake)
    fake[:100] += 50.0  # 10% far outliers: no real ball holds them
    dirty = density_coverage(real, fake)
    assert dirty["density"] == pytest.approx(0.9 * clean["density"], rel=0.05)


def test_coverage_sees_a_dropped_mode_and_collapse():
    rng = np.random.default_rng(3)
    modes = np.array([[0.0, 0.0], [10.0, 0.0]])
    real = modes[rng.integers(0, 2, 2000)] + rng.normal(size=(2000, 2))
    one_mode = modes[0] + rng.normal(size=(2000, 2))
    collapsed = np.repeat(real[:1], 2000, axis=0)
    assert density_coverage(real, one_mode)["coverage"] == pytest.approx(0.5, abs=0.05)
    assert density_coverage(real, collapsed)["coverage"] < 0.01


def test_bad_input_raises():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match="needs at least 6"):
        density_coverage(rng.normal(size=(5, 2)), rng.normal(size=(10, 2)), k=5)
    with pytest.raises(ValueError, match="has dimension 2 but `fake_features` has dimension 3"):
        density_coverage(rng.normal(size=(10, 2)), rng.normal(size=(10, 3)))
    bad = rng.normal(size=(10, 2))
    bad[2, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or Inf"):
        density_coverage(rng.normal(size=(10, 2)), bad)
