"""Builds the GAN pipeline from a `PipelineConfig` and runs it.

ExampleGen -> Trainer -> Evaluator -> Pusher, run by
`pipelines.framework.LocalRunner` under `config.pipeline_root`.
"""

import dataclasses
import os

from pipelines.components.evaluator import make_evaluator
from pipelines.components.example_gen import make_example_gen
from pipelines.components.pusher import make_pusher
from pipelines.components.trainer import make_trainer
from pipelines.framework import LocalRunner, PipelineError


def build_components(config):
    """The four components, wired, with their parameters from `config`."""
    serving_dir = os.path.abspath(config.serving_dir)
    example_gen = make_example_gen(**config.example_gen_parameters())
    trainer = make_trainer(
        example_gen.output("examples"), verbose=config.verbose, **config.trainer_parameters()
    )
    evaluator = make_evaluator(
        trainer.output("model"),
        example_gen.output("examples"),
        num_samples=config.eval_samples,
        metric=config.bless_metric,
        threshold=config.bless_threshold,
        model_dir=os.path.join(serving_dir, config.model_name),
        cache_dir=os.path.join(os.path.abspath(config.pipeline_root), "Evaluator", "domain_classifier"),
    )
    pusher = make_pusher(
        trainer.output("model"),
        evaluator.output("blessing"),
        evaluator.output("evaluation"),
        serving_dir=serving_dir,
        model_name=config.model_name,
        version=config.version,
    )
    components = [example_gen, trainer, evaluator, pusher]
    for component in components:
        component.cache = config.cache
    return components


def preflight(config):
    """Checks everything that can be checked before minutes of work:
    writable directories and a free version number."""
    from gankeras.export import versions

    root = os.path.abspath(config.pipeline_root)
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as error:
        raise PipelineError(
            f"Cannot create --pipeline_root {config.pipeline_root!r}: {error}. "
            "Expected a writable directory."
        ) from error
    if not os.access(root, os.W_OK | os.X_OK):
        raise PipelineError(
            f"--pipeline_root {config.pipeline_root!r} is not writable. "
            "Pass a writable directory."
        )
    model_dir = os.path.join(os.path.abspath(config.serving_dir), config.model_name)
    try:
        versions.check_writable(model_dir)
    except PermissionError as error:
        raise PipelineError(str(error)) from error
    if config.version is not None and os.path.exists(os.path.join(model_dir, str(config.version))):
        raise PipelineError(
            f"--version={config.version} already exists in {model_dir}; versions "
            f"are never overwritten. Use --version={versions.next_version(model_dir)} "
            "or leave --version unset."
        )


def run(config, log=print):
    """Validates `config`, runs the pipeline; returns `{component: record}`."""
    config.validate()
    preflight(config)
    root = os.path.abspath(config.pipeline_root)
    with open(os.path.join(root, "pipeline_config.json"), "w") as f:
        f.write(config.to_json())
    records = LocalRunner(root, log=log).run(build_components(config))
    return records


def summary(config, records):
    """The final console summary: paths, metrics, pushed version."""
    trainer, evaluator, pusher = records["Trainer"], records["Evaluator"], records["Pusher"]
    lines = ["", "=== Pipeline summary ==="]
    for name, record in records.items():
        state = "cached" if record.cached else f"ran in {record.seconds:.1f}s"
        lines.append(f"{name:<11} {state:<16} {record.record_path}")
    lines.append(f"model:       {trainer.outputs['model'].path('generator.keras')}")
    lines.append(f"sample grid: {trainer.result.get('sample_grid')}")
    metrics = trainer.result.get("final_metrics") or {}
    if metrics:
        lines.append("train:       " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
    ev = evaluator.result
    shown = ("frechet_distance", "kernel_distance", "classifier_score", "precision", "recall")
    metrics = ev.get("metrics") or {}
    lines.append("evaluation:  " + ", ".join(f"{k}={metrics[k]:.4g}" for k in shown if k in metrics))
    lines.append(
        f"blessing:    {ev.get('metric')}={ev.get('value', float('nan')):.4g} -> "
        f"{'BLESSED' if ev.get('blessed') else 'NOT BLESSED'}"
    )
    push = pusher.result
    if push.get("pushed"):
        lines.append(f"pushed:      version {push['version']} -> {push['path']}")
    else:
        lines.append("pushed:      nothing (not blessed)")
    return "\n".join(lines)


def config_dict(config):
    return dataclasses.asdict(config)
