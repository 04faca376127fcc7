"""Augmentation under `tf.distribute.MirroredStrategy`: a replicated step
augments a global batch exactly as one device does, and ADA's controller
ends with the same p.

Logical devices must be split before TensorFlow initialises them, so the
replicated run is this file run as a script in a subprocess on 2 logical CPU
devices; it prints the largest differences as JSON.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

GLOBAL_BATCH = 8


@pytest.mark.backend_independent  # TensorFlow's strategies; JAX's DataParallel sees one replica
def test_mirrored_augmentation_equals_single_device():
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    for case in ("diffaugment", "ada"):
        assert report[case]["max_image_difference"] < 1e-5, report
        assert report[case]["replicas_differ"], report  # not one augmentation repeated
    assert report["ada"]["p_single"] == pytest.approx(report["ada"]["p_mirrored"])
    assert report["ada"]["p_single"] > 0


def _run():
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from gankeras import augment
    from gankeras import backend as gan_backend

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (GLOBAL_BATCH, 8, 8, 3)).astype("float32")
    logits = np.where(np.arange(GLOBAL_BATCH) < 7, 1.0, -1.0).astype("float32")[:, None]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    report = {"replicas": strategy.num_replicas_in_sync}

    def make(case):
        if case == "ada":
            return augment.AdaptiveAugment(initial_p=0.5, interval=1, speed_images=80)
        return augment.DiffAugment()

    for case in ("diffaugment", "ada"):
        aug, seeds = make(case), keras.random.SeedGenerator(0)
        single = aug.augment(images, seeds).numpy()
        aug.update(logits)
        with strategy.scope():
            mirrored_aug, mirrored_seeds = make(case), keras.random.SeedGenerator(0)
        dataset = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices((images, logits)).batch(GLOBAL_BATCH)
        )

        @tf.function
        def step(x, y, aug=mirrored_aug, seeds=mirrored_seeds):
            out = aug.augment(x, seeds)
            aug.update(gan_backend.all_gather(y))
            return out

        out = strategy.run(step, args=next(iter(dataset)))
        mirrored = np.concatenate([t.numpy() for t in strategy.experimental_local_results(out)])
        half = GLOBAL_BATCH // 2
        report[case] = {
            "max_image_difference": float(np.abs(mirrored - single).max()),
            "replicas_differ": bool(np.abs(mirrored[:half] - mirrored[half:]).max() > 1e-3),
        }
        if case == "ada":
            report[case]["p_single"] = float(aug.p.numpy())
            report[case]["p_mirrored"] = float(mirrored_aug.p.numpy())
    print(json.dumps(report))


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    _run()
