"""Evaluator: scores the trained generator and decides whether to bless it.

The metrics are `gankeras.evaluation.evaluate_generator`'s (Fréchet and
kernel distances, classifier score, precision/recall, class coverage in the
feature space of a domain classifier trained on the dataset, as TF-GAN does
for MNIST; Parzen and memorization in pixel space). The classifier is
trained once per dataset and cached (`load_or_train_domain_classifier`).

Like TFX's Evaluator, the candidate is "blessed" (a `BLESSED` file in the
`blessing` artifact, else `NOT_BLESSED` with the reasons) only if its
blessing metric passes the threshold and is not worse than the baseline: the
evaluation stored with the version currently pushed (`<serving_dir>/
<model_name>/<latest>/assets.extra/evaluation.json`), resolved when the
Evaluator runs.

Outputs:
- `evaluation/metrics.json`: every metric, the blessing metric, the baseline.
- `blessing/BLESSED` or `blessing/NOT_BLESSED`.
"""

import json
import math
import os

import numpy as np

from pipelines.components import example_gen
from pipelines.framework import Component, PipelineError

EVALUATION_FILE = "evaluation.json"
# Blessing metrics and their direction (True: higher is better).
BLESSING_METRICS = {
    "frechet_distance": False,
    "kernel_distance": False,
    "classifier_score": True,
    "precision": True,
    "recall": True,
}


def make_evaluator(model, examples, num_samples, metric, threshold, model_dir, cache_dir):
    """The Evaluator component.

    Args:
        model: the Trainer `model` channel.
        examples: the ExampleGen `examples` channel (real images, labels).
        num_samples: generated images scored (and real images compared).
        metric: the blessing metric, a key of `BLESSING_METRICS`.
        threshold: bless only if `metric` is at most (lower-is-better
            metrics) or at least (higher-is-better) this.
        model_dir: `<serving_dir>/<model_name>`: the pushed versions whose
            evaluation is the baseline.
        cache_dir: where the domain classifier is cached between runs.
    """
    return Component(
        name="Evaluator",
        executor=run_evaluator,
        inputs={"model": model, "examples": examples},
        outputs=("evaluation", "blessing"),
        parameters=dict(
            metric=metric, threshold=threshold, num_samples=num_samples, cache_dir=cache_dir
        ),
        resolvers={
            "baseline": lambda inputs: read_baseline(
                model_dir, metric, exclude_model=inputs["model"].fingerprint
            )
        },
    )


def read_baseline(model_dir, metric, exclude_model=None):
    """`{"version", "value"}` of `metric` for the newest pushed version that
    has it, or None.

    A version pushed from the model artifact `exclude_model` (a re-run of the
    same pipeline) is skipped: a candidate is not compared with itself, and
    the re-run's cache key stays the same as the first run's.
    """
    from gankeras.export import existing_versions

    for version in reversed(existing_versions(model_dir)):
        path = os.path.join(model_dir, str(version), "assets.extra", EVALUATION_FILE)
        try:
            with open(path) as f:
                evaluation = json.load(f)
        except (OSError, ValueError):
            continue
        if exclude_model is not None and evaluation.get("model") == exclude_model:
            continue
        value = evaluation.get("metrics", {}).get(metric)
        if isinstance(value, (int, float)) and math.isfinite(value):
            return {"version": version, "value": float(value)}
    return None


def decide_blessing(metric, value, threshold, baseline=None):
    """Whether a candidate with `metric` = `value` is blessed.

    Blessed only if `value` is finite, passes `threshold` (at most it for
    lower-is-better metrics, at least it for the others) and is not worse
    than the baseline (`{"version", "value"}` of the pushed version, or
    None). A non-finite value or threshold never blesses: NaN compares
    false with everything, which would otherwise pass every check.

    Returns:
        `(blessed, reasons)`: reasons lists each failed check (empty when
        blessed).
    """
    higher_is_better = BLESSING_METRICS[metric]
    worse = (lambda a, b: a < b) if higher_is_better else (lambda a, b: a > b)
    reasons = []
    if not math.isfinite(value):
        reasons.append(f"{metric} is not finite ({value})")
    elif not math.isfinite(threshold):
        reasons.append(f"the threshold {threshold} is not finite")
    elif worse(value, threshold):
        reasons.append(f"{metric} {value:.4g} does not pass the threshold {threshold:.4g}")
    if baseline is not None and math.isfinite(value) and worse(value, baseline["value"]):
        reasons.append(
            f"{metric} {value:.4g} is worse than the pushed version "
            f"{baseline['version']} ({baseline['value']:.4g})"
        )
    return not reasons, reasons


def run_evaluator(inputs, outputs, p):
    import keras

    from gankeras import evaluation
    from gankeras.evaluation import sources

    images, labels, stats = example_gen.load_examples(inputs["examples"])
    test_images, test_labels, _ = example_gen.load_examples(inputs["examples"], "test")
    if labels is None or test_labels is None:
        raise PipelineError(
            "The Evaluator's domain classifier needs class labels; the dataset "
            f"({stats['source']}) has none."
        )
    with open(inputs["model"].path("model_info.json")) as f:
        model_info = json.load(f)
    generator = keras.saving.load_model(inputs["model"].path("generator.keras"), compile=False)
    to_float = lambda x: x.astype(np.float32) / 127.5 - 1.0  # noqa: E731
    classifier = evaluation.load_or_train_domain_classifier(
        p["cache_dir"], to_float(images), labels, to_float(test_images), test_labels
    )
    count = min(p["num_samples"], len(images))
    metrics = evaluation.evaluate_generator(
        sources.from_generator_model(generator, model_info["num_classes"]),
        to_float(images[:count]),
        to_float(test_images),
        classifier,
        num_samples=count,
    )
    value = float(metrics[p["metric"]])
    baseline = p["baseline"]
    blessed, reasons = decide_blessing(p["metric"], value, p["threshold"], baseline)
    record = dict(metric=p["metric"], value=value, metrics=metrics, baseline=baseline)
    with open(outputs["evaluation"].path("metrics.json"), "w") as f:
        json.dump(record, f, indent=2)
    name = "BLESSED" if blessed else "NOT_BLESSED"
    with open(outputs["blessing"].path(name), "w") as f:
        f.write("passed: threshold and baseline\n" if blessed else "\n".join(reasons) + "\n")
    shown = ("frechet_distance", "kernel_distance", "classifier_score", "precision", "recall")
    print("  " + ", ".join(f"{k}={metrics[k]:.4g}" for k in shown if k in metrics))
    print(f"  {p['metric']} = {value:.4g} -> {name}" + ("" if blessed else f" ({'; '.join(reasons)})"))
    return dict(record, blessed=blessed, reasons=reasons)


def is_blessed(blessing_artifact):
    return os.path.exists(blessing_artifact.path("BLESSED"))
