"""The standard protocol: FD, KID and Inception score in InceptionV3 features.

Heusel et al. 2017 (FID) and Salimans et al. 2016 (Inception score) use an
ImageNet InceptionV3 (Szegedy et al. 2016): FID in its 2048-d pool features,
IS from its class logits. Here the network is `keras.applications.InceptionV3`
(`weights=None`, then `load_weights(path)`): Keras's ImageNet weights, not
the 2015 TF graph (1008 classes) of the original FID code, so numbers are
comparable between gankeras runs but only close to, not equal to,
published FIDs.

Input protocol: images `[N, H, W, C]` in [-1, 1] (C = 1 is repeated to 3
channels) are resized to 299x299 with bilinear interpolation (half-pixel
centres, no antialiasing: `keras.ops.image.resize`); [-1, 1] is already the
range `keras.applications.inception_v3.preprocess_input` maps pixels to, so
no further scaling.

Weights: a path to a Keras weights file of InceptionV3, with the classifier
top (`include_top=True`: pool features and IS) or without (`include_top=False`:
pool features only, no IS; told apart by the 2048x1000 kernel of the top);
or `"imagenet"`, which lets Keras download them
(this needs the network; offline it fails with an error saying so).
"""

import hashlib
import os
import warnings

import keras
import numpy as np
from keras import ops

from gankeras.evaluation import checks

NAME = "inception_v3"
SIZE = 299
POOL = "avg_pool"
FEATURE_DIM = 2048


def _file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _has_top(path):
    """Whether a weights file holds the classifier top: a 2048 x 1000 dense
    kernel (Keras 3 `.weights.h5` and legacy `.h5` files alike)."""
    import h5py

    found = []
    try:
        with h5py.File(path, "r") as f:
            f.visititems(
                lambda name, item: found.append(getattr(item, "shape", None) == (FEATURE_DIM, 1000))
            )
    except OSError as error:
        raise ValueError(
            f"--inception_weights {path!r} is not an HDF5 weights file ({error}); expected "
            "InceptionV3 weights saved by Keras (model.save_weights or Keras's ImageNet .h5)."
        ) from error
    return any(found)


def _network(include_top, weights=None):
    """InceptionV3 (logits, no softmax, when `include_top`; else avg-pooled)."""
    return keras.applications.InceptionV3(
        weights=weights,
        include_top=include_top,
        pooling=None if include_top else "avg",
        classifier_activation=None,
    )


def _wrap(net, include_top):
    """299x299x3 -> `[pool [n, 2048], logits [n, 1000]]` or `[pool]`."""
    if include_top:
        return keras.Model(net.inputs, [net.get_layer(POOL).output, net.outputs[0]], name=NAME)
    return keras.Model(net.inputs, [net.outputs[0]], name=NAME)


class InceptionExtractor:
    """InceptionV3 pool features (and logits, with the top) of any images.

    Args:
        model: a model from `InceptionExtractor.from_weights`'s builder:
            299x299x3 in [-1, 1] -> `[pool [n, 2048]]` or `[pool, logits]`.
        fingerprint: identifies the weights (sha256 of the file), or None.
        batch_size: images per forward pass (299x299 costs ~6 GFLOP each).
    """

    name = NAME
    resize = {"size": [SIZE, SIZE], "interpolation": "bilinear", "antialias": False}
    image_shape = None  # any size; resized

    def __init__(self, model, fingerprint=None, batch_size=32):
        self.model = model
        self.fingerprint = fingerprint
        self.batch_size = int(batch_size)

    @property
    def has_logits(self):
        return len(self.model.outputs) == 2

    @property
    def feature_dim(self):
        return FEATURE_DIM

    @classmethod
    def from_weights(cls, weights, batch_size=32):
        """Builds InceptionV3 with `weights`: a weights-file path or "imagenet".

        Raises:
            ValueError: if the file is missing, is not InceptionV3 weights
                (with or without the top), or "imagenet" cannot be
                downloaded (offline).
        """
        if weights == "imagenet":
            try:
                model = _wrap(_network(True, weights="imagenet"), True)
            except Exception as error:  # urllib / OSError / HTTP errors alike
                raise ValueError(
                    "Could not download the InceptionV3 ImageNet weights (no "
                    f"network?): {error}. Download them elsewhere and pass "
                    "--inception_weights=PATH to the file."
                ) from error
            return cls(model, fingerprint="keras-imagenet", batch_size=batch_size)
        if not os.path.isfile(weights):
            raise ValueError(
                f"--inception_weights {weights!r} is not a file; expected a Keras "
                "weights file of InceptionV3 (e.g. saved by model.save_weights, "
                "or Keras's inception_v3_weights_tf_dim_ordering_tf_kernels*.h5)."
            )
        include_top = _has_top(weights)
        net = _network(include_top)
        # Keras warns about every mismatched layer before it raises: keep
        # the warnings of a successful load only.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                net.load_weights(weights)
                failure = None
            except Exception as error:  # h5py / Keras raise various types
                failure = error
        if failure is not None:
            raise ValueError(
                f"--inception_weights {weights!r} does not hold InceptionV3 weights "
                f"(keras.applications.InceptionV3, include_top={include_top}): "
                f"{str(failure)[:300]}"
            ) from failure
        for warning in caught:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
        return cls(
            _wrap(net, include_top), fingerprint=_file_digest(weights), batch_size=batch_size
        )

    def preprocess(self, images):
        """float `[n, H, W, C]` in [-1, 1], C in {1, 3} -> `[n, 299, 299, 3]`."""
        x = ops.convert_to_tensor(images, "float32")
        if x.shape[-1] == 1:
            x = ops.repeat(x, 3, axis=-1)
        return ops.image.resize(x, (SIZE, SIZE), interpolation="bilinear", antialias=False)

    def features_and_logits(self, images):
        """`(pool features float32 [n, 2048], logits [n, 1000] or None)`.

        Raises:
            ValueError: on a rank other than 4, C not in {1, 3}, NaN/Inf or
                values far outside [-1, 1].
        """
        images = checks.check_images(images, "images")
        if images.shape[-1] not in (1, 3):
            raise ValueError(
                f"InceptionV3 takes grey (C=1) or RGB (C=3) images. Received "
                f"{images.shape[-1]} channels."
            )
        features, logits = [], []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            count = len(batch)
            # Every batch padded to batch_size: one compiled shape.
            if count < self.batch_size:
                batch = np.concatenate(
                    [batch, np.repeat(batch[-1:], self.batch_size - count, axis=0)]
                )
            outputs = self.model.predict_on_batch(ops.convert_to_numpy(self.preprocess(batch)))
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            features.append(np.asarray(outputs[0], np.float32)[:count])
            if self.has_logits:
                logits.append(np.asarray(outputs[1], np.float32)[:count])
        features = np.concatenate(features)
        return features, (np.concatenate(logits) if self.has_logits else None)

    def features(self, images):
        return self.features_and_logits(images)[0]
