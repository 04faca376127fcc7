"""The GAN training step as *phases* (NVlabs' stylegan2-ada calls them that).

A `Phase` is one gradient update: a loss function in `keras.ops`, the
variables it updates, the optimizer that updates them and an optional
projection applied to the variables right after the update (WGAN weight
clipping). `training_phases(gan)` lists them for one batch: the
discriminator phase `d_steps` times, then the generator phase. The
per-backend trainers (`gankeras/backend/*_trainer.py`) only take each phase's
gradient and apply it; the objective terms themselves are the pure functions
of `gankeras.losses.objectives`, read from `gan.training_options`
(a `gankeras.TrainingConfig`).

`training` is passed down explicitly: True in the phases `fit` runs, False in
`evaluation_logs` (`gan.evaluate`, validation data), where the networks run
in inference mode and the replay pool and the input-gradient penalties are
left out.

Augmentation (`GAN(augment=...)`, see the design note of `gankeras.augment`):
every image D judges in training goes through `augmentation` right before
D, real and fake alike, in both phases. R1 is taken with respect to the
un-augmented (noised) real batch *through* the augmentation, its parameters
drawn outside the differentiated function (a SeedGenerator advance inside
`value_and_input_gradient` is dropped on JAX); WGAN-GP interpolates the
augmented real and fake batches D was scored on. ADA's controller
(`update`) sees D's logits on the augmented reals once per D step,
all-gathered over replicas; its p and r_t are logged as `augment_p` and
`augment_rt`. G's loss is D of augmented fakes, the gradient flowing through
the augmentation into G (what keeps G from learning the augmentations).
`training=False` (evaluate, validation) applies no augmentation.

VAE-GAN (`GAN(encoder=...)`): the generator phase updates the decoder (G)
and the encoder together. With `reconstruction_layer=None` the
reconstruction error is in pixels and D never sees reconstructions. With a
layer name it is Larsen et al. 2016's: the error in that layer's features
(`FeatureModel`, built once at compile), D judges the reconstructions as
fakes in its phase, and the decoder (not the encoder) is trained to make
them pass; `vaegan_gamma` weights the decoder's reconstruction term. Their
draws come after every other draw of a phase, so a run with the pixel
variant draws the same latents, noise and augmentations.

Mixed precision: every D output passes through `split`, which casts it to
the loss dtype (the GAN's variable dtype, float32 under `mixed_bfloat16`), so
losses, targets, scores, penalties and logs are float32 computations.
"""

import keras
from keras import ops

from gankeras import backend as gan_backend
from gankeras.augment import AdaptiveAugment, Augmentation
from gankeras.losses import objectives


class Phase:
    """One gradient update.

    Args:
        name: "discriminator" or "generator".
        loss_fn: `(real, labels) -> (loss, logs)`; `logs` maps tracker names
            to scalars.
        variables: the variables the update changes.
        optimizer: the optimizer that changes them.
        projection: None, or `value -> value` applied to every variable
            after the optimizer's update (the trainer does it).
    """

    def __init__(self, name, loss_fn, variables, optimizer, projection=None):
        self.name = name
        self.loss_fn = loss_fn
        self.variables = variables
        self.optimizer = optimizer
        self.projection = projection


def training_phases(gan):
    """The phases of one training step, in order: D `d_steps` times, then G.
    A frozen network (no trainable variables) has no phase."""
    config = gan.training_options
    clip = config.weight_clip
    d_phase = Phase(
        "discriminator",
        lambda real, labels: discriminator_loss(gan, real, labels, training=True),
        gan.discriminator.trainable_variables,
        gan.d_optimizer,
        projection=None if clip is None else (lambda value: ops.clip(value, -clip, clip)),
    )
    generator_side = gan.generator.trainable_variables + (
        gan.encoder.trainable_variables if gan.encoder is not None else []
    )
    g_phase = Phase(
        "generator",
        lambda real, labels: generator_loss(gan, real, labels, training=True),
        generator_side,
        gan.g_optimizer,
    )
    phases = [d_phase] * config.d_steps + [g_phase]
    return [phase for phase in phases if phase.variables]


def evaluation_logs(gan, real, labels):
    """Both objectives' logs on one batch, without updates and in inference
    mode (no replay, no input-gradient penalties)."""
    logs = {}
    for objective in (discriminator_loss, generator_loss):
        logs.update(objective(gan, real, labels, training=False)[1])
    return logs


def unpack_batch(gan, data):
    """A batch -> `(real float32 [batch, ...], labels int32 [batch] or None)`."""
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    if gan.conditional:
        if y is None:
            raise ValueError(
                "This GAN is conditional (num_classes="
                f"{gan.num_classes}): the dataset must yield "
                "(images, labels). Received images only."
            )
        y = ops.cast(ops.reshape(y, (-1,)), "int32")
    else:
        y = None
    # Images stay in float32 under a mixed policy (the networks cast
    # their inputs to their compute dtype): instance noise, interpolates
    # and input gradients for the penalties are then float32.
    return ops.cast(x, gan._loss_dtype), y


# ----------------------------------------------------------------------
# The two objectives
# ----------------------------------------------------------------------
def discriminator_loss(gan, real, labels, training):
    """Discriminator loss on a real batch and a fresh fake batch.

    Args:
        real: images `[batch, *image_shape]` in `gan.data_range` (float32).
        labels: int32 `[batch]` or None.
        training: networks in training mode, replay and penalties on.

    Returns:
        `(loss, logs)`.
    """
    config = gan.training_options
    batch_size = ops.shape(real)[0]
    fake_labels = sample_labels(gan, batch_size)
    latents = sample_latents(gan, batch_size)
    with gan_backend.no_grad():  # D's phase never differentiates G.
        fake = ops.stop_gradient(generate(gan, latents, fake_labels, training))
    if gan.replay_buffer is not None and training:
        fake, fake_labels = replay(gan, fake, fake_labels)
    real_in, augment_real = augmentation(gan, instance_noise(gan, real), training)
    fake_in, _ = augmentation(gan, instance_noise(gan, fake), training)

    r1 = None
    if config.r1_penalty and training:
        # With respect to the un-augmented real batch, through the
        # augmentation drawn above (`augment_real` is deterministic).
        real_logits, grads = gan_backend.value_and_input_gradient(
            lambda x: split(gan, discriminate(gan, augment_real(x), labels, training))[0],
            augment_real.source,
        )
        r1 = objectives.r1_penalty(ops.cast(grads, gan._loss_dtype))
        real_out = (
            discriminate(gan, real_in, labels, training)
            if gan.auxiliary_classifier
            else real_logits
        )
    else:
        real_out = discriminate(gan, real_in, labels, training)
    fake_out = discriminate(gan, fake_in, fake_labels, training)
    real_logits, real_classes = split(gan, real_out)
    fake_logits, fake_classes = split(gan, fake_out)
    if training and isinstance(gan.augment, Augmentation):
        # ADA's controller, once per D step, on the global batch's logits.
        gan.augment.update(gan_backend.all_gather(real_logits))

    real_targets, fake_targets = targets(gan, real_logits)
    d_loss = gan.adversarial_loss.discriminator_loss(
        real_logits, fake_logits, real_targets, fake_targets
    )
    gp = None
    if config.gradient_penalty and training:
        if gan.augment is None:
            gp = wgan_gradient_penalty(gan, real, fake, labels, training)
        else:  # between the augmented images D was scored on
            gp = wgan_gradient_penalty(gan, real_in, fake_in, labels, training)
    reconstruction_logits = d_reconstruction = None
    if gan._features is not None:  # Larsen et al.: D also judges Dec(Enc(x))
        with gan_backend.no_grad():
            z = encode(gan, real, training)[2]
            reconstruction = ops.stop_gradient(generate(gan, z, labels, training))
        reconstruction_in, _ = augmentation(gan, instance_noise(gan, reconstruction), training)
        reconstruction_logits, _ = split(
            gan, discriminate(gan, reconstruction_in, labels, training)
        )
        d_reconstruction = objectives.reconstruction_discriminator_loss(
            gan.adversarial_loss.discriminator_loss,
            real_logits,
            reconstruction_logits,
            real_targets,
            fake_targets,
        )
    auxiliary = None
    if gan.auxiliary_classifier:
        auxiliary = objectives.auxiliary_classifier_loss(
            real_classes, labels
        ) + objectives.auxiliary_classifier_loss(fake_classes, fake_labels)
    loss, logs = objectives.discriminator_objective(
        d_loss,
        r1=r1,
        r1_weight=config.r1_penalty,
        gp=gp,
        gp_weight=config.gradient_penalty,
        auxiliary=auxiliary,
        auxiliary_weight=config.auxiliary_weight,
        reconstruction=d_reconstruction,
    )
    probabilistic = gan.adversarial_loss.probabilistic
    logs["d_real"] = objectives.discriminator_score(real_logits, probabilistic)
    logs["d_fake"] = objectives.discriminator_score(fake_logits, probabilistic)
    if reconstruction_logits is not None:
        logs["d_reconstructed"] = objectives.discriminator_score(
            reconstruction_logits, probabilistic
        )
    logs.update(augment_logs(gan))
    return loss, logs


def generator_loss(gan, real, labels, training):
    """Generator (and encoder) loss on a fresh fake batch.

    Returns:
        `(loss, logs)`.
    """
    config = gan.training_options
    batch_size = ops.shape(real)[0]
    fake_labels = sample_labels(gan, batch_size)
    fake = generate(gan, sample_latents(gan, batch_size), fake_labels, training)
    # No stop_gradient: G's gradient flows through the augmentation.
    fake_in, _ = augmentation(gan, fake, training)
    fake_logits, fake_classes = split(gan, discriminate(gan, fake_in, fake_labels, training))
    real_logits = None
    if gan.adversarial_loss.generator_needs_real:
        real_in, _ = augmentation(gan, real, training)
        real_logits, _ = split(gan, discriminate(gan, real_in, labels, training))
    g_loss = gan.adversarial_loss.generator_loss(real_logits, fake_logits)
    auxiliary = None
    vae = {"kl": None, "reconstruction": None, "decoder_reconstruction": None}
    if gan.auxiliary_classifier:
        auxiliary = objectives.auxiliary_classifier_loss(fake_classes, fake_labels)
    if gan.encoder is not None:
        vae = vae_terms(gan, real, labels, real_logits, training)
        adversarial = vae.pop("adversarial")
        if adversarial is not None:  # D's verdict on reconstructions
            g_loss = g_loss + adversarial
    return objectives.generator_objective(
        g_loss,
        auxiliary=auxiliary,
        auxiliary_weight=config.auxiliary_weight,
        kl_weight=config.kl_weight,
        reconstruction_weight=config.reconstruction_weight,
        decoder_weight=config.vaegan_gamma,
        **vae,
    )


def vae_terms(gan, real, labels, real_logits, training):
    """The VAE-GAN terms of the generator phase (Larsen et al. 2016), as a
    dict of scalars (batch means) or None:

    - `kl`: KL(q(z|x) || N(0, I)).
    - `reconstruction`: the error of x_tilde = G(z), z ~ q(z|x): in pixels,
      or in the features of D's `reconstruction_layer`.
    - `decoder_reconstruction`: the same from G(stop_gradient(z)), for
      `vaegan_gamma` (the decoder's own weight); None without it.
    - `adversarial`: the generator loss of D on G(stop_gradient(z)) (the
      feature variant: the decoder makes reconstructions pass, the encoder
      gets no adversarial gradient); None in pixels.
    """
    config = gan.training_options
    mean, log_var, z = encode(gan, real, training)
    reconstruction = ops.cast(generate(gan, z, labels, training), real.dtype)
    terms = {"kl": objectives.kl_to_standard_normal(mean, log_var), "adversarial": None}
    terms["decoder_reconstruction"] = None
    decoded = None
    if gan._features is not None or config.vaegan_gamma is not None:
        decoded = ops.cast(generate(gan, ops.stop_gradient(z), labels, training), real.dtype)
    if gan._features is None:
        terms["reconstruction"] = objectives.reconstruction_error(reconstruction, real)
        if decoded is not None:
            terms["decoder_reconstruction"] = objectives.reconstruction_error(decoded, real)
        return terms
    real_features = ops.stop_gradient(gan._features(gan, real, labels, training)[0])

    def error(images):
        features = gan._features(gan, images, labels, training)[0]
        return objectives.feature_reconstruction_error(features, real_features)

    terms["reconstruction"] = error(reconstruction)
    if config.vaegan_gamma is not None:
        terms["decoder_reconstruction"] = error(decoded)
    decoded_in, _ = augmentation(gan, decoded, training)
    decoded_logits, _ = split(gan, discriminate(gan, decoded_in, labels, training))
    terms["adversarial"] = gan.adversarial_loss.generator_loss(real_logits, decoded_logits)
    return terms


def encode(gan, real, training):
    """`(mean, log_var, z)`: q(z|x)'s parameters (loss dtype) and a draw
    from it (reparameterized, Kingma & Welling 2014)."""
    mean, log_var = gan.encoder(real, training=training)
    mean = ops.cast(mean, gan._loss_dtype)
    log_var = ops.cast(log_var, gan._loss_dtype)
    eps = random(gan, keras.random.normal, ops.shape(mean))
    z = objectives.reparameterize(mean, log_var, eps)
    return mean, log_var, z


class FeatureModel:
    """Dis_l beside D's output: `keras.Model(D.inputs, [layer.output,
    *D.outputs])` over the discriminator's own layers and variables, built
    once by `feature_model`. A plain object, so Keras neither tracks nor
    saves it (its variables are D's).

    Called as `features(gan, images, labels, training)` -> `(features in
    the loss dtype, D's output)`.
    """

    def __init__(self, model):
        self.model = model

    def __call__(self, gan, images, labels, training):
        inputs = [images, labels] if gan.conditional_discriminator else images
        outputs = self.model(inputs, training=training)
        rest = outputs[1:]
        return ops.cast(outputs[0], gan._loss_dtype), rest[0] if len(rest) == 1 else rest


def feature_model(gan, config):
    """The `FeatureModel` of `config.reconstruction_layer`, or None.

    Raises:
        ValueError: a VAE-GAN option without an encoder, a layer name D
            does not have (the error lists D's layers), or a discriminator
            without symbolic layer outputs (subclassed).
    """
    name = config.reconstruction_layer
    if gan.encoder is None and (name is not None or config.vaegan_gamma is not None):
        raise ValueError(
            "`reconstruction_layer` and `vaegan_gamma` configure a VAE-GAN: "
            "pass an encoder, GAN(..., encoder=...). Received: "
            f"reconstruction_layer={name!r}, vaegan_gamma={config.vaegan_gamma!r} "
            "and no encoder."
        )
    if name is None:
        return None
    discriminator = gan.discriminator
    names = [layer.name for layer in discriminator.layers]
    if name not in names:
        raise ValueError(
            f"`reconstruction_layer` must name a layer of the discriminator "
            f"{discriminator.name!r}. Received: reconstruction_layer={name!r}. "
            f"Its layers: {names}."
        )
    try:
        features = discriminator.get_layer(name).output
        model = keras.Model(discriminator.inputs, [features, *discriminator.outputs], name="dis_l")
    except (AttributeError, ValueError, TypeError) as error:
        raise ValueError(
            f"`reconstruction_layer={name!r}` needs a functional or Sequential "
            "discriminator (a layer with one symbolic output); "
            f"{discriminator.name!r} has none ({error})."
        ) from None
    return FeatureModel(model)


def wgan_gradient_penalty(gan, real, fake, labels, training):
    """WGAN-GP on interpolates with per-example alpha ~ U[0, 1]
    (Gulrajani et al. 2017). Conditional critics see the real labels."""
    batch_size = ops.shape(real)[0]
    alpha_shape = (batch_size,) + (1,) * (len(real.shape) - 1)
    alpha = ops.cast(random(gan, keras.random.uniform, alpha_shape), real.dtype)
    mixed = objectives.interpolate(real, fake, alpha)
    _, grads = gan_backend.value_and_input_gradient(
        lambda x: split(gan, discriminate(gan, x, labels, training))[0], mixed
    )
    return objectives.gradient_penalty(ops.cast(grads, gan._loss_dtype))


# ----------------------------------------------------------------------
# Pieces of the step
# ----------------------------------------------------------------------
def random(gan, draw, shape, **kwargs):
    """`draw(shape, seed=gan.seed_generator, **kwargs)`, per-example
    randomness (`shape[0]` is this replica's batch), drawn so that it does not
    depend on the number of replicas.

    Under a `tf.distribute` strategy every replica runs the step with the
    same seed state. Each draws for the whole global batch and keeps its own
    rows, so the replicas see different latents and a replicated step draws
    exactly what a single-device step on the global batch draws. (JAX's
    `DataParallel` traces global arrays: one replica.)
    """
    replica_id, num_replicas = gan_backend.replica_shard()
    if num_replicas == 1:
        return draw(shape, seed=gan.seed_generator, **kwargs)
    local = shape[0]
    values = draw((local * num_replicas,) + tuple(shape[1:]), seed=gan.seed_generator, **kwargs)
    return values[replica_id * local : (replica_id + 1) * local]


def replay(gan, fake, labels):
    """Mixes pooled fakes into `fake` `[batch, ...]` (see ReplayBuffer).

    Under a `tf.distribute` strategy the pool is a mirrored variable: every
    replica gathers the global fake batch, runs the same pool update on it
    (the copies stay identical and equal the single-device pool) and keeps
    its own rows of the result.
    """
    replica_id, num_replicas = gan_backend.replica_shard()
    if num_replicas == 1:
        return gan.replay_buffer(fake, labels, seed_generator=gan.seed_generator)
    local = ops.shape(fake)[0]
    rows = slice(replica_id * local, (replica_id + 1) * local)
    mixed, mixed_labels = gan.replay_buffer(
        gan_backend.all_gather(fake),
        None if labels is None else gan_backend.all_gather(labels),
        seed_generator=gan.seed_generator,
    )
    return mixed[rows], None if mixed_labels is None else mixed_labels[rows]


def sample_latents(gan, batch_size):
    z = random(gan, keras.random.normal, (batch_size, gan.latent_dim))
    return ops.cast(z, gan.compute_dtype)


def sample_labels(gan, batch_size):
    if not gan.conditional:
        return None
    return random(
        gan, keras.random.randint, (batch_size,), minval=0, maxval=gan.num_classes, dtype="int32"
    )


def generate(gan, z, labels, training):
    inputs = [z, labels] if gan.conditional_generator else z
    return gan.generator(inputs, training=training)


class _Fixed:
    """`x -> the augmentation drawn for `source`, applied to x`
    (deterministic, differentiable); `source` is the un-augmented batch."""

    def __init__(self, fn, source):
        self.fn, self.source = fn, source

    def __call__(self, x):
        return self.fn(x)


def augmentation(gan, images, training):
    """`gan.augment` applied to D's input `images` `[batch, ...]`.

    Returns `(augmented images, fixed)`: `fixed(x)` applies the same
    parameters to another tensor of that shape (for R1's input gradient,
    drawn here, outside the differentiated function), `fixed.source` is
    `images`. The identity without an augmentation or when not training.
    An `Augmentation` draws from `gan.seed_generator`; another layer is
    called as `layer(x, training=True)`.
    """
    aug = gan.augment
    if aug is None or not training:
        fixed = _Fixed(lambda x: x, images)
    elif isinstance(aug, Augmentation):
        parameters = aug.sample_parameters(images, gan.seed_generator)
        fixed = _Fixed(lambda x: aug.apply(x, parameters), images)
    else:
        fixed = _Fixed(lambda x: aug(x, training=True), images)
    return fixed(images), fixed


def log_names(gan):
    """Names of the values the step logs, in order: the config's
    (`TrainingConfig.log_names`), then ADA's."""
    config = gan.training_options
    names = config.log_names(gan.auxiliary_classifier, vae=gan.encoder is not None)
    return names + augment_log_names(gan)


def augment_log_names(gan):
    """The names `augment_logs` reports: ADA's p and r_t."""
    return ["augment_p", "augment_rt"] if isinstance(gan.augment, AdaptiveAugment) else []


def augment_logs(gan):
    """`{"augment_p": p, "augment_rt": r_t}` (float32 scalars) for ADA,
    read after this D step's controller update; `{}` otherwise."""
    if not isinstance(gan.augment, AdaptiveAugment):
        return {}
    return {
        "augment_p": ops.cast(ops.convert_to_tensor(gan.augment.p), gan._loss_dtype),
        "augment_rt": ops.cast(ops.convert_to_tensor(gan.augment.rt), gan._loss_dtype),
    }


def discriminate(gan, images, labels, training):
    """D's output on `images` (and labels); callers augment first
    (`augmentation`)."""
    inputs = [images, labels] if gan.conditional_discriminator else images
    return gan.discriminator(inputs, training=training)


def split(gan, output):
    """D's output -> `(logits, class_logits or None)`, both cast to the loss
    dtype: under a mixed policy no loss, target, score or penalty is
    computed in bfloat16."""
    if gan.auxiliary_classifier:
        logits, class_logits = output[0], output[1]
        return ops.cast(logits, gan._loss_dtype), ops.cast(class_logits, gan._loss_dtype)
    if isinstance(output, (list, tuple)):
        output = output[0]
    return ops.cast(output, gan._loss_dtype), None


def instance_noise(gan, images):
    if not gan.training_options.instance_noise:
        return images
    noise = random(gan, keras.random.normal, ops.shape(images))
    return objectives.add_instance_noise(images, gan.instance_noise_std, noise)


def targets(gan, real_logits):
    """Per-example targets `[batch, 1, ...]`, or `(None, None)` for losses
    without targets."""
    if not gan.adversarial_loss.uses_targets:
        return None, None
    config = gan.training_options
    shape = (ops.shape(real_logits)[0],) + (1,) * (len(real_logits.shape) - 1)
    return objectives.label_targets(
        shape,
        real_logits.dtype,
        label_smoothing=config.label_smoothing,
        real_label_range=config.real_label_range,
        fake_label_range=config.fake_label_range,
        label_flip=config.label_flip,
        uniform=lambda s, **kwargs: random(gan, keras.random.uniform, s, **kwargs),
    )
