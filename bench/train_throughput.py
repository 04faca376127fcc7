"""Training throughput of the DCGAN (28x28x1): gankeras vs plain Keras vs plain PyTorch.

Prints training images/second at each batch size for three contenders, run
in the same process and interleaved: each repeat runs every contender once,
in a rotating order, and measures the matmul ceiling once. The CPU is shared
and one repeat's throughput can differ from the next by 2x, so every figure
that compares two things is paired within a repeat:

  - a ratio gankeras/X is computed in each repeat from that repeat's two
    rates; the report gives the median of these per-repeat ratios, with
    their min..max (not the ratio of the two medians);
  - "% ceiling" is, per repeat, the counted GFLOP/s over that repeat's
    ceiling; the report gives its median over repeats;
  - the img/s and GFLOP/s columns are plain medians over repeats.

The contenders:

  gankeras      `gankeras.GAN(...).fit(dataset)`, the library as users call it.
  plain keras   a hand-written Keras step on the active backend, keras.io
                `dcgan_overriding_train_step` style: one D update (real and
                fake batches through D separately, like gankeras), then one G
                update with fresh latents. TensorFlow: `train_step` with
                `tf.GradientTape` under `fit`; PyTorch: `train_step` with
                `.backward()` under `fit` (keras.io's custom_train_step_in_torch
                guide); JAX: a `jax.jit` step over `stateless_call` /
                `stateless_apply` (keras.io's training-loop-from-scratch-in-JAX
                guide; Keras's JAX `fit` threads only one optimizer's state).
  plain torch   the same networks written in `torch.nn` (NCHW), translated layer
                by layer from the Keras models, trained with `torch.optim.Adam`
                in a plain loop (D's parameters frozen during the G update).

All three use the same networks (`gankeras.architectures.dcgan_*`), Adam(2e-4,
beta_1=0.5) for both, the non-saturating loss (computed on float32 logits),
and real Fashion-MNIST images when /usr/share/datasets/fashion-mnist is
installed (else uniform noise in [-1, 1]; speed does not depend on pixel
values).

Precision (`--precision`), like for like:
  float32         (default) everything in float32.
  mixed_bfloat16  the Keras contenders' networks and models are built under
                  `keras.mixed_precision.set_global_policy("mixed_bfloat16")`
                  (bfloat16 compute, float32 variables; the previous policy is
                  restored after building), and the plain PyTorch loop runs its
                  forward passes and losses under
                  `torch.autocast("cpu", dtype=torch.bfloat16)` (backward and
                  the optimizer step outside it, as torch's AMP docs say).
  float32,mixed_bfloat16
                  every contender at the first precision, plus one gankeras
                  contender per further precision ("gankeras[mixed_bfloat16]"),
                  in the same interleaved run; its ratio is against gankeras at
                  the first precision (the plain contenders run only at that).

FLOPs per training image are counted analytically from the layer shapes
(multiply-adds x 2 of Dense / Conv2D / Conv2DTranspose; elementwise layers are
not counted): the D update runs G forward, D forward on real and fake, and D
backward (weight gradients, and input gradients below the first layer); the G
update runs G forward, D forward, D backward to its input (no D weight
gradients) and G backward. The ceiling of a contender is the matmul rate of
its precision, measured in each repeat: float32, the best float32 2048x2048
matmul of torch and numpy; mixed_bfloat16, the best bfloat16 2048x2048 torch
matmul (AMX-BF16 where the CPU has it). The printout names the ceiling used.

The report ends with the issue's targets, each per batch size with its
measured value and MET / NOT MET: gankeras >= 0.95x plain Keras (every
backend); on TensorFlow gankeras >= 1.5x plain PyTorch and >= 70% of the
ceiling; on JAX and PyTorch gankeras >= 1.0x plain PyTorch.

Quick run (about 2 minutes):   python bench/train_throughput.py --quick
Full run (about 5-8 minutes):  python bench/train_throughput.py
bfloat16 (AMX CPUs):           python bench/train_throughput.py --precision=mixed_bfloat16
Both, gankeras interleaved:    python bench/train_throughput.py --precision=float32,mixed_bfloat16
Compare options, interleaved:  python bench/train_throughput.py \
    --variants=transposed:xla,transposed:no_xla,resize:xla,resize:no_xla
(`KERAS_BACKEND=tensorflow|jax|torch` picks the backend.)
"""

import argparse
import contextlib
import gzip
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402
from keras import ops  # noqa: E402

import gankeras  # noqa: E402
from gankeras.architectures import dcgan  # noqa: E402
from gankeras.architectures import upsampling as upsampling_lib  # noqa: E402

BACKEND = keras.backend.backend()
IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = 100
FASHION_MNIST = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
PRECISIONS = ("float32", "mixed_bfloat16")
# `--clock`: wall seconds (default); this process's CPU seconds (`cpu`),
# which a shared, overloaded machine disturbs far less (other processes' time
# is not counted; tf.data's and the thread pools' time is); or the main
# thread's CPU seconds (`thread`: torch with --threads=1 only, where every
# kernel runs on the calling thread; tf.data's input threads not counted).
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time, "thread": time.thread_time}
clock = CLOCKS["wall"]
CEILING_NAMES = {
    "float32": "best float32 2048^2 matmul, torch/numpy",
    "mixed_bfloat16": "best bfloat16 2048^2 matmul, torch",
}


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------
def load_images(count):
    """`count` Fashion-MNIST training images, float32 [count, 28, 28, 1] in [-1, 1]."""
    if os.path.exists(FASHION_MNIST):
        with gzip.open(FASHION_MNIST, "rb") as f:
            raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
        images = raw.reshape(-1, 28, 28, 1)[:count].astype(np.float32)
        return images / 127.5 - 1.0, "Fashion-MNIST"
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (count,) + IMAGE_SHAPE).astype(np.float32), "uniform noise"


def make_dataset(images, batch_size):
    return (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=0)
        .repeat()
        .batch(batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )


# ----------------------------------------------------------------------
# FLOPs, counted from the Keras layer shapes
# ----------------------------------------------------------------------
def layer_macs(model):
    """Multiply-adds per image of each Dense / Conv2D / Conv2DTranspose, in order."""
    macs = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            macs.append(layer.input.shape[-1] * layer.units)
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            _, h, w, cin = layer.input.shape
            kh, kw = layer.kernel_size
            macs.append(h * w * cin * layer.filters * kh * kw)
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, cout = layer.output.shape
            cin = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            macs.append(h * w * cin * cout * kh * kw)
    return macs


def flops_per_training_image(generator, discriminator):
    """FLOPs of one D update plus one G update, per image of the batch."""
    g, d = layer_macs(generator), layer_macs(discriminator)
    g_fwd, d_fwd = 2 * sum(g), 2 * sum(d)
    d_input_grads_below_first = 2 * sum(d[1:])
    d_update = g_fwd + 2 * d_fwd + 2 * (d_fwd + d_input_grads_below_first)
    g_update = g_fwd + d_fwd + d_fwd + (g_fwd + 2 * sum(g[1:]))
    return {
        "g_forward": g_fwd,
        "d_forward": d_fwd,
        "training": d_update + g_update,
        "issue_convention": 3 * (g_fwd + 2 * d_fwd),
    }


def matmul_gflops(precision="float32", n=2048, repeats=3):
    """Best n x n matmul rate in GFLOP/s: float32, the best of torch and
    numpy; mixed_bfloat16, torch's bfloat16 matmul (numpy has none)."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    ta = torch.from_numpy(a)
    if precision == "mixed_bfloat16":
        tb = ta.to(torch.bfloat16)
        matmuls = (lambda: tb @ tb,)
    else:
        matmuls = (lambda: ta @ ta, lambda: a @ a)
    best = 0.0
    for matmul in matmuls:
        matmul()
        for _ in range(repeats):
            start = clock()
            matmul()
            best = max(best, 2 * n**3 / (clock() - start) / 1e9)
    return best


# ----------------------------------------------------------------------
# Networks
# ----------------------------------------------------------------------
def cpu_name():
    """The CPU's model name and its widest vector/matrix extensions."""
    name, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and name == "unknown CPU":
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")
    return f"{name} ({', '.join(f for f in wanted if f in flags) or 'no AVX2'})"


def build_networks(upsampling):
    keras.utils.set_random_seed(0)
    generator = dcgan.dcgan_generator(IMAGE_SHAPE, LATENT_DIM, upsampling=upsampling)
    discriminator = dcgan.dcgan_discriminator(IMAGE_SHAPE)
    return generator, discriminator


def adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


@contextlib.contextmanager
def dtype_policy(precision):
    """Keras layers and models built inside compute in `precision`; the
    previous global policy is restored on exit."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def torch_from_keras(model):
    """The same layer stack in torch.nn (NCHW). Only the layer types the
    DCGAN uses; padding reproduces Keras's "same" output sizes."""
    modules = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Dense):
            modules.append(torch.nn.Linear(layer.input.shape[-1], layer.units, bias=layer.use_bias))
        elif isinstance(layer, keras.layers.BatchNormalization):
            norm = torch.nn.BatchNorm1d if len(layer.input.shape) == 2 else torch.nn.BatchNorm2d
            modules.append(
                norm(layer.input.shape[-1], eps=layer.epsilon, momentum=1 - layer.momentum)
            )
        elif isinstance(layer, keras.layers.ReLU):
            modules.append(torch.nn.ReLU())
        elif isinstance(layer, keras.layers.LeakyReLU):
            modules.append(torch.nn.LeakyReLU(layer.negative_slope))
        elif isinstance(layer, keras.layers.Reshape):
            h, w, c = layer.target_shape
            modules.append(torch.nn.Unflatten(1, (c, h, w)))
        elif isinstance(layer, keras.layers.Flatten):
            modules.append(torch.nn.Flatten())
        elif isinstance(layer, keras.layers.UpSampling2D):
            modules.append(torch.nn.Upsample(scale_factor=2, mode="nearest"))
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            k, s = layer.kernel_size[0], layer.strides[0]
            cin, cout = layer.input.shape[-1], layer.filters
            if isinstance(layer, keras.layers.Conv2DTranspose):
                conv = torch.nn.ConvTranspose2d(
                    cin, cout, k, s, padding=(k - 1) // 2, output_padding=s - 1, bias=layer.use_bias
                )
            else:
                conv = torch.nn.Conv2d(cin, cout, k, s, padding=(k - 1) // 2, bias=layer.use_bias)
            modules.append(conv)
            if layer.activation is keras.activations.tanh:
                modules.append(torch.nn.Tanh())
        else:
            raise NotImplementedError(f"No torch translation for {layer.__class__.__name__}")
    return torch.nn.Sequential(*modules)


def bce_real(logits):
    """Non-saturating / BCE term for logits that should say "real" (in
    float32 under a mixed policy, as gankeras computes its losses)."""
    return ops.mean(ops.softplus(-ops.cast(logits, "float32")))


def bce_fake(logits):
    return ops.mean(ops.softplus(ops.cast(logits, "float32")))


# ----------------------------------------------------------------------
# Contenders: each `run(batch_size, steps)` trains `steps` batches
# ----------------------------------------------------------------------
class FitTimer(keras.callbacks.Callback):
    """Seconds from `on_train_begin` to `on_train_end` of the last `fit`: the
    training loop, without what `fit` does before it (gankeras checks the
    first batch there, once per `fit` call; `main` prints that cost)."""

    def on_train_begin(self, logs=None):
        self.start = clock()

    def on_train_end(self, logs=None):
        self.seconds = clock() - self.start


@contextlib.contextmanager
def keras_torch_kernels(enabled=True):
    """Within the context Keras's torch backend runs its own `conv` and
    `conv_transpose`, not the ones gankeras installs on import
    (`gankeras/backend/torch_trainer.py`); a no-op off torch or when not
    `enabled`."""
    if BACKEND != "torch" or not enabled:
        yield
        return
    from keras.src.backend.torch import nn as torch_nn

    installed = {name: getattr(torch_nn, name) for name in ("conv", "conv_transpose")}
    for name, fn in installed.items():
        setattr(torch_nn, name, getattr(fn, "__wrapped__", fn))
    try:
        yield
    finally:
        for name, fn in installed.items():
            setattr(torch_nn, name, fn)


class GanKerasContender:
    def __init__(self, images, upsampling, jit_compile, precision="float32", keras_kernels=False):
        # keras_kernels: train with Keras's own torch convolutions (what
        # gankeras ran before it installed its own; torch backend only).
        self.keras_kernels = keras_kernels
        self.precision = precision
        with dtype_policy(precision):
            generator, discriminator = build_networks(upsampling)
            self.gan = gankeras.GAN(generator, discriminator, latent_dim=LATENT_DIM)
            self.gan.compile(d_optimizer=adam(), g_optimizer=adam(), jit_compile=jit_compile)
        self.flops = flops_per_training_image(generator, discriminator)
        self.images = images
        self.datasets = {}

    def run(self, batch_size, steps):
        if batch_size not in self.datasets:
            self.datasets[batch_size] = make_dataset(self.images, batch_size)
        timer = FitTimer()
        with keras_torch_kernels(self.keras_kernels):
            self.gan.fit(
                self.datasets[batch_size],
                epochs=1,
                steps_per_epoch=steps,
                verbose=0,
                callbacks=[timer],
            )
        return timer.seconds


class _PlainKerasModel(keras.Model):
    """What both hand-written Keras GANs share: the two networks, a seed
    generator, two optimizers and two loss trackers. Each backend's
    `PlainKerasGAN` below adds only its `train_step`."""

    def __init__(self, generator, discriminator):
        super().__init__()
        self.generator, self.discriminator = generator, discriminator
        self.seed_generator = keras.random.SeedGenerator(0)
        self.built = True

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]


if BACKEND == "tensorflow":

    class PlainKerasGAN(_PlainKerasModel):
        """keras.io dcgan_overriding_train_step, with two D calls."""

        def train_step(self, real):
            batch = tf.shape(real)[0]
            z = keras.random.normal((batch, LATENT_DIM), seed=self.seed_generator)
            fake = self.generator(z, training=True)
            with tf.GradientTape() as tape:
                d_loss = bce_real(self.discriminator(real, training=True)) + bce_fake(
                    self.discriminator(fake, training=True)
                )
            weights = self.discriminator.trainable_weights
            self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))
            z = keras.random.normal((batch, LATENT_DIM), seed=self.seed_generator)
            with tf.GradientTape() as tape:
                fake = self.generator(z, training=True)
                g_loss = bce_real(self.discriminator(fake, training=True))
            weights = self.generator.trainable_weights
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

elif BACKEND == "torch":

    class PlainKerasGAN(_PlainKerasModel):
        """keras.io custom_train_step_in_torch, for a GAN."""

        def _update(self, loss, optimizer, weights):
            self.zero_grad()
            loss.backward()
            grads = [v.value.grad for v in weights]
            with torch.no_grad():
                optimizer.apply(grads, weights)

        def train_step(self, real):
            batch = real.shape[0]
            z = keras.random.normal((batch, LATENT_DIM), seed=self.seed_generator)
            with torch.no_grad():
                fake = self.generator(z, training=True)
            d_loss = bce_real(self.discriminator(real, training=True)) + bce_fake(
                self.discriminator(fake, training=True)
            )
            self._update(d_loss, self.d_optimizer, self.discriminator.trainable_weights)
            z = keras.random.normal((batch, LATENT_DIM), seed=self.seed_generator)
            g_loss = bce_real(self.discriminator(self.generator(z, training=True), training=True))
            self._update(g_loss, self.g_optimizer, self.generator.trainable_weights)
            self.d_loss_tracker.update_state(d_loss.detach())
            self.g_loss_tracker.update_state(g_loss.detach())
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def first_batch_check_seconds(contender, batch_size):
    """What `GAN.fit` spends before training: `check_first_batch` (one batch
    drawn from the dataset and checked in numpy), once per `fit` call."""
    from gankeras import validation

    start = time.perf_counter()
    validation.check_first_batch(contender.gan, contender.datasets[batch_size])
    return time.perf_counter() - start


class PlainKerasContender:
    """TensorFlow / PyTorch backends: `PlainKerasGAN.fit` (on torch with
    Keras's own convolutions: plain Keras, without gankeras's kernels)."""

    def __init__(self, images, upsampling, jit_compile, precision="float32"):
        self.precision = precision
        with dtype_policy(precision):
            generator, discriminator = build_networks(upsampling)
            self.model = PlainKerasGAN(generator, discriminator)
            self.model.compile(adam(), adam(), jit_compile=jit_compile)
        self.flops = flops_per_training_image(generator, discriminator)
        self.images = images
        self.datasets = {}

    def run(self, batch_size, steps):
        if batch_size not in self.datasets:
            self.datasets[batch_size] = make_dataset(self.images, batch_size)
        timer = FitTimer()
        with keras_torch_kernels():
            self.model.fit(
                self.datasets[batch_size],
                epochs=1,
                steps_per_epoch=steps,
                verbose=0,
                callbacks=[timer],
            )
        return timer.seconds


class PlainJaxContender:
    """JAX backend: a jitted step over stateless_call / stateless_apply."""

    def __init__(self, images, upsampling, jit_compile, precision="float32"):
        import jax

        self.jax = jax
        self.precision = precision
        with dtype_policy(precision):
            self.generator, self.discriminator = build_networks(upsampling)
            self.d_optimizer, self.g_optimizer = adam(), adam()
        self.flops = flops_per_training_image(self.generator, self.discriminator)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.state = (
            [v.value for v in self.generator.trainable_variables],
            [v.value for v in self.generator.non_trainable_variables],
            [v.value for v in self.discriminator.trainable_variables],
            [v.value for v in self.discriminator.non_trainable_variables],
            [v.value for v in self.g_optimizer.variables],
            [v.value for v in self.d_optimizer.variables],
            jax.random.PRNGKey(0),
        )
        self.step = jax.jit(self._step, donate_argnums=0)
        self.images = images
        self.iterators = {}

    def _step(self, state, real):
        jax = self.jax
        g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov, key = state
        key, key_d, key_g = jax.random.split(key, 3)
        batch = real.shape[0]
        G, D = self.generator, self.discriminator

        z = jax.random.normal(key_d, (batch, LATENT_DIM))
        fake, g_ntv = G.stateless_call(g_tv, g_ntv, z, training=True)
        fake = jax.lax.stop_gradient(fake)

        def d_loss_fn(d_tv, d_ntv):
            real_logits, d_ntv = D.stateless_call(d_tv, d_ntv, real, training=True)
            fake_logits, d_ntv = D.stateless_call(d_tv, d_ntv, fake, training=True)
            return bce_real(real_logits) + bce_fake(fake_logits), d_ntv

        (d_loss, d_ntv), grads = jax.value_and_grad(d_loss_fn, has_aux=True)(d_tv, d_ntv)
        d_tv, d_ov = self.d_optimizer.stateless_apply(d_ov, grads, d_tv)

        z = jax.random.normal(key_g, (batch, LATENT_DIM))

        def g_loss_fn(g_tv, g_ntv, d_ntv):
            fake, g_ntv = G.stateless_call(g_tv, g_ntv, z, training=True)
            logits, d_ntv = D.stateless_call(d_tv, d_ntv, fake, training=True)
            return bce_real(logits), (g_ntv, d_ntv)

        (g_loss, (g_ntv, d_ntv)), grads = jax.value_and_grad(g_loss_fn, has_aux=True)(
            g_tv, g_ntv, d_ntv
        )
        g_tv, g_ov = self.g_optimizer.stateless_apply(g_ov, grads, g_tv)
        return (g_tv, g_ntv, d_tv, d_ntv, g_ov, d_ov, key), (d_loss, g_loss)

    def run(self, batch_size, steps):
        if batch_size not in self.iterators:
            self.iterators[batch_size] = make_dataset(self.images, batch_size).as_numpy_iterator()
        iterator = self.iterators[batch_size]
        start = clock()
        for _ in range(steps):
            self.state, losses = self.step(self.state, next(iterator))
        self.jax.block_until_ready(losses)
        return clock() - start


class PlainTorchContender:
    """The same networks in torch.nn, a plain PyTorch training loop."""

    def __init__(self, images, upsampling, jit_compile, precision="float32"):
        self.precision = precision
        # Forward passes and losses under bfloat16 autocast for mixed_bfloat16.
        self.autocast = precision == "mixed_bfloat16"
        generator, discriminator = build_networks(upsampling)
        self.flops = flops_per_training_image(generator, discriminator)
        torch.manual_seed(0)
        self.generator = torch_from_keras(generator).train()
        self.discriminator = torch_from_keras(discriminator).train()
        self.g_optimizer = torch.optim.Adam(self.generator.parameters(), 2e-4, betas=(0.5, 0.999))
        self.d_optimizer = torch.optim.Adam(
            self.discriminator.parameters(), 2e-4, betas=(0.5, 0.999)
        )
        self.images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        self.position = 0

    def _batch(self, batch_size):
        if self.position + batch_size > len(self.images):
            self.position = 0
        batch = self.images[self.position : self.position + batch_size]
        self.position += batch_size
        return batch

    def run(self, batch_size, steps):
        G, D = self.generator, self.discriminator
        softplus = torch.nn.functional.softplus

        def autocast():
            # torch's AMP recipe: forward passes and losses under autocast,
            # backward and the optimizer step outside; losses in float32.
            return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast)

        start = clock()
        for _ in range(steps):
            real = self._batch(batch_size)
            with autocast():
                with torch.no_grad():
                    fake = G(torch.randn(batch_size, LATENT_DIM))
                d_loss = softplus(-D(real).float()).mean() + softplus(D(fake).float()).mean()
            self.d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            self.d_optimizer.step()
            D.requires_grad_(False)
            with autocast():
                g_loss = softplus(-D(G(torch.randn(batch_size, LATENT_DIM))).float()).mean()
            self.g_optimizer.zero_grad(set_to_none=True)
            g_loss.backward()
            self.g_optimizer.step()
            D.requires_grad_(True)
        return clock() - start


# ----------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------
def parse_variant(text):
    """ "resize:xla" -> ("resize", True); "auto" -> ("auto", "auto")."""
    parts = text.split(":")
    upsampling = parts[0]
    jit = "auto"
    if len(parts) > 1:
        jit = {"xla": True, "jit": True, "no_xla": False, "no_jit": False}[parts[1]]
    return upsampling, jit


def paired_ratios(rates, name, base, batch_size):
    """Per-repeat ratios rate(name) / rate(base), paired within each repeat."""
    return [a / b for a, b in zip(rates[(name, batch_size)], rates[(base, batch_size)])]


def describe(values, fmt):
    """ "median (min..max)" of per-repeat values."""
    return (
        f"{fmt.format(statistics.median(values))} "
        f"({fmt.format(min(values))}..{fmt.format(max(values))})"
    )


def print_targets(rates, percent_ceiling, names, batch_sizes, precision):
    """The issue's targets, per batch size, with the measured value (median of
    the per-repeat paired values) and MET / NOT MET."""
    targets = [("plain keras", 0.95), ("plain torch", 1.5 if BACKEND == "tensorflow" else 1.0)]
    rows = []
    for base, threshold in targets:
        label = f"gankeras >= {threshold:.2f}x {base}"
        for batch_size in batch_sizes:
            if "gankeras" not in names or base not in names:
                rows.append((label, batch_size, "not measured (contender not run)", None))
                continue
            ratios = paired_ratios(rates, "gankeras", base, batch_size)
            rows.append(
                (
                    label,
                    batch_size,
                    describe(ratios, "{:.2f}x"),
                    statistics.median(ratios) >= threshold,
                )
            )
    if BACKEND == "tensorflow":
        label = f"gankeras >= 70% of the {precision} ceiling"
        for batch_size in batch_sizes:
            if "gankeras" not in names:
                rows.append((label, batch_size, "not measured (contender not run)", None))
                continue
            values = percent_ceiling[("gankeras", batch_size)]
            rows.append(
                (label, batch_size, describe(values, "{:.0f}%"), statistics.median(values) >= 70.0)
            )
    print(
        f"Issue targets (backend={BACKEND}, precision={precision}; median over repeats of "
        "the per-repeat value, min..max in brackets):"
    )
    for label, batch_size, value, ok in rows:
        verdict = "-" if ok is None else ("MET" if ok else "NOT MET")
        print(f"  {label:<46} batch {batch_size:>4}: {value:<22} {verdict}")
    measured = [ok for *_, ok in rows if ok is not None]
    print(f"  {sum(measured)} of {len(measured)} met")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_sizes", default="64,256")
    parser.add_argument(
        "--images",
        type=int,
        default=2048,
        help="images trained per measurement (steps = images / batch)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--upsampling", default="auto", choices=["auto", "transposed", "resize"])
    parser.add_argument("--jit_compile", default="auto", choices=["auto", "true", "false"])
    parser.add_argument(
        "--precision",
        default="float32",
        help="float32 | mixed_bfloat16, or a comma list such as "
        "float32,mixed_bfloat16: every contender at the first, plus a "
        "gankeras contender at each further precision",
    )
    parser.add_argument("--contenders", default="gankeras,keras,torch")
    parser.add_argument(
        "--variants",
        default="",
        help="extra gankeras contenders, e.g. transposed:xla,resize:no_xla "
        "(ratios are against the plain contenders of the main setting)",
    )
    parser.add_argument(
        "--keras_kernels",
        action="store_true",
        help="torch backend: add a contender gankeras[keras kernels], gankeras "
        "with Keras's own torch convolutions (before/after of gankeras's kernels)",
    )
    parser.add_argument(
        "--clock",
        default="wall",
        choices=sorted(CLOCKS),
        help="wall seconds, or this process's CPU seconds (steadier on a loaded machine)",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch/TF threads (0: default)")
    parser.add_argument("--quick", action="store_true", help="--images=512 --repeats=3")
    args = parser.parse_args(argv)
    if args.clock == "thread" and (BACKEND != "torch" or args.threads != 1):
        parser.error(
            "--clock=thread counts the main thread only: it needs KERAS_BACKEND=torch "
            f"and --threads=1. Received: backend {BACKEND}, --threads={args.threads}."
        )
    global clock
    clock = CLOCKS[args.clock]
    if args.threads:
        torch.set_num_threads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.quick:
        args.images, args.repeats = 512, 3
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    upsampling = upsampling_lib.resolve_upsampling(args.upsampling)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    precisions = [p.strip() for p in args.precision.split(",") if p.strip()]
    if (
        not precisions
        or len(set(precisions)) != len(precisions)
        or any(p not in PRECISIONS for p in precisions)
    ):
        parser.error(
            f"--precision takes distinct values among {', '.join(PRECISIONS)}, "
            f"comma-separated. Received: --precision={args.precision!r}"
        )
    precision = precisions[0]

    images, source = load_images(max(8192, max(batch_sizes) * 8))
    generator, discriminator = build_networks(upsampling)
    flops = flops_per_training_image(generator, discriminator)
    print(
        f"backend={BACKEND} keras={keras.__version__} torch={torch.__version__} "
        f"torch_threads={torch.get_num_threads()} cpus={os.cpu_count()} data={source} "
        f"clock={args.clock}"
    )
    print(f"cpu: {cpu_name()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"DCGAN {IMAGE_SHAPE} latent={LATENT_DIM} upsampling={upsampling} jit_compile={jit} "
        f"precision={','.join(precisions)} "
        f"(G {generator.count_params():,} params, D {discriminator.count_params():,})"
    )
    print(
        f"FLOPs per image: G forward {flops['g_forward'] / 1e6:.1f}M, D forward "
        f"{flops['d_forward'] / 1e6:.1f}M; one D+G training step {flops['training'] / 1e6:.0f} "
        f"MFLOP/image (issue's 3x(G+2D) forward convention: {flops['issue_convention'] / 1e6:.0f})"
    )

    makers = {
        "gankeras": lambda: GanKerasContender(images, upsampling, jit, precision),
        "keras": lambda: (PlainJaxContender if BACKEND == "jax" else PlainKerasContender)(
            images, upsampling, jit, precision
        ),
        "torch": lambda: PlainTorchContender(images, upsampling, jit, precision),
    }
    labels = {"gankeras": "gankeras", "keras": "plain keras", "torch": "plain torch"}
    contenders = {labels[name]: makers[name]() for name in args.contenders.split(",")}
    if args.keras_kernels:
        if BACKEND != "torch":
            parser.error("--keras_kernels is a torch-backend comparison.")
        contenders["gankeras[keras kernels]"] = GanKerasContender(
            images, upsampling, jit, precision, keras_kernels=True
        )
    for extra in precisions[1:]:
        contenders[f"gankeras[{extra}]"] = GanKerasContender(images, upsampling, jit, extra)
    for variant in filter(None, args.variants.split(",")):
        var_upsampling, var_jit = parse_variant(variant)
        var_upsampling = upsampling_lib.resolve_upsampling(var_upsampling)
        contenders[f"gankeras[{variant}]"] = GanKerasContender(
            images, var_upsampling, var_jit, precision
        )

    # Warm up: compile every step function at every batch size.
    for name, contender in contenders.items():
        for batch_size in batch_sizes:
            start = time.perf_counter()
            contender.run(batch_size, 1)
            print(
                f"  warm-up {name} batch {batch_size}: {time.perf_counter() - start:.1f}s",
                file=sys.stderr,
            )

    # Each repeat: the ceiling of every precision in use, then every
    # contender once at every batch size, in a rotating order.
    used = [p for p in PRECISIONS if any(c.precision == p for c in contenders.values())]
    rates = {(name, b): [] for name in contenders for b in batch_sizes}
    ceilings = {p: [] for p in used}
    names = list(contenders)
    for repeat in range(args.repeats):
        for p in used:
            ceilings[p].append(matmul_gflops(p))
        order = names[repeat % len(names) :] + names[: repeat % len(names)]
        for batch_size in batch_sizes:
            steps = max(2, args.images // batch_size)
            for name in order:
                seconds = contenders[name].run(batch_size, steps)
                rates[(name, batch_size)].append(steps * batch_size / seconds)
        print(
            f"  repeat {repeat + 1}/{args.repeats}: "
            + ", ".join(
                f"{name}@{b} {rates[(name, b)][-1]:.0f}" for b in batch_sizes for name in names
            )
            + " img/s; ceiling "
            + ", ".join(f"{p} {ceilings[p][-1]:.0f}" for p in used)
            + " GFLOP/s",
            file=sys.stderr,
        )

    if "gankeras" in contenders:
        checks = [first_batch_check_seconds(contenders["gankeras"], b) for b in batch_sizes]
        print(
            "gankeras fit() start-up check of the first batch (once per fit call, not in the "
            "rates): "
            + ", ".join(f"batch {b}: {1000 * c:.0f} ms" for b, c in zip(batch_sizes, checks))
        )
    for p in used:
        print(
            f"Ceiling {p}: {CEILING_NAMES[p]}, median {statistics.median(ceilings[p]):.0f} "
            f"GFLOP/s (per repeat: {', '.join(f'{c:.0f}' for c in ceilings[p])})"
        )
    print(
        f"{len(names)} contenders x {args.repeats} repeats, interleaved. img/s, GFLOP/s: "
        "medians over repeats; %ceil: median over repeats of that repeat's GFLOP/s / that "
        "repeat's ceiling of the contender's precision."
    )
    print(
        f"{'batch':>5}  {'contender':<34} {'img/s':>8}  {'GFLOP/s':>7}  {'%ceil':>5}  "
        f"{'ceiling':<15} per-repeat img/s"
    )
    percent_ceiling = {}
    for batch_size in batch_sizes:
        for name in names:
            contender = contenders[name]
            values = rates[(name, batch_size)]
            gflops = [v * contender.flops["training"] / 1e9 for v in values]
            percent_ceiling[(name, batch_size)] = percent = [
                100 * g / c for g, c in zip(gflops, ceilings[contender.precision])
            ]
            print(
                f"{batch_size:>5}  {name:<34} {statistics.median(values):8.1f}  "
                f"{statistics.median(gflops):7.1f}  {statistics.median(percent):4.0f}%  "
                f"{contender.precision:<15} " + " ".join(f"{v:.0f}" for v in values)
            )

    print("Ratios: median over repeats of the per-repeat paired ratio (min..max):")
    for batch_size in batch_sizes:
        parts = []
        for name in names:
            if not name.startswith("gankeras"):
                continue
            if contenders[name].precision == precision:
                bases = [b for b in ("plain keras", "plain torch") if b in names]
            else:  # No plain contender at this precision: against gankeras.
                bases = ["gankeras"] if "gankeras" in names else []
            for base in bases:
                parts.append(
                    f"{name}/{base} = "
                    + describe(paired_ratios(rates, name, base, batch_size), "{:.2f}x")
                )
        if "gankeras[keras kernels]" in names:
            parts.append(
                "gankeras/gankeras[keras kernels] = "
                + describe(
                    paired_ratios(rates, "gankeras", "gankeras[keras kernels]", batch_size),
                    "{:.2f}x",
                )
            )
        print(f"  batch {batch_size}: " + "; ".join(parts))

    print_targets(rates, percent_ceiling, names, batch_sizes, precision)


if __name__ == "__main__":
    main()
