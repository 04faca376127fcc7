"""ADA: adaptive discriminator augmentation.

Karras, Aittala, Hellsten, Laine, Lehtinen & Aila 2020, "Training Generative
Adversarial Networks with Limited Data" (NeurIPS, arXiv:2006.06676). Each
transform of a fixed pipeline is applied to each example independently with
probability p; p is adjusted from the overfitting heuristic

    r_t = E[sign(D(x_real))]

(D's logits on the augmented real images): every `interval` D steps, p
moves by `sign(r_t - target) * (images seen in the interval) / speed_images`
and is clipped to [0, 1]. With the paper's `speed_images = 500_000`, p can
go from 0 to 1 in 500k real images; target 0.6, interval 4.

The pipeline here is the practical subset of the paper's "bgc" pipeline
that keeps the image grid (integer pixel moves, no resampling filters):

- "xflip": mirror left-right;
- "rotate90": 1, 2 or 3 quarter turns (square images);
- "translation": integer shift of up to `translation_ratio` of each side,
  reflect padding (the paper's "xint");
- "brightness": `x + b`, `b ~ N(0, brightness_std)`;
- "contrast": `x * c`, `log2 c ~ N(0, contrast_std)` (scaling about the grey
  0 of [-1, 1] images);
- "saturation": `mean_c + s (x - mean_c)`, `log2 s ~ N(0, saturation_std)`;
- "cutout": a square of `cutout_ratio` of the side set to 0 (the paper's
  "c" of "bgcfnc").

Difference from the paper: a selected "xflip" always flips and a selected
"rotate90" always turns (the paper draws the identity among its choices with
probability 1/2 and 1/4), so p = 1 always augments. Left out: arbitrary
rotations, isotropic/anisotropic scaling, fractional translation, luma
flip, hue rotation, image-space filtering and additive noise.
"""

import keras
from keras import ops

from gankeras.augment import transforms
from gankeras.augment.base import Augmentation

TRANSFORMS = ("xflip", "rotate90", "translation", "brightness", "contrast", "saturation", "cutout")


@keras.saving.register_keras_serializable(package="gankeras")
class AdaptiveAugment(Augmentation):
    """ADA (Karras et al. 2020): per-example augmentation with an adapted p.

    Args:
        target: the r_t the controller steers to (0.6 in the paper); None
            keeps p fixed at `initial_p` (the paper's fixed-p baseline).
        initial_p: p before training, in [0, 1].
        speed_images: real images over which p can change by 1 (500_000).
        interval: D steps between adjustments (4).
        transforms: which of `TRANSFORMS` to apply, in that fixed order.
        translation_ratio: largest shift, fraction of the side (1/8).
        cutout_ratio: cutout side, fraction of the side (1/2).
        brightness_std, contrast_std, saturation_std: the paper's 0.2, 0.5,
            1 (the last two in log2 units).

    Call args:
        images: `[batch, H, W, C]` float in [-1, 1].
        seed_generator: a `keras.random.SeedGenerator`; required when training.
        training: the identity when false.

    Returns:
        `[batch, H, W, C]`, differentiable with respect to `images`.

    State (non-trainable variables, saved with the model that tracks the
    layer): `p`, `rt` (the last r_t), and the running sign sum / image /
    step counts of the current interval.
    """

    def __init__(
        self,
        target=0.6,
        initial_p=0.0,
        speed_images=500_000,
        interval=4,
        transforms=TRANSFORMS,
        translation_ratio=0.125,
        cutout_ratio=0.5,
        brightness_std=0.2,
        contrast_std=0.5,
        saturation_std=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if target is not None and not 0.0 <= float(target) <= 1.0:
            raise ValueError(f"`target` must be in [0, 1] or None. Received: target={target!r}")
        if not 0.0 <= float(initial_p) <= 1.0:
            raise ValueError(f"`initial_p` must be in [0, 1]. Received: initial_p={initial_p!r}")
        if float(speed_images) <= 0 or int(interval) < 1:
            raise ValueError(
                "`speed_images` must be positive and `interval` at least 1. "
                f"Received: speed_images={speed_images!r}, interval={interval!r}"
            )
        if not 0.0 <= float(translation_ratio) < 0.5 or not 0.0 <= float(cutout_ratio) <= 1.0:
            raise ValueError(
                "`translation_ratio` must be in [0, 0.5) (reflect padding) and "
                f"`cutout_ratio` in [0, 1]. Received: translation_ratio={translation_ratio!r}, "
                f"cutout_ratio={cutout_ratio!r}"
            )
        names = [transforms] if isinstance(transforms, str) else list(transforms)
        unknown = [t for t in names if t not in TRANSFORMS]
        if unknown:
            raise ValueError(
                f"Unknown ADA transforms {unknown}. Expected a subset of {list(TRANSFORMS)}."
            )
        self.target = None if target is None else float(target)
        self.initial_p = float(initial_p)
        self.speed_images = float(speed_images)
        self.interval = int(interval)
        self.transforms = tuple(t for t in TRANSFORMS if t in names)
        self.translation_ratio = float(translation_ratio)
        self.cutout_ratio = float(cutout_ratio)
        self.brightness_std = float(brightness_std)
        self.contrast_std = float(contrast_std)
        self.saturation_std = float(saturation_std)

        def state(name, value):
            return self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(value),
                dtype="float32",
                trainable=False,
                aggregation="mean",
                name=name,
                autocast=False,  # float32 under mixed precision: p moves in 1/500k steps
            )

        self.p = state("p", self.initial_p)
        self.rt = state("rt", 0.0)
        self.sign_sum = state("sign_sum", 0.0)
        self.image_count = state("image_count", 0.0)
        self.step_count = state("step_count", 0.0)
        self.built = True

    # ------------------------------------------------------------------
    # Augmentation
    # ------------------------------------------------------------------
    def sample_parameters(self, images, seed_generator):
        batch = ops.shape(images)[0]
        height, width = int(images.shape[1]), int(images.shape[2])
        p = ops.convert_to_tensor(self.p)
        params = {}

        def uniform(low=0.0, high=1.0):
            return self.random(keras.random.uniform, batch, seed_generator, minval=low, maxval=high)

        def randint(low, high):
            return self.random(keras.random.randint, batch, seed_generator, minval=low, maxval=high)

        def normal(std):
            return self.random(keras.random.normal, batch, seed_generator, stddev=std)

        for name in self.transforms:
            chosen = uniform() < p
            params[f"{name}_applied"] = chosen
            if name == "rotate90":
                turns = randint(1, 4)
                params["turns"] = ops.where(chosen, turns, 0)
            elif name == "translation":
                for axis, side in (("y", height), ("x", width)):
                    u = uniform(-1.0, 1.0)
                    shift = ops.cast(ops.round(u * self.translation_ratio * side), "int32")
                    params[f"shift_{axis}"] = ops.where(chosen, shift, 0)
            elif name == "brightness":
                params["brightness"] = ops.where(chosen, normal(self.brightness_std), 0.0)
            elif name == "contrast":
                params["contrast"] = ops.where(chosen, 2.0 ** normal(self.contrast_std), 1.0)
            elif name == "saturation":
                params["saturation"] = ops.where(chosen, 2.0 ** normal(self.saturation_std), 1.0)
            elif name == "cutout":
                params["center_y"] = randint(0, height)
                params["center_x"] = randint(0, width)
        return params

    def apply(self, images, parameters):
        x = images
        for name in self.transforms:
            if name == "xflip":
                out = transforms.flip_left_right(x, parameters["xflip_applied"])
            elif name == "rotate90":
                out = transforms.rotate90(x, parameters["turns"])
            elif name == "translation":
                out = transforms.translate(
                    x, parameters["shift_y"], parameters["shift_x"], "reflect"
                )
            elif name == "brightness":
                out = transforms.brightness(x, parameters["brightness"])
            elif name == "contrast":
                out = transforms.contrast(x, parameters["contrast"], center="zero")
            elif name == "saturation":
                out = transforms.saturation(x, parameters["saturation"])
            else:  # cutout
                size_y = int(x.shape[1] * self.cutout_ratio + 0.5)
                size_x = int(x.shape[2] * self.cutout_ratio + 0.5)
                out = transforms.cutout(
                    x, parameters["center_y"], parameters["center_x"], size_y, size_x
                )
            # Unselected examples pass through bit for bit (p = 0 is the identity).
            applied = ops.reshape(parameters[f"{name}_applied"], (-1, 1, 1, 1))
            x = ops.where(applied, out, x)
        return x

    # ------------------------------------------------------------------
    # Controller
    # ------------------------------------------------------------------
    def update(self, real_logits):
        """Accumulates sign(D(x_real)) and, every `interval` calls, adjusts p.

        Call it once per discriminator step, inside the compiled step, with
        D's logits `[batch, 1]` on the *augmented* real batch (under a
        `tf.distribute` strategy: `gankeras.backend.all_gather(real_logits)`,
        so every replica computes the same p). It only assigns this layer's
        non-trainable variables (`.assign`), which Keras's JAX trainer (and
        gankeras's) collects from the stateless step as it does batch-norm
        statistics. Do not call it inside a function differentiated by
        `gankeras.backend.value_and_input_gradient` (whose assignments are
        dropped on JAX). A no-op when `target` is None.

        Args:
            real_logits: `[batch, ...]` logits of D on augmented real images.
        """
        if self.target is None:
            return
        logits = ops.cast(ops.stop_gradient(ops.convert_to_tensor(real_logits)), "float32")
        logits = ops.reshape(logits, (ops.shape(logits)[0], -1))
        p, last_rt = ops.convert_to_tensor(self.p), ops.convert_to_tensor(self.rt)
        sign_sum = ops.convert_to_tensor(self.sign_sum) + ops.sum(ops.sign(logits[:, 0]))
        image_count = ops.convert_to_tensor(self.image_count) + ops.cast(
            ops.shape(logits)[0], "float32"
        )
        step_count = ops.convert_to_tensor(self.step_count) + 1.0
        due = step_count >= float(self.interval)
        rt = sign_sum / ops.maximum(image_count, 1.0)
        adjust = ops.sign(rt - self.target) * image_count / self.speed_images
        zero = ops.zeros_like(p)
        self.p.assign(ops.where(due, ops.clip(p + adjust, 0.0, 1.0), p))
        self.rt.assign(ops.where(due, rt, last_rt))
        self.sign_sum.assign(ops.where(due, zero, sign_sum))
        self.image_count.assign(ops.where(due, zero, image_count))
        self.step_count.assign(ops.where(due, zero, step_count))

    def get_config(self):
        config = super().get_config()
        config.update(
            target=self.target,
            initial_p=self.initial_p,
            speed_images=self.speed_images,
            interval=self.interval,
            transforms=list(self.transforms),
            translation_ratio=self.translation_ratio,
            cutout_ratio=self.cutout_ratio,
            brightness_std=self.brightness_std,
            contrast_std=self.contrast_std,
            saturation_std=self.saturation_std,
        )
        return config
