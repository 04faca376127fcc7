"""DiffAugment: the same differentiable augmentation for real and fake images.

Zhao, Liu, Lin, Zhu & Han 2020, "Differentiable Augmentation for
Data-Efficient GAN Training" (NeurIPS, arXiv:2006.10738). Every D input,
real or fake, in D's and in G's update, goes through the same random
transforms; because they are differentiable, G's gradient passes through
them. The policy of the paper (and its reference `DiffAugment_pytorch.py`):

- "color": brightness `x + (u - 0.5)`, saturation
  `(x - mean_c) * 2u + mean_c`, contrast `(x - mean) * (u + 0.5) + mean`,
  `u ~ U(0, 1)` per example, in that order;
- "translation": integer shifts in `[-r H, r H]` (r = 1/8, rounded), zero
  padding;
- "cutout": one square of half the image side (rounded), centre uniform
  over the image, set to 0.
"""

import keras
from keras import ops

from gankeras.augment import transforms
from gankeras.augment.base import Augmentation

POLICIES = ("color", "translation", "cutout")


@keras.saving.register_keras_serializable(package="gankeras")
class DiffAugment(Augmentation):
    """DiffAugment (Zhao et al. 2020) as a Keras layer without weights.

    Args:
        policy: comma-separated subset of "color", "translation",
            "cutout", applied in that order ("" is the identity).
        translation_ratio: largest shift as a fraction of each side (1/8).
        cutout_ratio: cutout side as a fraction of each side (1/2).

    Call args:
        images: `[batch, H, W, C]` float in [-1, 1].
        seed_generator: a `keras.random.SeedGenerator` (e.g.
            `gan.seed_generator`); required when training.
        training: the identity when false.

    Returns:
        `[batch, H, W, C]`, differentiable with respect to `images`.

    Example:
    ```python
    augment = gankeras.augment.DiffAugment("color,translation,cutout")
    seeds = keras.random.SeedGenerator(0)
    d_real = discriminator(augment(real, seed_generator=seeds))
    d_fake = discriminator(augment(fake, seed_generator=seeds))
    ```
    """

    def __init__(
        self, policy="color,translation,cutout", translation_ratio=0.125, cutout_ratio=0.5, **kwargs
    ):
        super().__init__(**kwargs)
        self.policy = _parse_policy(policy)
        for name, ratio in (
            ("translation_ratio", translation_ratio),
            ("cutout_ratio", cutout_ratio),
        ):
            if not 0.0 <= float(ratio) <= 1.0:
                raise ValueError(f"`{name}` must be in [0, 1]. Received: {name}={ratio!r}")
        self.translation_ratio = float(translation_ratio)
        self.cutout_ratio = float(cutout_ratio)

    def sample_parameters(self, images, seed_generator):
        batch = ops.shape(images)[0]
        height, width = int(images.shape[1]), int(images.shape[2])
        params = {}

        def uniform():
            return self.random(keras.random.uniform, batch, seed_generator)

        def randint(low, high):
            return self.random(keras.random.randint, batch, seed_generator, minval=low, maxval=high)

        if "color" in self.policy:
            params["brightness"] = uniform() - 0.5
            params["saturation"] = uniform() * 2.0
            params["contrast"] = uniform() + 0.5
        if "translation" in self.policy:
            shift_y, shift_x = (
                _round(height * self.translation_ratio),
                _round(width * self.translation_ratio),
            )
            params["shift_y"] = randint(-shift_y, shift_y + 1)
            params["shift_x"] = randint(-shift_x, shift_x + 1)
        if "cutout" in self.policy:
            size_y, size_x = self._cutout_size(height, width)
            # The reference code's range: centres 0..H - 1, plus H for even sizes.
            params["center_y"] = randint(0, height + (1 - size_y % 2))
            params["center_x"] = randint(0, width + (1 - size_x % 2))
        return params

    def apply(self, images, parameters):
        x = images
        if "color" in self.policy:
            x = transforms.brightness(x, parameters["brightness"])
            x = transforms.saturation(x, parameters["saturation"])
            x = transforms.contrast(x, parameters["contrast"])
        if "translation" in self.policy:
            x = transforms.translate(x, parameters["shift_y"], parameters["shift_x"], "zeros")
        if "cutout" in self.policy:
            size_y, size_x = self._cutout_size(int(x.shape[1]), int(x.shape[2]))
            x = transforms.cutout(x, parameters["center_y"], parameters["center_x"], size_y, size_x)
        return x

    def _cutout_size(self, height, width):
        return _round(height * self.cutout_ratio), _round(width * self.cutout_ratio)

    def get_config(self):
        config = super().get_config()
        config.update(
            policy=",".join(self.policy),
            translation_ratio=self.translation_ratio,
            cutout_ratio=self.cutout_ratio,
        )
        return config


def _round(value):
    """`int(value + 0.5)`, the reference code's rounding of sizes."""
    return int(value + 0.5)


def _parse_policy(policy):
    if isinstance(policy, str):
        names = [p.strip() for p in policy.split(",") if p.strip()]
    else:
        names = list(policy)
    unknown = [n for n in names if n not in POLICIES]
    if unknown or len(set(names)) != len(names):
        raise ValueError(
            f"`policy` must be a comma-separated subset of {list(POLICIES)} without "
            f"repeats, e.g. 'color,translation,cutout'. Received: policy={policy!r}"
        )
    return tuple(n for n in POLICIES if n in names)
