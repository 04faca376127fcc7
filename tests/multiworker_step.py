"""One worker of a multi-process cluster: a multi-worker GAN step equals the
single-process step on the same global batch.

Run by `tests/test_distribution_multiworker.py` as
`python -m tests.multiworker_step OUT.json`, once per worker, with the
cluster in the environment (`tests.multiworker_cluster`): TensorFlow joins
it through `strategy_scope("multi_worker")` (MultiWorkerMirroredStrategy from
`TF_CONFIG`), JAX through the same call (`keras.distribution.initialize`,
then `DataParallel` over every process's CPU device). Each process has one
CPU device, so two processes are two replicas.

Every worker trains, from the same initial weights, one GAN alone (no
strategy) on the full global batches and one under the multi-worker strategy
on the same `tf.data` pipeline of global batches, which the engine shards
per worker (rows `[4 i, 4 i + 4)` of each batch of 8 on worker i). It writes
to OUT.json the largest differences between the two of every weight, both
optimizers' variables (slots, iterations, EMA), the replay pool and the
logged metrics, and the latents its replica draws next beside the
single-process draw, so the test can check that the workers draw different
rows of the single-process draw.
"""

import json
import sys

# The network builders and comparisons of the single-process mirrored test.
SCENARIO = (
    # A conditional WGAN-GP critic with two critic steps per generator step,
    # a replay pool (labels travel with the images), EMA of G and instance
    # noise: every per-example random draw and every piece of state the
    # step owns.
    {"replay": True, "ema": True, "conditional": True},
    {"loss": "wasserstein", "gradient_penalty": 10.0, "d_steps": 2, "instance_noise": 0.1},
)
GLOBAL_BATCH = 8
STEPS = 2  # the second step reads the replay pool the first one filled
LATENT_DIM = 4  # tests.test_distribution._build's generator input


def main(out_path):
    # Join the cluster before anything runs: both engines refuse afterwards.
    from gankeras.distribute import num_replicas, strategy_scope

    with strategy_scope("multi_worker") as strategy:
        pass
    import keras
    import numpy as np
    import tensorflow as tf

    from tests.test_distribution import _build, _largest_difference, _numpy

    keras.config.disable_traceback_filtering()

    backend = keras.backend.backend()
    gan_options, compile_options = SCENARIO
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (GLOBAL_BATCH * STEPS, 4, 4, 1)).astype("float32")
    y = rng.randint(0, 3, (GLOBAL_BATCH * STEPS,)).astype("int32")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)

    keras.utils.set_random_seed(0)
    single = _build(**gan_options, **compile_options)
    initial = single.get_weights()
    initial_trainable = [_numpy(v) for v in single.trainable_weights]
    with strategy_scope("multi_worker"):
        replicated = _build(**gan_options, **compile_options)
        replicated.set_weights(initial)
        replicated_logs = _last(replicated.fit(dataset, epochs=1, verbose=0))
    single_logs = _last(
        single.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    )

    diffs = [
        _largest_difference([a], [b])
        for a, b in zip(single.get_weights(), replicated.get_weights(), strict=True)
    ]
    pools = [
        [_numpy(v) for v in (gan.replay_buffer.count, gan.replay_buffer.images, gan.replay_buffer.labels)]
        for gan in (single, replicated)
    ]
    with single.ema_weights(), replicated.ema_weights():
        ema = _largest_difference(
            single.generator.get_weights(), replicated.generator.get_weights()
        )
    worker, num_workers = _worker(strategy)
    draws = _replica_latents(replicated, strategy, backend)
    reference = np.asarray(keras.ops.convert_to_numpy(single._sample_latents(GLOBAL_BATCH)))
    local = GLOBAL_BATCH // num_workers
    run = {
        "backend": backend,
        "worker": worker,
        "num_workers": num_workers,
        "num_replicas": num_replicas(strategy),
        "weights": max(diffs),
        "worst_weight": [v.path for v in single.weights][int(np.argmax(diffs))],
        "largest_update": _largest_difference(
            initial_trainable, [_numpy(v) for v in single.trainable_weights]
        ),
        "optimizer_variables": _largest_difference(
            [_numpy(v) for v in single.optimizer.variables],
            [_numpy(v) for v in replicated.optimizer.variables],
        ),
        "logs": max(abs(single_logs[k] - replicated_logs[k]) for k in single_logs),
        "log_names": sorted(replicated_logs),
        "replay_pool": _largest_difference(*pools),
        "replay_count": int(pools[1][0]),
        "ema": ema,
        "latents": draws.tolist(),
        "reference_latents": reference[worker * local : (worker + 1) * local].tolist(),
    }
    with open(out_path, "w") as f:
        json.dump(run, f)


def _last(history):
    return {name: values[-1] for name, values in history.history.items()}


def _worker(strategy):
    """(this process's index, number of processes) in the cluster."""
    import keras

    if keras.backend.backend() == "tensorflow":
        resolver = strategy.cluster_resolver
        return int(resolver.task_id), len(resolver.cluster_spec().as_dict()["worker"])
    import jax

    return jax.process_index(), jax.process_count()


def _replica_latents(gan, strategy, backend):
    """The latents `gan`'s step would draw next for this worker's replica:
    its rows of the global batch, as a numpy array `[local, latent_dim]`."""
    import keras
    import numpy as np

    if backend == "tensorflow":
        import tensorflow as tf

        local = GLOBAL_BATCH // strategy.num_replicas_in_sync

        @tf.function
        def draw():
            return strategy.run(lambda: gan._sample_latents(local))

        (rows,) = strategy.experimental_local_results(draw())
        return rows.numpy()
    import jax

    # The jitted step sees the global batch; each process holds its rows.
    state = gan.seed_generator.state
    sharding = strategy.get_data_layout((GLOBAL_BATCH, LATENT_DIM)).backend_layout

    def draw(value):
        with keras.StatelessScope(state_mapping=[(state, value)]):
            return gan._sample_latents(GLOBAL_BATCH)

    with strategy.scope():
        latents = jax.jit(draw, out_shardings=sharding)(state.value)
    return np.concatenate([np.asarray(s.data) for s in latents.addressable_shards])


if __name__ == "__main__":
    main(sys.argv[1])
