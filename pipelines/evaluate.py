"""`python -m pipelines.evaluate`: how good is a trained generator, measured.

Loads a generator (a `.keras` file of a `gankeras.GAN` or of a bare
generator, or an exported SavedModel directory), the dataset's IDX files,
and the cached feature extractor (trained on first use, in
`--classifier_dir`): with `--features=auto` (the default) the domain
classifier when the dataset has labels, else a label-free SimCLR encoder
trained on the training images (`--features=classifier|contrastive` picks
one). With `--inception_weights=PATH` (a Keras InceptionV3 weights file;
`imagenet` downloads Keras's, which needs the network) the standard
protocol's `inception_*` metrics (299x299 bilinear) are added. Then it
writes into `--output_dir`:

- `metrics.json`: every metric of `gankeras.evaluation` (FD, KID,
  precision/recall, density/coverage; with a classifier the classifier score
  and class coverage; Parzen log-likelihood, memorization), the protocol
  (extractor, its fingerprint, resize, number of real and generated images,
  reference split), the class histograms (classifier only) and the config;
- `samples.png`: a grid of samples (seeds 0..63);
- `nearest_neighbours.png`: pairs (sample, nearest training image);
- `class_histogram.png`: predicted classes of samples vs the data
  (classifier only);
- `training_curves.png`: d_loss, g_loss, D(x), D(G(z)) per epoch, when
  `--history` names a Keras CSVLogger CSV or a History JSON.

Example:

```
python -m pipelines.evaluate --model=runs/gan.keras --output_dir=runs/eval \\
    --idx_dir=/usr/share/datasets/fashion-mnist --history=runs/log.csv
```

Flags -> `EvaluateConfig` (printed, saved in metrics.json) -> `run(config)`.
"""

import csv
import dataclasses
import json
import os
import sys

from absl import app, flags

DEFAULT_IDX_DIR = "/usr/share/datasets/fashion-mnist"
DEFAULT_CLASSIFIER_DIR = os.path.join(os.path.expanduser("~"), ".cache", "gankeras", "classifiers")
# auto: the domain classifier when the data has labels, else the encoder.
FEATURES = ("auto", "classifier", "contrastive")

# Names of the training-curve series in a Keras History / CSVLogger log.
LOSS_KEYS = ("d_loss", "g_loss")
SCORE_KEYS = (("d_real", "D(x)"), ("d_fake", "D(G(z))"))


@dataclasses.dataclass
class EvaluateConfig:
    """Everything one evaluation run depends on."""

    model: str
    output_dir: str
    idx_dir: str = DEFAULT_IDX_DIR
    classifier_dir: str = DEFAULT_CLASSIFIER_DIR
    classifier_epochs: int = 3
    classifier_train_count: int = 60_000
    reference_count: int = 10_000
    num_samples: int = 10_000
    memorization_count: int = 1000
    seed: int = 0
    num_classes: int = 10
    history: str = ""
    use_ema: bool = True
    features: str = "auto"
    encoder_steps: int = 300
    encoder_train_count: int = 10_000
    inception_weights: str = ""

    def validate(self):
        for name in (
            "classifier_epochs",
            "classifier_train_count",
            "reference_count",
            "num_samples",
            "memorization_count",
            "encoder_steps",
            "encoder_train_count",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name} must be >= 1. Received: {getattr(self, name)}")
        if self.features not in FEATURES:
            raise ValueError(
                f"--features must be one of {list(FEATURES)}. Received: {self.features!r}"
            )
        if self.inception_weights not in ("", "imagenet") and not os.path.isfile(
            self.inception_weights
        ):
            raise ValueError(
                f"--inception_weights {self.inception_weights!r} is not a file; expected a Keras "
                "InceptionV3 weights file, or 'imagenet' to download Keras's (needs the network)."
            )
        if not os.path.exists(self.model):
            raise ValueError(f"--model {self.model!r} does not exist.")
        if self.history and not os.path.exists(self.history):
            raise ValueError(f"--history {self.history!r} does not exist.")


def read_history(path):
    """Per-epoch series `{name: [float]}` from a Keras CSVLogger CSV or a
    History JSON (`history.history`, a dict of lists, or a list of per-epoch
    dicts)."""
    if path.endswith(".csv"):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    else:
        with open(path) as f:
            data = json.load(f)
        if isinstance(data, dict) and isinstance(data.get("history"), dict):
            data = data["history"]
        rows = (
            data
            if isinstance(data, list)
            else [dict(zip(data, values)) for values in zip(*data.values())]
        )
    series = {}
    for row in rows:
        for key, value in row.items():
            if key != "epoch":
                series.setdefault(key, []).append(float(value))
    if not any(key in series for key in LOSS_KEYS):
        raise ValueError(
            f"{path} has no {' or '.join(LOSS_KEYS)} column; expected the log "
            f"of a gankeras.GAN fit. Received columns {sorted(series)}."
        )
    return series


def _load_split(idx_dir, split):
    """`(images in [-1, 1], labels or None)`: a split without a labels file
    is unlabelled data."""

    from gankeras.data import load_idx
    from gankeras.data.idx import find_idx_files
    from gankeras.data.pixels import to_model_range

    find_idx_files(idx_dir, split, "images")  # a missing images file is an error
    try:
        images, labels = load_idx(idx_dir, split)
    except FileNotFoundError:
        images, labels = load_idx(idx_dir, split, with_labels=False)
    return to_model_range(images), labels


def _extractor(config, train_x, train_y, test_x, test_y):
    """The domain classifier (labelled data) or the SimCLR encoder."""
    from gankeras.evaluation import (
        load_or_train_contrastive_encoder,
        load_or_train_domain_classifier,
    )

    labelled = train_y is not None and test_y is not None
    use_classifier = config.features == "classifier" or (config.features == "auto" and labelled)
    if use_classifier and not labelled:
        raise ValueError(
            f"--features=classifier needs class labels, but {config.idx_dir} has no labels file "
            "for the train or test split. Use --features=contrastive (label-free) or auto."
        )
    if use_classifier:
        classifier = load_or_train_domain_classifier(
            config.classifier_dir,
            train_x[: config.classifier_train_count],
            train_y[: config.classifier_train_count],
            test_x,
            test_y,
            epochs=config.classifier_epochs,
        )
        print(f"domain classifier: test accuracy {classifier.test_accuracy:.4f}")
        return classifier
    encoder = load_or_train_contrastive_encoder(
        config.classifier_dir, train_x[: config.encoder_train_count], steps=config.encoder_steps
    )
    print(
        f"label-free SimCLR encoder {encoder.fingerprint} ({len(train_x[: config.encoder_train_count])} images)"
    )
    return encoder


def run(config):
    """Evaluates `config.model` and writes the report; returns the metrics."""

    from gankeras.evaluation import InceptionExtractor, figures, sources
    from gankeras.evaluation.report import evaluate_samples, generate_samples

    os.makedirs(config.output_dir, exist_ok=True)
    train_x, train_y = _load_split(config.idx_dir, "train")
    test_x, test_y = _load_split(config.idx_dir, "test")
    extractor = _extractor(config, train_x, train_y, test_x, test_y)
    inception = None
    if config.inception_weights:
        inception = InceptionExtractor.from_weights(config.inception_weights)
    generate_fn = sources.load_generate_fn(
        config.model, num_classes=config.num_classes, use_ema=config.use_ema
    )
    samples = generate_samples(generate_fn, config.num_samples, config.seed)
    report = evaluate_samples(
        samples,
        train_x[: config.reference_count],
        test_x,
        extractor,
        memorization_train=train_x,
        memorization_count=config.memorization_count,
        inception=inception,
    )
    metrics = report.metrics
    for name, value in metrics.items():
        print(f"  {name:32s} {'n/a' if value is None else format(value, '.6g')}")

    record = dict(metrics=metrics, protocol=report.protocol, config=dataclasses.asdict(config))
    if report.generated_histogram is not None:
        record["generated_class_histogram"] = report.generated_histogram.tolist()
        record["reference_class_histogram"] = report.reference_histogram.tolist()
    with open(os.path.join(config.output_dir, "metrics.json"), "w") as f:
        json.dump(record, f, indent=2)
    figures.save_image_grid(os.path.join(config.output_dir, "samples.png"), samples[:64])
    pairs = min(32, len(report.nearest_train_indices))
    figures.save_nearest_neighbour_grid(
        os.path.join(config.output_dir, "nearest_neighbours.png"),
        samples[:pairs],
        train_x[report.nearest_train_indices[:pairs]],
    )
    if report.generated_histogram is not None:
        figures.save_bar_chart(
            os.path.join(config.output_dir, "class_histogram.png"),
            {"generated": report.generated_histogram, "data": report.reference_histogram},
            categories=list(range(len(report.reference_histogram))),
            title="Predicted class shares (domain classifier)",
        )
    if config.history:
        series = read_history(config.history)
        figures.save_line_charts(
            os.path.join(config.output_dir, "training_curves.png"),
            [
                ("Losses", {k: series[k] for k in LOSS_KEYS if k in series}),
                (
                    "Discriminator outputs",
                    {label: series[k] for k, label in SCORE_KEYS if k in series},
                ),
            ],
        )
    return metrics


flags.DEFINE_string("model", None, "A .keras file (GAN or generator) or a SavedModel directory.")
flags.DEFINE_string("output_dir", None, "Where metrics.json and the PNGs go.")
flags.DEFINE_string("idx_dir", DEFAULT_IDX_DIR, "Folder of the dataset's MNIST-format IDX files.")
flags.DEFINE_string(
    "classifier_dir", DEFAULT_CLASSIFIER_DIR, "Cache of trained domain classifiers."
)
flags.DEFINE_integer("classifier_epochs", 3, "Epochs of domain-classifier training (first use).")
flags.DEFINE_integer("classifier_train_count", 60_000, "Training images for the domain classifier.")
flags.DEFINE_integer(
    "reference_count", 10_000, "Training images used as the reference distribution."
)
flags.DEFINE_integer("num_samples", 10_000, "Images generated (seeds seed .. seed + n - 1).")
flags.DEFINE_integer("memorization_count", 1000, "Samples searched against the whole train split.")
flags.DEFINE_integer("seed", 0, "First seed.")
flags.DEFINE_integer("num_classes", 10, "Classes, for conditional generators' labels.")
flags.DEFINE_string("history", "", "Keras CSVLogger CSV or History JSON of the training run.")
flags.DEFINE_bool("use_ema", True, "Sample a GAN with its EMA generator weights when kept.")
flags.DEFINE_enum(
    "features",
    "auto",
    list(FEATURES),
    "Feature extractor: the domain classifier (needs labels), the label-free SimCLR "
    "encoder, or auto (classifier when the data has labels).",
)
flags.DEFINE_integer("encoder_steps", 300, "Training steps of the label-free encoder (first use).")
flags.DEFINE_integer("encoder_train_count", 10_000, "Training images for the label-free encoder.")
flags.DEFINE_string(
    "inception_weights",
    "",
    "Keras InceptionV3 weights file for the inception_* metrics (299x299 bilinear); "
    "'imagenet' downloads Keras's (needs the network).",
)
flags.mark_flags_as_required(["model", "output_dir"])


def main(argv):
    del argv
    config = EvaluateConfig(
        **{f.name: getattr(flags.FLAGS, f.name) for f in dataclasses.fields(EvaluateConfig)}
    )
    print(json.dumps(dataclasses.asdict(config), indent=2))
    try:
        config.validate()
        run(config)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    app.run(main)
