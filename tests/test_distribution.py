"""Data-parallel training: a replicated GAN step equals a single-device step.

Devices must be split before TensorFlow or JAX initialise them, so the
training runs in a subprocess: this file, run as a script, on 2 logical CPU
devices (TensorFlow: `tf.config.set_logical_device_configuration`; JAX:
`XLA_FLAGS=--xla_force_host_platform_device_count=2`). For each scenario it
trains one GAN on one device and one under `strategy_scope("mirrored")`
(MirroredStrategy / DataParallel over both devices) from the same initial
weights, for two steps on the same global batches of 8 (4 per replica), and
prints the largest differences of every model and optimizer variable and of
the logged metrics as JSON. The tests assert on those differences.

Why the comparison can be exact: a GAN step is random (latents, gradient
penalty mixing, label flips, replay draws). `GAN._random` draws every
per-example random tensor for the *global* batch from the shared seed on
every replica and keeps the replica's rows, so a replicated step draws exactly
what a single-device step on the global batch draws (JAX's DataParallel does
the same by tracing global arrays). What remains is float summation order.

SGD (plain or with momentum) makes the check sensitive to the loss scale:
gradients summed over replicas without dividing by the replica count would
double every update (Adam's first step would hide that).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

BACKEND = keras.backend.backend()

# name -> (GAN options, compile options); see `_build` for what they mean.
SCENARIOS = {
    "plain": ({}, {}),
    # A WGAN-GP critic: two critic updates per generator update, each with
    # the penalty's input gradients taken per replica.
    "d_steps_gradient_penalty": (
        {},
        {"loss": "wasserstein", "gradient_penalty": 10.0, "d_steps": 2},
    ),
    # Conditional, so the replay pool's labels travel with its images.
    "replay_and_ema": (
        {"replay": True, "ema": True, "conditional": True},
        {"label_flip": 0.25, "instance_noise": 0.1, "real_label_range": (0.8, 1.0)},
    ),
}
TOLERANCE = 2e-5
GLOBAL_BATCH = 8
STEPS = 2  # the second step reads the replay pool the first one filled


# ----------------------------------------------------------------------
# The tests (parent process)
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def replicated_runs():
    if BACKEND == "torch":
        pytest.skip("Keras's torch backend has no data-parallel fit")
    env = dict(os.environ, KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="3")
    env["XLA_FLAGS"] = env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    env["CUDA_VISIBLE_DEVICES"] = ""
    result = subprocess.run(
        [sys.executable, __file__],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_replicated_step_matches_single_device_step(replicated_runs, scenario):
    run = replicated_runs[scenario]
    assert run["num_replicas"] == 2
    assert run["weight_copies"] == 2  # the weights live on both devices
    # The weights actually moved, so equal weights mean equal updates.
    assert run["largest_update"] > 1e-3
    assert run["weights"] < TOLERANCE, run["worst_weight"]
    assert run["optimizer_variables"] < TOLERANCE


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_replicated_metrics_are_global_batch_means(replicated_runs, scenario):
    assert replicated_runs[scenario]["logs"] < TOLERANCE


def test_replicated_replay_pool_and_ema_match_single_device(replicated_runs):
    run = replicated_runs["replay_and_ema"]
    assert run["replay_count"] == GLOBAL_BATCH * STEPS  # every fake written once
    assert run["replay_pool"] < TOLERANCE
    assert run["ema"] < TOLERANCE


def test_mirrored_copies_stay_identical(replicated_runs):
    if BACKEND != "tensorflow":
        pytest.skip("per-replica variable copies exist under tf.distribute only")
    for run in replicated_runs.values():
        assert run["mirrored_copies"] == 0.0


def test_mirrored_strategy_on_torch_says_what_to_use_instead():
    if BACKEND != "torch":
        pytest.skip("the torch backend's refusal")
    from gankeras.distribute import get_strategy

    with pytest.raises(ValueError, match="KERAS_BACKEND=tensorflow"):
        get_strategy("mirrored")


def test_default_strategy_is_one_replica():
    from gankeras.distribute import num_replicas, strategy_scope

    with strategy_scope("default") as strategy:
        assert num_replicas(strategy) == 1


@pytest.mark.backend_independent
def test_unknown_strategy_names_the_choices():
    from gankeras.distribute import get_strategy

    with pytest.raises(ValueError, match="'mirrored', 'multi_worker', 'tpu'"):
        get_strategy("horovod")


# ----------------------------------------------------------------------
# The worker (this file run as a script, devices split before import)
# ----------------------------------------------------------------------
def _split_devices():
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )


def _build(replay=False, ema=False, conditional=False, **compile_options):
    """A tiny GAN on 4x4x1 images: G and D each one hidden Dense layer of 8;
    with `conditional`, both take labels of 3 classes (embedded)."""
    from keras import layers

    import gankeras

    z = keras.Input((4,))
    images = keras.Input((4, 4, 1))
    labels = keras.Input((), dtype="int32")
    inputs = [z, labels] if conditional else z
    h = z
    if conditional:
        h = layers.Concatenate()([z, layers.Embedding(3, 2)(labels)])
    h = layers.Dense(8, activation="relu")(h)
    fake = layers.Reshape((4, 4, 1))(layers.Dense(16, activation="tanh")(h))
    generator = keras.Model(inputs, fake)
    h = layers.Dense(8, activation="relu")(layers.Flatten()(images))
    if conditional:
        h = layers.Concatenate()([h, layers.Embedding(3, 2)(labels)])
    discriminator = keras.Model([images, labels] if conditional else images, layers.Dense(1)(h))
    replay_buffer = gankeras.ReplayBuffer(capacity=12, fraction=0.5) if replay else None
    gan = gankeras.GAN(
        generator,
        discriminator,
        num_classes=3 if conditional else None,
        replay_buffer=replay_buffer,
    )
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
        g_optimizer=keras.optimizers.SGD(
            0.1, use_ema=ema, ema_momentum=0.5, ema_overwrite_frequency=None
        ),
        **compile_options,
    )
    return gan


def _train(gan, x, y):
    history = gan.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    return {name: values[-1] for name, values in history.history.items()}


def _largest_difference(arrays_a, arrays_b):
    """Largest absolute elementwise difference over two lists of arrays."""
    largest = 0.0
    for a, b in zip(arrays_a, arrays_b, strict=True):
        a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
        largest = max(largest, float(np.max(np.abs(a - b), initial=0.0)))
    return largest


def _numpy(variable):
    return np.asarray(keras.ops.convert_to_numpy(variable.value))


def _mirrored_spread(gan):
    """Largest difference between the replicas' copies of any variable."""
    spread = 0.0
    for variable in gan.variables + gan.optimizer.variables:
        copies = gan.distribute_strategy.experimental_local_results(variable.value)
        for copy in copies[1:]:
            spread = max(spread, _largest_difference([copies[0]], [copy]))
    return spread


def _compare(options):
    from gankeras.distribute import num_replicas, strategy_scope

    gan_options, compile_options = options
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (GLOBAL_BATCH * STEPS, 4, 4, 1)).astype("float32")
    y = rng.randint(0, 3, (GLOBAL_BATCH * STEPS,)).astype("int32")
    y = y if gan_options.get("conditional") else None

    keras.utils.set_random_seed(0)
    single = _build(**gan_options, **compile_options)
    initial = single.get_weights()
    initial_trainable = [_numpy(v) for v in single.trainable_weights]
    with strategy_scope("mirrored") as strategy:
        replicated = _build(**gan_options, **compile_options)
        replicated.set_weights(initial)
        replicated_logs = _train(replicated, x, y)
    single_logs = _train(single, x, y)

    names = [v.path for v in single.weights]
    diffs = [
        _largest_difference([a], [b])
        for a, b in zip(single.get_weights(), replicated.get_weights())
    ]
    run = {
        "num_replicas": num_replicas(strategy),
        "weights": max(diffs),
        "worst_weight": names[int(np.argmax(diffs))],
        "largest_update": _largest_difference(
            initial_trainable, [_numpy(v) for v in single.trainable_weights]
        ),
        "optimizer_variables": _largest_difference(
            [_numpy(v) for v in single.optimizer.variables],
            [_numpy(v) for v in replicated.optimizer.variables],
        ),
        "logs": max(abs(single_logs[k] - replicated_logs[k]) for k in single_logs),
    }
    if single.replay_buffer is not None:
        pools = [
            [_numpy(v) for v in (pool.count, pool.images, pool.labels)]
            for pool in (single.replay_buffer, replicated.replay_buffer)
        ]
        run["replay_pool"] = _largest_difference(*pools)
        run["replay_count"] = int(pools[1][0])
    if single.has_ema:
        with single.ema_weights(), replicated.ema_weights():
            run["ema"] = _largest_difference(
                single.generator.get_weights(), replicated.generator.get_weights()
            )
    kernel = replicated.generator.trainable_weights[0].value
    if os.environ["KERAS_BACKEND"] == "tensorflow":
        run["mirrored_copies"] = _mirrored_spread(replicated)
        run["weight_copies"] = len(strategy.experimental_local_results(kernel))
    else:  # JAX: one array laid out over the DataParallel mesh.
        run["weight_copies"] = len(kernel.sharding.device_set)
    return run


if __name__ == "__main__":
    _split_devices()
    results = {name: _compare(options) for name, options in SCENARIOS.items()}
    print(json.dumps(results))
