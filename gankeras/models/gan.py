"""`GAN`: a generator and a discriminator trained with `model.fit(dataset)`.

This file holds the model: construction, `compile` (which builds a
`gankeras.TrainingConfig`), saving, `generate` and the checks `fit` runs.
The training step is written once, as phases, in `gankeras.models.phases`;
its terms are the pure functions of `gankeras.losses.adversarial` and
`gankeras.losses.objectives`. Only "take the gradient of a phase's loss and
apply it" differs per backend: `gankeras/backend/*_trainer.py`, chosen once
in `gankeras/backend/__init__.py` (which also states what a trainer may call
on the model).

Mixed precision: `mixed_bfloat16` networks train with float32 losses (see
`gankeras.models.phases`); `mixed_float16` is refused (no loss scaling).
"""

import keras

from gankeras import backend as gan_backend
from gankeras import validation
from gankeras.models import ema, fit_checks, phases, saving
from gankeras.models.config import TrainingConfig
from gankeras.models.optimizers import GANOptimizer, get_optimizers
from gankeras.models.replay import ReplayBuffer


@keras.saving.register_keras_serializable(package="gankeras")
class GAN(gan_backend.GANTrainer, keras.Model):
    """A generative adversarial network (Goodfellow et al. 2014).

    Trains `generator` G and `discriminator` D against each other: per batch
    of real images, `d_steps` discriminator updates (the k of Goodfellow et
    al.'s Algorithm 1; each one sees the same real batch and fresh latents),
    then one generator update.

    Args:
        generator: a `keras.Model` mapping latents `z` of shape
            `[batch, latent_dim]` (and, when conditional, int labels of shape
            `[batch]`: inputs `[z, labels]`) to images `[batch, H, W, C]` with
            values in [-1, 1] (end it with `tanh`).
        discriminator: a `keras.Model` mapping images (and, when conditional,
            labels: inputs `[images, labels]`) to logits of shape `[batch, 1]`
            (raw scores, no sigmoid). For an auxiliary-classifier GAN (Odena
            et al. 2017) it returns `[logits, class_logits]`, with
            `class_logits` of shape `[batch, num_classes]`.
        latent_dim: size of z. Inferred from the generator when omitted.
        num_classes: number of classes for conditional or auxiliary-classifier
            models; the dataset must then yield `(images, labels)`.
        encoder: optional `keras.Model` mapping images to `[mean, log_var]`,
            each `[batch, latent_dim]`: a VAE-GAN (Larsen et al. 2016). Its
            variables are updated with the generator's, by the KL term and the
            reconstruction term set in `compile`.
        replay_buffer: optional `ReplayBuffer` (or its config dict): past
            fakes shown to the discriminator (experience replay).
        data_range: `(low, high)` that real samples must lie in: the first
            batch is checked before training, every later batch's min and max
            are tracked in the step and checked at the end of each epoch.
            Defaults to the image convention [-1, 1]; pass `None` for
            non-image data (toy distributions).
        seed: int seed of `seed_generator`, the source of every random draw
            of the training step (latents, labels, targets, penalties,
            replay); saved with the model.
        augment: optional differentiable augmentation of every image D
            sees in training, real and fake alike, in both phases and before
            the penalties: a `gankeras.augment.DiffAugment` (Zhao et al.
            2020) or `AdaptiveAugment` (ADA, Karras et al. 2020; its p is
            adapted in the step, logged as `augment_p` / `augment_rt`, and
            saved with the GAN and in checkpoints), drawing from
            `seed_generator`; or any `keras.layers.Layer` called as
            `layer(images, training=True)`. G is trained through it, so it
            does not learn the augmentations; `evaluate` and `generate` never
            augment. See `gankeras.models.phases.augmentation`.

    Example:

    ```python
    gan = gankeras.GAN(generator, discriminator, latent_dim=64)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        loss="non_saturating",
    )
    gan.fit(dataset, epochs=5)   # images in [-1, 1]
    images = gan.generate(16, seed=0)   # numpy, [16, H, W, C]
    ```
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim=None,
        num_classes=None,
        encoder=None,
        replay_buffer=None,
        data_range=(-1.0, 1.0),
        seed=1337,
        augment=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.encoder = encoder
        self.conditional_generator = len(generator.inputs or []) == 2
        self.conditional_discriminator = len(discriminator.inputs or []) == 2
        self.auxiliary_classifier = len(discriminator.outputs or []) == 2
        self.latent_dim = validation.check_networks(
            generator,
            discriminator,
            latent_dim=latent_dim,
            num_classes=num_classes,
            encoder=encoder,
        )
        self.num_classes = None if num_classes is None else int(num_classes)
        self.replay_buffer = validation.check_component(
            "replay_buffer", replay_buffer, ReplayBuffer, "a gankeras.models.ReplayBuffer"
        )
        self.augment = validation.check_component(
            "augment",
            augment,
            keras.layers.Layer,
            "a keras.layers.Layer called as augment(images, training=...)",
        )
        if self.replay_buffer is not None:
            self.replay_buffer.build(self.image_shape)
        if self.augment is not None and not self.augment.built:
            self.augment.build((None, *self.image_shape))
        self.data_range = None if data_range is None else tuple(data_range)
        self.seed = validation.check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="gan_seed")
        # Read by the compiled step, so a callback can anneal it.
        self.instance_noise_std = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="instance_noise_std"
        )
        self.built = True

    # Saved with the GAN: its own variables and its RNG state (gankeras.models.saving).
    def save_own_variables(self, store):
        saving.save_own_state(self, store)

    def load_own_variables(self, store):
        saving.load_own_state(self, store)

    # --- Properties ---
    @property
    def image_shape(self):
        """Shape of one generated sample, e.g. `(28, 28, 1)`."""
        return tuple(self.generator.outputs[0].shape[1:])

    @property
    def conditional(self):
        """Whether the dataset must provide labels."""
        return (
            self.conditional_generator
            or self.conditional_discriminator
            or self.auxiliary_classifier
        )

    @property
    def metrics(self):
        return list(getattr(self, "_trackers", {}).values()) + (
            [self._range_tracker] if getattr(self, "_range_tracker", None) else []
        )

    @property
    def training_config(self):
        """The compile options but the loss, as a JSON-ready dict (what
        checkpoints record); `training_options` is the typed config."""
        return self.training_options.training_options()

    @property
    def _loss_dtype(self):
        """Dtype of losses, targets, penalties and logs: the GAN's variable
        dtype, float32 under a mixed policy (and float32 by default)."""
        return self.dtype_policy.variable_dtype

    # --- Compile and its config ---
    def compile(
        self,
        d_optimizer="adam",
        g_optimizer="adam",
        loss="non_saturating",
        *,
        steps_per_execution=1,
        jit_compile="auto",
        run_eagerly=False,
        **options,
    ):
        """Configures training.

        Args:
            d_optimizer: discriminator optimizer (instance or name); "adam"
                is Adam(2e-4, beta_1=0.5) (Radford et al. 2015).
            g_optimizer: generator optimizer, likewise; another instance than
                `d_optimizer` (TTUR, Heusel et al. 2017, is two learning
                rates). `use_ema=True` on it keeps a moving average of the
                generator for `generate` and export (Karras et al. 2018).
            loss: a name from `gankeras.losses.LOSSES`, an `AdversarialLoss`,
                or a `(discriminator_loss, generator_loss)` pair.
            steps_per_execution, jit_compile, run_eagerly: as in
                `keras.Model.compile`.
            **options: the training options of `gankeras.TrainingConfig`
                (`d_steps`, label tricks, penalties, `weight_clip`,
                `instance_noise`, ACGAN / VAE-GAN weights), each documented
                and validated there. The built config is
                `gan.training_options`.

        Raises:
            ValueError: a bad option value, one optimizer for both networks,
                or a float16 compute dtype (`mixed_float16`; use
                `mixed_bfloat16`).
            TypeError: an unknown option name.
        """
        validation.check_precision(
            [m for m in (self, self.generator, self.discriminator, self.encoder) if m is not None]
        )
        d_optimizer, g_optimizer = get_optimizers(d_optimizer, g_optimizer)
        config = TrainingConfig.from_options(dict(options, loss=loss))
        features = phases.feature_model(self, config)  # the VAE-GAN's Dis_l, or None
        ema.use_warmup(g_optimizer, config.ema_warmup)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.training_options = config
        self.adversarial_loss = config.loss
        self.instance_noise_std.assign(config.instance_noise)
        self._features = features
        super().compile(
            optimizer=GANOptimizer(self, d_optimizer, g_optimizer),
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            auto_scale_loss=False,
        )
        # Build both optimizers now, outside any traced function: their slot
        # variables then exist before the first step on every backend.
        self.optimizer.build(self.trainable_variables)
        self._trackers = {name: keras.metrics.Mean(name=name) for name in phases.log_names(self)}
        self._range_tracker = None if self.data_range is None else fit_checks.RangeTracker()
        self._keras_compile_args = {
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
            "run_eagerly": run_eagerly,
        }

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return {}
        return {
            "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer),
            "g_optimizer": keras.saving.serialize_keras_object(self.g_optimizer),
            **self.training_options.get_config(),
            **self._keras_compile_args,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer", "loss"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    def get_config(self):
        config = super().get_config()
        config.update(
            latent_dim=self.latent_dim,
            num_classes=self.num_classes,
            data_range=None if self.data_range is None else list(self.data_range),
            seed=self.seed,
        )
        config.update(saving.serialize_components(self))
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**saving.deserialize_components(config, custom_objects))

    # --- What the backend trainers call (see gankeras.backend.TrainableGAN) ---
    def training_phases(self):
        """The phases of one training step (`gankeras.models.phases`)."""
        return phases.training_phases(self)

    def unpack_batch(self, data):
        """A batch -> `(real float32 [batch, ...], labels int32 [batch] or None)`."""
        return phases.unpack_batch(self, data)

    def observe_real_batch(self, real):
        """Tracks the batch's min and max for the end-of-epoch range check."""
        if self._range_tracker is not None:
            self._range_tracker.update_state(real)

    def evaluation_logs(self, data):
        """Both objectives' logs on one batch, in inference mode, no updates:
        what `gan.evaluate` and `fit(validation_data=...)` report."""
        real, labels = self.unpack_batch(data)
        return phases.evaluation_logs(self, real, labels)

    def _update_trackers(self, logs):
        for name, value in logs.items():
            self._trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def _logits(self, output):
        """D's output -> float32 logits (`gankeras.sampling` reads it)."""
        return phases.split(self, output)[0]

    # --- Inference ---
    def call(self, inputs, training=False):
        """G(z): latents `[batch, latent_dim]` (or `[z, labels]`) -> images."""
        return self.generator(inputs, training=training)

    def generate(
        self,
        num_images=None,
        seed=0,
        seeds=None,
        labels=None,
        batch_size=256,
        use_ema=True,
        truncation=None,
    ):
        """Generates images as a numpy array `[n, *image_shape]` in [-1, 1].

        Image `i` uses the latent of integer seed `seed + i` (or `seeds[i]`),
        from `gankeras.sampling.latents_from_seeds`: the same seeds give the
        same images on every backend and from the exported SavedModel.
        `generate(0)` and `generate(seeds=[])` return an empty float32 array
        of shape `[0, *image_shape]`.

        Args:
            num_images: number of images, >= 0 (ignored when `seeds` is given).
            seed: first seed.
            seeds: explicit per-image seeds.
            labels: class ids `[n]` for conditional generators; defaults to
                cycling through the classes.
            batch_size: images per forward pass.
            use_ema: sample with the generator's moving-average weights when
                `g_optimizer` keeps them.
            truncation: psi (usually in [0, 1]) or None: latents pulled toward
                their mean, `psi * z` (the truncation trick, Brock et al. 2019;
                Karras et al. 2019), as the SavedModel's
                `generate_from_seeds_truncated` does; None (or 1) samples plainly.

        Raises:
            ValueError: seeds not an integer array `[n]`
                (`gankeras.sampling.check_seeds`), or a bad `truncation`.
        """
        seeds = ema.resolve_seeds(num_images, seed, seeds)
        return ema.sample(self, seeds, labels, batch_size, use_ema, truncation)

    @property
    def has_ema(self):
        """Whether the generator optimizer keeps moving-average weights."""
        return ema.has_ema(getattr(self, "g_optimizer", None))

    def ema_weights(self, enabled=True):
        """A context within which the generator holds its EMA weights, if any."""
        return ema.ema_weights(self.g_optimizer if enabled and self.has_ema else None)

    # --- fit: checks the data, guards against divergence ---
    def fit(self, x=None, y=None, *, divergence_guard=True, **kwargs):
        """`keras.Model.fit` with the GAN's data checks and divergence guard.

        Before training, the first batch is checked against the networks
        (shape, dtype, NaNs, value range). During training the step tracks
        every real batch's min and max; at the end of each epoch a value
        outside `data_range` (with 5% slack) stops training with a
        `ValueError` naming the range found (e.g. 0..255 data after a first
        batch in [-1, 1]).

        Args:
            x, y, **kwargs: as in `keras.Model.fit`.
            divergence_guard: True (the default) adds a
                `gankeras.callbacks.DivergenceGuard()` unless `callbacks`
                already hold one: non-finite losses and a collapsed
                discriminator stop training with a clear error. With a
                `GANCheckpoint` among the callbacks the added guard names
                the last good checkpoint in its error; it renames nothing
                (pass your own `DivergenceGuard(checkpoint_directory=...)`
                to set later checkpoints aside). False adds no guard.
        """
        if not getattr(self, "compiled", False):
            raise RuntimeError("Call `gan.compile(...)` before `gan.fit(...)`.")
        validation.check_first_batch(self, x, y, kwargs.get("batch_size"))
        if hasattr(x, "element_spec"):
            # A tf.data pipeline shuffles itself (gankeras.data does); Keras
            # warns when asked to shuffle one.
            kwargs.setdefault("shuffle", False)
        callbacks = fit_checks.fit_callbacks(self, kwargs.pop("callbacks", None), divergence_guard)
        return super().fit(x, y, callbacks=callbacks, **kwargs)
