"""One worker of a multi-process cluster training a GAN for two steps.

Run by `tests/test_distribution_multiworker.py` as
`python -m tests.multiworker_step FOLDER`, once per worker, with the cluster
in the environment (`tests.multiworker_cluster`): TensorFlow joins it through
`strategy_scope("multi_worker")` (MultiWorkerMirroredStrategy from
`TF_CONFIG`), JAX through the same call (`keras.distribution.initialize`,
then `DataParallel` over every process's CPU device). Each process has one
CPU device, so two processes are two replicas.

For each augmentation case (`CASES`: ADA, DiffAugment), every worker builds
the GAN of `tests.test_distribution._build` (with that augmentation) from
seed 0 once alone and once under the multi-worker strategy with the first's initial
weights (the same everywhere), and fits the second on a `tf.data` pipeline of global batches, which the engine shards
per worker (rows `[4 i, 4 i + 4)` of each batch of 8 on worker i). It saves
its state to `FOLDER/worker<i>-<case>.npz`: every weight (ADA's p too),
both optimizers' variables (slots, iterations, EMA), the replay pool, the
EMA generator weights, the logged metrics, and the latents and augmentation
parameters (`draw/<name>`) its replica's step would draw next. Worker 0 also
saves the initial state (`initial-<case>.npz`), fits the lone GAN on the
whole global batches and saves its state as `FOLDER/single-<case>.npz`, the
reference the test compares
every worker with (worker 1 does not repeat it: the cluster's time is the
slower worker's).
"""

import json
import os
import sys
import time

SCENARIO = (
    # A conditional WGAN-GP critic with two critic steps per generator step,
    # a replay pool (labels travel with the images), EMA of G and instance
    # noise: every per-example random draw and every piece of state the
    # step owns.
    {"replay": True, "ema": True, "conditional": True},
    {"loss": "wasserstein", "gradient_penalty": 10.0, "d_steps": 2, "instance_noise": 0.1},
)
# The scenario run once per augmentation of D's inputs (gankeras.augment), in
# the same cluster: "ada" (p = 0.5 from the start, adjusted after every
# critic step from the all-gathered real logits, so p moves in two steps;
# five of its transforms)
# and "diffaugment" (color, translation, cutout).
CASES = ("ada", "diffaugment")
GLOBAL_BATCH = 8
STEPS = 2  # the second step reads the replay pool the first one filled
LATENT_DIM = 4  # tests.test_distribution._build's generator input


def main(folder):
    started = time.monotonic()
    # Join the cluster before anything runs: both engines refuse afterwards.
    from gankeras.distribute import num_replicas, strategy_scope
    from gankeras.models import phases

    with strategy_scope("multi_worker") as strategy:
        pass
    _phase("joined the cluster", started)
    import keras
    import numpy as np
    import tensorflow as tf

    keras.config.disable_traceback_filtering()
    backend = keras.backend.backend()
    worker, num_workers = _worker(strategy)
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (GLOBAL_BATCH * STEPS, 4, 4, 1)).astype("float32")
    y = rng.randint(0, 3, (GLOBAL_BATCH * STEPS,)).astype("int32")

    if backend == "tensorflow":
        # A dataset read from a file (as the pipeline's TFRecord shards):
        # TensorFlow's AUTO policy would shard it by file.
        rows = _rows_from_a_file(strategy, x, os.path.join(folder, f"worker{worker}.tfrecord"))
        np.save(os.path.join(folder, f"file-rows{worker}.npy"), rows)
    weight_paths = {}
    for case in CASES:
        keras.utils.set_random_seed(0)
        single = _build(case)
        initial = single.get_weights()
        with strategy_scope("multi_worker"):
            gan = _build(case)
            gan.set_weights(initial)
            dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
            history = gan.fit(dataset, epochs=1, verbose=0)
        _phase(f"{case}: multi-worker fit", started)
        weight_paths[case] = [v.path for v in gan.weights]
        state = _state(gan, history)
        state["latents"], draws = _from_one_state(
            gan,
            lambda gan=gan: _replica_draw(
                gan, strategy, backend, lambda n: phases.sample_latents(gan, n)
            ),
            lambda gan=gan: _replica_draw(gan, strategy, backend, _augment_draw(gan)),
        )
        state.update(_prefixed("draw/", draws))
        np.savez(os.path.join(folder, f"worker{worker}-{case}.npz"), **state)
        if worker == 0:
            np.savez(os.path.join(folder, f"initial-{case}.npz"), **_state(single))
            history = single.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
            state = _state(single, history)
            state["latents"], draws = _from_one_state(
                single,
                lambda single=single: _numpy(phases.sample_latents(single, GLOBAL_BATCH)),
                lambda single=single: {
                    k: _numpy(v) for k, v in _augment_draw(single)(GLOBAL_BATCH).items()
                },
            )
            state.update(_prefixed("draw/", draws))
            np.savez(os.path.join(folder, f"single-{case}.npz"), **state)
            _phase(f"{case}: single-process fit", started)
    info = {
        "backend": backend,
        "worker": worker,
        "num_workers": num_workers,
        "num_replicas": num_replicas(strategy),
        "weight_paths": weight_paths,
    }
    with open(os.path.join(folder, f"worker{worker}.json"), "w") as f:
        json.dump(info, f)


def _build(case):
    """`tests.test_distribution._build`'s GAN of `SCENARIO` (the networks
    and optimizers of the mirrored tests) with the augmentation `case` of
    D's inputs."""
    import keras

    import gankeras
    from tests.test_distribution import _build as build_networks

    gan_options, compile_options = SCENARIO
    networks = build_networks(**gan_options)  # compiled, but never trained
    if case == "ada":
        # One transform per kind of draw (a flip, quarter turns, integer
        # shifts, a normal brightness, cutout centres): every transform
        # costs compile time, JAX's above all.
        augment = gankeras.augment.AdaptiveAugment(
            initial_p=0.5,
            interval=1,
            speed_images=80,
            transforms=("xflip", "rotate90", "translation", "brightness", "cutout"),
        )
    else:
        augment = gankeras.augment.DiffAugment()
    gan = gankeras.GAN(
        networks.generator,
        networks.discriminator,
        num_classes=networks.num_classes,
        replay_buffer=networks.replay_buffer,
        augment=augment,
    )
    gan.compile(
        d_optimizer=keras.optimizers.SGD(0.1, momentum=0.5),
        g_optimizer=keras.optimizers.SGD(
            0.1, use_ema=gan_options["ema"], ema_momentum=0.5, ema_overwrite_frequency=None
        ),
        **compile_options,
    )
    return gan


def _rows_from_a_file(strategy, x, path):
    """This worker's rows of the first global batch of a `tf.data` pipeline
    that reads `x` from a TFRecord file (one file: fewer than workers) and
    batches it globally, as the strategy distributes it."""
    import tensorflow as tf

    with tf.io.TFRecordWriter(path) as writer:
        for row in x:
            writer.write(tf.io.serialize_tensor(tf.constant(row)).numpy())
    dataset = tf.data.TFRecordDataset(path).map(
        lambda record: tf.io.parse_tensor(record, tf.float32)
    )
    dataset = dataset.batch(GLOBAL_BATCH, drop_remainder=True)
    first = next(iter(strategy.experimental_distribute_dataset(dataset)))
    return strategy.experimental_local_results(first)[0].numpy()


def _from_one_state(gan, *draws):
    """`[draw() for draw in draws]`, each from the seed state `gan` has now
    (restored after a draw that advanced it: eager and TensorFlow draws do,
    a jitted stateless JAX draw does not), so the draws of the workers and
    of the single process compare whatever each advanced."""
    import numpy as np

    state = gan.seed_generator.state
    saved = _numpy(state.value)
    results = []
    for draw in draws:
        results.append(draw())
        if not np.array_equal(_numpy(state.value), saved):
            state.assign(saved)
    return results


def _augment_draw(gan):
    """`n -> {name: [n]}`: the augmentation parameters `gan`'s next D input
    of `n` images would be augmented with."""
    import keras

    def draw(n):
        images = keras.ops.zeros((n, 4, 4, 1))
        return gan.augment.sample_parameters(images, gan.seed_generator)

    return draw


def _prefixed(prefix, arrays):
    return {prefix + k: v for k, v in arrays.items()}


def _numpy(value):
    import keras
    import numpy as np

    return np.asarray(keras.ops.convert_to_numpy(value))


def _phase(name, started):
    print(f"{time.monotonic() - started:6.1f} s  {name}", flush=True)


def _state(gan, history=None):
    """Name -> numpy array of everything a step changes: `weight/<i>`
    (`gan.weights`), `optimizer/<i>` (both optimizers' variables),
    `pool/{count,images,labels}`, `ema/<i>` (the generator under its EMA
    weights) and `log/<name>` (the epoch's logged metrics)."""
    import keras
    import numpy as np

    def numpy(value):
        return np.asarray(keras.ops.convert_to_numpy(value))

    state = {f"weight/{i}": numpy(v.value) for i, v in enumerate(gan.weights)}
    state.update({f"optimizer/{i}": numpy(v.value) for i, v in enumerate(gan.optimizer.variables)})
    pool = gan.replay_buffer
    for name in ("count", "images", "labels"):
        state[f"pool/{name}"] = numpy(getattr(pool, name).value)
    if history is not None:
        with gan.ema_weights():
            state.update({f"ema/{i}": numpy(w) for i, w in enumerate(gan.generator.get_weights())})
        state.update({f"log/{k}": np.asarray(v[-1]) for k, v in history.history.items()})
    return state


def _worker(strategy):
    """(this process's index, number of processes) in the cluster."""
    import keras

    if keras.backend.backend() == "tensorflow":
        resolver = strategy.cluster_resolver
        return int(resolver.task_id), len(resolver.cluster_spec().as_dict()["worker"])
    import jax

    return jax.process_index(), jax.process_count()


def _replica_draw(gan, strategy, backend, draw):
    """What `draw(n)` (random tensors of `n` rows from `gan.seed_generator`,
    an array or a dict of arrays) gives this worker's replica in a step:
    its rows of the global batch's draw, as numpy."""
    import numpy as np

    if backend == "tensorflow":
        import tensorflow as tf

        local = GLOBAL_BATCH // strategy.num_replicas_in_sync

        @tf.function
        def replica_draw():
            return strategy.run(lambda: draw(local))

        return tf.nest.map_structure(
            lambda v: strategy.experimental_local_results(v)[0].numpy(), replica_draw()
        )
    import jax
    import keras

    # The jitted step sees the global batch; each process holds its rows.
    state = gan.seed_generator.state

    def global_draw(value):
        with keras.StatelessScope(state_mapping=[(state, value)]):
            return draw(GLOBAL_BATCH)

    shapes = jax.eval_shape(global_draw, state.value)
    shardings = jax.tree.map(
        lambda s: strategy.get_data_layout(tuple(s.shape)).backend_layout, shapes
    )
    with strategy.scope():
        values = jax.jit(global_draw, out_shardings=shardings)(state.value)
    return jax.tree.map(
        lambda v: np.concatenate([np.asarray(s.data) for s in v.addressable_shards]), values
    )


if __name__ == "__main__":
    main(sys.argv[1])
