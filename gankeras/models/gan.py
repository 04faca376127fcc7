"""`GAN`: a generator and a discriminator trained with `model.fit(dataset)`.

The training step is written once, here, as two *phases* (NVlabs'
stylegan2-ada calls them that): the discriminator phase, run `d_steps` times
per batch, and the generator phase. Each phase is a loss function in
`keras.ops` plus the variables it updates and the optimizer that updates them.
Which losses, label tricks, penalties, replay or EMA are used is
configuration read by these two functions; there is no other training loop.

Only "take the gradient of a phase's loss and apply it" differs per backend;
that lives in `gankeras/backend/{tensorflow,jax,torch}_trainer.py`, chosen once
in `gankeras/backend/__init__.py`.

Mixed precision (`keras.mixed_precision.set_global_policy("mixed_bfloat16")`
before building the networks and the GAN): the networks compute in bfloat16
(or float16) and keep float32 variables; everything else stays in the GAN's
variable dtype (float32). Real images are kept in float32 (the networks cast
their inputs), and every discriminator output passes through `GAN._split`,
which casts it to float32, so losses, targets, scores, the input-gradient
penalties (WGAN-GP, R1) and the logged values are float32 computations.
Generator outputs are cast to float32 where they meet real images (the
gradient penalty's interpolates, the VAE-GAN reconstruction) and in
`generate`. (float16 would also need loss scaling, which the GAN does not do;
bfloat16 has float32's range and needs none.)
"""

import contextlib

import keras
import numpy as np
from keras import ops

from gankeras import backend as gan_backend
from gankeras import losses as losses_lib
from gankeras import validation
from gankeras.models.optimizers import GANOptimizer
from gankeras.models.replay import ReplayBuffer
from gankeras.sampling import latents_from_seeds


class Phase:
    """One gradient update: `loss_fn(real, labels) -> (loss, logs)` applied to
    `variables` by `optimizer`. `logs` maps tracker names to scalars."""

    def __init__(self, name, loss_fn, variables, optimizer):
        self.name = name
        self.loss_fn = loss_fn
        self.variables = variables
        self.optimizer = optimizer


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
        data_range: `(low, high)` that real samples must lie in; checked on
            the first batch before training. Defaults to the image convention
            [-1, 1]; pass `None` for non-image data (toy distributions).

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
        self.data_range = None if data_range is None else tuple(data_range)
        self.seed_generator = keras.random.SeedGenerator(1337, name="gan_seed")
        # False while `evaluate` traces the objectives: networks in inference
        # mode, no replay, no penalties.
        self._training_mode = True
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
            self._trainable_variables
            + self._non_trainable_variables
            + [self.seed_generator.state]
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
        return list(getattr(self, "_trackers", {}).values())

    # ------------------------------------------------------------------
    # Compile and its config
    # ------------------------------------------------------------------
    def compile(
        self,
        d_optimizer="adam",
        g_optimizer="adam",
        loss="non_saturating",
        d_steps=1,
        label_smoothing=0.0,
        real_label_range=None,
        fake_label_range=None,
        label_flip=0.0,
        gradient_penalty=0.0,
        r1_penalty=0.0,
        weight_clip=None,
        instance_noise=0.0,
        auxiliary_weight=1.0,
        kl_weight=1.0,
        reconstruction_weight=1.0,
        steps_per_execution=1,
        jit_compile="auto",
        run_eagerly=False,
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
            loss: a name from `gankeras.losses.LOSSES` ("non_saturating",
                "minimax", "wasserstein", "hinge", "least_squares",
                "relativistic_average"), an `AdversarialLoss`, or a
                `(discriminator_loss, generator_loss)` pair.
            d_steps: discriminator updates per generator update (k).
            label_smoothing: one-sided label smoothing (Salimans et al. 2016):
                real targets become `1 - label_smoothing`.
            real_label_range: `(low, high)`: each real target drawn uniformly
                from it per example, e.g. `(0.7, 1.2)` (soft labels).
            fake_label_range: likewise for fakes, e.g. `(0.0, 0.3)`.
            label_flip: probability of swapping an example's real and fake
                targets in the discriminator step (noisy labels).
            gradient_penalty: weight of the WGAN-GP penalty on interpolates
                (Gulrajani et al. 2017; 10 in the paper).
            r1_penalty: weight gamma of the R1 penalty on real data
                (Mescheder et al. 2018); the term is gamma/2 E|grad D(x)|^2.
            weight_clip: clip every discriminator weight to
                `[-weight_clip, weight_clip]` after each update (WGAN,
                Arjovsky et al. 2017; 0.01 in the paper).
            instance_noise: std of Gaussian noise added to both real and fake
                inputs of D (Sønderby et al. 2016). Stored in the variable
                `instance_noise_std`, so a callback can anneal it.
            auxiliary_weight: weight of the auxiliary classification loss when
                D returns class logits (ACGAN).
            kl_weight: weight of the encoder's KL term (VAE-GAN).
            reconstruction_weight: weight of the pixel reconstruction term
                (VAE-GAN).
            steps_per_execution, jit_compile, run_eagerly: as in
                `keras.Model.compile`.
        """
        d_optimizer = _get_optimizer(d_optimizer, "d_optimizer")
        g_optimizer = _get_optimizer(g_optimizer, "g_optimizer")
        if d_optimizer is g_optimizer:
            raise ValueError(
                "`d_optimizer` and `g_optimizer` must be two optimizer "
                "instances: one optimizer's state cannot serve both networks. "
                "Received the same object twice."
            )
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.adversarial_loss = losses_lib.get(loss)
        self.training_config = validation.check_training_config(
            dict(
                d_steps=d_steps,
                label_smoothing=label_smoothing,
                real_label_range=real_label_range,
                fake_label_range=fake_label_range,
                label_flip=label_flip,
                gradient_penalty=gradient_penalty,
                r1_penalty=r1_penalty,
                weight_clip=weight_clip,
                instance_noise=instance_noise,
                auxiliary_weight=auxiliary_weight,
                kl_weight=kl_weight,
                reconstruction_weight=reconstruction_weight,
            ),
            self.adversarial_loss,
        )
        if weight_clip is not None:
            clip = WeightClip(weight_clip)
            for variable in self.discriminator.trainable_variables:
                variable.constraint = clip
        self.instance_noise_std.assign(float(instance_noise))
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
        self._trackers = {
            name: keras.metrics.Mean(name=name) for name in self._log_names()
        }
        self._compile_args = dict(
            d_optimizer=d_optimizer,
            g_optimizer=g_optimizer,
            loss=self.adversarial_loss,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            run_eagerly=run_eagerly,
            **self.training_config,
        )

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return {}
        config = {}
        for key, value in self._compile_args.items():
            if key in ("d_optimizer", "g_optimizer", "loss"):
                value = keras.saving.serialize_keras_object(value)
            config[key] = value
        return config

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer", "loss"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        self.compile(**config)

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.saving.serialize_keras_object(self.generator),
            discriminator=keras.saving.serialize_keras_object(
                self.discriminator
            ),
            encoder=(
                None
                if self.encoder is None
                else keras.saving.serialize_keras_object(self.encoder)
            ),
            latent_dim=self.latent_dim,
            num_classes=self.num_classes,
            replay_buffer=(
                None
                if self.replay_buffer is None
                else keras.saving.serialize_keras_object(self.replay_buffer)
            ),
            data_range=None if self.data_range is None else list(self.data_range),
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("generator", "discriminator", "encoder", "replay_buffer"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(
                    config[key], custom_objects=custom_objects
                )
        return cls(**config)

    # ------------------------------------------------------------------
    # The training step, as phases (per-backend gradient code runs them)
    # ------------------------------------------------------------------
    def _phases(self):
        generator_side = self.generator.trainable_variables + (
            self.encoder.trainable_variables if self.encoder is not None else []
        )
        d_phase = Phase(
            "discriminator",
            self._discriminator_objective,
            self.discriminator.trainable_variables,
            self.d_optimizer,
        )
        g_phase = Phase(
            "generator", self._generator_objective, generator_side, self.g_optimizer
        )
        phases = [d_phase] * self.training_config["d_steps"] + [g_phase]
        # A frozen network (no trainable variables) has nothing to update.
        return [phase for phase in phases if phase.variables]

    def _train_phases(self, data):
        """Runs every phase on one batch; returns the logs of the last run
        of each phase. `_run_phase` is the per-backend part."""
        real, labels = self._unpack(data)
        logs = {}
        for phase in self._phases():
            logs.update(self._run_phase(phase, real, labels))
        return logs

    def _evaluate_phases(self, data):
        """The phases' losses on one batch, without updates: what
        `gan.evaluate(data)` and `fit(validation_data=...)` report. The
        networks run in inference mode; penalties (regularizers, and needing
        input gradients) and the replay pool are left out."""
        real, labels = self._unpack(data)
        self._training_mode = False
        try:
            logs = {}
            for objective in (self._discriminator_objective, self._generator_objective):
                logs.update(objective(real, labels)[1])
        finally:
            self._training_mode = True
        return logs

    def _update_trackers(self, logs):
        for name, value in logs.items():
            self._trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self._trackers.items()}

    def _log_names(self):
        names = ["d_loss", "g_loss", "d_real", "d_fake"]
        config = self.training_config
        if config["gradient_penalty"]:
            names.append("gradient_penalty")
        if config["r1_penalty"]:
            names.append("r1_penalty")
        if self.auxiliary_classifier:
            names += ["d_aux_loss", "g_aux_loss"]
        if self.encoder is not None:
            names += ["kl_loss", "reconstruction_loss"]
        return names

    def _unpack(self, data):
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

    @property
    def _loss_dtype(self):
        """Dtype of losses, targets, penalties and logs: the GAN's variable
        dtype, float32 under a mixed policy (and float32 by default)."""
        return self.dtype_policy.variable_dtype

    def _discriminator_objective(self, real, labels):
        """Discriminator loss on a real batch and a fresh fake batch.

        Args:
            real: images `[batch, *image_shape]` in `data_range`.
            labels: int32 `[batch]` or None.

        Returns:
            `(loss, logs)`.
        """
        config = self.training_config
        batch_size = ops.shape(real)[0]
        fake_labels = self._sample_labels(batch_size)
        latents = self._sample_latents(batch_size)
        with gan_backend.no_grad():  # D's phase never differentiates G.
            fake = ops.stop_gradient(self._generate(latents, fake_labels))
        if self.replay_buffer is not None and self._training_mode:
            fake, fake_labels = self._replay(fake, fake_labels)
        real_in = self._add_instance_noise(real)
        fake_in = self._add_instance_noise(fake)

        logs = {}
        if config["r1_penalty"] and self._training_mode:
            real_logits, grads = gan_backend.value_and_input_gradient(
                lambda x: self._logits(self._discriminate(x, labels)), real_in
            )
            grads = ops.cast(grads, self._loss_dtype)
            r1 = ops.mean(ops.sum(ops.square(grads), axis=_non_batch_axes(grads)))
            logs["r1_penalty"] = r1
            real_out = (
                self._discriminate(real_in, labels)
                if self.auxiliary_classifier
                else real_logits
            )
        else:
            real_out = self._discriminate(real_in, labels)
        fake_out = self._discriminate(fake_in, fake_labels)
        real_logits, real_classes = self._split(real_out)
        fake_logits, fake_classes = self._split(fake_out)

        real_targets, fake_targets = self._targets(real_logits)
        loss = self.adversarial_loss.discriminator_loss(
            real_logits, fake_logits, real_targets, fake_targets
        )
        logs["d_loss"] = loss
        logs["d_real"] = self._score(real_logits)
        logs["d_fake"] = self._score(fake_logits)
        if "r1_penalty" in logs:
            loss = loss + 0.5 * config["r1_penalty"] * logs["r1_penalty"]
        if config["gradient_penalty"] and self._training_mode:
            gp = self._gradient_penalty(real, fake, labels, fake_labels)
            logs["gradient_penalty"] = gp
            loss = loss + config["gradient_penalty"] * gp
        if self.auxiliary_classifier:
            aux = _class_loss(real_classes, labels) + _class_loss(
                fake_classes, fake_labels
            )
            logs["d_aux_loss"] = aux
            loss = loss + config["auxiliary_weight"] * aux
        return loss, logs

    def _generator_objective(self, real, labels):
        """Generator (and encoder) loss on a fresh fake batch.

        Returns:
            `(loss, logs)`.
        """
        config = self.training_config
        batch_size = ops.shape(real)[0]
        fake_labels = self._sample_labels(batch_size)
        fake = self._generate(self._sample_latents(batch_size), fake_labels)
        fake_logits, fake_classes = self._split(
            self._discriminate(fake, fake_labels)
        )
        real_logits = None
        if self.adversarial_loss.generator_needs_real:
            real_logits, _ = self._split(self._discriminate(real, labels))
        loss = self.adversarial_loss.generator_loss(real_logits, fake_logits)
        logs = {"g_loss": loss}
        if self.auxiliary_classifier:
            aux = _class_loss(fake_classes, fake_labels)
            logs["g_aux_loss"] = aux
            loss = loss + config["auxiliary_weight"] * aux
        if self.encoder is not None:
            kl, reconstruction = self._vae_terms(real, labels)
            logs["kl_loss"] = kl
            logs["reconstruction_loss"] = reconstruction
            loss = (
                loss
                + config["kl_weight"] * kl
                + config["reconstruction_weight"] * reconstruction
            )
        return loss, logs

    def _vae_terms(self, real, labels):
        """KL(q(z|x) || N(0, I)) and the pixel reconstruction error of
        G(z ~ q(z|x)), both means over the batch (Larsen et al. 2016 use a
        feature-space error; pixels keep the objective independent of D)."""
        mean, log_var = self.encoder(real, training=self._training_mode)
        mean = ops.cast(mean, self._loss_dtype)
        log_var = ops.cast(log_var, self._loss_dtype)
        eps = self._random(keras.random.normal, ops.shape(mean))
        z = mean + ops.exp(0.5 * log_var) * ops.cast(eps, mean.dtype)
        reconstruction = ops.cast(self._generate(z, labels), real.dtype)
        kl = -0.5 * ops.mean(
            ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)
        )
        error = ops.mean(ops.square(reconstruction - real), axis=_non_batch_axes(real))
        return kl, ops.mean(error)

    def _gradient_penalty(self, real, fake, labels, fake_labels):
        """E[(|grad D(x_hat)|_2 - 1)^2] on x_hat = a x + (1 - a) G(z), a ~ U[0, 1]
        per example, the norm over all non-batch axes with an epsilon inside
        the square root (Gulrajani et al. 2017, Algorithm 1). Conditional
        critics see the real labels."""
        batch_size = ops.shape(real)[0]
        alpha_shape = (batch_size,) + (1,) * (len(real.shape) - 1)
        alpha = ops.cast(self._random(keras.random.uniform, alpha_shape), real.dtype)
        mixed = alpha * real + (1.0 - alpha) * ops.cast(fake, real.dtype)
        _, grads = gan_backend.value_and_input_gradient(
            lambda x: self._logits(self._discriminate(x, labels)), mixed
        )
        grads = ops.cast(grads, self._loss_dtype)
        norm = ops.sqrt(ops.sum(ops.square(grads), axis=_non_batch_axes(grads)) + 1e-12)
        return ops.mean(ops.square(norm - 1.0))

    # ------------------------------------------------------------------
    # Pieces of the step
    # ------------------------------------------------------------------
    def _random(self, draw, shape, **kwargs):
        """`draw(shape, seed=self.seed_generator, **kwargs)`, per-example
        randomness (`shape[0]` is this replica's batch), drawn so that it
        does not depend on the number of replicas.

        Under a `tf.distribute` strategy every replica runs the step with the
        same seed state. Each draws for the whole global batch and keeps its
        own rows, so the replicas see different latents (not one latent
        batch repeated N times) and a replicated step draws exactly what a
        single-device step on the global batch draws. This costs N times the
        random numbers of a per-replica draw; they are small next to the
        networks. (JAX's `DataParallel` traces global arrays: one replica.)
        """
        replica_id, num_replicas = gan_backend.replica_shard()
        if num_replicas == 1:
            return draw(shape, seed=self.seed_generator, **kwargs)
        local = shape[0]
        values = draw(
            (local * num_replicas,) + tuple(shape[1:]),
            seed=self.seed_generator,
            **kwargs,
        )
        return values[replica_id * local : (replica_id + 1) * local]

    def _replay(self, fake, labels):
        """Mixes pooled fakes into `fake` `[batch, ...]` (see ReplayBuffer).

        Under a `tf.distribute` strategy the pool is a mirrored variable:
        every replica gathers the global fake batch, runs the same pool
        update on it (so the copies stay identical and equal the
        single-device pool) and keeps its own rows of the result.
        """
        replica_id, num_replicas = gan_backend.replica_shard()
        if num_replicas == 1:
            return self.replay_buffer(fake, labels, seed_generator=self.seed_generator)
        local = ops.shape(fake)[0]
        rows = slice(replica_id * local, (replica_id + 1) * local)
        mixed, mixed_labels = self.replay_buffer(
            gan_backend.all_gather(fake),
            None if labels is None else gan_backend.all_gather(labels),
            seed_generator=self.seed_generator,
        )
        return mixed[rows], None if mixed_labels is None else mixed_labels[rows]

    def _sample_latents(self, batch_size):
        z = self._random(keras.random.normal, (batch_size, self.latent_dim))
        return ops.cast(z, self.compute_dtype)

    def _sample_labels(self, batch_size):
        if not self.conditional:
            return None
        return self._random(
            keras.random.randint,
            (batch_size,),
            minval=0,
            maxval=self.num_classes,
            dtype="int32",
        )

    def _generate(self, z, labels):
        inputs = [z, labels] if self.conditional_generator else z
        return self.generator(inputs, training=self._training_mode)

    def _discriminate(self, images, labels):
        inputs = [images, labels] if self.conditional_discriminator else images
        return self.discriminator(inputs, training=self._training_mode)

    def _logits(self, output):
        return self._split(output)[0]

    def _split(self, output):
        """D's output -> `(logits, class_logits or None)`, both cast to the
        loss dtype: every D output passes here, so under a mixed policy no
        loss, target, score or penalty is computed in bfloat16 / float16."""
        if self.auxiliary_classifier:
            logits, class_logits = output[0], output[1]
            return (
                ops.cast(logits, self._loss_dtype),
                ops.cast(class_logits, self._loss_dtype),
            )
        if isinstance(output, (list, tuple)):
            output = output[0]
        return ops.cast(output, self._loss_dtype), None

    def _add_instance_noise(self, images):
        if not self.training_config["instance_noise"]:
            return images
        noise = self._random(keras.random.normal, ops.shape(images))
        return images + ops.cast(self.instance_noise_std, images.dtype) * ops.cast(
            noise, images.dtype
        )

    def _targets(self, real_logits):
        """Per-example targets `[batch, 1, ...]` for real and fake logits:
        one-sided smoothing, random soft labels and random flips."""
        config = self.training_config
        if not self.adversarial_loss.uses_targets:
            return None, None
        shape = (ops.shape(real_logits)[0],) + (1,) * (len(real_logits.shape) - 1)
        dtype = real_logits.dtype
        real_t = ops.full(shape, 1.0 - config["label_smoothing"], dtype=dtype)
        fake_t = ops.zeros(shape, dtype=dtype)
        if config["real_label_range"] is not None:
            low, high = config["real_label_range"]
            real_t = ops.cast(
                self._random(keras.random.uniform, shape, minval=low, maxval=high),
                dtype,
            )
        if config["fake_label_range"] is not None:
            low, high = config["fake_label_range"]
            fake_t = ops.cast(
                self._random(keras.random.uniform, shape, minval=low, maxval=high),
                dtype,
            )
        if config["label_flip"]:
            flip = self._random(keras.random.uniform, shape) < config["label_flip"]
            real_t, fake_t = ops.where(flip, fake_t, real_t), ops.where(
                flip, real_t, fake_t
            )
        return real_t, fake_t

    def _score(self, logits):
        """Mean D output: a probability for probabilistic losses, else raw."""
        if self.adversarial_loss.probabilistic:
            return ops.mean(ops.sigmoid(logits))
        return ops.mean(logits)

    # ------------------------------------------------------------------
    # Inference
    # ------------------------------------------------------------------
    def call(self, inputs, training=False):
        """G(z): latents `[batch, latent_dim]` (or `[z, labels]`) -> images."""
        return self.generator(inputs, training=training)

    def generate(self, num_images=None, seed=0, seeds=None, labels=None, batch_size=256, use_ema=True):
        """Generates images as a numpy array `[n, *image_shape]` in [-1, 1].

        Image `i` uses the latent of integer seed `seed + i` (or `seeds[i]`),
        from `gankeras.sampling.latents_from_seeds`: the same seeds give the
        same images on every backend and from the exported SavedModel.

        Args:
            num_images: number of images (ignored when `seeds` is given).
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
            seeds = np.arange(seed, seed + int(num_images), dtype=np.int64)
        seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
        z = latents_from_seeds(seeds, self.latent_dim)
        if self.conditional_generator:
            if labels is None:
                labels = np.arange(len(seeds)) % self.num_classes
            labels = validation.check_labels(labels, len(seeds), self.num_classes)
        outputs = []
        with self.ema_weights(enabled=use_ema):
            for start in range(0, len(seeds), batch_size):
                zb = z[start : start + batch_size]
                inputs = (
                    [zb, labels[start : start + batch_size]]
                    if self.conditional_generator
                    else zb
                )
                images = self.generator(inputs, training=False)
                # float32 under a mixed policy too (the image convention).
                outputs.append(
                    ops.convert_to_numpy(ops.cast(images, self._loss_dtype))
                )
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
    # fit: checks the data before training, guards against divergence
    # ------------------------------------------------------------------
    def fit(self, x=None, y=None, **kwargs):
        """`keras.Model.fit`, after checking the first batch against the
        networks (shape, dtype, NaNs, value range), and with a
        `gankeras.callbacks.DivergenceGuard` added unless one is given, so
        non-finite losses stop training with a clear error."""
        from gankeras.callbacks.checkpoint import GANCheckpoint
        from gankeras.callbacks.divergence_guard import DivergenceGuard

        if not getattr(self, "compiled", False):
            raise RuntimeError(
                "Call `gan.compile(...)` before `gan.fit(...)`."
            )
        validation.check_first_batch(self, x, y, kwargs.get("batch_size"))
        if hasattr(x, "element_spec"):
            # A tf.data pipeline shuffles itself (gankeras.data does); Keras
            # warns when asked to shuffle one.
            kwargs.setdefault("shuffle", False)
        callbacks = list(kwargs.pop("callbacks", None) or [])
        if not any(isinstance(c, DivergenceGuard) for c in callbacks):
            # With a GANCheckpoint, the guard sets aside checkpoints written
            # after trouble began, so the newest one left is a good one.
            checkpoints = [c for c in callbacks if isinstance(c, GANCheckpoint)]
            callbacks.append(
                DivergenceGuard(
                    checkpoint_directory=(
                        checkpoints[0].directory if checkpoints else None
                    )
                )
            )
        return super().fit(x, y, callbacks=callbacks, **kwargs)


@keras.saving.register_keras_serializable(package="gankeras")
class WeightClip(keras.constraints.Constraint):
    """Clips every weight to `[-clip_value, clip_value]` (WGAN, Arjovsky et
    al. 2017). Applied by Keras optimizers after each update, on every
    backend."""

    def __init__(self, clip_value=0.01):
        self.clip_value = float(clip_value)

    def __call__(self, w):
        return ops.clip(w, -self.clip_value, self.clip_value)

    def get_config(self):
        return {"clip_value": self.clip_value}


def _non_batch_axes(x):
    return tuple(range(1, len(x.shape)))


def _class_loss(class_logits, labels):
    return ops.mean(
        keras.losses.sparse_categorical_crossentropy(
            labels, class_logits, from_logits=True
        )
    )


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
