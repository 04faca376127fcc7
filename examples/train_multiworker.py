"""Trains the DCGAN data-parallel on every worker of a cluster; worker 0 writes.

Run the same command on every worker, with the cluster described in the
environment (docs/distribution.md): `TF_CONFIG` for
`KERAS_BACKEND=tensorflow`, `KERAS_DISTRIBUTION_JOB_ADDRESSES`,
`KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID` for
`KERAS_BACKEND=jax`. Every worker reads the whole dataset; the engine gives
each its share of every global batch. Only worker 0 (the chief) writes
`<output_dir>/generator.keras`, `gan.weights.h5` and `architecture.json`
(what `gankeras.architectures.build` needs to rebuild the GAN on any
backend before `load_weights`); the others
write nothing. (Under TensorFlow the other workers still take part in the
save's collectives, so every worker calls `save`; theirs go to a temporary
folder that is removed.)

Example, two workers on one machine (each in its own shell):

    KERAS_BACKEND=jax KERAS_DISTRIBUTION_JOB_ADDRESSES=127.0.0.1:12355 \\
    KERAS_DISTRIBUTION_NUM_PROCESSES=2 KERAS_DISTRIBUTION_PROCESS_ID=0 \\
    python examples/train_multiworker.py --output_dir=/tmp/run --epochs=1
    # ... and the same with KERAS_DISTRIBUTION_PROCESS_ID=1
"""

import argparse
import json
import os
import shutil
import sys
import tempfile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output_dir",
        required=True,
        help="where worker 0 writes the model (a shared or local path)",
    )
    parser.add_argument(
        "--data_dir",
        default="/usr/share/datasets/fashion-mnist",
        help="folder of MNIST-format IDX files",
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps_per_epoch", type=int, default=None)
    parser.add_argument("--per_replica_batch", type=int, default=64)
    parser.add_argument("--base_filters", type=int, default=64)
    parser.add_argument(
        "--upsampling",
        default="auto",
        choices=["auto", "transposed", "resize"],
        help="auto: the backend's faster one (recorded in architecture.json)",
    )
    args = parser.parse_args(argv)

    # First, before anything runs: join the cluster.
    from gankeras.distribute import num_replicas, strategy_scope

    with strategy_scope("multi_worker") as strategy:
        pass
    import keras

    import gankeras
    from gankeras.architectures import build
    from gankeras.architectures.upsampling import resolve_upsampling

    worker, workers = _worker(strategy)
    global_batch = args.per_replica_batch * num_replicas(strategy)
    print(
        f"worker {worker} of {workers}: {num_replicas(strategy)} replicas, "
        f"global batch {global_batch}",
        flush=True,
    )
    # "auto" upsampling differs by backend; the record lets another backend
    # build the same networks: gankeras.GAN(**build(**architecture)).
    architecture = {
        "name": "dcgan",
        "base_filters": args.base_filters,
        "upsampling": resolve_upsampling(args.upsampling),
    }
    keras.utils.set_random_seed(0)  # the same initial weights everywhere
    with strategy_scope("multi_worker"):
        gan = gankeras.GAN(**build(**architecture))
        gan.compile(
            d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
            g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        )
        dataset = gankeras.data.idx_dataset(args.data_dir, batch_size=global_batch)
        if args.steps_per_epoch:
            dataset = dataset.repeat()
        gan.fit(
            dataset,
            epochs=args.epochs,
            steps_per_epoch=args.steps_per_epoch,
            verbose=2 if worker == 0 else 0,
        )
    output_dir = args.output_dir if worker == 0 else tempfile.mkdtemp()
    os.makedirs(output_dir, exist_ok=True)
    try:
        gan.generator.save(os.path.join(output_dir, "generator.keras"))
        gan.save_weights(os.path.join(output_dir, "gan.weights.h5"))
        with open(os.path.join(output_dir, "architecture.json"), "w") as f:
            json.dump(architecture, f)
    finally:
        if worker != 0:
            shutil.rmtree(output_dir, ignore_errors=True)
    if worker == 0:
        print(
            f"saved generator.keras, gan.weights.h5, architecture.json in {output_dir}", flush=True
        )
    return 0


def _worker(strategy):
    """(this worker's index, number of workers)."""
    import keras

    if keras.backend.backend() == "tensorflow":
        resolver = strategy.cluster_resolver
        workers = len(resolver.cluster_spec().as_dict().get("worker", [None]))
        return int(resolver.task_id or 0), workers
    import jax

    return jax.process_index(), jax.process_count()


if __name__ == "__main__":
    sys.exit(main())
