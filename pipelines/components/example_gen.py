"""ExampleGen: reads the training images once into an `examples` artifact.

Output `examples/`: `images.npy` uint8 `[N, H, W, C]`, `labels.npy` int32
`[N]` (when the source has labels), the held-out split `test_images.npy` /
`test_labels.npy` (the source's test split; without one, the last 10% of
the training images, which are then not trained on) and `stats.json`
(counts, shape, classes, source). Later components read these arrays, so the source (TFDS or IDX
files) is read only when its parameters change.
"""

import json
import os

import numpy as np

from pipelines.framework import Component, PipelineError


def make_example_gen(dataset="mnist", idx_dir=None, tfds_data_dir=None, num_examples=None):
    """The ExampleGen component.

    Args:
        dataset: TFDS image dataset name (used when `idx_dir` is None).
        idx_dir: folder of MNIST-format IDX files (offline source).
        tfds_data_dir: TFDS `data_dir` (None: ~/tensorflow_datasets).
        num_examples: keep only the first N training images (None: all).
    """
    parameters = dict(
        dataset=dataset,
        idx_dir=None if idx_dir is None else os.path.abspath(idx_dir),
        tfds_data_dir=tfds_data_dir,
        num_examples=num_examples,
    )
    if idx_dir is not None:
        parameters["idx_files"] = _file_fingerprints(parameters["idx_dir"])
    return Component(
        name="ExampleGen",
        executor=run_example_gen,
        outputs=("examples",),
        parameters=parameters,
    )


def run_example_gen(inputs, outputs, parameters):
    (images, labels), test, source = _load(parameters)
    if test is None:  # no test split: hold out the last 10%
        cut = len(images) - max(4, len(images) // 10)
        test = (images[cut:], None if labels is None else labels[cut:])
        images, labels = images[:cut], None if labels is None else labels[:cut]
    if parameters["num_examples"] is not None:
        images = images[: parameters["num_examples"]]
        labels = None if labels is None else labels[: parameters["num_examples"]]
    out = outputs["examples"]
    np.save(out.path("images.npy"), images)
    np.save(out.path("test_images.npy"), test[0])
    if labels is not None:
        np.save(out.path("labels.npy"), labels.astype(np.int32))
    if test[1] is not None:
        np.save(out.path("test_labels.npy"), test[1].astype(np.int32))
    stats = dict(
        source=source,
        count=int(images.shape[0]),
        test_count=int(test[0].shape[0]),
        image_shape=list(images.shape[1:]),
        num_classes=None if labels is None else int(labels.max()) + 1,
    )
    with open(out.path("stats.json"), "w") as f:
        json.dump(stats, f, indent=2)
    print(f"  {stats['count']} images {tuple(stats['image_shape'])} from {source}")
    return stats


def load_examples(artifact, split="train"):
    """`(images uint8 [N,H,W,C], labels int32 [N] or None, stats dict)` of
    the "train" or "test" split."""
    prefix = "" if split == "train" else "test_"
    images = np.load(artifact.path(f"{prefix}images.npy"))
    labels_path = artifact.path(f"{prefix}labels.npy")
    labels = np.load(labels_path) if os.path.exists(labels_path) else None
    with open(artifact.path("stats.json")) as f:
        stats = json.load(f)
    return images, labels, stats


def training_examples(artifact, with_labels):
    """The training split as a dataset of single examples.

    The Trainer's only way into the examples (it batches them with
    `gankeras.data.pipeline.finish`), so the storage behind an `examples`
    artifact can change without touching the Trainer.

    Args:
        artifact: an ExampleGen `examples` artifact.
        with_labels: yield `(image, label)` pairs instead of images.

    Returns:
        `(dataset, count)`: a `tf.data.Dataset` of uint8 images `[H, W, C]`
        (or `(image, label int32 [])` pairs) in the stored order, and its
        number of examples.

    Raises:
        PipelineError: labels asked for, but the artifact has none.
    """
    import tensorflow as tf

    images, labels, _ = load_examples(artifact)
    if not with_labels:
        return tf.data.Dataset.from_tensor_slices(images), int(images.shape[0])
    if labels is None:
        raise PipelineError(
            "A conditional GAN needs labelled examples; the dataset has none. "
            "Use a labelled source or drop --conditional."
        )
    dataset = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    return dataset, int(images.shape[0])


def _load(parameters):
    from gankeras import data

    """`((images, labels), (test_images, test_labels) or None, source)`."""
    try:
        if parameters["idx_dir"] is not None:
            directory = parameters["idx_dir"]
            train = data.load_idx(directory, "train", with_labels=True)
            try:
                test = data.load_idx(directory, "test", with_labels=True)
            except FileNotFoundError:
                test = None
            return train, test, f"IDX files in {directory}"
        name, data_dir = parameters["dataset"], parameters["tfds_data_dir"]
        train = data.load_tfds(name, "train", data_dir=data_dir)
        test = data.load_tfds(name, "test", data_dir=data_dir)
        return train, test, f"TFDS {name}"
    except (OSError, ValueError) as error:
        raise PipelineError(
            f"ExampleGen could not read the dataset: {error}\n"
            "Expected a readable TFDS image dataset (--dataset, needs the "
            "network the first time) or a folder of MNIST-format IDX files "
            "(--idx_dir, e.g. /usr/share/datasets/fashion-mnist)."
        ) from error


def _file_fingerprints(directory):
    """Names, sizes and modification times of the files in `directory`:
    part of the cache key, so replaced data files invalidate the cache."""
    if not os.path.isdir(directory):
        return None  # the executor reports the missing folder
    found = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            stat = os.stat(path)
            found[name] = [stat.st_size, stat.st_mtime_ns]
    return found
