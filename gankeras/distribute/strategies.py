"""Data-parallel strategies by name, for the engines Keras already supports.

A GAN trains data-parallel the way any Keras model does; this module only
maps one strategy name (the pipeline's `--strategy` flag) to the object the
active Keras backend uses:

- "default": one device on every backend (TensorFlow's default strategy).
- "mirrored": `tf.distribute.MirroredStrategy(devices)` on TensorFlow;
  `keras.distribution.DataParallel(devices)` on JAX.
- "multi_worker": `tf.distribute.MultiWorkerMirroredStrategy` (cluster from
  the `TF_CONFIG` variable) on TensorFlow; on JAX
  `keras.distribution.initialize()`, then `DataParallel` over every
  process's devices.
- "tpu": `tf.distribute.TPUStrategy` on TensorFlow; `DataParallel` over the
  TPU devices on JAX.

Keras's PyTorch backend has no `keras.distribution` implementation and
`Model.fit` does not wrap models in `torch.nn.parallel.
DistributedDataParallel`, so only "default" exists there (docs/distribution.md).

How the GAN step stays correct under replication (loss scaling, all-reduced
updates of both optimizers, per-replica randomness, the replay pool) is
explained in `gankeras/backend/tensorflow_trainer.py` and `GAN._random`.
"""

import contextlib

import keras

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
_STRATEGIES = {}  # (backend, name, devices) -> strategy, see get_strategy
# How TensorFlow's multi-worker strategy notices a lost worker and how long
# it waits for the others at start-up (see `configure_failure_detection`);
# 0: TensorFlow's defaults.
_FAILURE_DETECTION = {"heartbeat_timeout": 0.0, "startup_timeout": 0.0}


def configure_failure_detection(heartbeat_timeout=None, startup_timeout=None):
    """How `get_strategy("multi_worker")` on TensorFlow notices a lost worker.

    `tf.distribute.MultiWorkerMirroredStrategy` runs TensorFlow's
    coordination service (its leader in the chief, an agent in every
    worker). A worker whose heartbeats stop for `heartbeat_timeout` seconds
    (killed, crashed, its machine gone) is reported to every other worker,
    whose pending and later collectives then fail with
    `tf.errors.UnavailableError` ("Collective ops is aborted by: ... The
    following tasks are unhealthy (stopped sending heartbeats)"): a worker
    blocked in an all-reduce with a dead peer fails instead of waiting
    forever. `startup_timeout` bounds how long the workers wait for each
    other to register when the strategy is created.

    Call it before the strategy is created (the settings are read once, at
    creation). Arguments left None keep their value; 0 keeps TensorFlow's
    default (10 s heartbeat timeout; wait for the others forever). JAX's
    `jax.distributed` has its own heartbeat: this applies to TensorFlow only.
    """
    for name, value in (
        ("heartbeat_timeout", heartbeat_timeout),
        ("startup_timeout", startup_timeout),
    ):
        if value is not None:
            if not value >= 0:
                raise ValueError(f"`{name}` must be >= 0 seconds. Received: {name}={value!r}")
            _FAILURE_DETECTION[name] = float(value)


def get_strategy(name="default", devices=None):
    """Returns the data-parallel strategy called `name` for the backend.

    Args:
        name: one of `STRATEGIES`.
        devices: optional list of device names for "mirrored" (TensorFlow:
            e.g. `["/gpu:0", "/gpu:1"]`; JAX: e.g. `["gpu:0", "gpu:1"]`).
            All visible accelerators (else CPUs) when omitted. For "tpu" on
            TensorFlow, the TPU name or address (a string) instead.

    Returns:
        TensorFlow: a `tf.distribute.Strategy`. JAX: a
        `keras.distribution.DataParallel`, or None for "default". PyTorch:
        None ("default" only). Every non-None result has a `.scope()`.

    Raises:
        ValueError: for an unknown name, or a name the backend cannot run.
    """
    if name not in STRATEGIES:
        raise ValueError(f"`strategy` must be one of {STRATEGIES}. Received: strategy={name!r}")
    backend = keras.backend.backend()
    factories = _FACTORIES.get(backend, {})
    if name not in factories:
        raise ValueError(
            f"Strategy {name!r} does not exist on the {backend!r} Keras "
            f"backend: Keras's {backend} backend trains on one device per "
            "process (no keras.distribution, no DistributedDataParallel in "
            "Model.fit). Use strategy='default', or run with "
            "KERAS_BACKEND=tensorflow (tf.distribute) or KERAS_BACKEND=jax "
            "(keras.distribution.DataParallel) for data-parallel training "
            "and load the saved weights on torch (docs/distribution.md)."
        )
    # One strategy object per (backend, name, devices) and process. On
    # TensorFlow, two live MirroredStrategy instances hand out the same
    # collective keys, and the second one's all-reduces then fail with
    # "Shape mismatch in the collective instance"; MultiWorkerMirroredStrategy
    # may be created only once per process. On JAX, "multi_worker" joins the
    # cluster (jax.distributed.initialize), which happens once per process.
    key = (
        backend,
        name,
        devices if isinstance(devices, str) else tuple(devices or ()),
    )
    if key not in _STRATEGIES:
        _STRATEGIES[key] = factories[name](devices)
    return _STRATEGIES[key]


@contextlib.contextmanager
def strategy_scope(name="default", devices=None):
    """Context in which to build, compile and fit a GAN data-parallel.

    TensorFlow needs the models and optimizers created inside the scope;
    JAX needs the distribution set while variables are created and while
    `fit` runs. Doing all three inside this scope suits both.

    Args:
        name, devices: as in `get_strategy`.

    Yields:
        The object `get_strategy` returns (None where there is none).

    Example:

    ```python
    with gankeras.distribute.strategy_scope("mirrored") as strategy:
        gan = gankeras.GAN(make_generator(), make_discriminator())
        gan.compile(d_optimizer=..., g_optimizer=...)
        # The global batch: 64 examples per replica, equal shards.
        gan.fit(dataset.batch(64 * num_replicas(strategy), drop_remainder=True))
    ```
    """
    strategy = get_strategy(name, devices)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        yield strategy


def num_replicas(strategy):
    """Number of model replicas of a `get_strategy` result: scale the
    global batch (and, if wanted, the learning rates) by it."""
    if strategy is None:
        return 1
    if hasattr(strategy, "num_replicas_in_sync"):  # tf.distribute
        return int(strategy.num_replicas_in_sync)
    return int(strategy.device_mesh.devices.size)  # keras.distribution


# ----------------------------------------------------------------------
# TensorFlow: tf.distribute strategies
# ----------------------------------------------------------------------
def _tf_default(devices):
    import tensorflow as tf

    _no_devices("default", devices)
    return tf.distribute.get_strategy()


def _tf_mirrored(devices):
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(devices=devices)


def _tf_multi_worker(devices):
    import tensorflow as tf

    _no_devices("multi_worker", devices)

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        """`tf.distribute.MultiWorkerMirroredStrategy` whose `reduce` works
        for what Keras 3's `fit` hands it (without this, `fit` fails on
        every multi-worker cluster):

        - A nest of distributed values, reduced leaf by leaf as
          `MirroredStrategy.reduce` does: `fit` reduces the first batch, an
          `(images, labels)` tuple, before it builds the model, and the
          collective strategy hands the whole tuple to one all-reduce
          ("Attempt to convert a value (PerReplica...) with an unsupported
          type", keras-team/keras#20329).
        - Scalars reduced over `axis=0`: `fit` reduces every step's scalar
          logs with `reduce("MEAN", v, axis=0)` ("Invalid reduction
          dimension 0 for input with 0 dimensions", tensorflow#72388). A
          scalar per replica is reduced across replicas instead, which is
          what `fit` computes on one worker (`tf.reduce_mean` of the local
          results).
        """

        def reduce(self, reduce_op, value, axis):
            reduce_one = super().reduce

            def reduce_leaf(leaf):
                first = self.experimental_local_results(leaf)[0]
                rank = tf.TensorShape(getattr(first, "shape", ())).rank
                return reduce_one(reduce_op, leaf, None if rank == 0 else axis)

            return tf.nest.map_structure(reduce_leaf, value)

        def experimental_distribute_dataset(self, dataset, options=None):
            """Every worker takes its rows of every global batch
            (`AutoShardPolicy.DATA`) unless the dataset says otherwise:
            TensorFlow's AUTO policy shards a dataset read from files by
            file, so each worker would read other files, batch them itself
            and train on other global batches than one process does."""
            policy = dataset.options().experimental_distribute.auto_shard_policy
            if policy == tf.data.experimental.AutoShardPolicy.AUTO:
                shard = tf.data.Options()
                shard.experimental_distribute.auto_shard_policy = (
                    tf.data.experimental.AutoShardPolicy.DATA
                )
                dataset = dataset.with_options(shard)
            return super().experimental_distribute_dataset(dataset, options)

    # The cluster (workers, this task's index) comes from TF_CONFIG. On CPU
    # the collectives are ring all-reduces over gRPC ("AUTO" picks RING;
    # NCCL on GPUs).
    _configure_coordination_service()
    return MultiWorkerMirroredStrategy()


def _configure_coordination_service():
    """Sets up TensorFlow's coordination service as
    `MultiWorkerMirroredStrategy` does (leader: the chief, else worker 0),
    with the timeouts of `configure_failure_detection`. Nothing to do with
    TensorFlow's defaults, or when it is set up already, or without a
    cluster (no TF_CONFIG: one worker)."""
    import tensorflow as tf
    from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
    from tensorflow.python.distribute import multi_worker_util
    from tensorflow.python.eager import context

    heartbeat, startup = (_FAILURE_DETECTION[k] for k in ("heartbeat_timeout", "startup_timeout"))
    if not (heartbeat or startup) or context.context().coordination_service is not None:
        return
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    cluster_spec = resolver.cluster_spec()
    jobs = [job for job in ("chief", "worker") if job in cluster_spec.jobs]
    if not jobs or resolver.task_type not in jobs:
        return
    context.context().configure_coordination_service(
        service_type="standalone",
        service_leader=multi_worker_util.coordination_leader(cluster_spec),
        heartbeat_timeout_in_ms=round(heartbeat * 1000),
        cluster_register_timeout_in_ms=round(startup * 1000),
        coordinated_jobs=[
            coordination_config_pb2.CoordinatedJob(name=job, num_tasks=cluster_spec.num_tasks(job))
            for job in jobs
        ],
    )


def _tf_tpu(devices):
    import tensorflow as tf

    tpu = devices if isinstance(devices, str) else ""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError) as error:
        raise ValueError(
            "strategy='tpu' found no TPU to connect to "
            f"(tpu={tpu!r}): {error}. Run on a TPU VM, or pass the TPU's "
            "name or grpc:// address as `devices`."
        ) from error
    return tf.distribute.TPUStrategy(resolver)


# ----------------------------------------------------------------------
# JAX: keras.distribution.DataParallel ("default": no distribution)
# ----------------------------------------------------------------------
def _no_strategy(devices):
    _no_devices("default", devices)
    return None


def _jax_mirrored(devices):
    devices = list(devices or keras.distribution.list_devices())
    return keras.distribution.DataParallel(devices=devices)


def _jax_multi_worker(devices):
    import jax

    _no_devices("multi_worker", devices)
    if not jax.distributed.is_initialized():
        # Reads KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES, _PROCESS_ID
        # (or a TPU/SLURM/MPI runtime's own settings) and blocks until every
        # process has joined. On CPU the cross-process all-reduces use gloo
        # (jax's default `jax_cpu_collectives_implementation`).
        try:
            keras.distribution.initialize()
        except RuntimeError as error:  # JAX already ran a computation.
            raise ValueError(
                "strategy='multi_worker' on the JAX backend must be created "
                "before JAX runs anything (before building or loading a "
                "model, before jax.devices()): jax.distributed.initialize "
                f"refused: {error} Create the strategy first in the program."
            ) from error
        except ValueError as error:  # No cluster described.
            raise ValueError(
                "strategy='multi_worker' on the JAX backend found no cluster "
                f"to join ({error}). Set, on every process, "
                "KERAS_DISTRIBUTION_JOB_ADDRESSES (the coordinator's "
                "host:port, or every process's, comma-separated; process 0 "
                "is the coordinator), KERAS_DISTRIBUTION_NUM_PROCESSES and "
                "KERAS_DISTRIBUTION_PROCESS_ID (0 .. N-1); see "
                "docs/distribution.md. On one machine use "
                "strategy='mirrored'."
            ) from error
    # Every process's devices; each process feeds its own share of the
    # dataset (DataParallel's auto_shard_dataset).
    return keras.distribution.DataParallel(devices=keras.distribution.list_devices())


def _jax_tpu(devices):
    _no_devices("tpu", devices)
    tpus = keras.distribution.list_devices("tpu")
    if not tpus:
        raise ValueError(
            "strategy='tpu' on the JAX backend needs TPU devices; JAX sees "
            f"{keras.distribution.list_devices()}. Use strategy='mirrored' "
            "for data parallelism on GPUs or CPUs."
        )
    return keras.distribution.DataParallel(devices=tpus)


def _no_devices(name, devices):
    if devices is not None:
        raise ValueError(
            f"strategy={name!r} picks its devices itself; `devices` is only "
            f"for 'mirrored' (and a TPU address for 'tpu' on TensorFlow). "
            f"Received: devices={devices!r}"
        )


_FACTORIES = {
    "tensorflow": {
        "default": _tf_default,
        "mirrored": _tf_mirrored,
        "multi_worker": _tf_multi_worker,
        "tpu": _tf_tpu,
    },
    "jax": {
        "default": _no_strategy,
        "mirrored": _jax_mirrored,
        "multi_worker": _jax_multi_worker,
        "tpu": _jax_tpu,
    },
    "torch": {"default": _no_strategy},
}
