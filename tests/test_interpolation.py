"""Latent walks (lerp / slerp between two seeds' latents) and truncation."""

import keras
import numpy as np
import pytest
from PIL import Image

import gankeras
from gankeras import sampling
from gankeras.interpolation import (
    interpolation_latents,
    lerp,
    mean_latent,
    slerp,
    truncate,
)
from tests import gan_fixtures


@pytest.mark.backend_independent
def test_lerp_and_slerp_against_hand_computed_points():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    t = [0.0, 0.5, 1.0]
    np.testing.assert_allclose(lerp(a, b, t), [[1, 0], [0.5, 0.5], [0, 1]])
    half = np.sqrt(0.5)
    np.testing.assert_allclose(slerp(a, b, t), [[1, 0], [half, half], [0, 1]], atol=1e-12)
    # A third of a right angle: (cos 30deg, sin 30deg).
    np.testing.assert_allclose(slerp(a, b, [1 / 3]), [[np.sqrt(3) / 2, 0.5]], atol=1e-12)
    # Norm 2 vectors at 120 degrees: the midpoint lies on the circle of radius 2
    # at 60 degrees (lerp's midpoint has norm 1).
    c, d = 2 * np.array([1.0, 0.0]), 2 * np.array([-0.5, np.sqrt(3) / 2])
    np.testing.assert_allclose(slerp(c, d, [0.5]), [[1.0, np.sqrt(3)]], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(lerp(c, d, [0.5])), 1.0)


@pytest.mark.backend_independent
def test_slerp_keeps_the_norm_and_turns_at_constant_speed():
    rng = np.random.default_rng(0)
    a = rng.normal(size=16)
    b = rng.normal(size=16)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    t = np.linspace(0, 1, 9)
    path = slerp(a, b, t)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a), rtol=1e-12)
    omega = np.arccos(a @ b / (a @ a))
    angles = np.arccos(np.clip(path @ a / (a @ a), -1, 1))
    np.testing.assert_allclose(angles, t * omega, atol=1e-6)


@pytest.mark.backend_independent
def test_slerp_of_parallel_vectors_falls_back_to_the_line():
    a = np.array([1.0, 2.0])
    np.testing.assert_allclose(slerp(a, 3 * a, [0.5]), [2 * a])


@pytest.mark.backend_independent
def test_path_end_points_are_the_seeds_latents():
    z = gankeras.latents_from_seeds([5, 9], 8)
    for path in ("linear", "spherical"):
        latents = interpolation_latents(5, 9, 6, 8, path)
        assert latents.shape == (6, 8) and latents.dtype == np.float32
        np.testing.assert_array_equal(latents[0], z[0])
        np.testing.assert_array_equal(latents[-1], z[1])
    np.testing.assert_allclose(
        interpolation_latents(5, 9, 3, 8, "linear")[1], (z[0] + z[1]) / 2, rtol=1e-6
    )


@pytest.mark.backend_independent
def test_truncation_identity_mean_and_halfway():
    z = gankeras.latents_from_seeds(np.arange(4), 6)
    np.testing.assert_array_equal(truncate(z, 1.0), z)
    np.testing.assert_array_equal(truncate(z, 0.0), np.zeros_like(z))
    mean = np.linspace(-1, 1, 6).astype(np.float32)
    np.testing.assert_allclose(truncate(z, 0.0, mean), np.broadcast_to(mean, z.shape))
    np.testing.assert_allclose(truncate(z, 0.5, mean), (z + mean) / 2, rtol=1e-6, atol=1e-6)
    for bad in (float("nan"), "0.7x", None, True):
        with pytest.raises(ValueError, match="psi"):
            truncate(z, bad)


def test_truncation_on_backend_tensors():
    z = keras.ops.convert_to_tensor(gankeras.latents_from_seeds(np.arange(3), 4))
    out = keras.ops.convert_to_numpy(truncate(z, 0.25, mean=1.0))
    np.testing.assert_allclose(out, 1.0 + 0.25 * (keras.ops.convert_to_numpy(z) - 1.0), rtol=1e-6)


def test_mean_latent_of_a_linear_mapping():
    z_in = keras.Input((4,))
    mapping = keras.Model(z_in, keras.layers.Dense(3)(z_in))
    z = gankeras.latents_from_seeds(np.arange(100), 4)
    expected = keras.ops.convert_to_numpy(mapping(z)).mean(0)
    np.testing.assert_allclose(
        mean_latent(mapping, 4, num_samples=100, batch_size=32), expected, rtol=1e-5, atol=1e-6
    )


def make_gan():
    generator, discriminator = gan_fixtures.image_pair(latent_dim=8, size=8)
    gan = gankeras.GAN(generator, discriminator)
    gan.compile()
    return gan


def test_interpolate_frames_end_at_generate_and_write_png_and_gif(tmp_path):
    gan = make_gan()
    images = sampling.interpolate(
        gan,
        3,
        11,
        steps=5,
        path="spherical",
        grid_path=tmp_path / "walk.png",
        gif_path=tmp_path / "walk.gif",
        scale=2,
    )
    assert images.shape == (5, 8, 8, 1)
    ends = gan.generate(seeds=[3, 11])
    np.testing.assert_allclose(images[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(images[-1], ends[1], atol=1e-5)
    # 5 cells of 8x8 in one row, 1-pixel borders, scaled x2.
    assert Image.open(tmp_path / "walk.png").size == (2 * (5 * 9 + 1), 2 * (9 + 1))
    gif = Image.open(tmp_path / "walk.gif")
    assert gif.n_frames == 5 and gif.size == (16, 16)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.gif", "walk.png"]


def test_interpolate_with_truncation_zero_is_one_image():
    generator, _ = gan_fixtures.image_pair(latent_dim=8, size=8)
    images = sampling.interpolate(generator, 0, 1, steps=3, path="linear", truncation=0.0)
    np.testing.assert_allclose(images[0], images[2], atol=1e-6)
    mean_image = keras.ops.convert_to_numpy(generator(np.zeros((1, 8), np.float32)))
    np.testing.assert_allclose(images[1], mean_image[0], atol=1e-5)


def test_interpolate_refuses_bad_arguments():
    gan = make_gan()
    with pytest.raises(ValueError, match="path"):
        sampling.interpolate(gan, 0, 1, steps=3, path="cubic")
    with pytest.raises(ValueError, match="steps"):
        sampling.interpolate(gan, 0, 1, steps=1)
    with pytest.raises(ValueError, match="conditional"):
        sampling.interpolate(gan, 0, 1, steps=3, label=2)
