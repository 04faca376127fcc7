"""Builds the GAN pipeline from a `PipelineConfig` and runs it.

ExampleGen -> Trainer -> Evaluator -> Pusher, run by
`pipelines.framework.LocalRunner` under `config.pipeline_root`.

A run, in order: validate the config; preflight (create and remove a real
file in the pipeline root and in `<serving_dir>/<model_name>`); take the
locks of the pipeline root and of the served model (one run at a time for
each; a killed holder's lock is released by the kernel); remove temporary
version directories killed exporters left; run the components; archive the
config as `pipeline_config.json` (atomically, only once the run succeeded).
"""

import dataclasses
import json
import os

from pipelines.components.evaluator import BLESSING_METRICS, make_evaluator
from pipelines.components.example_gen import make_example_gen
from pipelines.components.pusher import make_pusher
from pipelines.components.trainer import make_trainer
from pipelines.framework import PipelineError, RunLock, cluster

LOCK_FILE = ".pipeline.lock"


def build_components(config):
    """The four components, wired, with their parameters from `config`."""
    example_gen = make_example_gen(**config.example_gen_parameters())
    trainer_parameters = config.trainer_parameters()
    trainer = make_trainer(example_gen.output("examples"), trainer_parameters)
    # Every option of the networks, defaults filled in and the ones resolved
    # from the process spelled out (the DCGAN's upsampling "auto" is
    # transposed convolutions on TensorFlow, resize + conv on JAX): part of
    # the Trainer's cache key, and exactly what it builds.
    trainer.resolvers["network_options"] = lambda inputs: resolved_network_options(
        trainer_parameters
    )
    trainer.checks.append(check_batch_fits)
    evaluator = make_evaluator(
        trainer.output("model"),
        example_gen.output("examples"),
        config.evaluator_parameters(),
        model_dir=model_dir(config),
    )
    pusher = make_pusher(
        trainer.output("model"),
        evaluator.output("blessing"),
        evaluator.output("evaluation"),
        config.pusher_parameters(),
    )
    components = [example_gen, trainer, evaluator, pusher]
    for component in components:
        component.cache = config.cache
    return components


def resolved_network_options(parameters):
    """Every option `architectures.build` takes for the `TrainerParameters`'
    network (`parameters.network_name`), resolved in this process by
    `gankeras.architectures.resolve_options`: e.g. `{"base_filters": 32,
    "upsampling": "transposed"}` for "dcgan" on TensorFlow ("resize" on
    JAX), `{"hidden_units": ..., "d_hidden_units": ...}` for "mlp"."""
    from gankeras import architectures

    name = parameters.network_name
    options = {} if name == "mlp" else {"base_filters": parameters.base_filters}
    try:
        resolved = architectures.resolve_options(name, **options)
    except ValueError as error:
        raise PipelineError(
            f"Cannot build --architecture={parameters.architecture}: {error}"
        ) from error
    # JSON-like values (the record and the cache key are JSON).
    return {k: list(v) if isinstance(v, tuple) else v for k, v in resolved.items()}


def check_batch_fits(inputs, parameters):
    """A Trainer check: `batch_size` at most the number of training images
    (batches keep a static shape: a larger one would yield no batch)."""
    with open(inputs["examples"].path("stats.json")) as f:
        stats = json.load(f)
    if parameters.batch_size > stats["count"]:
        raise PipelineError(
            f"Bad --batch_size: expected at most the {stats['count']} training images "
            f"of {stats['source']}. Received: {parameters.batch_size}. Pass "
            f"--batch_size={stats['count']} or less, or use more data."
        )


def model_dir(config):
    return os.path.join(os.path.abspath(config.serving_dir), config.model_name)


def preflight(config):
    """Checks everything that can be checked before minutes of work: each
    output location takes a real file (created and removed: `os.access`
    says yes to root even for `/proc`)."""
    from gankeras.export import versions

    try:
        versions.probe(config.pipeline_root, "the pipeline's artifacts")
    except PermissionError as error:
        raise PipelineError(
            f"Cannot use --pipeline_root {config.pipeline_root!r}: {error}"
        ) from error
    try:
        versions.check_writable(model_dir(config))
    except PermissionError as error:
        raise PipelineError(
            f"Cannot use --serving_dir {config.serving_dir!r} / --model_name "
            f"{config.model_name!r}: {error}"
        ) from error


def check_version_free(config):
    """--version must not exist yet (checked under the model's lock)."""
    from gankeras.export import versions

    directory = model_dir(config)
    if config.version is not None and os.path.exists(os.path.join(directory, str(config.version))):
        raise PipelineError(
            f"--version={config.version} already exists in {directory}; versions "
            f"are never overwritten. Use --version={versions.next_version(directory)} "
            "or leave --version unset."
        )


def locks(config):
    """The pipeline root's and the served model's `RunLock`s (enter in this
    order)."""
    root = os.path.abspath(config.pipeline_root)
    return (
        RunLock(
            os.path.join(root, LOCK_FILE), f"--pipeline_root {root}", wait=config.wait_for_lock
        ),
        RunLock(
            os.path.join(model_dir(config), LOCK_FILE),
            f"The served model {model_dir(config)} (--serving_dir/--model_name)",
            wait=config.wait_for_lock,
        ),
    )


def run(config, log=print):
    """Validates `config`, runs the pipeline; returns `{component: record}`.

    Raises:
        PipelineError: a bad setting, an unwritable or full location,
            another run holding the pipeline root or the model, a
            checkpoint that cannot be resumed.
    """
    from gankeras.callbacks import CheckpointMismatchError
    from gankeras.export import versions

    config.validate()
    cluster.check_posix_paths(config)  # no gs:// and the like
    # --strategy=multi_worker: join the cluster first; a worker that is not
    # the chief only trains with it (pipelines/framework/cluster.py).
    role = cluster.join(config)
    if role is not None and not role.chief:
        return cluster.follow(role, build_components(config), log=log)
    preflight(config)
    root = os.path.abspath(config.pipeline_root)
    root_lock, model_lock = locks(config)
    with root_lock, model_lock:
        check_version_free(config)
        removed = versions.remove_stale_temp_dirs(model_dir(config))
        if removed:
            log(f"removed temporary version directories of killed runs: {', '.join(removed)}")
        try:
            records = cluster.make_runner(role, root, log=log).run(build_components(config))
        except CheckpointMismatchError as error:
            raise PipelineError(
                f"The Trainer cannot resume its unfinished run: {error}\n"
                "The run directory holds checkpoints of another set-up than this "
                "run's. Rerun with --nocache to train afresh in a new run directory "
                "(the old one is left untouched), or pass a new --pipeline_root."
            ) from error
        path = os.path.join(root, "pipeline_config.json")
        try:
            write_config(config, path)
        except OSError as error:
            raise PipelineError(
                f"The run succeeded, but its config could not be archived as {path}: "
                f"{error}. Free space there; the outputs and records are complete."
            ) from error
    return records


def write_config(config, path):
    """Writes `config` as JSON atomically (temp file, then rename)."""
    temp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temp, "w") as f:
            f.write(config.to_json())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def summary(config, records):
    """The final console summary: paths, metrics, pushed version."""
    if cluster.is_worker_result(records):
        return cluster.summary(records)
    trainer, evaluator, pusher = records["Trainer"], records["Evaluator"], records["Pusher"]
    lines = ["", "=== Pipeline summary ==="]
    for name, record in records.items():
        state = "cached" if record.cached else f"ran in {record.seconds:.1f}s"
        lines.append(f"{name:<11} {state:<16} {record.record_path}")
    lines.append(f"model:       {trainer.outputs['model'].path('generator.keras')}")
    lines.append(f"sample grid: {trainer.result.get('sample_grid')}")
    best = trainer.result.get("quality_best")
    if best:
        lines.append(
            f"best epoch:  {best['epoch']} ({best['monitor']}={best['value']:.4g}; "
            "the generator evaluated and pushed)"
        )
    if trainer.result.get("tensorboard"):
        lines.append(f"tensorboard: tensorboard --logdir {trainer.result['tensorboard']}")
    metrics = trainer.result.get("final_metrics") or {}
    if metrics:
        lines.append(
            "train:       " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
        )
    ev = evaluator.result
    shown = tuple(BLESSING_METRICS)
    metrics = ev.get("metrics") or {}
    lines.append(
        "evaluation:  " + ", ".join(f"{k}={metrics[k]:.4g}" for k in shown if k in metrics)
    )
    lines.append(
        f"blessing:    {ev.get('metric')}={ev.get('value', float('nan')):.4g} -> "
        f"{'BLESSED' if ev.get('blessed') else 'NOT BLESSED'}"
    )
    push = pusher.result
    if push.get("already_pushed"):
        lines.append(f"pushed:      already as version {push['version']} -> {push['path']}")
    elif push.get("pushed"):
        lines.append(f"pushed:      version {push['version']} -> {push['path']}")
    else:
        lines.append("pushed:      nothing (not blessed)")
    return "\n".join(lines)


def config_dict(config):
    return dataclasses.asdict(config)
