"""Evaluator: scores the trained generator and decides whether to bless it.

The metrics are `gankeras.evaluation.evaluate_samples`'s: Fréchet and
kernel distances, precision/recall and density/coverage in the features of
an extractor fitted to the dataset — for labelled data a domain classifier
(as TF-GAN does for MNIST; adds the classifier score and class coverage),
for unlabelled data a label-free SimCLR encoder trained on the real
training images — plus Parzen and memorization in pixel space, and the
`inception_*` metrics when InceptionV3 weights are given. The extractor is
trained once per dataset fingerprint and cached in `cache_dir`.

Like TFX's Evaluator, the candidate is "blessed" (a `BLESSED` file in the
`blessing` artifact, else `NOT_BLESSED` with the reasons) only if its
blessing metric passes the threshold and is not worse than the baseline: the
evaluation stored with the version currently pushed (`<serving_dir>/
<model_name>/<latest>/assets.extra/evaluation.json`), resolved when the
Evaluator runs.

Outputs:
- `evaluation/metrics.json`: every metric, the blessing metric, the baseline,
  and the protocol (extractor, its fingerprint, resize, number of real and
  generated images, reference split).
- `blessing/BLESSED` or `blessing/NOT_BLESSED`.
"""

import dataclasses
import json
import math
import os

from pipelines.components import example_gen
from pipelines.framework import RESOLVED, Component, Parameters, PipelineError

EVALUATION_FILE = "evaluation.json"
# Blessing metrics and their direction (True: higher is better).
BLESSING_METRICS = {
    "frechet_distance": False,
    "kernel_distance": False,
    "classifier_score": True,
    "precision": True,
    "recall": True,
}


@dataclasses.dataclass(frozen=True)
class EvaluatorParameters(Parameters):
    """The Evaluator's parameters (`pipelines.config.PipelineConfig.
    evaluator_parameters()` builds them from the flags).

    Attributes:
        metric: the blessing metric, a key of `BLESSING_METRICS`.
        threshold: bless only if `metric` is at most (lower-is-better
            metrics) or at least (higher-is-better) this.
        num_samples: generated images scored (and real images compared).
        cache_dir: where the domain classifier / encoder is cached between
            runs.
        inception_weights: an InceptionV3 weights file: adds the
            `inception_*` metrics; None: not computed.
        encoder_steps: training steps of the label-free SimCLR encoder
            (unlabelled data); None: `contrastive.DEFAULTS["steps"]`.
        baseline: `{"version", "value"}` of `metric` for the pushed version
            compared with (`read_baseline`, resolved when the Evaluator
            runs), or None.
    """

    metric: str
    threshold: float
    num_samples: int
    cache_dir: str
    inception_weights: str | None
    encoder_steps: int | None
    baseline: dict | None = dataclasses.field(default=None, metadata=RESOLVED)


def make_evaluator(model, examples, parameters, model_dir):
    """The Evaluator component.

    Args:
        model: the Trainer `model` channel.
        examples: the ExampleGen `examples` channel (real images, labels).
        parameters: an `EvaluatorParameters`.
        model_dir: `<serving_dir>/<model_name>`: the pushed versions whose
            evaluation is the baseline.
    """
    return Component(
        name="Evaluator",
        executor=run_evaluator,
        inputs={"model": model, "examples": examples},
        outputs=("evaluation", "blessing"),
        parameters=parameters,
        resolvers={
            "baseline": lambda inputs: read_baseline(
                model_dir, parameters.metric, exclude_model=inputs["model"].fingerprint
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


# Real images read (bounded, whatever the dataset's size): the domain
# classifier trains on up to 60,000 (all of MNIST's train split, as before),
# the label-free encoder on up to 10,000; up to 10,000 held-out images.
CLASSIFIER_TRAIN_COUNT = 60_000
ENCODER_TRAIN_COUNT = 10_000
TEST_COUNT = 10_000


def evaluation_metrics(inputs, p):
    """The metric part of the Evaluator: `(metrics, protocol)`.

    Labelled data (train and test labels): the domain classifier (FD, KID,
    precision/recall, density/coverage in its features; classifier score,
    class coverage from its logits). Unlabelled data: a SimCLR encoder
    trained on the real training images (`gankeras.evaluation.contrastive`),
    the same distance metrics and no class metrics. Either is cached in
    `p.cache_dir` per data fingerprint (`p`: the `EvaluatorParameters`).
    Optional parameters: `p.inception_weights` (a path or "imagenet") adds
    the `inception_*` metrics; `p.encoder_steps` sets the encoder's training
    steps (default `contrastive.DEFAULTS["steps"]`, 300).

    Raises:
        PipelineError: if the blessing metric does not exist for this data
            (checked before any training), naming the metrics that do.
    """
    import keras

    from gankeras import evaluation
    from gankeras.data.pixels import to_model_range
    from gankeras.evaluation import report as report_lib
    from gankeras.evaluation import sources

    inception_weights = p.inception_weights
    count = int(p.num_samples)
    test_images, test_labels, _ = example_gen.load_examples(
        inputs["examples"], "test", limit=TEST_COUNT
    )
    train_count = CLASSIFIER_TRAIN_COUNT if test_labels is not None else ENCODER_TRAIN_COUNT
    images, labels, stats = example_gen.load_examples(
        inputs["examples"], "train", limit=max(count, train_count)
    )
    labelled = labels is not None and test_labels is not None
    available = report_lib.metric_names(
        labelled, inception=bool(inception_weights), inception_logits=True
    )
    if p.metric not in available:
        shown = [name for name in available if name in BLESSING_METRICS] or available
        raise PipelineError(
            f"The blessing metric {p.metric!r} does not exist for this data "
            f"({stats['source']}, {'labelled' if labelled else 'unlabelled: label-free SimCLR features'}). "
            f"Metrics that exist: {', '.join(shown)}. Pass e.g. --bless_metric=frechet_distance "
            "with a threshold on that scale."
        )
    inception = None
    if inception_weights:
        try:
            inception = evaluation.InceptionExtractor.from_weights(inception_weights)
        except ValueError as error:
            raise PipelineError(str(error)) from error
        if p.metric.startswith("inception_score") and not inception.has_logits:
            raise PipelineError(
                f"--bless_metric={p.metric} needs InceptionV3 weights with the "
                f"classifier top; {inception_weights} has none (pool features only)."
            )
    with open(inputs["model"].path("model_info.json")) as f:
        model_info = json.load(f)
    generator = keras.saving.load_model(inputs["model"].path("generator.keras"), compile=False)
    try:
        if labelled:
            extractor = evaluation.load_or_train_domain_classifier(
                p.cache_dir,
                to_model_range(images),
                labels,
                to_model_range(test_images),
                test_labels,
            )
        else:
            # p.encoder_steps (optional): a smaller budget for tiny runs.
            setup = {"steps": p.encoder_steps} if p.encoder_steps else {}
            extractor = evaluation.load_or_train_contrastive_encoder(
                p.cache_dir, to_model_range(images[:ENCODER_TRAIN_COUNT]), **setup
            )
    except ValueError as error:  # e.g. an image shape the extractor cannot take
        raise PipelineError(f"The Evaluator cannot build its feature extractor: {error}") from error
    count = min(count, len(images))
    samples = report_lib.generate_samples(
        sources.from_generator_model(generator, model_info["num_classes"]), count
    )
    report = report_lib.evaluate_samples(
        samples,
        to_model_range(images[:count]),
        to_model_range(test_images),
        extractor,
        inception=inception,
    )
    metrics = report.metrics
    if metrics.get(p.metric) is None:
        raise PipelineError(
            f"The blessing metric {p.metric} could not be computed: "
            f"{report.protocol.get('inception', {}).get('frechet_distance', 'no value')}. "
            "Raise --eval_samples or bless on another metric."
        )
    return metrics, report.protocol


def run_evaluator(inputs, outputs, p):
    """The executor: `p` is the `EvaluatorParameters` (resolved)."""
    metrics, protocol = evaluation_metrics(inputs, p)
    value = float(metrics[p.metric])
    baseline = p.baseline
    blessed, reasons = decide_blessing(p.metric, value, p.threshold, baseline)
    record = dict(
        metric=p.metric, value=value, metrics=metrics, baseline=baseline, protocol=protocol
    )
    with open(outputs["evaluation"].path("metrics.json"), "w") as f:
        json.dump(record, f, indent=2)
    name = "BLESSED" if blessed else "NOT_BLESSED"
    with open(outputs["blessing"].path(name), "w") as f:
        f.write("passed: threshold and baseline\n" if blessed else "\n".join(reasons) + "\n")
    shown = tuple(BLESSING_METRICS)
    print("  " + ", ".join(f"{k}={metrics[k]:.4g}" for k in shown if k in metrics))
    print(f"  {p.metric} = {value:.4g} -> {name}" + ("" if blessed else f" ({'; '.join(reasons)})"))
    return dict(record, blessed=blessed, reasons=reasons)


def is_blessed(blessing_artifact):
    return os.path.exists(blessing_artifact.path("BLESSED"))
