"""The flags of the pipeline's entry points, defined once.

`pipelines.train` (any image data) and `pipelines.train_mnist` (its MNIST
preset) call `define_flags` with their few different defaults and run
`main`: flags -> `PipelineConfig` (printed, saved as
`<pipeline_root>/pipeline_config.json`) -> `pipelines.pipeline.run`. A bad
setting, unreadable data or an unwritable directory exits with status 1 and
an `error:` line, changing nothing written before.
"""

import sys

from absl import flags

from pipelines.components.evaluator import BLESSING_METRICS
from pipelines.config import (
    ARCHITECTURES,
    AUGMENTATIONS,
    LABEL_FREE_BLESSING,
    LABELLED_BLESSING,
    LOSSES,
    PRECISIONS,
    STRATEGIES,
    PipelineConfig,
)

_D = PipelineConfig()

FLAGS = flags.FLAGS


def define_flags(**defaults):
    """Defines every pipeline flag; `defaults` overrides `PipelineConfig`'s
    defaults by field name (e.g. `model_name="gan"`)."""
    d = lambda name: defaults.get(name, getattr(_D, name))  # noqa: E731
    # Data (exactly one source).
    flags.DEFINE_string(
        "image_dir",
        d("image_dir"),
        "Folder of images (PNG, JPEG, WebP, BMP, GIF first frame), searched recursively.",
    )
    flags.DEFINE_string(
        "dataset",
        d("dataset"),
        "TFDS image dataset name, e.g. mnist, cifar10 (labels and a test split "
        "are used when it has them).",
    )
    flags.DEFINE_string(
        "idx_dir",
        d("idx_dir"),
        "Folder of MNIST-format IDX files, e.g. /usr/share/datasets/fashion-mnist.",
    )
    flags.DEFINE_string(
        "tfds_data_dir", d("tfds_data_dir"), "TFDS data_dir (default ~/tensorflow_datasets)."
    )
    flags.DEFINE_integer(
        "num_train_examples", d("num_train_examples"), "Use only the first N training images."
    )
    flags.DEFINE_integer(
        "image_size",
        d("image_size"),
        "Images become S x S: the shorter side is resized to S (Lanczos), then "
        "the centre is cropped. One of 32, 64, 128. Unset: the source's own size "
        "(IDX, fixed-size TFDS), 64 for --image_dir and variable-size TFDS.",
    )
    flags.DEFINE_integer(
        "channels",
        d("channels"),
        "1 (grayscale) or 3 (RGB). Unset: 3 if any image is colour, else 1.",
    )
    flags.DEFINE_string(
        "background",
        d("background"),
        "Colour that transparent pixels (RGBA, palette transparency) are "
        "composited onto: white, black, #rrggbb, ...",
    )
    flags.DEFINE_boolean(
        "upscale_small_images",
        d("upscale_small_images"),
        "Enlarge images smaller than --image_size (counted in stats.json); "
        "--noupscale_small_images skips them (an error with --strict_images).",
    )
    flags.DEFINE_boolean(
        "strict_images",
        d("strict_images"),
        "An unusable image file (corrupt, empty, not an image, too small) is an "
        "error; by default it is skipped and listed in skipped.json.",
    )
    flags.DEFINE_boolean(
        "labels_from_folders",
        d("labels_from_folders"),
        "Label --image_dir images by their first-level sub-folder (one per class).",
    )
    # Model and training.
    flags.DEFINE_enum(
        "architecture",
        d("architecture"),
        list(ARCHITECTURES),
        "Network family (gankeras.architectures; resnet: train with --loss=hinge).",
    )
    flags.DEFINE_integer("latent_dim", d("latent_dim"), "Size of the latent vector z.")
    flags.DEFINE_integer("base_filters", d("base_filters"), "Width of the DCGAN networks.")
    flags.DEFINE_enum("loss", d("loss"), list(LOSSES), "Adversarial loss (gankeras.losses).")
    flags.DEFINE_integer("d_steps", d("d_steps"), "Discriminator updates per generator update.")
    flags.DEFINE_integer("epochs", d("epochs"), "Training epochs.")
    flags.DEFINE_integer(
        "steps_per_epoch", d("steps_per_epoch"), "Batches per epoch (default: one pass)."
    )
    flags.DEFINE_integer("batch_size", d("batch_size"), "Images per batch.")
    flags.DEFINE_float("d_learning_rate", d("d_learning_rate"), "Discriminator Adam learning rate.")
    flags.DEFINE_float("g_learning_rate", d("g_learning_rate"), "Generator Adam learning rate.")
    flags.DEFINE_float("beta_1", d("beta_1"), "Adam beta_1 of both optimizers.")
    flags.DEFINE_boolean("ema", d("ema"), "Keep (and export) an EMA of the generator weights.")
    flags.DEFINE_float(
        "ema_decay", d("ema_decay"), "Decay of the generator EMA per generator step (with --ema)."
    )
    flags.DEFINE_integer("replay_buffer", d("replay_buffer"), "Replay pool size for D (0: off).")
    flags.DEFINE_float(
        "gradient_penalty",
        d("gradient_penalty"),
        "WGAN-GP penalty weight (e.g. 10 with --loss=wasserstein).",
    )
    flags.DEFINE_float(
        "r1_penalty", d("r1_penalty"), "R1 gamma on real images (Mescheder et al. 2018; 0: off)."
    )
    flags.DEFINE_enum(
        "augment",
        d("augment"),
        list(AUGMENTATIONS),
        "Differentiable augmentation of D's real and fake inputs: diffaugment "
        "(Zhao et al. 2020) or ada (adaptive p, Karras et al. 2020).",
    )
    flags.DEFINE_float(
        "ada_target",
        d("ada_target"),
        "--augment=ada: the r_t = E[sign(D(real))] its p steers to, in (0, 1).",
    )
    flags.DEFINE_boolean(
        "conditional",
        d("conditional"),
        "Class-conditional GAN (with dcgan: its conditional variant; with "
        "resnet: resnet_projection).",
    )
    flags.DEFINE_integer("seed", d("seed"), "Random seed.")
    flags.DEFINE_enum(
        "strategy",
        d("strategy"),
        list(STRATEGIES),
        "Distribution engine (gankeras.distribute): 'mirrored' = all local devices "
        "(tf.distribute.MirroredStrategy / keras DataParallel); --batch_size is "
        "then the global batch.",
    )
    flags.DEFINE_enum(
        "precision",
        d("precision"),
        list(PRECISIONS),
        "Keras dtype policy of the networks: 'mixed_bfloat16' computes in bfloat16 "
        "with float32 weights and losses. Faster only on CPUs with native bfloat16 "
        "(AMX-BF16 / AVX512-BF16: 1.6-1.7x in bench/mixed_precision_quality.py); "
        "slower than float32 elsewhere. 'auto': mixed_bfloat16 where the hardware "
        "computes bfloat16 natively (such CPUs, NVIDIA GPUs of compute capability "
        ">= 8.0), else float32; the run prints what it chose and why.",
    )
    flags.DEFINE_integer("verbose", d("verbose"), "Keras progress: 0 silent, 1 bar, 2 line/epoch.")
    flags.DEFINE_boolean(
        "tensorboard",
        d("tensorboard"),
        "Write TensorBoard summaries (sample grid, D's accuracy, losses) to "
        "<Trainer model>/tensorboard (gankeras.callbacks.GANTensorBoard).",
    )
    flags.DEFINE_integer(
        "quality_every_n_epochs",
        d("quality_every_n_epochs"),
        "Measure FD/KID of --quality_samples fakes every N epochs "
        "(gankeras.callbacks.Quality) and evaluate and push the best "
        "generator instead of the last; 0: off.",
    )
    flags.DEFINE_integer(
        "quality_samples",
        d("quality_samples"),
        "Fakes per --quality_every_n_epochs measurement (> 128).",
    )
    # Evaluation, serving, orchestration.
    flags.DEFINE_integer("eval_samples", d("eval_samples"), "Images generated for evaluation.")
    flags.DEFINE_enum(
        "bless_metric",
        d("bless_metric"),
        list(BLESSING_METRICS),
        "Evaluation metric that decides the blessing (distances: lower is better). "
        "Unset: %s <= %g in the label-free SimCLR features for unlabelled images "
        "(--image_dir without --labels_from_folders), else %s >= %g."
        % (LABEL_FREE_BLESSING + LABELLED_BLESSING),
    )
    flags.DEFINE_float(
        "bless_threshold",
        d("bless_threshold"),
        "Bless only if --bless_metric passes this (at most for distances, "
        "at least for the others) and is not worse than the pushed version. "
        "Unset: the default of the metric (see --bless_metric).",
    )
    flags.DEFINE_string(
        "inception_weights",
        d("inception_weights"),
        "InceptionV3 weights file (.h5/.keras, e.g. keras.applications' "
        "ImageNet weights) for the inception_* metrics (FID in the usual "
        "features); unset: not computed.",
    )
    flags.DEFINE_integer(
        "encoder_steps",
        d("encoder_steps"),
        "Training steps of the Evaluator's label-free SimCLR encoder "
        "(unlabelled data; unset: 300).",
    )
    flags.DEFINE_string("serving_dir", d("serving_dir"), "TF Serving base directory.")
    flags.DEFINE_string("model_name", d("model_name"), "Served model name.")
    flags.DEFINE_integer("version", d("version"), "Version to push (default: the next free one).")
    flags.DEFINE_string("pipeline_root", d("pipeline_root"), "Directory of artifacts and records.")
    flags.DEFINE_boolean(
        "cache",
        d("cache"),
        "Reuse outputs of unchanged components "
        "(--nocache: run every component afresh in a new run directory).",
    )
    flags.DEFINE_float(
        "wait_for_lock",
        d("wait_for_lock"),
        "Seconds to wait while another run holds --pipeline_root or "
        "--serving_dir/--model_name (0: exit at once with an error naming it).",
    )


def config_from_flags(**overrides):
    """The `PipelineConfig` of the parsed flags (a field without a flag
    keeps its default), with `overrides` applied."""
    fields = PipelineConfig.__dataclass_fields__
    values = {name: getattr(FLAGS, name) for name in fields if name in FLAGS}
    return PipelineConfig(**dict(values, **overrides))


def run(argv, default_source=None):
    """The body of an entry point's `main`.

    Args:
        argv: absl's remaining arguments (must be just the program name).
        default_source: `fn(config) -> (overrides dict, reason str)` called
            when no data source flag is given (the MNIST preset), else None.

    Returns:
        The exit status.
    """
    from absl import app

    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from pipelines import pipeline
    from pipelines.framework import PipelineError

    config = config_from_flags()
    try:
        if default_source is not None and not (
            config.image_dir or config.dataset or config.idx_dir
        ):
            overrides, reason = default_source(config)
            config = config_from_flags(**overrides)
            print(f"data: {reason}")
        print("=== Pipeline config ===")
        print(config.to_json())
        if config.precision in PRECISIONS:  # else validate() says what is wrong
            policy, reason = config.resolved_precision()
            print(f"precision: {config.precision} -> {policy} ({reason})")
        records = pipeline.run(config)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(pipeline.summary(config, records))
    return 0
