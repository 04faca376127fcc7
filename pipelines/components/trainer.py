"""Trainer: builds the gankeras model from its parameters and trains it.

Parameters: `TrainerParameters`, built by `pipelines.config.PipelineConfig.
trainer_parameters()` (each field is the `PipelineConfig` field of the same
name; the defaults and the validation live there).

Outputs:
- `model/`: `generator.keras` (the generator with its EMA weights when EMA
  is on: what the Evaluator scores and the Pusher exports),
  `model_info.json` (latent_dim, num_classes, image_shape), `checkpoints/`
  (`gankeras.callbacks.GANCheckpoint`; an interrupted run resumes from the
  newest one) and `history.json` (every epoch's metrics, also those trained
  before a resume: the history is kept with the checkpoints).
- `samples/`: `fakes000001.png`, ... one sample grid per epoch, from fixed
  seeds so the grids show the same latents improving.
- `model/tensorboard/` (`tensorboard=True`): `gankeras.callbacks.
  GANTensorBoard` summaries per epoch (sample grid, D's accuracy on a fixed
  real batch and on fakes, the epoch's losses and quality figures):
  `tensorboard --logdir <model>/tensorboard`.
- `model/quality/` (`quality_every_n_epochs` > 0): `gankeras.callbacks.
  Quality` measures FD and KID of `quality_samples` fakes every n epochs and
  keeps the best generator (`best.keras`, `best.json`); `generator.keras`
  is then that best generator (what the Evaluator scores and the Pusher
  exports) and the record's `quality_best_epoch` says which epoch it is.
  The features are a cheap fixed extractor, the SimCLR encoder of the
  Evaluator's label-free metrics at its seeded random initialisation, not
  trained (training it, or the domain classifier, inside the Trainer costs
  minutes): random convolutional features still rank real < mode-dropped <
  blurred < collapsed (bench/label_free_ladder.py, "untrained encoder").

Exact resume: a run killed at any moment and rerun ends with the same
weights, optimizer slots, EMA, RNG state and history, bit for bit (same
backend and machine), as a run never stopped: every value training reads
is in the checkpoint, and the data order is a pure function of (--seed,
batch index) (`training_dataset`).
"""

import dataclasses
import json
import os

import numpy as np

from pipelines.components import example_gen
from pipelines.framework import RESOLVED, RUNTIME, Component, Parameters, PipelineError

SAMPLE_GRID_SEEDS = 64
CONDITIONAL_ARCHITECTURES = ("conditional", "acgan", "resnet_projection")
# --conditional maps an unconditional family to its conditional variant.
CONDITIONAL_VARIANTS = {"dcgan": "conditional", "resnet": "resnet_projection"}
# Real images the Quality and GANTensorBoard callbacks compare with.
QUALITY_REAL_IMAGES = 1000
TENSORBOARD_REAL_IMAGES = 64


@dataclasses.dataclass(frozen=True)
class TrainerParameters(Parameters):
    """The Trainer's parameters: each field but `network_options` is the
    `PipelineConfig` field (flag) of the same name and type, where its
    default, documentation and validation live. All but `verbose` are in
    the execution record and the cache key (`to_json()`).

    `seed` is also the GAN's noise seed (z, label and augmentation draws)
    and the data order's; `batch_size` is the global batch.
    """

    architecture: str
    latent_dim: int
    base_filters: int
    loss: str
    d_steps: int
    epochs: int
    steps_per_epoch: int | None
    batch_size: int
    d_learning_rate: float
    g_learning_rate: float
    beta_1: float
    ema: bool
    ema_decay: float
    replay_buffer: int
    gradient_penalty: float
    r1_penalty: float
    augment: str
    ada_target: float
    conditional: bool
    seed: int
    strategy: str
    precision: str
    tensorboard: bool
    quality_every_n_epochs: int
    quality_samples: int
    # Keras progress output: not in the record or the cache key (0: what a
    # record read back gets; `trainer_parameters()` passes --verbose).
    verbose: int = dataclasses.field(default=0, metadata=RUNTIME)
    # Every option of the networks, which are built from exactly it
    # (`pipelines.pipeline.resolved_network_options`, resolved when the
    # Trainer is about to run); None outside the pipeline: resolved here.
    network_options: dict | None = dataclasses.field(default=None, metadata=RESOLVED)

    @property
    def network_name(self):
        """The `gankeras.architectures` name these parameters build:
        `architecture`, or with `conditional` its conditional variant
        (`CONDITIONAL_VARIANTS`)."""
        if self.conditional:
            return CONDITIONAL_VARIANTS.get(self.architecture, self.architecture)
        return self.architecture


def make_trainer(examples, parameters):
    """The Trainer component.

    Args:
        examples: the ExampleGen `examples` channel.
        parameters: a `TrainerParameters`
            (`pipelines.config.PipelineConfig.trainer_parameters()`).
    """
    return Component(
        name="Trainer",
        executor=run_trainer,
        inputs={"examples": examples},
        outputs=("model", "samples"),
        parameters=parameters,
    )


def build_gan(p, image_shape, num_classes):
    """A compiled `gankeras.GAN` from the `TrainerParameters` `p`, its
    networks and the GAN built under the dtype policy `p.precision`
    ("float32", or "mixed_bfloat16": bfloat16 compute, float32 weights and
    losses). The global policy is restored afterwards; the layers keep
    theirs, also in the saved `generator.keras`."""
    import keras

    precision = p.precision
    if precision == "mixed_bfloat16":
        from gankeras import hardware

        if not hardware.native_bfloat16():
            print(
                f"  note: --precision=mixed_bfloat16 on a CPU without native bfloat16 "
                f"({hardware.describe()}): it trains, but slower than float32 here."
            )
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(precision)
    try:
        return _build_gan(p, image_shape, num_classes)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _build_gan(p, image_shape, num_classes):
    """A compiled `gankeras.GAN` from the `TrainerParameters` `p`.

    `--conditional` with "dcgan" picks its class-conditional variant
    ("conditional", Mirza & Osindero 2014); "conditional" and "acgan" are
    conditional by nature.
    """
    import keras

    import gankeras
    from gankeras import architectures

    name = p.network_name
    conditional = name in CONDITIONAL_ARCHITECTURES
    if p.conditional and not conditional:
        raise PipelineError(
            f"--conditional is not available for --architecture={name}; expected one of "
            f"{sorted(set(CONDITIONAL_VARIANTS) | set(CONDITIONAL_ARCHITECTURES))}."
        )
    # The options the pipeline resolved and recorded (`network_options`, part
    # of the cache key); without them (a Trainer run outside the pipeline),
    # the same resolution here.
    options = p.network_options
    if options is None:
        options = architectures.resolve_options(
            name, **({} if name == "mlp" else {"base_filters": p.base_filters})
        )
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        networks = architectures.build(
            name,
            image_shape=image_shape,
            latent_dim=p.latent_dim,
            num_classes=num_classes if conditional else None,
            **options,
        )
    except ValueError as error:
        raise PipelineError(f"Cannot build --architecture={name}: {error}") from error
    replay = gankeras.ReplayBuffer(capacity=p.replay_buffer) if p.replay_buffer else None
    augment = gankeras.augment.get(
        p.augment, **({"target": p.ada_target} if p.augment == "ada" else {})
    )
    # --seed sets the GAN's noise seed too (z, label and augmentation draws).
    gan = gankeras.GAN(**networks, replay_buffer=replay, augment=augment, seed=p.seed)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(p.d_learning_rate, beta_1=p.beta_1),
        g_optimizer=keras.optimizers.Adam(
            p.g_learning_rate, beta_1=p.beta_1, use_ema=p.ema, ema_momentum=p.ema_decay
        ),
        loss=p.loss,
        d_steps=p.d_steps,
        gradient_penalty=p.gradient_penalty,
        r1_penalty=p.r1_penalty,
        # The decay ramps up to ema_decay (0.999 averages ~1000 updates), so
        # that a short run on a small folder exports a trained average.
        ema_warmup=p.ema,
    )
    return gan


def run_trainer(inputs, outputs, p):
    """The executor: `p` is the `TrainerParameters` (resolved)."""
    import keras

    from gankeras.distribute import get_strategy, strategy_scope

    keras.utils.set_random_seed(p.seed)
    with open(inputs["examples"].path("stats.json")) as f:
        stats = json.load(f)
    # Networks, optimizers and fit all live in the strategy's scope; with
    # several replicas --batch_size is the global batch.
    try:
        get_strategy(p.strategy)  # Fails for engines the backend lacks.
    except ValueError as error:
        raise PipelineError(f"--strategy={p.strategy}: {error}") from error
    with strategy_scope(p.strategy):
        return _train(inputs, outputs, p, stats)


def training_dataset(examples, p, conditional, initial_epoch):
    """The Trainer's input: `(dataset, steps_per_epoch)`.

    An endless stream (`gankeras.data.pipeline.finish(start_batch=...)`)
    whose batch k is a pure function of (--seed, k), started at the first
    batch epoch `initial_epoch` trains on: a resumed run sees exactly the
    batches an uninterrupted run sees. An epoch is --steps_per_epoch
    batches, or one pass over the data (count // batch_size) without it.
    """
    from gankeras.data import pipeline

    dataset, count = example_gen.training_examples(examples, with_labels=conditional)
    steps_per_epoch = p.steps_per_epoch or count // p.batch_size
    if steps_per_epoch < 1:
        raise PipelineError(
            f"--batch_size={p.batch_size} is larger than the {count} training "
            "examples: one batch needs at least batch_size examples. Use a "
            f"--batch_size of at most {count} (or more --num_train_examples)."
        )
    dataset = pipeline.finish(
        dataset,
        value_range=pipeline.UINT8_RANGE,
        batch_size=p.batch_size,
        seed=p.seed,
        shuffle_buffer=shuffle_window(count, examples),
        start_batch=initial_epoch * steps_per_epoch,
        source=f"the {count} training examples",
    )
    return dataset, steps_per_epoch


# Bytes of decoded images the shuffle window may hold: the whole of MNIST
# (47 MB, a uniform shuffle as before) fits; a large folder of 64x64 RGB
# images is shuffled in windows of ~20k, so memory does not grow with N.
SHUFFLE_WINDOW_BYTES = 256 * 2**20


def shuffle_window(count, examples):
    """Examples per shuffle window: all of them when they fit in
    `SHUFFLE_WINDOW_BYTES`, else as many as fit."""
    height, width, channels = example_gen.read_stats(examples)["image_shape"]
    return int(min(count, max(1, SHUFFLE_WINDOW_BYTES // (height * width * channels))))


def _train(inputs, outputs, p, stats):
    from gankeras import callbacks

    gan = build_gan(p, tuple(stats["image_shape"]), stats["num_classes"])
    if gan.conditional and stats["num_classes"] is None:
        raise PipelineError("A conditional GAN needs labelled examples; the dataset has none.")
    model_dir, samples_dir = outputs["model"].uri, outputs["samples"].uri
    checkpoint_dir = os.path.join(model_dir, "checkpoints")
    initial_epoch = callbacks.resume_or_start(gan, checkpoint_dir)
    if initial_epoch:
        print(f"  resuming from the checkpoint of epoch {initial_epoch}")
    if initial_epoch < p.epochs:
        dataset, steps_per_epoch = training_dataset(
            inputs["examples"], p, gan.conditional, initial_epoch
        )
        # Quality first (its figures go into the logs the others see), the
        # grid before the checkpoint: once a checkpoint exists, its epoch's
        # grid and best generator do.
        extra = monitoring_callbacks(inputs["examples"], p, gan, model_dir, initial_epoch)
        gan.fit(
            dataset,
            epochs=p.epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            callbacks=[
                *extra,
                callbacks.SampleGrid(samples_dir, seeds=np.arange(SAMPLE_GRID_SEEDS)),
                callbacks.GANCheckpoint(checkpoint_dir, keep=2),
            ],
            verbose=p.verbose,
        )
    # The whole history, also of epochs trained before a resume: it is kept
    # with the checkpoints (the last epoch always gets one).
    history = callbacks.read_history(checkpoint_dir, p.epochs)
    best = callbacks.quality.read_best(quality_dir(model_dir)) if p.quality_every_n_epochs else None
    if best is not None:
        # The best generator Quality kept (saved with its EMA weights).
        import shutil

        shutil.copyfile(
            os.path.join(quality_dir(model_dir), "best.keras"),
            os.path.join(model_dir, "generator.keras"),
        )
    else:
        with gan.ema_weights():
            gan.generator.save(os.path.join(model_dir, "generator.keras"))
    with open(os.path.join(model_dir, "history.json"), "w") as f:
        json.dump(history, f, indent=2)
    with open(os.path.join(model_dir, "model_info.json"), "w") as f:
        json.dump(
            dict(
                latent_dim=gan.latent_dim,
                num_classes=gan.num_classes,
                image_shape=list(gan.image_shape),
                ema=gan.has_ema,
            ),
            f,
            indent=2,
        )
    grids = sorted(n for n in os.listdir(samples_dir) if n.startswith("fakes"))
    return {
        "epochs": p.epochs,
        "resumed_from_epoch": initial_epoch,
        "final_metrics": {k: v[-1] for k, v in history.items()},
        "sample_grid": os.path.join(samples_dir, grids[-1]) if grids else None,
        **({"quality_best_epoch": best["epoch"], "quality_best": best} if best else {}),
        **({"tensorboard": os.path.join(model_dir, "tensorboard")} if p.tensorboard else {}),
    }


def quality_dir(model_dir):
    return os.path.join(model_dir, "quality")


def monitoring_callbacks(examples, p, gan, model_dir, initial_epoch):
    """`[Quality, GANTensorBoard]`, each when its parameter asks for it
    (`quality_every_n_epochs` > 0, `tensorboard`)."""
    from gankeras import callbacks
    from gankeras.data.pixels import to_model_range

    every = p.quality_every_n_epochs
    if not every and not p.tensorboard:
        return []
    count = max(QUALITY_REAL_IMAGES if every else 0, TENSORBOARD_REAL_IMAGES)
    images, labels, _ = example_gen.load_examples(examples, "train", limit=count)
    real = to_model_range(images)
    found = []
    if every:
        from gankeras.evaluation import contrastive

        # A fixed extractor (see the module docstring): the same seeded
        # random weights in every run and after every resume.
        encoder = contrastive.ContrastiveEncoder(
            contrastive.build_contrastive_encoder(tuple(gan.image_shape), seed=p.seed)
        )
        found.append(
            callbacks.Quality(
                encoder.features,
                real,
                every_n_epochs=every,
                num_samples=p.quality_samples,
                seed=p.seed,
                directory=quality_dir(model_dir),
                use_ema=p.ema,
                resume=initial_epoch > 0,
            )
        )
    if p.tensorboard:
        conditional = gan.conditional and labels is not None
        found.append(
            callbacks.GANTensorBoard(
                os.path.join(model_dir, "tensorboard"),
                labels=(np.arange(16) % gan.num_classes) if conditional else None,
                real_images=real[:TENSORBOARD_REAL_IMAGES],
                real_labels=labels[:TENSORBOARD_REAL_IMAGES] if conditional else None,
            )
        )
    return found
