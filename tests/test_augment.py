"""gankeras.augment: each transform against a hand-computed case, DiffAugment
and ADA as layers (identity at p=0, always at p=1, seeded, differentiable),
the ADA controller, and state saved in `.keras` files; on every backend."""

import keras
import numpy as np
import pytest

from gankeras import augment
from gankeras import backend as gan_backend
from gankeras.augment import transforms


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def images(batch=4, size=8, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch, size, size, channels)).astype("float32")


def one_pixel(size=8, row=3, col=2, value=0.75):
    x = np.zeros((1, size, size, 1), "float32")
    x[0, row, col, 0] = value
    return x


# ----------------------------------------------------------------------
# Transforms, hand-computed
# ----------------------------------------------------------------------
def test_translate_moves_a_known_pixel_down_and_right():
    out = numpy(transforms.translate(one_pixel(), np.array([2]), np.array([-1])))
    expected = np.zeros_like(out)
    expected[0, 5, 1, 0] = 0.75
    np.testing.assert_array_equal(out, expected)


def test_translate_with_zero_padding_drops_what_leaves_the_image():
    out = numpy(transforms.translate(one_pixel(row=7), np.array([1]), np.array([0])))
    assert not out.any()


def test_translate_with_reflect_padding_mirrors_without_repeating_the_edge():
    x = np.arange(4, dtype="float32").reshape(1, 4, 1, 1) * np.ones((1, 1, 4, 1), "float32")
    down = numpy(transforms.translate(x, np.array([1]), np.array([0]), padding="reflect"))
    up = numpy(transforms.translate(x, np.array([-2]), np.array([0]), padding="reflect"))
    np.testing.assert_array_equal(down[0, :, 0, 0], [1, 0, 1, 2])
    np.testing.assert_array_equal(up[0, :, 0, 0], [2, 3, 2, 1])


def test_cutout_zeroes_the_rectangle_around_its_centre_clipped_to_the_image():
    x = np.ones((2, 8, 8, 1), "float32")
    out = numpy(transforms.cutout(x, np.array([4, 0]), np.array([2, 7]), 4, 4))
    expected = np.ones_like(x)
    expected[0, 2:6, 0:4] = 0.0  # rows/cols centre - 2 .. centre + 1
    expected[1, 0:2, 5:8] = 0.0  # clipped at the top and right edges
    np.testing.assert_array_equal(out, expected)


def test_colour_transforms_match_their_formulas():
    x = np.array([[[[0.2, -0.4, 0.5]]]], "float32") * np.ones((1, 2, 2, 1), "float32")
    x[0, 0, 0] = [-0.6, 0.0, 0.3]
    bright = numpy(transforms.brightness(x, np.array([0.25])))
    np.testing.assert_allclose(bright, x + 0.25, atol=1e-6)
    sat = numpy(transforms.saturation(x, np.array([0.5])))
    mean_c = x.mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(sat, mean_c + 0.5 * (x - mean_c), atol=1e-6)
    con = numpy(transforms.contrast(x, np.array([1.5])))
    np.testing.assert_allclose(con, x.mean() + 1.5 * (x - x.mean()), atol=1e-6)
    con0 = numpy(transforms.contrast(x, np.array([1.5]), center="zero"))
    np.testing.assert_allclose(con0, 1.5 * x, atol=1e-6)


def test_rotate90_and_flip_match_numpy():
    x = images(batch=4)
    out = numpy(transforms.rotate90(x, np.array([0, 1, 2, 3])))
    for k in range(4):
        np.testing.assert_array_equal(out[k], np.rot90(x[k], k))
    flipped = numpy(transforms.flip_left_right(x, np.array([True, False, True, False])))
    np.testing.assert_array_equal(flipped[0], x[0, :, ::-1])
    np.testing.assert_array_equal(flipped[1], x[1])


# ----------------------------------------------------------------------
# DiffAugment
# ----------------------------------------------------------------------
def test_diffaugment_cutout_zeroes_the_region_its_seed_drew():
    aug = augment.DiffAugment("cutout")
    x = np.ones((6, 8, 8, 1), "float32")
    params = aug.sample_parameters(x, keras.random.SeedGenerator(3))
    out = numpy(aug.apply(x, params))
    for b, (cy, cx) in enumerate(zip(numpy(params["center_y"]), numpy(params["center_x"]))):
        expected = np.ones((8, 8, 1), "float32")
        expected[max(cy - 2, 0) : cy + 2, max(cx - 2, 0) : cx + 2] = 0.0
        np.testing.assert_array_equal(out[b], expected)


def test_diffaugment_translation_moves_a_pixel_by_at_most_an_eighth():
    aug = augment.DiffAugment("translation")
    x = np.repeat(one_pixel(size=16, row=8, col=8), 32, axis=0)
    out = numpy(aug.augment(x, keras.random.SeedGenerator(1)))
    moved = set()
    for b in range(32):
        (row, col) = np.argwhere(out[b, :, :, 0])[0]
        assert abs(row - 8) <= 2 and abs(col - 8) <= 2
        assert out[b].sum() == pytest.approx(0.75)
        moved.add((row, col))
    assert len(moved) > 5  # shifts vary per example


def test_diffaugment_is_seeded_and_the_identity_outside_training():
    aug = augment.DiffAugment()
    x = images()
    a = numpy(aug.augment(x, keras.random.SeedGenerator(7)))
    b = numpy(aug.augment(x, keras.random.SeedGenerator(7)))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - x).max() > 0.1
    np.testing.assert_array_equal(numpy(aug.augment(x, None, training=False)), x)


def test_augmenting_without_a_seed_generator_is_refused():
    with pytest.raises(TypeError, match="SeedGenerator.*Received: seed_generator=None"):
        augment.DiffAugment()(images())


@pytest.mark.backend_independent
def test_unknown_policy_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="'color', 'translation', 'cutout'.*'colour'"):
        augment.DiffAugment("colour")
    with pytest.raises(ValueError, match="Unknown ADA transforms \\['shear'\\]"):
        augment.AdaptiveAugment(transforms=("xflip", "shear"))
    with pytest.raises(ValueError, match="Unknown augmentation 'mixup'.*'ada', 'diffaugment'"):
        augment.get("mixup")
    with pytest.raises(ValueError, match=r"\[0, 0.5\).*translation_ratio=0.6"):
        augment.AdaptiveAugment(translation_ratio=0.6)
    with pytest.raises(ValueError, match=r"target.*\[0, 1\].*target=1.5"):
        augment.AdaptiveAugment(target=1.5)
    assert augment.get("none") is None
    assert isinstance(augment.get("ada", target=0.7), augment.AdaptiveAugment)


@pytest.mark.parametrize(
    "aug",
    [augment.DiffAugment(), augment.AdaptiveAugment(initial_p=1.0)],
    ids=["diffaugment", "ada"],
)
def test_gradients_flow_through_the_augmentation_and_are_finite(aug):
    x = keras.ops.convert_to_tensor(images(batch=3, size=8))
    weights = keras.ops.convert_to_tensor(images(batch=3, size=8, seed=1))
    seeds = keras.random.SeedGenerator(0)
    params = aug.sample_parameters(x, seeds)
    _, grad = gan_backend.value_and_input_gradient(
        lambda v: keras.ops.sum(aug.apply(v, params) * weights, axis=(1, 2, 3)), x
    )
    grad = numpy(grad)
    assert grad.shape == (3, 8, 8, 3)
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0


# ----------------------------------------------------------------------
# ADA: p gates the transforms
# ----------------------------------------------------------------------
def test_ada_with_p_zero_is_the_identity():
    aug = augment.AdaptiveAugment(initial_p=0.0)
    x = images(batch=8)
    np.testing.assert_array_equal(numpy(aug.augment(x, keras.random.SeedGenerator(0))), x)


def test_ada_with_p_one_augments_every_example():
    x = images(batch=8)
    flipped = numpy(
        augment.AdaptiveAugment(initial_p=1.0, transforms=("xflip",)).augment(
            x, keras.random.SeedGenerator(0)
        )
    )
    np.testing.assert_array_equal(flipped, x[:, :, ::-1])
    turned = numpy(
        augment.AdaptiveAugment(initial_p=1.0, transforms=("rotate90",)).augment(
            x, keras.random.SeedGenerator(0)
        )
    )
    for b in range(8):
        assert any(np.array_equal(turned[b], np.rot90(x[b], k)) for k in (1, 2, 3)), b
    out = numpy(augment.AdaptiveAugment(initial_p=1.0).augment(x, keras.random.SeedGenerator(0)))
    assert (np.abs(out - x).reshape(8, -1).max(axis=1) > 1e-3).all()


def test_ada_applies_each_transform_to_about_a_share_p_of_examples():
    aug = augment.AdaptiveAugment(initial_p=0.3, transforms=("xflip",))
    x = images(batch=400, size=4, channels=1)
    out = numpy(aug.augment(x, keras.random.SeedGenerator(0)))
    flipped = np.mean([not np.array_equal(out[b], x[b]) for b in range(400)])
    assert 0.22 < flipped < 0.38


# ----------------------------------------------------------------------
# ADA: the controller
# ----------------------------------------------------------------------
def logits(positive, total=10):
    return np.array([1.0] * positive + [-1.0] * (total - positive), "float32")[:, None]


def test_controller_raises_p_when_d_overfits_and_lowers_it_when_not():
    aug = augment.AdaptiveAugment(target=0.6, initial_p=0.5, interval=1, speed_images=100)
    aug.update(logits(9))  # r_t = 0.8 > 0.6: D is overconfident on reals
    assert float(numpy(aug.p)) == pytest.approx(0.6)
    assert float(numpy(aug.rt)) == pytest.approx(0.8)
    aug.update(logits(7))  # r_t = 0.4 < 0.6
    assert float(numpy(aug.p)) == pytest.approx(0.5)


def test_controller_adjusts_every_interval_from_the_interval_mean():
    aug = augment.AdaptiveAugment(target=0.6, initial_p=0.0, interval=4, speed_images=1000)
    for _ in range(3):
        aug.update(logits(10))
        assert float(numpy(aug.p)) == 0.0
    aug.update(logits(0))  # interval mean: (30 - 10) / 40 = 0.5 < 0.6
    assert float(numpy(aug.rt)) == pytest.approx(0.5)
    assert float(numpy(aug.p)) == 0.0  # lowered, clipped at 0
    for _ in range(4):
        aug.update(logits(10))
    assert float(numpy(aug.p)) == pytest.approx(40 / 1000)


def test_controller_moves_p_from_zero_to_one_in_speed_images():
    aug = augment.AdaptiveAugment(initial_p=0.0, interval=4, speed_images=400)
    for step in range(40):
        aug.update(logits(10))  # 10 images a step
        if step == 38:
            assert float(numpy(aug.p)) < 1.0
    assert float(numpy(aug.p)) == pytest.approx(1.0)
    for _ in range(8):
        aug.update(logits(10))
    assert float(numpy(aug.p)) == 1.0  # clipped


def test_fixed_p_without_target():
    aug = augment.AdaptiveAugment(target=None, initial_p=0.25, interval=1)
    aug.update(logits(10))
    assert float(numpy(aug.p)) == 0.25


# ----------------------------------------------------------------------
# Inside a compiled step, and saved with the model
# ----------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="gankeras_tests")
class AugmentedCritic(keras.Model):
    """A critic that augments its input and feeds ADA its real logits, the
    way the GAN's D step will: inside `train_step` (jit on JAX)."""

    def __init__(self, augmentation, **kwargs):
        super().__init__(**kwargs)
        self.augmentation = augmentation
        self.seeds = keras.random.SeedGenerator(0)
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(1, kernel_initializer="ones")

    def call(self, x, training=False):
        x = self.augmentation.augment(x, self.seeds, training=training)
        out = self.dense(self.flatten(x))
        if training:
            self.augmentation.update(out)
        return out

    def get_config(self):
        return {
            **super().get_config(),
            "augmentation": keras.saving.serialize_keras_object(self.augmentation),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["augmentation"] = keras.saving.deserialize_keras_object(config["augmentation"])
        return cls(**config)


def test_ada_adapts_inside_a_compiled_train_step_and_p_is_saved(tmp_path):
    aug = augment.AdaptiveAugment(
        target=0.6,
        initial_p=0.0,
        interval=1,
        speed_images=64,
        transforms=("xflip", "translation", "brightness"),
    )
    model = AugmentedCritic(aug)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    x = np.abs(images(batch=32, size=4, channels=1)) + 0.5  # positive logits: r_t = 1
    model.fit(x, np.zeros((32, 1), "float32"), batch_size=8, epochs=1, verbose=0)
    p = float(numpy(aug.p))
    assert p == pytest.approx(4 * 8 / 64)  # four steps of 8 images, +1/8 each
    path = tmp_path / "critic.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.augmentation, augment.AdaptiveAugment)
    assert loaded.augmentation.get_config() == aug.get_config()
    for name in ("p", "rt", "sign_sum", "image_count", "step_count"):
        assert float(numpy(getattr(loaded.augmentation, name))) == pytest.approx(
            float(numpy(getattr(aug, name)))
        ), name


def test_diffaugment_trains_inside_a_compiled_step_and_round_trips(tmp_path):
    model = AugmentedCritic(augment.DiffAugment("color,translation,cutout", cutout_ratio=0.25))
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
    history = model.fit(
        images(batch=16, size=8), np.zeros((16, 1), "float32"), batch_size=8, epochs=1, verbose=0
    )
    assert np.isfinite(history.history["loss"][-1])
    path = tmp_path / "critic.keras"
    model.save(path)
    config = keras.saving.load_model(path).augmentation.get_config()
    assert config["policy"] == "color,translation,cutout" and config["cutout_ratio"] == 0.25


def test_ada_works_under_mixed_precision_with_a_float32_p():
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        aug = augment.AdaptiveAugment(initial_p=1.0, speed_images=500_000, interval=1)
        out = aug.augment(images(batch=2), keras.random.SeedGenerator(0))
        aug.update(logits(10))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert tuple(out.shape) == (2, 8, 8, 3)
    assert aug.p.dtype == "float32"
    aug.p.assign(0.5)
    aug.update(logits(10))  # +1/50000: lost in bfloat16, kept in float32
    assert float(numpy(aug.p)) == pytest.approx(0.5 + 10 / 500_000, abs=1e-7)
