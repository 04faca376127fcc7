"""Adversarial losses over discriminator logits, in `keras.ops`.

Every loss comes as a pair named `<family>_discriminator_loss` and
`<family>_generator_loss`, both with the signature

    discriminator_loss(real_logits, fake_logits, real_targets, fake_targets)
    generator_loss(real_logits, fake_logits)

- `real_logits`: D(x), discriminator outputs on real images, float tensor of
  shape `[batch]` or `[batch, ...]` (a PatchGAN map works too); raw scores,
  never probabilities.
- `fake_logits`: D(G(z)), same rank as `real_logits`.
- `real_targets` / `fake_targets`: the label each example is pushed towards
  (1 and 0 by default), broadcastable to the logits. They carry one-sided
  label smoothing, random soft labels and label flips; losses that have no
  labels (Wasserstein, hinge, relativistic) ignore them, and
  `AdversarialLoss.uses_targets` says so.
- `real_logits` is `None` in the generator step of losses whose generator
  term does not look at real data (`AdversarialLoss.generator_needs_real`).

Each returns a scalar: the mean over every element. Losses are minimised.
"""

import keras
from keras import ops

_register = keras.saving.register_keras_serializable(package="gankeras")

__all__ = [
    "minimax_discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_discriminator_loss",
    "non_saturating_generator_loss",
    "wasserstein_discriminator_loss",
    "wasserstein_generator_loss",
    "hinge_discriminator_loss",
    "hinge_generator_loss",
    "least_squares_discriminator_loss",
    "least_squares_generator_loss",
    "relativistic_average_discriminator_loss",
    "relativistic_average_generator_loss",
    "sigmoid_cross_entropy",
]


def sigmoid_cross_entropy(logits, targets):
    """Elementwise binary cross-entropy of `sigmoid(logits)` against `targets`.

    The numerically stable form `max(l, 0) - l * t + log(1 + exp(-|l|))`,
    valid for any real target (soft labels such as 1.2 included).

    Args:
        logits: float tensor, any shape.
        targets: float tensor broadcastable to `logits`.

    Returns:
        Tensor of the broadcast shape.
    """
    logits = ops.convert_to_tensor(logits)
    targets = ops.cast(targets, logits.dtype)
    return ops.relu(logits) - logits * targets + ops.log1p(ops.exp(-ops.abs(logits)))


@_register
def minimax_discriminator_loss(real_logits, fake_logits, real_targets=1.0, fake_targets=0.0):
    """The discriminator side of the original minimax game.

    Goodfellow et al. 2014, "Generative Adversarial Nets", eq. 1:
    D maximises E[log D(x)] + E[log(1 - D(G(z)))], i.e. minimises the binary
    cross-entropy of real against 1 and fake against 0.
    """
    return ops.mean(sigmoid_cross_entropy(real_logits, real_targets)) + ops.mean(
        sigmoid_cross_entropy(fake_logits, fake_targets)
    )


@_register
def minimax_generator_loss(real_logits, fake_logits):
    """The generator side of the original (saturating) minimax game.

    Goodfellow et al. 2014, "Generative Adversarial Nets", eq. 1:
    G minimises E[log(1 - D(G(z)))] = -E[softplus(D_logit(G(z)))]. Its
    gradient vanishes when D confidently rejects fakes early in training; see
    `non_saturating_generator_loss`.
    """
    del real_logits
    return -ops.mean(sigmoid_cross_entropy(fake_logits, 0.0))


@_register
def non_saturating_discriminator_loss(real_logits, fake_logits, real_targets=1.0, fake_targets=0.0):
    """Same as `minimax_discriminator_loss` (Goodfellow et al. 2014, sec. 3)."""
    return minimax_discriminator_loss(real_logits, fake_logits, real_targets, fake_targets)


@_register
def non_saturating_generator_loss(real_logits, fake_logits):
    """The non-saturating generator loss, -E[log D(G(z))].

    Goodfellow et al. 2014, "Generative Adversarial Nets", sec. 3: same fixed
    point as the minimax game, strong gradients early in training. The
    default loss of gankeras.
    """
    del real_logits
    return ops.mean(sigmoid_cross_entropy(fake_logits, 1.0))


@_register
def wasserstein_discriminator_loss(real_logits, fake_logits, real_targets=None, fake_targets=None):
    """The critic loss of WGAN, E[f(G(z))] - E[f(x)].

    Arjovsky et al. 2017, "Wasserstein GAN". Its negative estimates the
    Wasserstein-1 distance when the critic f is 1-Lipschitz: pair it with
    weight clipping, a gradient penalty or spectral normalization.
    """
    del real_targets, fake_targets
    return ops.mean(ops.convert_to_tensor(fake_logits)) - ops.mean(
        ops.convert_to_tensor(real_logits)
    )


@_register
def wasserstein_generator_loss(real_logits, fake_logits):
    """The generator loss of WGAN, -E[f(G(z))] (Arjovsky et al. 2017)."""
    del real_logits
    return -ops.mean(fake_logits)


@_register
def hinge_discriminator_loss(real_logits, fake_logits, real_targets=None, fake_targets=None):
    """The hinge loss, E[relu(1 - D(x))] + E[relu(1 + D(G(z)))].

    Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018, "Spectral
    Normalization for Generative Adversarial Networks".
    """
    del real_targets, fake_targets
    real_logits = ops.convert_to_tensor(real_logits)
    fake_logits = ops.convert_to_tensor(fake_logits)
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


@_register
def hinge_generator_loss(real_logits, fake_logits):
    """The generator side of the hinge loss, -E[D(G(z))] (Lim & Ye 2017)."""
    del real_logits
    return -ops.mean(fake_logits)


@_register
def least_squares_discriminator_loss(real_logits, fake_logits, real_targets=1.0, fake_targets=0.0):
    """LSGAN, 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2] (a=0, b=1).

    Mao et al. 2017, "Least Squares Generative Adversarial Networks", eq. 2.
    The discriminator output is used raw, without a sigmoid.
    """
    real_logits = ops.convert_to_tensor(real_logits)
    fake_logits = ops.convert_to_tensor(fake_logits)
    real_targets = ops.cast(real_targets, real_logits.dtype)
    fake_targets = ops.cast(fake_targets, fake_logits.dtype)
    return 0.5 * ops.mean(ops.square(real_logits - real_targets)) + 0.5 * ops.mean(
        ops.square(fake_logits - fake_targets)
    )


@_register
def least_squares_generator_loss(real_logits, fake_logits):
    """LSGAN generator loss, 1/2 E[(D(G(z)) - 1)^2] (Mao et al. 2017, c=1)."""
    del real_logits
    fake_logits = ops.convert_to_tensor(fake_logits)
    return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


@_register
def relativistic_average_discriminator_loss(
    real_logits, fake_logits, real_targets=None, fake_targets=None
):
    """RaSGAN discriminator loss.

    Jolicoeur-Martineau 2018, "The relativistic discriminator: a key element
    missing from standard GAN": with D_ra(a, b) = C(a) - E[C(b)],
    L_D = BCE(D_ra(x, fake), 1) + BCE(D_ra(fake, x), 0).
    """
    del real_targets, fake_targets
    real_logits = ops.convert_to_tensor(real_logits)
    fake_logits = ops.convert_to_tensor(fake_logits)
    real_rel = real_logits - ops.mean(fake_logits)
    fake_rel = fake_logits - ops.mean(real_logits)
    return ops.mean(sigmoid_cross_entropy(real_rel, 1.0)) + ops.mean(
        sigmoid_cross_entropy(fake_rel, 0.0)
    )


@_register
def relativistic_average_generator_loss(real_logits, fake_logits):
    """RaSGAN generator loss (Jolicoeur-Martineau 2018): the roles swapped,
    L_G = BCE(D_ra(x, fake), 0) + BCE(D_ra(fake, x), 1)."""
    real_logits = ops.convert_to_tensor(real_logits)
    fake_logits = ops.convert_to_tensor(fake_logits)
    real_rel = real_logits - ops.mean(fake_logits)
    fake_rel = fake_logits - ops.mean(real_logits)
    return ops.mean(sigmoid_cross_entropy(real_rel, 0.0)) + ops.mean(
        sigmoid_cross_entropy(fake_rel, 1.0)
    )
