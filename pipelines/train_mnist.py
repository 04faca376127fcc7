"""`python -m pipelines.train_mnist`: the GAN pipeline on MNIST-like images.

ExampleGen (TFDS `--dataset`, or local IDX files with `--idx_dir`) ->
Trainer (gankeras GAN, checkpoints with resume, sample grids) -> Evaluator
(metric + blessing) -> Pusher (TF Serving version under `--serving_dir`).

Examples:

```
python -m pipelines.train_mnist                          # TFDS mnist (network)
python -m pipelines.train_mnist --model_name=fashion_gan \\
    --idx_dir=/usr/share/datasets/fashion-mnist          # offline
python -m pipelines.train_mnist --helpfull               # every flag
```

Flags -> `pipelines.config.PipelineConfig` (printed, saved as
`<pipeline_root>/pipeline_config.json`) -> `pipelines.pipeline.run`. A bad
setting, unreadable data or an unwritable directory exits with status 1 and
an `error:` line, changing nothing written before.
"""

import sys

from absl import app
from absl import flags

from pipelines.config import ARCHITECTURES, PRECISIONS, STRATEGIES, PipelineConfig

_D = PipelineConfig()
# Loss names are listed here, not imported from gankeras, so --helpfull
# stays fast; PipelineConfig.validate checks them against gankeras.losses.
_LOSSES = ["non_saturating", "minimax", "wasserstein", "hinge", "least_squares",
           "relativistic_average"]

flags.DEFINE_string("dataset", _D.dataset, "TFDS image dataset name (when --idx_dir is unset).")
flags.DEFINE_string("idx_dir", None, "Folder of MNIST-format IDX files (offline source).")
flags.DEFINE_string("tfds_data_dir", None, "TFDS data_dir (default ~/tensorflow_datasets).")
flags.DEFINE_integer("num_train_examples", None, "Use only the first N training images.")
flags.DEFINE_enum("architecture", _D.architecture, list(ARCHITECTURES), "Network family.")
flags.DEFINE_integer("latent_dim", _D.latent_dim, "Size of the latent vector z.")
flags.DEFINE_integer("base_filters", _D.base_filters, "Width of the DCGAN networks.")
flags.DEFINE_enum("loss", _D.loss, _LOSSES, "Adversarial loss (gankeras.losses).")
flags.DEFINE_integer("d_steps", _D.d_steps, "Discriminator updates per generator update.")
flags.DEFINE_integer("epochs", _D.epochs, "Training epochs.")
flags.DEFINE_integer("steps_per_epoch", None, "Batches per epoch (default: one pass).")
flags.DEFINE_integer("batch_size", _D.batch_size, "Images per batch.")
flags.DEFINE_float("d_learning_rate", _D.d_learning_rate, "Discriminator Adam learning rate.")
flags.DEFINE_float("g_learning_rate", _D.g_learning_rate, "Generator Adam learning rate.")
flags.DEFINE_float("beta_1", _D.beta_1, "Adam beta_1 of both optimizers.")
flags.DEFINE_boolean("ema", _D.ema, "Keep (and export) an EMA of the generator weights.")
flags.DEFINE_integer("replay_buffer", _D.replay_buffer, "Replay pool size for D (0: off).")
flags.DEFINE_float("gradient_penalty", _D.gradient_penalty,
                   "WGAN-GP penalty weight (e.g. 10 with --loss=wasserstein).")
flags.DEFINE_boolean("conditional", _D.conditional,
                     "Class-conditional GAN (with dcgan: its conditional variant).")
flags.DEFINE_integer("seed", _D.seed, "Random seed.")
flags.DEFINE_enum("strategy", _D.strategy, list(STRATEGIES), "Distribution engine (gankeras.distribute): 'mirrored' = all local devices "
    "(tf.distribute.MirroredStrategy / keras DataParallel); --batch_size is then the global batch.")
flags.DEFINE_enum("precision", _D.precision, list(PRECISIONS),
                  "Keras dtype policy of the networks: 'mixed_bfloat16' computes in bfloat16 "
                  "with float32 weights and losses. Faster only on CPUs with native bfloat16 "
                  "(AMX-BF16 / AVX512-BF16: 1.6-1.7x in bench/mixed_precision_quality.py); "
                  "slower than float32 elsewhere (the run says which applies).")
flags.DEFINE_integer("verbose", _D.verbose, "Keras progress: 0 silent, 1 bar, 2 line/epoch.")
flags.DEFINE_integer("eval_samples", _D.eval_samples, "Images generated for evaluation.")
flags.DEFINE_enum("bless_metric", _D.bless_metric,
                  ["frechet_distance", "kernel_distance", "classifier_score", "precision", "recall"],
                  "Evaluation metric that decides the blessing (distances: lower is better).")
flags.DEFINE_float("bless_threshold", _D.bless_threshold,
                   "Bless only if --bless_metric passes this (at most for distances, "
                   "at least for the others) and is not worse than the pushed version.")
flags.DEFINE_string("serving_dir", _D.serving_dir, "TF Serving base directory.")
flags.DEFINE_string("model_name", _D.model_name, "Served model name.")
flags.DEFINE_integer("version", None, "Version to push (default: the next free one).")
flags.DEFINE_string("pipeline_root", _D.pipeline_root, "Directory of artifacts and records.")
flags.DEFINE_boolean("cache", _D.cache, "Reuse outputs of unchanged components.")

FLAGS = flags.FLAGS


def config_from_flags():
    fields = PipelineConfig.__dataclass_fields__
    return PipelineConfig(**{name: getattr(FLAGS, name) for name in fields})


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    from pipelines import pipeline
    from pipelines.framework import PipelineError

    config = config_from_flags()
    print("=== Pipeline config ===")
    print(config.to_json())
    try:
        records = pipeline.run(config)
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(pipeline.summary(config, records))
    return 0


if __name__ == "__main__":
    app.run(main)
