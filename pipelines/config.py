"""`PipelineConfig`: every setting of a pipeline run, in one typed record.

The entry point turns flags into it (`pipelines.cli.config_from_flags`),
validates it, prints it and archives it as JSON under the pipeline root;
components receive typed parameter records built from it
(`trainer_parameters()` -> `TrainerParameters`, `evaluator_parameters()`,
`pusher_parameters()`; `example_gen_parameters()` are the arguments of
`make_example_gen`, which builds `ExampleGenParameters`). A flag's default
and its validation live here only.
"""

import dataclasses
import json
import math
import os

from pipelines.framework import PipelineError

# gankeras.distribute.STRATEGIES, listed so that flag parsing needs no
# TensorFlow import; validate() checks they agree.
STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")
# --precision: "auto" (gankeras.hardware.resolve_precision: mixed_bfloat16
# where the hardware computes bfloat16 natively, else float32) or a Keras
# dtype policy the Trainer accepts; gankeras.hardware.PRECISIONS, listed so
# that flag parsing needs no gankeras import (tests/test_pipeline_precision.py
# asserts they agree).
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
AUGMENTATIONS = ("none", "diffaugment", "ada")  # gankeras.augment.get
# The names of gankeras.architectures.ARCHITECTURES and gankeras.losses.LOSSES,
# listed because importing gankeras (Keras + a backend: ~8 s on 2 loaded
# cores) would make `--helpfull` slow (0.4 s without it);
# tests/test_pipeline_config_names.py asserts they equal the registries.
ARCHITECTURES = (
    "dcgan",
    "conditional",
    "acgan",
    "mlp",
    "vaegan",
    "wgan_gp",
    "resnet",
    "resnet_projection",
)
LOSSES = (
    "non_saturating",
    "minimax",
    "wasserstein",
    "hinge",
    "least_squares",
    "relativistic_average",
    "fgan_kl",
    "fgan_reverse_kl",
    "fgan_pearson",
    "fgan_squared_hellinger",
    "fgan_jensen_shannon",
    "maximum_likelihood",
    "mmd",
)
# The blessing when --bless_metric is unset: unlabelled data (--image_dir
# without --labels_from_folders) is blessed on the Fréchet distance in the
# label-free SimCLR features, labelled data on the domain classifier's
# score. 5.0 in the SimCLR features (bench/label_free_ladder.py, Fashion-MNIST:
# held-out real 0.017, blurred 2.1, half the classes dropped 1.9, a
# collapsed generator 11.6, uniform noise 44.9) rejects a collapsed or
# noise generator with a 2x margin and passes a diverse, if blurry, one.
LABEL_FREE_BLESSING = ("frechet_distance", 5.0)
LABELLED_BLESSING = ("classifier_score", 3.0)
# --bless_threshold when unset but --bless_metric is given.
DEFAULT_THRESHOLDS = {"classifier_score": 3.0, "frechet_distance": 5.0}


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    # Data (ExampleGen): exactly one of image_dir, dataset, idx_dir.
    dataset: str | None = None
    idx_dir: str | None = None
    tfds_data_dir: str | None = None
    num_train_examples: int | None = None
    image_dir: str | None = None
    image_size: int | None = None
    channels: int | None = None
    background: str = "white"
    upscale_small_images: bool = True
    strict_images: bool = False
    labels_from_folders: bool = False
    # Model and training (Trainer)
    architecture: str = "dcgan"
    latent_dim: int = 64
    base_filters: int = 32
    loss: str = "non_saturating"
    d_steps: int = 1
    # epochs 18 (was 8), batch 64 (was 128), ema_decay 0.999 (was 0.99) and
    # precision "auto" (was float32): chosen by bench/time_to_quality.py
    # (README, "Time to quality"; bench/results/time_to_quality_*.txt). 18
    # epochs fit the 20-minute budget of the default run on 2 cores that
    # compute bfloat16 natively; in float32 (no native bfloat16) they take
    # about twice as long.
    epochs: int = 18
    steps_per_epoch: int | None = None
    batch_size: int = 64
    d_learning_rate: float = 2e-4
    g_learning_rate: float = 2e-4
    beta_1: float = 0.5
    ema: bool = True
    # The generator EMA's decay per generator step (Keras's ema_momentum):
    # the exported and evaluated weights average ~1/(1 - ema_decay) steps.
    ema_decay: float = 0.999
    replay_buffer: int = 0
    gradient_penalty: float = 0.0
    # R1 on real images (Mescheder et al. 2018): gamma/2 E|grad D(x)|^2.
    r1_penalty: float = 0.0
    augment: str = "none"
    ada_target: float = 0.6
    conditional: bool = False
    seed: int = 0
    strategy: str = "default"
    precision: str = "auto"
    verbose: int = 1
    # Monitoring (Trainer): GANTensorBoard summaries; Quality every n epochs
    # (0: off) on quality_samples fakes, keeping the best generator.
    tensorboard: bool = True
    quality_every_n_epochs: int = 0
    quality_samples: int = 256
    # Evaluation (Evaluator)
    eval_samples: int = 2000
    # None: LABEL_FREE_BLESSING for unlabelled data, else LABELLED_BLESSING
    # (see `blessing`); train_mnist sets classifier_score / 3.0.
    bless_metric: str | None = None
    bless_threshold: float | None = None
    # InceptionV3 weights (.h5/.keras) for the inception_* metrics; None: none.
    inception_weights: str | None = None
    # SimCLR encoder training steps for unlabelled data; None: its default (300).
    encoder_steps: int | None = None
    # Serving (Pusher)
    serving_dir: str = "saved_models"
    model_name: str = "mnist_gan"
    version: int | None = None
    # Orchestration
    pipeline_root: str = "pipeline_root"
    cache: bool = True
    wait_for_lock: float = 0.0

    def example_gen_parameters(self):
        names = (
            "dataset idx_dir image_dir tfds_data_dir image_size channels background "
            "upscale_small_images strict_images labels_from_folders"
        ).split()
        return dict(
            {name: getattr(self, name) for name in names}, num_examples=self.num_train_examples
        )

    def trainer_parameters(self):
        """The `TrainerParameters`: each of its fields is this config's field
        of the same name (`network_options` is resolved when the Trainer
        runs)."""
        from pipelines.components.trainer import TrainerParameters

        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(TrainerParameters)
            if not f.metadata.get("resolved")
        }
        # The policy "auto" resolves to on this machine: what the Trainer
        # builds, its execution record and its cache key.
        values["precision"] = self.resolved_precision()[0]
        return TrainerParameters(**values)

    def resolved_precision(self):
        """`(policy, reason)`: the Keras dtype policy --precision means on
        this machine ("auto": `gankeras.hardware.resolve_precision`)."""
        from gankeras import hardware

        return hardware.resolve_precision(self.precision)

    def evaluator_parameters(self):
        """The `EvaluatorParameters`: the blessing (`blessing()`),
        `eval_samples` images, the extractor cache under the pipeline root,
        the absolute `inception_weights` path, `encoder_steps` (`baseline`
        is resolved when the Evaluator runs)."""
        from pipelines.components.evaluator import EvaluatorParameters

        metric, threshold = self.blessing()
        return EvaluatorParameters(
            metric=metric,
            threshold=threshold,
            num_samples=self.eval_samples,
            cache_dir=os.path.join(
                os.path.abspath(self.pipeline_root), "Evaluator", "domain_classifier"
            ),
            inception_weights=(
                os.path.abspath(self.inception_weights) if self.inception_weights else None
            ),
            encoder_steps=self.encoder_steps,
        )

    def pusher_parameters(self):
        """The `PusherParameters`: `serving_dir` (absolute), `model_name`,
        `version`."""
        from pipelines.components.pusher import PusherParameters

        return PusherParameters(
            serving_dir=os.path.abspath(self.serving_dir),
            model_name=self.model_name,
            version=self.version,
        )

    def unlabelled(self):
        """True when the data surely has no labels: a folder of images
        without --labels_from_folders (TFDS and IDX data usually have them;
        the Evaluator checks)."""
        return self.image_dir is not None and not self.labels_from_folders

    def blessing(self):
        """`(metric, threshold)` the Evaluator blesses on: the flags, or
        where unset `LABEL_FREE_BLESSING` / `LABELLED_BLESSING` /
        `DEFAULT_THRESHOLDS`."""
        metric = self.bless_metric
        if metric is None:
            metric, threshold = LABEL_FREE_BLESSING if self.unlabelled() else LABELLED_BLESSING
        else:
            threshold = DEFAULT_THRESHOLDS.get(metric)
        if self.bless_threshold is not None:
            threshold = self.bless_threshold
        return metric, threshold

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    def validate(self):
        """Raises `PipelineError` naming the bad setting, what was expected
        and what was received."""
        from gankeras import architectures, losses

        def bad(name, expected):
            raise PipelineError(
                f"Bad --{name}: expected {expected}. Received: {getattr(self, name)!r}"
            )

        if self.loss not in losses.LOSSES:
            bad("loss", f"one of {sorted(losses.LOSSES)}")
        if self.architecture not in architectures.ARCHITECTURES:
            bad("architecture", f"one of {sorted(architectures.ARCHITECTURES)}")
        from pipelines.components.evaluator import BLESSING_METRICS

        if self.bless_metric is not None and self.bless_metric not in BLESSING_METRICS:
            bad("bless_metric", f"one of {sorted(BLESSING_METRICS)}, or unset")
        if self.bless_metric is not None and self.blessing()[1] is None:
            raise PipelineError(
                f"--bless_metric={self.bless_metric} needs a --bless_threshold (there is no "
                f"default on its scale; defaults exist for {sorted(DEFAULT_THRESHOLDS)})."
            )
        if self.encoder_steps is not None and self.encoder_steps < 1:
            bad("encoder_steps", "a positive integer or unset")
        if self.inception_weights is not None and not os.path.isfile(self.inception_weights):
            bad("inception_weights", "an InceptionV3 weights file (.h5 or .keras)")
        from gankeras import distribute

        if self.strategy not in STRATEGIES or self.strategy not in distribute.STRATEGIES:
            bad("strategy", f"one of {list(STRATEGIES)}")
        if self.precision not in PRECISIONS:
            bad("precision", f"one of {list(PRECISIONS)}")
        for name in (
            "latent_dim",
            "base_filters",
            "d_steps",
            "epochs",
            "batch_size",
            "eval_samples",
        ):
            if getattr(self, name) < 1:
                bad(name, "a positive integer")
        if self.quality_every_n_epochs < 0:
            bad("quality_every_n_epochs", "0 (off) or a number of epochs")
        if self.quality_every_n_epochs and self.quality_samples < 129:
            bad(
                "quality_samples",
                "more than 128 (the features' dimension: FD needs more samples than dimensions)",
            )
        for name in ("steps_per_epoch", "num_train_examples", "version"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                bad(name, "a positive integer or unset")
        for name in ("d_learning_rate", "g_learning_rate"):
            if not getattr(self, name) > 0:
                bad(name, "a positive number")
        if not 0 <= self.beta_1 < 1:
            bad("beta_1", "a number in [0, 1)")
        if not 0 <= self.ema_decay < 1:
            bad("ema_decay", "a number in [0, 1) (0.999: an average over ~1000 generator steps)")
        if self.replay_buffer < 0:
            bad("replay_buffer", "0 (off) or a positive pool size")
        if self.gradient_penalty < 0:
            bad("gradient_penalty", "a weight >= 0 (10 in Gulrajani et al. 2017)")
        if self.r1_penalty < 0:
            bad("r1_penalty", "a gamma >= 0 (0: off; Mescheder et al. 2018)")
        if self.augment not in AUGMENTATIONS:
            bad("augment", f"one of {list(AUGMENTATIONS)}")
        if not (math.isfinite(self.ada_target) and 0 < self.ada_target < 1):
            bad("ada_target", "a number in (0, 1) (0.6 in Karras et al. 2020)")
        if self.bless_threshold is not None and not math.isfinite(self.bless_threshold):
            bad(
                "bless_threshold",
                "a finite number (NaN or inf would bless or reject every model whatever its score)",
            )
        if not (math.isfinite(self.wait_for_lock) and self.wait_for_lock >= 0):
            bad("wait_for_lock", "seconds >= 0 (0: fail at once if another run holds the lock)")
        if self.idx_dir is not None and not os.path.isdir(self.idx_dir):
            bad("idx_dir", "an existing folder of MNIST-format IDX files")
        self.validate_data()
        if self.num_train_examples is not None and self.num_train_examples < self.batch_size:
            bad("num_train_examples", f"at least --batch_size={self.batch_size}")
        return self

    def validate_data(self):
        """The data settings (ExampleGen): one source, a size the networks
        build, 1 or 3 channels, a colour for --background."""
        from pipelines.components.example_gen import IMAGE_SIZES

        sources = {"image_dir": self.image_dir, "dataset": self.dataset, "idx_dir": self.idx_dir}
        given = [f"--{k}={v}" for k, v in sources.items() if v is not None]
        if len(given) != 1:
            raise PipelineError(
                "Expected exactly one data source: --image_dir (a folder of images), "
                "--dataset (a TFDS image dataset) or --idx_dir (MNIST-format IDX files). "
                f"Received: {', '.join(given) if given else 'none'}"
            )
        if self.image_dir is not None and not os.path.isdir(self.image_dir):
            raise PipelineError(
                f"Bad --image_dir: expected an existing folder of image files. "
                f"Received: {self.image_dir!r}"
            )
        if self.image_size is not None and self.image_size not in IMAGE_SIZES:
            raise PipelineError(
                f"Bad --image_size: expected one of {list(IMAGE_SIZES)} (the sizes the "
                "networks are built for), or unset to keep the source's own size. "
                f"Received: {self.image_size!r}"
            )
        if self.channels is not None and self.channels not in (1, 3):
            raise PipelineError(
                "Bad --channels: expected 1 (grayscale) or 3 (RGB), or unset to take it "
                f"from the data. Received: {self.channels!r}"
            )
        from gankeras.data import decoding

        try:
            decoding.parse_background(self.background)
        except ValueError:
            raise PipelineError(
                "Bad --background: expected a colour name ('white', 'black', ...), "
                f"'#rrggbb' or 'rgb(r,g,b)'. Received: {self.background!r}"
            ) from None
        if self.labels_from_folders and self.image_dir is None:
            raise PipelineError(
                "--labels_from_folders labels the images of --image_dir by sub-folder; "
                f"it does not apply to {given[0]}."
            )
