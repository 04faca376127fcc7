"""The domain classifier whose features and logits the metrics live in.

Inception-v3 weights (the usual FID/IS feature extractor) cannot be
downloaded offline and do not fit 28x28 grey images anyway, so, like TF-GAN's
MNIST evaluation (`tensorflow_gan/examples/mnist/util.py`), gankeras trains
a small CNN on the dataset's train split and uses its penultimate
activations (`features`, for FD, KID, precision/recall) and logits (for the
classifier score and class coverage). Scores are comparable only between
runs that use the same classifier: the cache key is a hash of the training
data and the set-up, and the test accuracy is reported next to the scores.

Training is seeded (`keras.utils.set_random_seed` plus a numpy shuffle) and
runs once; later calls load `<cache_dir>/domain_classifier-<key>.keras`.
"""

import hashlib
import json
import os

import keras
import numpy as np

from gankeras.evaluation import checks

FEATURES = "features"
LOGITS = "logits"


def build_domain_classifier(image_shape, num_classes, feature_dim=128, seed=0):
    """A small CNN `[batch, H, W, C]` in [-1, 1] -> `[features, logits]`.

    Two stride-2 convolutions (32 and 64 filters), a dense layer of
    `feature_dim` ReLU units (the features) and a linear layer of
    `num_classes` logits.

    Returns:
        A functional `keras.Model` with outputs `[features [batch,
        feature_dim], logits [batch, num_classes]]`.
    """
    init = lambda i: keras.initializers.HeNormal(seed=seed + i)  # noqa: E731
    images = keras.Input(tuple(image_shape), name="images")
    x = keras.layers.Conv2D(
        32, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(0)
    )(images)
    x = keras.layers.Conv2D(
        64, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(1)
    )(x)
    x = keras.layers.Flatten()(x)
    features = keras.layers.Dense(
        feature_dim, activation="relu", kernel_initializer=init(2), name=FEATURES
    )(x)
    logits = keras.layers.Dense(num_classes, kernel_initializer=init(3), name=LOGITS)(features)
    return keras.Model(images, [features, logits], name="domain_classifier")


class DomainClassifier:
    """A trained classifier and its test accuracy.

    Args:
        model: a model from `build_domain_classifier` (outputs
            `[features, logits]`).
        test_accuracy: accuracy on the dataset's test split, in [0, 1].
        fingerprint: the cache key (training data + set-up), or None.
    """

    name = "domain_classifier"
    resize = None  # runs at the data's own size

    def __init__(self, model, test_accuracy=None, fingerprint=None):
        self.model = model
        self.test_accuracy = None if test_accuracy is None else float(test_accuracy)
        self.fingerprint = fingerprint

    @property
    def feature_dim(self):
        return int(self.model.outputs[0].shape[-1])

    def features(self, images, batch_size=500):
        """float32 `[n, feature_dim]`: the penultimate activations."""
        return self.features_and_logits(images, batch_size)[0]

    @property
    def image_shape(self):
        return tuple(self.model.inputs[0].shape[1:])

    @property
    def num_classes(self):
        return int(self.model.outputs[1].shape[-1])

    def features_and_logits(self, images, batch_size=500):
        """Runs the classifier on images.

        Args:
            images: float `[n, H, W, C]` in [-1, 1], the classifier's shape.
            batch_size: images per forward pass.

        Returns:
            `(features [n, feature_dim], logits [n, num_classes])`, float32
            numpy arrays.

        Raises:
            ValueError: on a shape/channel mismatch, NaN/Inf or values far
                outside [-1, 1].
        """
        images = checks.check_images(images, "images", reference_shape=self.image_shape)
        features, logits = self.model.predict(images, batch_size=batch_size, verbose=0)
        return np.asarray(features, np.float32), np.asarray(logits, np.float32)

    def accuracy(self, images, labels, batch_size=500):
        """Share of `images` whose predicted class equals `labels` `[n]`."""
        _, logits = self.features_and_logits(images, batch_size)
        return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels).reshape(-1)))


def train_domain_classifier(
    train_images,
    train_labels,
    test_images,
    test_labels,
    num_classes=None,
    epochs=3,
    batch_size=128,
    feature_dim=128,
    seed=0,
):
    """Trains a `DomainClassifier` (seeded) and measures its test accuracy.

    Args:
        train_images: float `[n, H, W, C]` in [-1, 1].
        train_labels: int `[n]` class ids.
        test_images, test_labels: the held-out split for the accuracy.
        num_classes: defaults to `max(train_labels) + 1`.
        epochs, batch_size, feature_dim, seed: training set-up.

    Returns:
        A `DomainClassifier`.
    """
    train_images = checks.check_images(train_images, "train_images", min_count=2)
    train_labels = _check_labels(train_labels, len(train_images), "train_labels")
    test_images = checks.check_images(
        test_images, "test_images", reference_shape=train_images.shape[1:]
    )
    test_labels = _check_labels(test_labels, len(test_images), "test_labels")
    if num_classes is None:
        num_classes = int(train_labels.max()) + 1
    keras.utils.set_random_seed(seed)
    model = build_domain_classifier(train_images.shape[1:], num_classes, feature_dim, seed)
    # Train on the logits only; the features are an intermediate output.
    trainer = keras.Model(model.inputs, model.outputs[1])
    trainer.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    for _ in range(int(epochs)):
        order = rng.permutation(len(train_images))
        trainer.fit(
            train_images[order],
            train_labels[order],
            batch_size=batch_size,
            epochs=1,
            shuffle=False,
            verbose=0,
        )
    classifier = DomainClassifier(model)
    classifier.test_accuracy = classifier.accuracy(test_images, test_labels)
    return classifier


def load_or_train_domain_classifier(
    cache_dir,
    train_images,
    train_labels,
    test_images,
    test_labels,
    **training_kwargs,
):
    """Loads the cached classifier for this data and set-up, or trains it.

    The cache key hashes the train images and labels and the training
    arguments, so a different dataset or set-up never reuses a stale model.

    Args:
        cache_dir: directory for `domain_classifier-<key>.keras` and its
            `.json` (test accuracy, set-up); created if missing.
        train_images, train_labels, test_images, test_labels,
        **training_kwargs: as in `train_domain_classifier`.

    Returns:
        A `DomainClassifier` with its `test_accuracy`.
    """
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(train_images, np.float32).tobytes())
    digest.update(np.ascontiguousarray(train_labels, np.int64).tobytes())
    digest.update(json.dumps(training_kwargs, sort_keys=True).encode())
    key = digest.hexdigest()[:16]
    model_path = os.path.join(cache_dir, f"domain_classifier-{key}.keras")
    info_path = os.path.join(cache_dir, f"domain_classifier-{key}.json")
    if os.path.exists(model_path) and os.path.exists(info_path):
        with open(info_path) as f:
            info = json.load(f)
        model = keras.saving.load_model(model_path, compile=False)
        return DomainClassifier(model, info["test_accuracy"], fingerprint=key)
    classifier = train_domain_classifier(
        train_images, train_labels, test_images, test_labels, **training_kwargs
    )
    classifier.fingerprint = key
    os.makedirs(cache_dir, exist_ok=True)
    # Write then rename, so an interrupted run never leaves a partial cache.
    # A failed write (a full disk) removes its temporary file.
    temp = f"{model_path}.tmp-{os.getpid()}.keras"
    try:
        classifier.model.save(temp)
        os.replace(temp, model_path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
    with open(info_path, "w") as f:
        json.dump(
            {"test_accuracy": classifier.test_accuracy, "training": training_kwargs},
            f,
            indent=2,
        )
    return classifier


def _check_labels(labels, count, name):
    labels = np.asarray(labels).reshape(-1)
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"`{name}` must be {count} integer class ids (one per image). "
            f"Received shape {labels.shape}, dtype {labels.dtype}."
        )
    if labels.min() < 0:
        raise ValueError(f"`{name}` holds negative class ids ({labels.min()}).")
    return labels.astype(np.int32)
