"""A label-free feature extractor: a small SimCLR encoder trained on the data.

Chen et al. 2020, "A Simple Framework for Contrastive Learning of Visual
Representations" (SimCLR): two random augmentations of each image go
through an encoder f and a projection head g; the NT-Xent loss makes the two
views of an image the nearest pair among the 2B views of a batch. No labels
are involved, so this works for a folder of the user's own pictures. The
metrics (FD, KID, precision/recall, density/coverage) live in the encoder's
representation h = f(x) (global-average-pooled convolutional features, as
in the paper, not the projection g(h)).

The augmentations are random crops (zoom in to 70-100%), translations,
horizontal flips, brightness and contrast jitter, and for RGB saturation
jitter and random grayscale (the paper's "crop + colour" pair). Blur and
noise are deliberately NOT among them: the encoder would learn to ignore
exactly the defects (blurry or noisy samples) the metrics must see.

Why trust these features (`bench/label_free_ladder.py`, JAX, default set-up,
10,000 Fashion-MNIST training images, 2,000 images per rung; FD / density /
coverage): held-out real 0.017 / 1.02 / 0.83, training copies 0.020 / 0.98 /
0.81 (memorization ratio 0.00: flagged), mode-dropped (5 of 10 classes) 1.91
/ 1.00 / 0.56, blurred (sigma 1 px) 2.12 / 0.08 / 0.04, collapsed 11.6 /
1.45 / 0.002, uniform noise 44.9 / 0.0002 / 0.0002. The same untrained
network orders noise (1.46) below collapse (1.68) and gives blurred images a
real-like density (0.98): the training is what makes the features useful.

Training is seeded and runs once per dataset: `load_or_train_contrastive_encoder`
caches `<cache_dir>/contrastive_encoder-<key>.keras`, the key hashing the
training images, the training set-up and this module's source code, so a
changed dataset, set-up or encoder code never reuses a stale encoder; the
key is the extractor's fingerprint recorded in metrics.json.
"""

import hashlib
import json
import os

import keras
import numpy as np
from keras import ops

from gankeras.evaluation import checks

NAME = "simclr_encoder"
FEATURES = "features"
# The image sizes the encoder is built for: stride-2 blocks until the
# spatial size is at most 4 (28, 32 -> 3 blocks; 64 -> 4; 128 -> 5).
MIN_SIDE = 8
DEFAULTS = dict(steps=300, batch_size=256, width=32, temperature=0.2, learning_rate=2e-3, seed=0)


@keras.saving.register_keras_serializable(package="gankeras")
class ContrastiveAugmentation(keras.layers.Layer):
    """SimCLR's random views of `[batch, H, W, C]` images in [-1, 1].

    Per image: a random crop (zoom to `min_scale`..1 of the side) at a
    random offset (up to `max_translation` of the side), a horizontal flip
    with probability 1/2 (when `flip`), brightness +-`brightness` and
    contrast x(1 +- `contrast`); for C = 3 also saturation x(1 +-
    `saturation`) and grayscale with probability `grayscale`. Outputs are
    clipped to [-1, 1]. The identity when not training.

    Args:
        min_scale: smallest crop side, as a share of the image side.
        max_translation: largest shift of the crop centre, share of the side.
        flip: random horizontal flips (off for data where left/right
            matters, e.g. text).
        brightness, contrast, saturation: jitter amplitudes.
        grayscale: probability of converting an RGB view to gray.
        seed: seed of the layer's `SeedGenerator`.
    """

    def __init__(
        self,
        min_scale=0.7,
        max_translation=0.15,
        flip=True,
        brightness=0.3,
        contrast=0.4,
        saturation=0.6,
        grayscale=0.2,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.min_scale = float(min_scale)
        self.max_translation = float(max_translation)
        self.flip = bool(flip)
        self.brightness = float(brightness)
        self.contrast = float(contrast)
        self.saturation = float(saturation)
        self.grayscale = float(grayscale)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, batch, low, high, width=1):
        return keras.random.uniform(
            (batch, width), minval=low, maxval=high, seed=self.seed_generator
        )

    def call(self, images, training=None):
        if not training:
            return images
        shape = ops.shape(images)
        batch, height, width, channels = shape[0], images.shape[1], images.shape[2], images.shape[3]
        # Crop + translate + flip as one affine map from output to input
        # pixel coordinates: x_in = s * f * (x - cx) + cx + tx.
        scale = self._uniform(batch, self.min_scale, 1.0)
        sign = ops.ones_like(scale)
        if self.flip:
            sign = ops.where(self._uniform(batch, 0.0, 1.0) < 0.5, -1.0, 1.0)
        tx = self._uniform(batch, -self.max_translation, self.max_translation) * width
        ty = self._uniform(batch, -self.max_translation, self.max_translation) * height
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        zeros = ops.zeros_like(scale)
        transform = ops.concatenate(
            [
                scale * sign,
                zeros,
                cx - scale * sign * cx + tx,
                zeros,
                scale,
                cy - scale * cy + ty,
                zeros,
                zeros,
            ],
            axis=1,
        )
        x = ops.image.affine_transform(
            images, transform, interpolation="bilinear", fill_mode="reflect"
        )
        # Colour: brightness and contrast around each view's mean.
        mean = ops.mean(x, axis=(1, 2, 3), keepdims=True)
        contrast = ops.reshape(
            self._uniform(batch, 1 - self.contrast, 1 + self.contrast), (-1, 1, 1, 1)
        )
        bright = ops.reshape(self._uniform(batch, -self.brightness, self.brightness), (-1, 1, 1, 1))
        x = (x - mean) * contrast + mean + bright
        if channels == 3:
            gray = ops.mean(x, axis=-1, keepdims=True)
            saturation = self._uniform(batch, 1 - self.saturation, 1 + self.saturation)
            to_gray = ops.cast(self._uniform(batch, 0.0, 1.0) < self.grayscale, x.dtype)
            saturation = saturation * (1.0 - to_gray)
            x = gray + (x - gray) * ops.reshape(saturation, (-1, 1, 1, 1))
        return ops.clip(x, -1.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            min_scale=self.min_scale,
            max_translation=self.max_translation,
            flip=self.flip,
            brightness=self.brightness,
            contrast=self.contrast,
            saturation=self.saturation,
            grayscale=self.grayscale,
            seed=self.seed,
        )
        return config


def nt_xent_loss(projections_a, projections_b, temperature=0.2):
    """SimCLR's NT-Xent loss (Chen et al. 2020, eq. 1), per positive pair.

    Args:
        projections_a, projections_b: float `[B, p]`, the projections of two
            views of the same B images (row i of each is a positive pair).
        temperature: tau of the softmax over cosine similarities.

    Returns:
        float `[B]`: for each image, the mean over its two views of
        -log softmax(sim / tau) at the other view, the other 2B - 2 views of
        the batch being the negatives. log(2B - 1) for random projections.
    """
    z = ops.concatenate([projections_a, projections_b], axis=0)
    z = z / ops.sqrt(ops.sum(ops.square(z), axis=1, keepdims=True) + 1e-12)
    count = ops.shape(z)[0]
    half = count // 2
    similarity = ops.matmul(z, ops.transpose(z)) / temperature
    # A view is not its own negative.
    similarity = similarity - 1e9 * ops.eye(count, dtype=similarity.dtype)
    positives = ops.concatenate([ops.arange(half) + half, ops.arange(half)], axis=0)
    log_prob = ops.log_softmax(similarity, axis=1)
    picked = ops.take_along_axis(log_prob, ops.expand_dims(positives, 1), axis=1)[:, 0]
    return -0.5 * (picked[:half] + picked[half:])


def build_contrastive_encoder(image_shape, width=32, seed=0):
    """The encoder f: `[batch, H, W, C]` in [-1, 1] -> features `[batch, 4 width]`.

    Stride-2 3x3 convolutions with batch normalization and ReLU (width,
    2 width, then 4 width filters) until the spatial size is at most 4,
    then global average pooling: the representation h of SimCLR.

    Args:
        image_shape: `(H, W, C)`, H and W at least 8, C in {1, 3}.
        width: filters of the first block.
        seed: seed of the initializers.

    Raises:
        ValueError: for other shapes.
    """
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 3 or min(image_shape[:2]) < MIN_SIDE or image_shape[2] not in (1, 3):
        raise ValueError(
            "The contrastive encoder takes images [H, W, C] with H, W >= "
            f"{MIN_SIDE} and C in (1, 3). Received image shape {image_shape}."
        )
    images = keras.Input(image_shape, name="images")
    x, side, block = images, min(image_shape[:2]), 0
    while side > 4:
        filters = width * 2 ** min(block, 2)
        x = keras.layers.Conv2D(
            filters,
            3,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=keras.initializers.HeNormal(seed=seed + block),
        )(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        side, block = (side + 1) // 2, block + 1
    features = keras.layers.GlobalAveragePooling2D(name=FEATURES)(x)
    return keras.Model(images, features, name=NAME)


class ContrastiveEncoder:
    """A trained SimCLR encoder used as the metrics' feature extractor.

    Args:
        model: a model from `build_contrastive_encoder`.
        fingerprint: the cache key (data + set-up + code), or None.
        config: the training set-up (recorded in the protocol).
    """

    name = NAME
    resize = None  # the encoder runs at the data's own size

    def __init__(self, model, fingerprint=None, config=None, loss_history=None):
        self.model = model
        self.fingerprint = fingerprint
        self.config = dict(config or {})
        # NT-Xent loss (mean) over each tenth of training; [] when loaded.
        self.loss_history = list(loss_history or [])

    @property
    def image_shape(self):
        return tuple(self.model.inputs[0].shape[1:])

    @property
    def feature_dim(self):
        return int(self.model.outputs[0].shape[-1])

    def features(self, images, batch_size=500):
        """float32 `[n, feature_dim]` of float `[n, H, W, C]` images in [-1, 1]."""
        images = checks.check_images(images, "images", reference_shape=self.image_shape)
        return np.asarray(self.model.predict(images, batch_size=batch_size, verbose=0), np.float32)


def train_contrastive_encoder(
    images, steps=300, batch_size=256, width=32, temperature=0.2, learning_rate=2e-3, seed=0
):
    """Trains a SimCLR encoder on unlabelled images (seeded).

    Args:
        images: float `[n, H, W, C]` in [-1, 1], n >= 2 (the real training
            images; never labels).
        steps: optimizer steps (each on `batch_size` images, two views).
        batch_size: images per step (capped at n); 2 batch_size - 2
            negatives per view.
        width: encoder width (`build_contrastive_encoder`).
        temperature: NT-Xent temperature.
        learning_rate: Adam learning rate.
        seed: seeds weights, augmentations and the batch order.

    Returns:
        A `ContrastiveEncoder` (fingerprint None; see
        `load_or_train_contrastive_encoder`) whose `loss_history` holds the
        mean loss of each tenth of the steps.
    """
    images = checks.check_images(images, "images", min_count=2)
    keras.utils.set_random_seed(seed)
    encoder = build_contrastive_encoder(images.shape[1:], width=width, seed=seed)
    augment = ContrastiveAugmentation(seed=seed)
    head = [
        keras.layers.Dense(
            4 * width,
            activation="relu",
            kernel_initializer=keras.initializers.HeNormal(seed=seed + 100),
        ),
        keras.layers.Dense(
            width * 2, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 101)
        ),
    ]
    inputs = keras.Input(images.shape[1:])
    projections = []
    for _ in range(2):
        z = encoder(augment(inputs))
        for layer in head:
            z = layer(z)
        projections.append(z)
    trainer = keras.Model(inputs, keras.layers.Concatenate()(projections))
    dim = 2 * width

    def loss(y_true, y_pred):
        del y_true
        return nt_xent_loss(y_pred[:, :dim], y_pred[:, dim:], temperature)

    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    batch_size = int(min(batch_size, len(images)))
    per_epoch = len(images) // batch_size
    rng = np.random.default_rng(seed)
    order = np.concatenate(
        [
            rng.permutation(len(images))[: per_epoch * batch_size]
            for _ in range(-(-steps // per_epoch))
        ]
    )[: steps * batch_size]
    # Ten fits of a tenth of the steps each: the loss curve, 10 points.
    losses = []
    for chunk in np.array_split(np.arange(steps), min(10, steps)):
        rows = order[chunk[0] * batch_size : (chunk[-1] + 1) * batch_size]
        history = trainer.fit(
            images[rows],
            np.zeros((len(rows), 1), np.float32),
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
        losses.append(float(history.history["loss"][-1]))
    config = dict(
        steps=steps,
        batch_size=batch_size,
        width=width,
        temperature=temperature,
        learning_rate=learning_rate,
        seed=seed,
    )
    result = ContrastiveEncoder(encoder, config=config)
    result.loss_history = losses
    return result


def code_fingerprint():
    """sha256 of this module's source: a change to the encoder, its
    augmentations or its training invalidates cached encoders."""
    with open(__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def encoder_fingerprint(images, config, code=None):
    """The cache key: 16 hex digits of sha256(images, shape, set-up, code)."""
    images = np.ascontiguousarray(images, np.float32)
    digest = hashlib.sha256()
    digest.update(json.dumps(list(images.shape)).encode())
    digest.update(images.tobytes())
    digest.update(json.dumps(config, sort_keys=True).encode())
    digest.update((code or code_fingerprint()).encode())
    return digest.hexdigest()[:16]


def load_or_train_contrastive_encoder(cache_dir, images, **training_kwargs):
    """Loads the cached encoder for these images and set-up, or trains it.

    Args:
        cache_dir: directory for `contrastive_encoder-<key>.keras` and its
            `.json` (set-up, image count); created if missing.
        images: float `[n, H, W, C]` in [-1, 1], the real training images.
        **training_kwargs: as in `train_contrastive_encoder` (defaults in
            `DEFAULTS`).

    Returns:
        A `ContrastiveEncoder` whose `fingerprint` is the cache key.
    """
    images = checks.check_images(images, "images", min_count=2)
    config = dict(DEFAULTS, **training_kwargs)
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(
            f"Unknown contrastive encoder settings {unknown}; expected some of {sorted(DEFAULTS)}."
        )
    key = encoder_fingerprint(images, config)
    model_path = os.path.join(cache_dir, f"contrastive_encoder-{key}.keras")
    info_path = os.path.join(cache_dir, f"contrastive_encoder-{key}.json")
    if os.path.exists(model_path) and os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        model = keras.saving.load_model(model_path, compile=False)
        return ContrastiveEncoder(model, key, config, info.get("loss_history"))
    encoder = train_contrastive_encoder(images, **config)
    encoder.fingerprint = key
    os.makedirs(cache_dir, exist_ok=True)
    # Write then rename, so an interrupted run never leaves a partial cache.
    encoder.model.save(model_path + ".tmp.keras")
    os.replace(model_path + ".tmp.keras", model_path)
    with open(info_path, "w") as f:
        json.dump(
            {
                "training": config,
                "num_images": int(len(images)),
                "image_shape": list(images.shape[1:]),
                "loss_history": encoder.loss_history,
            },
            f,
            indent=2,
        )
    return encoder
