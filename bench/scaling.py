"""Cost of data-parallel scaling: one device, two devices, two processes.

Trains the DCGAN (28x28x1, `gankeras.architectures.build("dcgan")`) with
`GAN.fit` on the same global batch three ways, on the active backend
(`KERAS_BACKEND=tensorflow|jax`; Keras's torch backend has no data-parallel
fit):

  one_device     one process, one CPU device, strategy "default".
  two_devices    one process, two logical CPU devices, strategy "mirrored"
                 (TensorFlow: `tf.config.set_logical_device_configuration`;
                 JAX: `XLA_FLAGS=--xla_force_host_platform_device_count=2`).
  two_processes  two processes on 127.0.0.1, one CPU device each, strategy
                 "multi_worker" (TensorFlow: MultiWorkerMirroredStrategy from
                 `TF_CONFIG`, ring all-reduce over gRPC; JAX:
                 `keras.distribution.initialize`, gloo all-reduce).

Every contender's processes start once, build, compile and warm up, then wait.
Each repeat runs every contender once, in a rotating order, one at a time
(the other contenders' processes sleep on a pipe): `fit` for `--steps` steps
(images/s = global batch x steps / wall time), then `--allreduce_calls`
all-reduces of tensors shaped like D's and G's trainable variables, one D
and one G all-reduce per call, as a step with `d_steps=1` does (its median
time is "all-reduce ms/step"; it is the same collective on the same strategy,
timed on its own, not a trace of the step). Ratios are per repeat, against
one_device in the same repeat; the report gives their median and min..max.

On CPU this measures the overhead of data parallelism, not a speed-up: both
devices or processes share the same cores, which one device already uses
(intra-op threads), so two replicas split the same compute and add the
all-reduces and per-replica bookkeeping. On GPUs (one per device or process)
the same script measures scaling; see bench/accelerator_check.sh.

Quick run (small networks, about 2-3 minutes on 2 cores):
    KERAS_BACKEND=jax python bench/scaling.py --quick
"""

import argparse
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CONTENDERS = ("one_device", "two_devices", "two_processes")
STRATEGY = {"one_device": "default", "two_devices": "mirrored", "two_processes": "multi_worker"}
PREFIX = "@@ "  # protocol lines on a worker's stdout; anything else is noise


# ----------------------------------------------------------------------
# The coordinator
# ----------------------------------------------------------------------
def main():
    args = _parse()
    if args.worker:
        return _serve(args)
    # `timeout` and CI send SIGTERM: end the workers (the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import keras

    from tests.multiworker_cluster import (
        base_environment,
        cluster_environments,
        kill_group,
    )

    backend = keras.backend.backend()
    if backend not in ("tensorflow", "jax"):
        print(
            f"error: bench/scaling.py measures data-parallel training, which "
            f"Keras's {backend} backend does not have. Expected "
            f"KERAS_BACKEND=tensorflow or jax. Received: KERAS_BACKEND={backend}"
        )
        return 2
    _print_machine(backend, args)
    environments = {
        "one_device": [base_environment(backend)],
        "two_devices": [base_environment(backend, devices_per_process=2)],
        "two_processes": cluster_environments(backend, 2),
    }
    log_folder = args.log_folder or os.path.join("/tmp", f"scaling_{os.getpid()}")
    os.makedirs(log_folder, exist_ok=True)
    workers = {}  # contender -> list of (Popen, log file)
    try:
        for name in CONTENDERS:
            workers[name] = []
            for i, env in enumerate(environments[name]):
                log = open(os.path.join(log_folder, f"{name}{i}.log"), "w")
                command = [sys.executable, os.path.abspath(__file__), f"--worker={name}"]
                command += _worker_flags(args)
                process = subprocess.Popen(
                    command,
                    env=env,
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    bufsize=1,
                    start_new_session=True,
                )
                workers[name].append((process, log))
        started = time.monotonic()
        for name in CONTENDERS:
            for i, (process, _) in enumerate(workers[name]):
                ready = _read(process, args.timeout, name)
                print(
                    f"  {name}[{i}] ready after {time.monotonic() - started:.0f} s: {ready['detail']}"
                )
        rows = {name: [] for name in CONTENDERS}
        for repeat in range(args.repeats):
            order = CONTENDERS[repeat % 3 :] + CONTENDERS[: repeat % 3]
            for name in order:
                for process, _ in workers[name]:
                    process.stdin.write("run\n")
                    process.stdin.flush()
                results = [_read(p, args.timeout, name) for p, _ in workers[name]]
                rows[name].append(
                    {
                        # The slowest process sets the pace of a cluster.
                        "seconds": max(r["seconds"] for r in results),
                        "allreduce_ms": max(r["allreduce_ms"] for r in results),
                    }
                )
            print(
                f"  repeat {repeat + 1}/{args.repeats} ({', '.join(order)}): "
                + ", ".join(
                    f"{n} {args.batch_size * args.steps / rows[n][-1]['seconds']:.0f} img/s"
                    for n in CONTENDERS
                )
            )
        for name in CONTENDERS:
            for process, _ in workers[name]:
                process.stdin.write("quit\n")
                process.stdin.flush()
        _report(rows, args)
    finally:
        for processes in workers.values():
            for process, log in processes:
                kill_group(process)
                log.close()
        print(f"load average at the end: {_load()} (worker logs: {log_folder})")
    return 0


def _read(process, timeout, name):
    """The next protocol line of `process` as a dict, waiting at most
    `timeout` seconds; raises with the worker's name if it died or hung."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise RuntimeError(f"{name}: no answer within {timeout} s")
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(
                    f"{name}: the worker exited (status {process.poll()}); see its log"
                )
            if line.startswith(PREFIX):
                return json.loads(line[len(PREFIX) :])
    finally:
        selector.close()


def _report(rows, args):
    images = args.batch_size * args.steps
    print()
    print(
        f"{'contender':<15} {'img/s':>8} {'all-reduce ms/step':>19} {'x one_device':>13} {'(min..max)':>14}"
    )
    for name in CONTENDERS:
        rates = [images / r["seconds"] for r in rows[name]]
        allreduce = statistics.median(r["allreduce_ms"] for r in rows[name])
        if name == "one_device":
            ratio_text = f"{'1.00':>13} {'':>14}"
        else:
            ratios = [
                r1["seconds"] / r["seconds"]
                for r, r1 in zip(rows[name], rows["one_device"], strict=True)
            ]
            ratio_text = (
                f"{statistics.median(ratios):>13.2f} "
                f"{f'({min(ratios):.2f}..{max(ratios):.2f})':>14}"
            )
        print(f"{name:<15} {statistics.median(rates):>8.1f} {allreduce:>19.2f} {ratio_text}")
    print(
        "\nimg/s: median over repeats; 'x one_device': median of per-repeat "
        "throughput ratios against one_device in the same repeat.\n"
        "On CPU this is the OVERHEAD of data parallelism, not a speed-up: the "
        "replicas share the cores one device already uses. A ratio below 1.00 "
        "is the expected result; it says what the all-reduces and per-replica "
        "work cost."
    )


def _print_machine(backend, args):
    import keras

    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model == "unknown CPU":
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
    versions = {"keras": keras.__version__}
    if backend == "tensorflow":
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    else:
        import jax

        versions["jax"] = jax.__version__
    print(
        f"bench/scaling.py  backend={backend}  "
        + "  ".join(f"{k}={v}" for k, v in versions.items())
    )
    print(
        f"CPU: {model}; {os.cpu_count()} logical cores visible; flags: "
        + " ".join(f"{flag}={'yes' if flag in flags else 'no'}" for flag in wanted)
    )
    print(
        f"load average at the start: {_load()} (a shared machine: other "
        "processes' load moves every figure; ratios are paired per repeat)"
    )
    print(
        f"DCGAN 28x28x1, base_filters={args.base_filters}, latent_dim={args.latent_dim}, "
        f"global batch {args.batch_size}, {args.steps} steps per repeat, "
        f"{args.repeats} repeats, {args.allreduce_calls} all-reduce calls per repeat"
    )


def _load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _worker_flags(args):
    return [
        f"--batch_size={args.batch_size}",
        f"--steps={args.steps}",
        f"--base_filters={args.base_filters}",
        f"--latent_dim={args.latent_dim}",
        f"--allreduce_calls={args.allreduce_calls}",
    ]


# ----------------------------------------------------------------------
# A contender's worker process
# ----------------------------------------------------------------------
def _serve(args):
    global _PROTOCOL
    # Protocol lines on a copy of stdout; everything else (C++ logs, gloo's
    # "[Gloo] Rank 0 is connected...") to the log file, not into the pipe.
    _PROTOCOL = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    name = args.worker
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if name == "two_devices" and backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
    from gankeras.distribute import num_replicas, strategy_scope

    with strategy_scope(STRATEGY[name]) as strategy:
        pass  # joins the cluster / creates the devices before anything runs
    import keras
    import numpy as np
    import tensorflow as tf

    import gankeras
    from gankeras.architectures import build

    keras.utils.set_random_seed(0)
    with strategy_scope(STRATEGY[name]):
        gan = gankeras.GAN(
            **build("dcgan", latent_dim=args.latent_dim, base_filters=args.base_filters)
        )
        gan.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        )
        images = np.random.RandomState(0).uniform(-1, 1, (args.batch_size * 4, 28, 28, 1))
        dataset = (
            tf.data.Dataset.from_tensor_slices(images.astype("float32"))
            .repeat()
            .batch(args.batch_size, drop_remainder=True)
        )

        def fit(steps):
            gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)

        fit(2)  # compile and warm up
        allreduce = _allreduce_function(gan, strategy, backend)
        allreduce()
    _say({"detail": f"{num_replicas(strategy)} replica(s), strategy {STRATEGY[name]!r}"})
    for line in sys.stdin:
        if line.strip() != "run":
            break
        with strategy_scope(STRATEGY[name]):
            start = time.perf_counter()
            fit(args.steps)
            seconds = time.perf_counter() - start
            times = []
            for _ in range(args.allreduce_calls):
                start = time.perf_counter()
                allreduce()
                times.append(time.perf_counter() - start)
        _say({"seconds": seconds, "allreduce_ms": 1000 * statistics.median(times)})
    return 0


def _allreduce_function(gan, strategy, backend):
    """A function that all-reduces (sums over replicas) one tensor per
    trainable variable of D, then of G, and waits for the result; a no-op
    without a strategy (one device needs none)."""
    shapes = [tuple(v.shape) for v in gan.discriminator.trainable_variables]
    shapes += [tuple(v.shape) for v in gan.generator.trainable_variables]
    if strategy is None or (backend == "tensorflow" and strategy.num_replicas_in_sync == 1):
        return lambda: None
    if backend == "tensorflow":
        import tensorflow as tf

        d_count = len(gan.discriminator.trainable_variables)

        @tf.function
        def step():
            def replica_fn():
                context = tf.distribute.get_replica_context()
                tensors = [tf.ones(shape) for shape in shapes]
                d = context.all_reduce("sum", tensors[:d_count])
                g = context.all_reduce("sum", tensors[d_count:])
                return tf.add_n([tf.reduce_sum(t) for t in d + g])

            return strategy.run(replica_fn)

        def call():
            for value in strategy.experimental_local_results(step()):
                value.numpy()

        return call
    import jax
    import numpy as np

    # Each device holds its "gradients" as one row of a global [devices, size]
    # array; summing the rows into a replicated result is an all-reduce.
    size = sum(int(np.prod(s)) for s in shapes)
    mesh = strategy.device_mesh.backend_mesh
    axis = strategy.batch_dim_name
    rows = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec(axis))
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    local = np.ones((len(mesh.local_devices), size), "float32")
    value = jax.make_array_from_process_local_data(rows, local)
    total = jax.jit(lambda x: x.sum(axis=0), out_shardings=replicated)

    def call():
        total(value).block_until_ready()

    return call


_PROTOCOL = sys.stdout


def _say(message):
    print(PREFIX + json.dumps(message), file=_PROTOCOL, flush=True)


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=64, help="global batch")
    parser.add_argument("--steps", type=int, default=20, help="fit steps per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--base_filters", type=int, default=64)
    parser.add_argument("--latent_dim", type=int, default=100)
    parser.add_argument("--allreduce_calls", type=int, default=20)
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds any worker may take to answer"
    )
    parser.add_argument("--log_folder", default=None)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="--base_filters=16 --batch_size=32 --steps=16 --repeats=5",
    )
    parser.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.base_filters, args.batch_size, args.steps, args.repeats = 16, 32, 16, 5
    if args.batch_size % 2:
        parser.error(f"--batch_size must be even (two replicas). Received: {args.batch_size}")
    return args


if __name__ == "__main__":
    sys.exit(main())
