"""The terms of the GAN objectives, as pure `keras.ops` functions.

Beside the adversarial losses (`gankeras.losses.adversarial`), the catalogue
of everything else the two training phases add up: label targets (one-sided
smoothing, soft and flipped labels), instance noise, the input-gradient
penalties (WGAN-GP, R1), the auxiliary-classifier term (ACGAN), the VAE-GAN
terms, and the weighted sums that make the discriminator and generator
objectives. Networks, random draws and gradients stay with the caller
(`gankeras.models.phases`): these functions take tensors (and, for random
targets, a sampler) and return tensors, so each is checked against a hand
computation in `tests/test_objectives.py`.

Shapes: `batch` is the leading axis everywhere; images are
`[batch, H, W, C]` (any rank works: reductions run over all non-batch axes);
logits are `[batch, 1]` (or `[batch, ...]`, e.g. a PatchGAN map).
"""

import keras
from keras import ops

__all__ = [
    "add_instance_noise",
    "auxiliary_classifier_loss",
    "discriminator_objective",
    "discriminator_score",
    "feature_reconstruction_error",
    "flip_targets",
    "generator_objective",
    "gradient_penalty",
    "interpolate",
    "kl_to_standard_normal",
    "label_targets",
    "r1_penalty",
    "reconstruction_discriminator_loss",
    "reconstruction_error",
    "reparameterize",
]


def non_batch_axes(x):
    """`(1, ..., rank - 1)`: the axes reduced per example."""
    return tuple(range(1, len(x.shape)))


# ----------------------------------------------------------------------
# Label targets (Salimans et al. 2016; noisy labels)
# ----------------------------------------------------------------------
def flip_targets(real_targets, fake_targets, flip):
    """Swaps real and fake targets where `flip` is true.

    Args:
        real_targets, fake_targets: float tensors of one shape.
        flip: bool tensor broadcastable to them.

    Returns:
        `(real_targets, fake_targets)` with the flipped examples swapped.
    """
    return (
        ops.where(flip, fake_targets, real_targets),
        ops.where(flip, real_targets, fake_targets),
    )


def label_targets(
    shape,
    dtype,
    label_smoothing=0.0,
    real_label_range=None,
    fake_label_range=None,
    label_flip=0.0,
    uniform=None,
):
    """Per-example targets for real and fake logits.

    One-sided label smoothing (Salimans et al. 2016, "Improved Techniques for
    Training GANs", sec. 3.4): real targets `1 - label_smoothing`, fakes 0.
    Soft labels: a `(low, high)` range replaces a target by a uniform draw per
    example. Label flips swap an example's targets with probability
    `label_flip`. Draws happen in that order: real range, fake range, flips.

    Args:
        shape: target shape, `(batch, 1, ...)` (broadcasts against logits).
        dtype: float dtype of the targets.
        label_smoothing: in [0, 1).
        real_label_range, fake_label_range: `(low, high)` or None.
        label_flip: flip probability in [0, 1).
        uniform: `uniform(shape, minval=0.0, maxval=1.0) -> tensor`, the
            random source (needed only for ranges and flips); the GAN passes
            its seeded, replica-aware sampler.

    Returns:
        `(real_targets, fake_targets)`, each `shape`, `dtype`.
    """
    real_t = ops.full(shape, 1.0 - label_smoothing, dtype=dtype)
    fake_t = ops.zeros(shape, dtype=dtype)
    if real_label_range is not None:
        low, high = real_label_range
        real_t = ops.cast(uniform(shape, minval=low, maxval=high), dtype)
    if fake_label_range is not None:
        low, high = fake_label_range
        fake_t = ops.cast(uniform(shape, minval=low, maxval=high), dtype)
    if label_flip:
        real_t, fake_t = flip_targets(real_t, fake_t, uniform(shape) < label_flip)
    return real_t, fake_t


# ----------------------------------------------------------------------
# Instance noise (Sønderby et al. 2017)
# ----------------------------------------------------------------------
def add_instance_noise(images, std, noise):
    """`images + std * noise`: instance noise on D's inputs.

    Sønderby et al. 2017, "Amortised MAP Inference for Image
    Super-resolution", sec. 3.2: noise on real and fake inputs makes their
    distributions overlap, so D cannot separate them perfectly.

    Args:
        images: `[batch, ...]` float.
        std: scalar (a variable, so it can be annealed).
        noise: standard normal draws, `images`' shape.

    Returns:
        Noisy images, `images`' shape and dtype.
    """
    images = ops.convert_to_tensor(images)
    return images + ops.cast(std, images.dtype) * ops.cast(noise, images.dtype)


# ----------------------------------------------------------------------
# Input-gradient penalties
# ----------------------------------------------------------------------
def interpolate(real, fake, alpha):
    """`alpha * real + (1 - alpha) * fake`: WGAN-GP's x_hat.

    Args:
        real: `[batch, ...]`.
        fake: `[batch, ...]`, cast to `real`'s dtype.
        alpha: `[batch, 1, ...]` in [0, 1] (per-example, uniform in the paper).
    """
    real = ops.convert_to_tensor(real)
    alpha = ops.cast(alpha, real.dtype)
    return alpha * real + (1.0 - alpha) * ops.cast(fake, real.dtype)


def gradient_penalty(gradients):
    """WGAN-GP: `E[(|grad|_2 - 1)^2]`.

    Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
    Algorithm 1: the norm of D's input gradient at interpolates, over all
    non-batch axes, with an epsilon (1e-12) inside the square root so the
    penalty stays differentiable at a zero gradient.

    Args:
        gradients: `d D(x_hat) / d x_hat`, `[batch, ...]`.

    Returns:
        Scalar.
    """
    norm = ops.sqrt(ops.sum(ops.square(gradients), axis=non_batch_axes(gradients)) + 1e-12)
    return ops.mean(ops.square(norm - 1.0))


def r1_penalty(gradients):
    """R1: `E[|grad D(x)|^2]` on real data (the objective adds gamma / 2 of it).

    Mescheder et al. 2018, "Which Training Methods for GANs do actually
    Converge?", eq. 9.

    Args:
        gradients: `d D(x) / d x` at real images, `[batch, ...]`.

    Returns:
        Scalar.
    """
    return ops.mean(ops.sum(ops.square(gradients), axis=non_batch_axes(gradients)))


# ----------------------------------------------------------------------
# ACGAN and VAE-GAN terms
# ----------------------------------------------------------------------
def auxiliary_classifier_loss(class_logits, labels):
    """Mean cross-entropy of D's class logits against the labels (ACGAN).

    Odena et al. 2017, "Conditional Image Synthesis with Auxiliary Classifier
    GANs", eq. 3 (L_C).

    Args:
        class_logits: `[batch, num_classes]` raw scores.
        labels: int `[batch]`.

    Returns:
        Scalar.
    """
    return ops.mean(
        keras.losses.sparse_categorical_crossentropy(labels, class_logits, from_logits=True)
    )


def reparameterize(mean, log_var, eps):
    """`mean + exp(log_var / 2) * eps`: a draw from q(z|x) = N(mean, exp(log_var)).

    Kingma & Welling 2014, "Auto-Encoding Variational Bayes", sec. 2.4.

    Args:
        mean, log_var: `[batch, latent_dim]`.
        eps: standard normal draws, same shape.
    """
    mean = ops.convert_to_tensor(mean)
    return mean + ops.exp(0.5 * log_var) * ops.cast(eps, mean.dtype)


def kl_to_standard_normal(mean, log_var):
    """`KL(N(mean, exp(log_var)) || N(0, I))`, summed over latents, mean over
    the batch (Kingma & Welling 2014, appendix B; the VAE-GAN's L_prior,
    Larsen et al. 2016).

    Args:
        mean, log_var: `[batch, latent_dim]`.

    Returns:
        Scalar.
    """
    mean = ops.convert_to_tensor(mean)
    log_var = ops.convert_to_tensor(log_var)
    return -0.5 * ops.mean(ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1))


def reconstruction_error(reconstruction, target):
    """Mean squared pixel error per example, then over the batch.

    The pixel-space VAE-GAN's reconstruction term (`reconstruction_layer=None`
    in `gankeras.TrainingConfig`): it keeps the objective independent of D.
    Larsen et al. 2016 measure it in D's features instead
    (`feature_reconstruction_error`).

    Args:
        reconstruction, target: `[batch, ...]`, one dtype.

    Returns:
        Scalar.
    """
    reconstruction = ops.convert_to_tensor(reconstruction)
    target = ops.convert_to_tensor(target)
    error = ops.mean(ops.square(reconstruction - target), axis=non_batch_axes(target))
    return ops.mean(error)


def feature_reconstruction_error(reconstruction_features, real_features):
    """`1/2 |Dis_l(x) - Dis_l(x_tilde)|^2`, summed per example, mean over the batch.

    Larsen et al. 2016, "Autoencoding beyond pixels using a learned
    similarity metric", eq. 6-7 (L_llike^Dis_l): the Gaussian observation
    model `p(Dis_l(x) | z) = N(Dis_l(x) | Dis_l(x_tilde), I)` on the l-th layer
    of the discriminator; this is its negative log-likelihood without the
    constant `d/2 log(2 pi)`.

    Args:
        reconstruction_features: Dis_l(Dec(Enc(x))), `[batch, ...]`.
        real_features: Dis_l(x), same shape (cast to the first's dtype).

    Returns:
        Scalar.
    """
    reconstruction_features = ops.convert_to_tensor(reconstruction_features)
    real_features = ops.cast(real_features, reconstruction_features.dtype)
    squared = ops.square(reconstruction_features - real_features)
    return ops.mean(0.5 * ops.sum(squared, axis=non_batch_axes(squared)))


def reconstruction_discriminator_loss(
    discriminator_loss, real_logits, reconstruction_logits, real_targets=None, fake_targets=None
):
    """D's loss on reconstructions as fakes, against a real batch that gets no gradient.

    Larsen et al. 2016, "Autoencoding beyond pixels using a learned
    similarity metric", eq. 8 and Algorithm 1: D maximises
    `L_GAN = log D(x) + log(1 - D(Dec(z_p))) + log(1 - D(Dec(Enc(x))))`:
    reconstructions are a second batch of fakes beside prior samples, and
    the real term counts once. This returns
    `discriminator_loss(stop_gradient(real_logits), reconstruction_logits)`;
    added to the usual `discriminator_loss(real_logits, fake_logits)`, the
    sum's gradient is that of -L_GAN for every loss that is a real term plus
    a fake term (all of `gankeras.losses.LOSSES` but the relativistic and
    MMD ones; for those, reconstructions are judged against a fixed real
    batch). Its value is the reconstructions' fake term plus a copy of the
    real term (logged as `d_reconstruction_loss`: how well D tells reals
    from reconstructions).

    Args:
        discriminator_loss: `(real_logits, fake_logits, real_targets,
            fake_targets) -> scalar` (an `AdversarialLoss`'s).
        real_logits, reconstruction_logits: D's outputs on x and
            Dec(Enc(x)), `[batch, ...]` each.
        real_targets, fake_targets: as in `gankeras.losses.adversarial`.

    Returns:
        Scalar.
    """
    fixed_real = ops.stop_gradient(ops.convert_to_tensor(real_logits))
    return discriminator_loss(fixed_real, reconstruction_logits, real_targets, fake_targets)


# ----------------------------------------------------------------------
# Scores and the two objectives
# ----------------------------------------------------------------------
def discriminator_score(logits, probabilistic):
    """Mean D output: `mean(sigmoid(logits))` when D's logit is a probability
    of "real" (`AdversarialLoss.probabilistic`), else the mean raw score."""
    if probabilistic:
        return ops.mean(ops.sigmoid(logits))
    return ops.mean(logits)


def discriminator_objective(
    d_loss,
    r1=None,
    r1_weight=0.0,
    gp=None,
    gp_weight=0.0,
    auxiliary=None,
    auxiliary_weight=1.0,
    reconstruction=None,
):
    """The discriminator phase's objective: the adversarial loss plus its
    regularizers, `d_loss + r1_weight / 2 * r1 + gp_weight * gp +
    auxiliary_weight * auxiliary + reconstruction` (terms that are None are
    left out).

    Args:
        d_loss: scalar adversarial discriminator loss.
        reconstruction: the VAE-GAN's `reconstruction_discriminator_loss`
            (Larsen et al. 2016), or None.
        r1, gp, auxiliary: scalars from `r1_penalty`, `gradient_penalty`,
            `auxiliary_classifier_loss` (real + fake), or None.
        r1_weight: R1's gamma; gp_weight: WGAN-GP's lambda.

    Returns:
        `(loss, logs)`: the scalar to minimise and the logged terms.
    """
    loss = d_loss
    logs = {"d_loss": d_loss}
    if r1 is not None:
        logs["r1_penalty"] = r1
        loss = loss + 0.5 * r1_weight * r1
    if gp is not None:
        logs["gradient_penalty"] = gp
        loss = loss + gp_weight * gp
    if auxiliary is not None:
        logs["d_aux_loss"] = auxiliary
        loss = loss + auxiliary_weight * auxiliary
    if reconstruction is not None:
        logs["d_reconstruction_loss"] = reconstruction
        loss = loss + reconstruction
    return loss, logs


def generator_objective(
    g_loss,
    auxiliary=None,
    auxiliary_weight=1.0,
    kl=None,
    kl_weight=1.0,
    reconstruction=None,
    reconstruction_weight=1.0,
    decoder_reconstruction=None,
    decoder_weight=None,
):
    """The generator phase's objective: `g_loss + auxiliary_weight * auxiliary
    + kl_weight * kl + reconstruction_weight * reconstruction` (ACGAN and
    VAE-GAN terms optional; the VAE terms come together).

    Larsen et al. 2016 (Algorithm 1) weight the reconstruction term
    differently for the encoder (1) and the decoder (gamma). One phase
    updates both, so the term comes twice: `reconstruction`, differentiable
    through encoder and decoder, with `reconstruction_weight` (the encoder's
    weight), and `decoder_reconstruction`, the same value computed from
    `stop_gradient(z)` (so only the decoder is differentiated), with
    `decoder_weight - reconstruction_weight`: the decoder's gradient then
    carries `decoder_weight`. Both None: one weight for both networks.

    Returns:
        `(loss, logs)`; the loss holds the reconstruction term with
        `decoder_weight` (or `reconstruction_weight`).
    """
    loss = g_loss
    logs = {"g_loss": g_loss}
    if auxiliary is not None:
        logs["g_aux_loss"] = auxiliary
        loss = loss + auxiliary_weight * auxiliary
    if kl is not None:
        logs["kl_loss"] = kl
        logs["reconstruction_loss"] = reconstruction
        loss = loss + kl_weight * kl + reconstruction_weight * reconstruction
    if decoder_reconstruction is not None:
        loss = loss + (decoder_weight - reconstruction_weight) * decoder_reconstruction
    return loss, logs
