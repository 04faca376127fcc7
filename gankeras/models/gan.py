import contextlib

import keras
import numpy as np
from keras import ops

from gankeras import backend as gan_backend
from gankeras import validation
from gankeras.models import phases
from gankeras.models.config import TrainingConfig
from gankeras.models.optimizers import GANOptimizer
from gankeras.models.replay import ReplayBuffer
from gankeras.sampling import latents_from_seeds


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
        augment: optional layer `augment(images, training=...) -> images`,
            differentiable, applied to every image D sees (real and fake, in
            both phases, and inside the WGAN-GP and R1 critics): the hook for
            DiffAugment / ADA. None (the default) shows D the images as they
            are. See `gankeras.models.phases.discriminate`.

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
        if isinstance(replay_buffer, dict):
            replay_buffer = keras.saving.deserialize_keras_object(replay_buffer)
        if replay_buffer is not None:
            if not isinstance(replay_buffer, ReplayBuffer):
                raise TypeError(
                    "`replay_buffer` must be a gankeras.models.ReplayBuffer. "
                    f"Received: replay_buffer={replay_buffer!r}"
                )
            replay_buffer.build(self.image_shape)
        self.replay_buffer = replay_buffer
        if isinstance(augment, dict):
            augment = keras.saving.deserialize_keras_object(augment)
        if augment is not None and not isinstance(augment, keras.layers.Layer):
            raise TypeError(
                "`augment` must be a keras.layers.Layer called as "
                "augment(images, training=...) (so it saves with the model). "
                f"Received: augment={augment!r}"
            )
        if augment is not None and not augment.built:
            augment.build((None, *self.image_shape))
        self.augment = augment
        self.data_range = None if data_range is None else tuple(data_range)
        self.seed = validation.check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="gan_seed")
        # Read by the compiled step, so a callback can anneal it.
        self.instance_noise_std = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="instance_noise_std"
        )
        self.built = True

    # Keras saves a layer's own variables but not its SeedGenerator's state;
    # without it a reloaded GAN would replay the same latents as step 0 and
    # resumed training would not continue identically.
    def _own_state(self):
        return (
            self._trainable_variables + self._non_trainable_variables + [self.seed_generator.state]
        )

    def save_own_variables(self, store):
        for i, variable in enumerate(self._own_state()):
            store[f"{i}"] = variable

    def load_own_variables(self, store):
        variables = self._own_state()
        if len(store.keys()) != len(variables):
            raise ValueError(
                f"The saved GAN state holds {len(store.keys())} variables but "
                f"this GAN has {len(variables)} (its own variables and the RNG "
                "state). The file was saved by another gankeras version or "
                "model."
            )
        for i, variable in enumerate(variables):
            variable.assign(store[f"{i}"])

    # ------------------------------------------------------------------
    # Properties
    # ------------------------------------------------------------------
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

    # ------------------------------------------------------------------
    # Compile and its config
    # ------------------------------------------------------------------
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
            d_optimizer: discriminator optimizer (instance or name). "adam"
                means Adam(2e-4, beta_1=0.5), Radford et al. 2015's setting.
            g_optimizer: generator optimizer, likewise. Must be a different
                instance from `d_optimizer`. The seeds' "SGD for D, Adam for
                G" and TTUR (Heusel et al. 2017, two learning rates) are just
                these two arguments. `use_ema=True` on it keeps an exponential
                moving average of the generator, used by `generate` and the
                export (Karras et al. 2018).
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
        d_optimizer = _get_optimizer(d_optimizer, "d_optimizer")
        g_optimizer = _get_optimizer(g_optimizer, "g_optimizer")
        if d_optimizer is g_optimizer:
            raise ValueError(
                "`d_optimizer` and `g_optimizer` must be two optimizer "
                "instances: one optimizer's state cannot serve both networks. "
                "Received the same object twice."
            )
        config = TrainingConfig.from_options(dict(options, loss=loss))
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.training_options = config
        self.adversarial_loss = config.loss
        self.instance_noise_std.assign(config.instance_noise)
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
        names = config.log_names(self.auxiliary_classifier, vae=self.encoder is not None)
        self._trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self._range_tracker = None
        if self.data_range is not None:
            from gankeras.models.fit_checks import RangeTracker

            self._range_tracker = RangeTracker(name="real_range")
        self._keras_compile_args = dict(
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
        )

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
        serialize = keras.saving.serialize_keras_object
        config.update(
            generator=serialize(self.generator),
            discriminator=serialize(self.discriminator),
            encoder=None if self.encoder is None else serialize(self.encoder),
            latent_dim=self.latent_dim,
            num_classes=self.num_classes,
            replay_buffer=None if self.replay_buffer is None else serialize(self.replay_buffer),
            data_range=None if self.data_range is None else list(self.data_range),
            seed=self.seed,
            augment=None if self.augment is None else serialize(self.augment),
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator", "encoder", "replay_buffer", "augment"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(
                    config[key], custom_objects=custom_objects
                )
        return cls(**config)

    # ------------------------------------------------------------------
    # What the backend trainers call (see gankeras.backend.TrainableGAN)
    # ------------------------------------------------------------------
    def training_phases(self):
        """The phases of one training step (`gankeras.models.phases`)."""
        return phases.training_phases(self)

    def unpack_batch(self, data):
        """A batch -> `(real float32 [batch, ...], labels int32 [batch] or None)`."""
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if self.conditional:
            if y is None:
                raise ValueError(
                    "This GAN is conditional (num_classes="
                    f"{self.num_classes}): the dataset must yield "
                    "(images, labels). Received images only."
                )
            y = ops.cast(ops.reshape(y, (-1,)), "int32")
        else:
            y = None
        # Images stay in float32 under a mixed policy (the networks cast
        # their inputs to their compute dtype): instance noise, interpolates
        # and input gradients for the penalties are then float32.
        return ops.cast(x, self._loss_dtype), y

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

    # ------------------------------------------------------------------
    # Inference
    # ------------------------------------------------------------------
    def call(self, inputs, training=False):
        """G(z): latents `[batch, latent_dim]` (or `[z, labels]`) -> images."""
        return self.generator(inputs, training=training)

    def generate(
        self, num_images=None, seed=0, seeds=None, labels=None, batch_size=256, use_ema=True
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
        """
        if seeds is None:
            if num_images is None:
                raise ValueError("Pass `num_images` or `seeds`.")
            if isinstance(num_images, bool) or int(num_images) != num_images or num_images < 0:
                raise ValueError(
                    f"`num_images` must be an integer >= 0. Received: num_images={num_images!r}"
                )
            seeds = np.arange(seed, seed + int(num_images), dtype=np.int64)
        seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
        if self.conditional_generator:
            if labels is None:
                labels = np.arange(len(seeds)) % self.num_classes
            labels = validation.check_labels(labels, len(seeds), self.num_classes)
        if not len(seeds):
            return np.zeros((0, *self.image_shape), np.float32)
        z = latents_from_seeds(seeds, self.latent_dim)
        outputs = []
        with self.ema_weights(enabled=use_ema):
            for start in range(0, len(seeds), batch_size):
                zb = z[start : start + batch_size]
                inputs = (
                    [zb, labels[start : start + batch_size]] if self.conditional_generator else zb
                )
                images = self.generator(inputs, training=False)
                # float32 under a mixed policy too (the image convention).
                outputs.append(ops.convert_to_numpy(ops.cast(images, self._loss_dtype)))
        return np.concatenate(outputs, axis=0)

    @property
    def has_ema(self):
        """Whether the generator optimizer keeps moving-average weights."""
        opt = getattr(self, "g_optimizer", None)
        return bool(
            opt is not None
            and getattr(opt, "use_ema", False)
            and getattr(opt, "_model_variables_moving_average", None)
        )

    @contextlib.contextmanager
    def ema_weights(self, enabled=True):
        """Within the context the generator holds its EMA weights, if any."""
        if not (enabled and self.has_ema):
            yield
            return
        opt = self.g_optimizer
        variables = opt._trainable_variables
        saved = [ops.copy(v.value) for v in variables]
        for v, average in zip(variables, opt._model_variables_moving_average):
            v.assign(average)
        try:
            yield
        finally:
            for v, value in zip(variables, saved):
                v.assign(value)

    # ------------------------------------------------------------------
    # fit: checks the data, guards against divergence
    # ------------------------------------------------------------------
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
        from gankeras.callbacks.checkpoint import GANCheckpoint
        from gankeras.callbacks.divergence_guard import DivergenceGuard
        from gankeras.models.fit_checks import DataRangeCheck

        if not getattr(self, "compiled", False):
            raise RuntimeError("Call `gan.compile(...)` before `gan.fit(...)`.")
        validation.check_first_batch(self, x, y, kwargs.get("batch_size"))
        if hasattr(x, "element_spec"):
            # A tf.data pipeline shuffles itself (gankeras.data does); Keras
            # warns when asked to shuffle one.
            kwargs.setdefault("shuffle", False)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if divergence_guard and not any(isinstance(c, DivergenceGuard) for c in callbacks):
            checkpoints = [c for c in callbacks if isinstance(c, GANCheckpoint)]
            callbacks.append(
                DivergenceGuard(
                    checkpoint_directory=checkpoints[0].directory if checkpoints else None,
                    set_aside_suspects=False,
                )
            )
        if self._range_tracker is not None:
            callbacks.append(DataRangeCheck())
        return super().fit(x, y, callbacks=callbacks, **kwargs)


def _get_optimizer(identifier, role):
    if isinstance(identifier, keras.optimizers.Optimizer):
        return identifier
    if identifier == "adam":
        return keras.optimizers.Adam(2e-4, beta_1=0.5, name=f"{role}_adam")
    if isinstance(identifier, (str, dict)):
        return keras.optimizers.get(identifier)
    raise ValueError(
        f"`{role}` must be a keras.optimizers.Optimizer or its name. "
        f"Received: {role}={identifier!r}"
    )
