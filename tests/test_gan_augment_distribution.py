"""A GAN step with augmentation under `tf.distribute.MirroredStrategy`
(2 logical CPUs): DiffAugment and ADA with two critic steps and the WGAN-GP
penalty; the replicated run equals the single-device run (weights, logs and
ADA's p, updated once per D step on the all-gathered real logits).

Logical devices must be split before TensorFlow initialises them, so the
runs are this file as a script in a subprocess; it prints JSON.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

GLOBAL_BATCH = 8
STEPS = 2
TOLERANCE = 2e-5


@pytest.mark.backend_independent  # TensorFlow's strategies
def test_mirrored_augmented_step_equals_single_device():
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    for case in ("diffaugment", "ada"):
        run = report[case]
        assert run["replicas"] == 2, run
        assert run["weights"] < TOLERANCE and run["logs"] < TOLERANCE, run
        assert run["largest_update"] > 1e-3, run  # training happened
    ada = report["ada"]
    assert ada["p_single"] == pytest.approx(ada["p_mirrored"], abs=1e-7)
    # interval 1, two D steps per batch: 4 updates of 8 / 80 from 0.5.
    assert ada["p_single"] != 0.5
    assert ada["p_single"] in [pytest.approx(0.5 + k * 0.1, abs=1e-6) for k in range(-4, 5)]


def _build(case):
    import keras
    from keras import layers

    import gankeras

    z = keras.Input((4,))
    h = layers.Dense(8, activation="relu")(z)
    generator = keras.Model(z, layers.Reshape((4, 4, 1))(layers.Dense(16, activation="tanh")(h)))
    x = keras.Input((4, 4, 1))
    h = layers.Dense(8, activation="relu")(layers.Flatten()(x))
    discriminator = keras.Model(x, layers.Dense(1)(h))
    if case == "ada":
        aug = gankeras.augment.AdaptiveAugment(initial_p=0.5, interval=1, speed_images=80)
    else:
        aug = gankeras.augment.DiffAugment()
    gan = gankeras.GAN(generator, discriminator, augment=aug)
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
        g_optimizer=keras.optimizers.SGD(0.1),
        loss="wasserstein",
        gradient_penalty=1.0,
        d_steps=2,
    )
    return gan


def _compare(case):
    import keras

    from gankeras.distribute import num_replicas, strategy_scope

    x = np.random.RandomState(0).uniform(-1, 1, (GLOBAL_BATCH * STEPS, 4, 4, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    single = _build(case)
    initial = single.get_weights()
    with strategy_scope("mirrored") as strategy:
        replicated = _build(case)
        replicated.set_weights(initial)
        mirrored_logs = replicated.fit(x, batch_size=GLOBAL_BATCH, shuffle=False, verbose=0).history
    single_logs = single.fit(x, batch_size=GLOBAL_BATCH, shuffle=False, verbose=0).history
    difference = lambda a, b: max(  # noqa: E731
        float(np.max(np.abs(np.asarray(u, "float64") - np.asarray(v, "float64")), initial=0.0))
        for u, v in zip(a, b, strict=True)
    )
    run = {
        "replicas": num_replicas(strategy),
        "weights": difference(single.get_weights(), replicated.get_weights()),
        "largest_update": difference(initial, single.get_weights()),
        "logs": max(abs(single_logs[k][-1] - mirrored_logs[k][-1]) for k in single_logs),
    }
    if case == "ada":
        run["p_single"] = float(keras.ops.convert_to_numpy(single.augment.p.value))
        run["p_mirrored"] = float(keras.ops.convert_to_numpy(replicated.augment.p.value))
    return run


if __name__ == "__main__":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    print(json.dumps({case: _compare(case) for case in ("diffaugment", "ada")}))
