"""Quality against wall-clock time: which recipe trains the best generator
in a fixed budget on this machine?

Trains each contender on Fashion-MNIST (the IDX files, the Trainer's data
stream: `gankeras.data.pipeline.finish` with `start_batch`, a pure function
of (seed, batch index)) and, each time a contender's own training clock
passes a mark (default 2.5, 5, 10, 20 minutes), scores it as the pipeline's
Evaluator does: `--samples` generated images (EMA weights where kept) and
as many real training images, in the features of the domain classifier
(`gankeras.evaluation.load_or_train_domain_classifier`, cached in
`--cache_dir`): FD, KID, precision/recall (k=3), classifier score; and
FD, precision and recall of the first `PipelineConfig().eval_samples`
(2,000) of them, the figures the pipeline's Evaluator reports (FD is
biased upward in 1/n and k-NN precision/recall depend on n, so the two
sample counts do not give the same numbers).

Contenders run interleaved in one process: round robin, each trains for
`--slice_s` seconds of wall clock (or up to its next mark) in turn, so a
change in the machine's load hits all of them alike. A contender's clock
counts only its own training slices (graph tracing and compilation
included); the clock is stopped while it is evaluated.

Contenders:
- `defaults`: the pipeline's Trainer with `PipelineConfig()`'s defaults
  (`pipelines.components.trainer.build_gan`).
- `keras_dcgan`: the keras.io DCGAN recipe as a plain `keras.Model` with
  its own `train_step` (no gankeras): the 28x28 networks of keras.io's
  MNIST GAN example, two Adam(2e-4, beta_1=0.5), the non-saturating loss
  (binary cross-entropy on D's sigmoid, 0.05 label noise), batch 64,
  latent 128, no EMA. TensorFlow and torch backends.
- `--candidate=NAME:field=value,...`: the Trainer with `PipelineConfig`
  fields changed, e.g. `ttur:d_learning_rate=4e-4,g_learning_rate=1e-4`,
  `bf16:precision=auto`, `resnet:architecture=resnet,loss=hinge`.

Usage:
    python bench/time_to_quality.py --marks=2.5,5 --contenders=defaults,keras_dcgan \\
        --candidate=bf16:precision=mixed_bfloat16 [--backend=jax] [--seed=0]
"""

import argparse
import ast
import dataclasses
import os
import platform
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
IMAGE_SHAPE = (28, 28, 1)
STEPS_PER_FIT = 10**9  # fit runs until the slice's deadline stops it


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def parse_candidate(text):
    """`"name:field=value,..."` -> `(name, {field: value})`; fields are
    `PipelineConfig`'s, values Python literals (or bare strings)."""
    from pipelines.config import PipelineConfig

    name, _, assignments = text.partition(":")
    fields = {f.name for f in dataclasses.fields(PipelineConfig)}
    overrides = {}
    for assignment in filter(None, assignments.split(",")):
        key, eq, value = assignment.partition("=")
        if not eq or key not in fields:
            sys.exit(
                f"error: bad --candidate {text!r}: expected NAME:field=value,... with "
                f"PipelineConfig fields. Received the assignment {assignment!r}"
            )
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    if not name:
        sys.exit(f"error: bad --candidate {text!r}: it needs a NAME before the colon")
    return name, overrides


class Deadline:
    """A Keras callback that stops `fit` at a `time.perf_counter()` value
    and counts the batches trained."""

    def __new__(cls, *args, **kwargs):
        import keras

        class _Deadline(keras.callbacks.Callback):
            def __init__(self, deadline):
                super().__init__()
                self.deadline = deadline
                self.batches = 0

            def on_train_batch_end(self, batch, logs=None):
                self.batches += 1
                if time.perf_counter() >= self.deadline:
                    self.model.stop_training = True

        return _Deadline(*args, **kwargs)


class Contender:
    """A model, its data stream position and its training clock."""

    def __init__(self, name, model, batch_size, seed, generate_fn, images):
        self.name, self.model, self.batch_size, self.seed = name, model, batch_size, seed
        self.generate_fn, self.images = generate_fn, images
        self.clock = 0.0  # seconds of training
        self.batches = 0
        self.results = []  # (mark minutes, clock s, batches, metrics)

    def train_until(self, clock):
        """Trains until its clock reaches `clock` seconds."""
        import tensorflow as tf

        from gankeras.data import pipeline

        start = time.perf_counter()
        dataset = pipeline.finish(
            tf.data.Dataset.from_tensor_slices(self.images),
            value_range=pipeline.UINT8_RANGE,
            batch_size=self.batch_size,
            seed=self.seed,
            start_batch=self.batches,
            source="Fashion-MNIST",
        )
        stop = Deadline(start + clock - self.clock)
        self.model.fit(
            dataset,
            epochs=1,
            steps_per_epoch=STEPS_PER_FIT,
            callbacks=[stop],
            verbose=0,
            shuffle=False,
        )
        self.batches += stop.batches
        self.clock += time.perf_counter() - start


def library_contender(name, overrides, images, seed):
    from pipelines.components.trainer import build_gan
    from pipelines.config import PipelineConfig

    config = PipelineConfig(**dict(overrides, seed=seed))
    p = config.trainer_parameters()  # "auto" precision resolved
    policy, reason = config.resolved_precision()
    print(f"  {name}: precision {config.precision} -> {policy} ({reason})")
    from pipelines.framework import PipelineError

    try:
        gan = build_gan(p, IMAGE_SHAPE, None)
    except PipelineError as error:
        sys.exit(f"error: contender {name}: {error}")
    from gankeras.evaluation import sources

    return Contender(name, gan, p.batch_size, seed, sources.from_gan(gan), images)


def keras_dcgan_model(latent_dim=128):
    """The keras.io GAN recipe for 28x28 images (its MNIST networks), as a
    plain `keras.Model` with its own train step (TensorFlow or torch)."""
    import keras
    from keras import layers

    discriminator = keras.Sequential(
        [
            keras.Input(IMAGE_SHAPE),
            layers.Conv2D(64, 3, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(128, 3, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.GlobalMaxPooling2D(),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="discriminator",
    )
    generator = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(7 * 7 * 128),
            layers.LeakyReLU(0.2),
            layers.Reshape((7, 7, 128)),
            layers.Conv2DTranspose(128, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2DTranspose(128, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(1, 7, padding="same", activation="tanh"),
        ],
        name="generator",
    )
    backend = keras.backend.backend()

    class KerasDCGAN(keras.Model):
        def __init__(self):
            super().__init__()
            self.discriminator, self.generator = discriminator, generator
            self.latent_dim = latent_dim
            self.seed_generator = keras.random.SeedGenerator(1337)
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

        def call(self, images):  # fit builds the model on a batch (torch)
            return self.discriminator(images)

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def _d_batch(self, real_images):
            from keras import ops

            batch_size = ops.shape(real_images)[0]
            z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            combined = ops.concatenate([self.generator(z), real_images], axis=0)
            labels = ops.concatenate(
                [ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0
            )
            # Label noise: "an important trick" (keras.io).
            labels += 0.05 * keras.random.uniform(ops.shape(labels), seed=self.seed_generator)
            return combined, labels

        def _g_batch(self, batch_size):
            from keras import ops

            z = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            return z, ops.zeros((batch_size, 1))  # "all real images"

        def train_step(self, real_images):
            if backend == "tensorflow":
                d_loss, g_loss = self._tf_step(real_images)
            else:
                d_loss, g_loss = self._torch_step(real_images)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {m.name: m.result() for m in self.metrics}

        def _tf_step(self, real_images):
            import tensorflow as tf

            combined, labels = self._d_batch(real_images)
            with tf.GradientTape() as tape:
                d_loss = self.loss_fn(labels, self.discriminator(combined))
            d_vars = self.discriminator.trainable_weights
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
            z, misleading = self._g_batch(tf.shape(real_images)[0])
            with tf.GradientTape() as tape:
                g_loss = self.loss_fn(misleading, self.discriminator(self.generator(z)))
            g_vars = self.generator.trainable_weights
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
            return d_loss, g_loss

        def _torch_step(self, real_images):
            import torch

            combined, labels = self._d_batch(real_images)
            self.zero_grad()
            d_loss = self.loss_fn(labels, self.discriminator(combined.detach()))
            d_loss.backward()
            d_vars = self.discriminator.trainable_weights
            with torch.no_grad():
                self.d_optimizer.apply([v.value.grad for v in d_vars], d_vars)
            z, misleading = self._g_batch(real_images.shape[0])
            self.zero_grad()
            g_loss = self.loss_fn(misleading, self.discriminator(self.generator(z)))
            g_loss.backward()
            g_vars = self.generator.trainable_weights
            with torch.no_grad():
                self.g_optimizer.apply([v.value.grad for v in g_vars], g_vars)
            return d_loss.detach(), g_loss.detach()

    model = KerasDCGAN()
    model.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        loss_fn=binary_crossentropy,
    )
    return model


def binary_crossentropy(labels, probabilities):
    """Keras's binary cross-entropy on probabilities (clipped to [1e-7,
    1 - 1e-7]), written out: torch's refuses the recipe's noisy labels > 1."""
    from keras import ops

    p = ops.clip(probabilities, 1e-7, 1.0 - 1e-7)
    return ops.mean(-(labels * ops.log(p) + (1.0 - labels) * ops.log(1.0 - p)))


def keras_dcgan_contender(images, seed):
    import keras

    from gankeras.evaluation import sources

    if keras.backend.backend() not in ("tensorflow", "torch"):
        print(
            f"  keras_dcgan: skipped on {keras.backend.backend()} (its plain train_step "
            "is written for TensorFlow and torch here)"
        )
        return None
    keras.utils.set_random_seed(seed)
    model = keras_dcgan_model()
    return Contender(
        "keras_dcgan", model, 64, seed, sources.from_generator_model(model.generator), images
    )


class Scorer:
    """The Evaluator's domain-classifier metrics of `samples` generated
    images against as many real training images (features computed once)."""

    def __init__(self, cache_dir, samples):
        from gankeras import evaluation
        from gankeras.data import idx
        from gankeras.data.pixels import to_model_range

        train, train_labels = idx.load_idx(FASHION_MNIST_DIR, "train")
        test, test_labels = idx.load_idx(FASHION_MNIST_DIR, "test")
        self.train_images = train
        self.classifier = evaluation.load_or_train_domain_classifier(
            cache_dir, to_model_range(train), train_labels, to_model_range(test), test_labels
        )
        self.samples = samples
        from pipelines.config import PipelineConfig

        self.evaluator_samples = PipelineConfig().eval_samples
        self.real_features, _ = self.classifier.features_and_logits(to_model_range(train[:samples]))

    def score(self, generate_fn):
        from gankeras.evaluation import classifier_score
        from gankeras.evaluation import report as report_lib

        fakes = report_lib.generate_samples(generate_fn, self.samples)
        features, logits = self.classifier.features_and_logits(fakes)
        metrics = report_lib.distance_metrics(self.real_features, features)
        metrics["classifier_score"] = classifier_score(logits)
        # The same fakes at the pipeline Evaluator's default sample count
        # (FD is biased upward in 1/n, k-NN precision/recall depend on n):
        # what `python -m pipelines.train_mnist` would report.
        n = self.evaluator_samples
        if n < self.samples:
            small = report_lib.distance_metrics(self.real_features[:n], features[:n])
            metrics["evaluator"] = {"n": n, **small}
        return metrics


def at_evaluator(metrics):
    """`" | at n=2000: FD .. R .."` (the Evaluator's sample count), or ""."""
    small = metrics.get("evaluator")
    if not small:
        return ""
    return (
        f" | at n={small['n']}: FD {small['frechet_distance']:.2f} "
        f"P {small['precision']:.3f} R {small['recall']:.3f}"
    )


def small_columns(metrics):
    small = metrics.get("evaluator")
    if not small:
        return ""
    return f" {small['frechet_distance']:7.2f} {small['recall']:6.3f}"


def run(args):
    import keras

    marks = sorted(float(m) for m in args.marks.split(","))
    print(f"CPU: {cpu_model()} ({os.cpu_count()} logical cores)")
    from gankeras import hardware

    print(f"bfloat16: {hardware.describe()}")
    print(f"backend: {keras.backend.backend()} (keras {keras.__version__})")
    print(f"load average at start: {load_average()}")
    print(
        f"marks (min): {marks}; samples: {args.samples}; seed: {args.seed}; slice: {args.slice_s}s"
    )
    scorer = Scorer(args.cache_dir, args.samples)
    print(f"domain classifier test accuracy: {scorer.classifier.test_accuracy:.3f}", flush=True)
    images = scorer.train_images
    contenders = []
    names = [n for n in args.contenders.split(",") if n]
    candidates = [parse_candidate(c) for c in args.candidate]
    for name in names:
        if name == "defaults":
            contenders.append(library_contender("defaults", {}, images, args.seed))
        elif name == "keras_dcgan":
            contender = keras_dcgan_contender(images, args.seed)
            if contender is not None:
                contenders.append(contender)
        else:
            sys.exit(f"error: unknown contender {name!r}: expected defaults or keras_dcgan")
    for name, overrides in candidates:
        print(f"  {name}: {overrides}")
        contenders.append(library_contender(name, overrides, images, args.seed))
    pending = {c.name: list(marks) for c in contenders}
    while any(pending.values()):
        for c in contenders:
            if not pending[c.name]:
                continue
            mark_s = pending[c.name][0] * 60
            c.train_until(min(mark_s, c.clock + args.slice_s))
            if c.clock >= mark_s:
                mark = pending[c.name].pop(0)
                start = time.perf_counter()
                metrics = scorer.score(c.generate_fn)
                seconds = time.perf_counter() - start
                c.results.append((mark, c.clock, c.batches, metrics))
                print(
                    f"[{c.name}] {mark:g} min (clock {c.clock:.0f}s, {c.batches} batches): "
                    f"FD {metrics['frechet_distance']:.2f} KID {metrics['kernel_distance']:.3f} "
                    f"P {metrics['precision']:.3f} R {metrics['recall']:.3f} "
                    f"CS {metrics['classifier_score']:.2f}{at_evaluator(metrics)} (eval {seconds:.0f}s, "
                    f"load {load_average()})",
                    flush=True,
                )
    print(f"\nload average at end: {load_average()}")
    header = (
        f"{'contender':16s} {'min':>5s} {'batches':>8s} {'img/s':>6s} {'FD':>7s} {'KID':>7s} "
        f"{'prec':>6s} {'recall':>6s} {'cls':>5s} {'FD@n':>7s} {'R@n':>6s}"
    )
    print(header)
    for c in contenders:
        for mark, clock, batches, m in c.results:
            print(
                f"{c.name:16s} {mark:5g} {batches:8d} {batches * c.batch_size / clock:6.0f} "
                f"{m['frechet_distance']:7.2f} {m['kernel_distance']:7.3f} "
                f"{m['precision']:6.3f} {m['recall']:6.3f} {m['classifier_score']:5.2f}"
                + small_columns(m)
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marks", default="2.5,5,10,20", help="minutes of training")
    parser.add_argument("--contenders", default="defaults,keras_dcgan")
    parser.add_argument("--candidate", action="append", default=[], help="NAME:field=value,...")
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slice_s", type=float, default=30.0)
    parser.add_argument("--cache_dir", default="runs/cache")
    parser.add_argument("--backend", help="run under this KERAS_BACKEND in a subprocess")
    args, _ = parser.parse_known_args(argv)
    if args.backend:
        given = list(argv if argv is not None else sys.argv[1:])
        rest = []
        for i, a in enumerate(given):
            if a.startswith("--backend") or (i and given[i - 1] == "--backend"):
                continue
            rest.append(a)
        env = dict(os.environ, KERAS_BACKEND=args.backend)
        return subprocess.run([sys.executable, __file__, *rest], env=env).returncode
    args = parser.parse_args(argv)
    if not os.path.isdir(FASHION_MNIST_DIR):
        sys.exit(f"error: needs the Fashion-MNIST IDX files in {FASHION_MNIST_DIR}")
    for c in args.candidate:
        parse_candidate(c)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
