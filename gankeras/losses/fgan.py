"""More adversarial losses: f-GAN, the maximum-likelihood generator cost, MMD.

Same signatures as `gankeras.losses.adversarial`:

    <family>_discriminator_loss(real_logits, fake_logits, real_targets, fake_targets)
    <family>_generator_loss(real_logits, fake_logits)

(targets are ignored: none of these losses has labels), all in `keras.ops`,
returning the scalar to minimise.

- f-GAN (Nowozin, Cseke & Tomioka 2016, "f-GAN: Training Generative Neural
  Samplers using Variational Divergence Minimization", Table 2): for a
  convex `f` with `f(1) = 0`, the discriminator output `v` passes through an
  output activation `g_f`, `T = g_f(v)`, and the variational bound
  `F(T) = E_P[T(x)] - E_Q[f*(T(x))] <= D_f(P || Q)` (`f*` the Fenchel
  conjugate) is maximised by D, with equality at `T* = f'(p / q)`. The
  generator minimises `-E_Q[g_f(v)]` (the paper's Section 3.2 alternative,
  like the non-saturating GAN loss) or, with `saturating=True` in
  `fgan_generator_loss`, `F` itself, `-E_Q[f*(g_f(v))]`. Families: `fgan_kl`
  (KL(P || Q)), `fgan_reverse_kl` (KL(Q || P)), `fgan_pearson` (Pearson
  chi^2), `fgan_squared_hellinger`, `fgan_jensen_shannon` (the paper's f,
  whose divergence is 2 JSD(P, Q); its optimal v is log p / q).
  Reverse KL's generator minimises `F` itself by default: its alternative,
  `E_Q[exp(-v)]`, estimates `int q^2 / p` at the optimal D, which is
  infinite once the model is wider than the data by sqrt(2) (Gaussians), so
  its gradient is dominated by the few most-rejected samples and training
  stalls (on the seeds' N(4, 0.5) the std stayed near 1.1); `F`'s generator
  part, `E_Q[1 - v]`, is `KL(Q || P) + 1` at the optimal D and linear in v.
  `f*(g_f(v))` is computed in closed form (`exp(v - 1)`, `v - 1`,
  `v^2 / 4 + v`, `exp(v) - 1`, `softplus(v) - log 2`): composing the two
  functions overflows (reverse KL, v < -88) or cancels to x / 0 (squared
  Hellinger, Jensen-Shannon, v > 17) in float32.
- `maximum_likelihood_generator_loss`: Goodfellow 2016, "NIPS 2016 Tutorial:
  Generative Adversarial Networks", Section 3.2.3:
  `J_G = -1/2 E_z exp(sigma^-1(D(G(z))))`, with `sigma^-1(D) = v` the logit;
  with an optimal D its gradient equals that of KL(p_data || p_model), i.e.
  maximum likelihood. Its discriminator loss is the minimax one.
- `mmd_*`: kernel maximum mean discrepancy on D's features, as in MMD-GAN
  (Li, Chang, Cheng, Yang & Póczos 2017, "MMD GAN: Towards Deeper
  Understanding of Moment Matching Network"): D (the kernel's feature map)
  maximises the unbiased MMD^2 estimate between real and fake features with
  a mixture of Gaussian kernels (bandwidths 1, 2, 4, 8, 16), the generator
  minimises it. Here the "logits" are D's features `[batch, d]`.
"""

import math

import keras
from keras import ops

from gankeras.losses import adversarial as _adv

_register = keras.saving.register_keras_serializable(package="gankeras")

MMD_BANDWIDTHS = (1.0, 2.0, 4.0, 8.0, 16.0)


# ----------------------------------------------------------------------
# f-GAN: (output activation g_f, conjugate f*) per divergence (Table 2)
# ----------------------------------------------------------------------
def _kl_activation(v):
    return v


def _kl_conjugate(t):
    return ops.exp(t - 1.0)


def _reverse_kl_activation(v):
    return -ops.exp(-v)


def _reverse_kl_conjugate(t):
    return -1.0 - ops.log(-t)


def _pearson_activation(v):
    return v


def _pearson_conjugate(t):
    return 0.25 * ops.square(t) + t


def _hellinger_activation(v):
    return 1.0 - ops.exp(-v)


def _hellinger_conjugate(t):
    return t / (1.0 - t)


def _js_activation(v):
    # log 2 - log(1 + exp(-v)), stably.
    return math.log(2.0) - ops.softplus(-v)


def _js_conjugate(t):
    return -ops.log(2.0 - ops.exp(t))


# (g_f, f*, f*(g_f(v)) in closed form: finite wherever v is; see above).
F_DIVERGENCES = {
    "kl": (_kl_activation, _kl_conjugate, lambda v: ops.exp(v - 1.0)),
    "reverse_kl": (_reverse_kl_activation, _reverse_kl_conjugate, lambda v: v - 1.0),
    "pearson": (_pearson_activation, _pearson_conjugate, lambda v: 0.25 * ops.square(v) + v),
    "squared_hellinger": (_hellinger_activation, _hellinger_conjugate, lambda v: ops.expm1(v)),
    "jensen_shannon": (
        _js_activation,
        _js_conjugate,
        lambda v: ops.softplus(v) - math.log(2.0),
    ),
}

# Divergences whose generator minimises F itself by default (see above).
SATURATING_BY_DEFAULT = frozenset({"reverse_kl"})


def _check_divergence(divergence):
    if divergence not in F_DIVERGENCES:
        raise ValueError(
            f"Unknown f-divergence {divergence!r}. Expected one of {sorted(F_DIVERGENCES)}."
        )
    return F_DIVERGENCES[divergence]


def fgan_variational_bound(real_logits, fake_logits, divergence):
    """`E_P[g_f(v)] - E_Q[f*(g_f(v))]`, the f-GAN lower bound on D_f(P || Q).

    Args:
        real_logits: D's raw outputs v on real samples (P), any shape.
        fake_logits: D's raw outputs on generated samples (Q).
        divergence: a key of `F_DIVERGENCES`.

    Returns:
        Scalar tensor; equals D_f(P || Q) when v is optimal.
    """
    activation, _, conjugate_of_activation = _check_divergence(divergence)
    real_logits = ops.convert_to_tensor(real_logits)
    fake_logits = ops.convert_to_tensor(fake_logits)
    return ops.mean(activation(real_logits)) - ops.mean(conjugate_of_activation(fake_logits))


def fgan_discriminator_loss(real_logits, fake_logits, divergence):
    """`-F(T)`: D maximises the variational bound."""
    return -fgan_variational_bound(real_logits, fake_logits, divergence)


def fgan_generator_loss(fake_logits, divergence, saturating=None):
    """`-E_Q[g_f(v)]` (the Section 3.2 alternative) or, with `saturating`,
    `-E_Q[f*(g_f(v))]` (the Q-dependent part of F, which G minimises).
    None: saturating for the divergences in `SATURATING_BY_DEFAULT`
    (reverse KL), the alternative for the others."""
    activation, _, conjugate_of_activation = _check_divergence(divergence)
    if saturating is None:
        saturating = divergence in SATURATING_BY_DEFAULT
    fake_logits = ops.convert_to_tensor(fake_logits)
    if saturating:
        return -ops.mean(conjugate_of_activation(fake_logits))
    return -ops.mean(activation(fake_logits))


def _register_as(function, name):
    """Registers `function` for saving under its final `name`."""
    function.__name__ = function.__qualname__ = name
    return keras.saving.register_keras_serializable(package="gankeras", name=name)(function)


def _fgan_pair(divergence):
    """The registered (discriminator, generator) loss functions of one
    divergence, named `fgan_<divergence>_{discriminator,generator}_loss`."""
    _check_divergence(divergence)

    def discriminator_loss(real_logits, fake_logits, real_targets=None, fake_targets=None):
        return fgan_discriminator_loss(real_logits, fake_logits, divergence)

    def generator_loss(real_logits, fake_logits):
        return fgan_generator_loss(fake_logits, divergence)

    doc = (
        f"f-GAN {{}} loss for the {divergence.replace('_', ' ')} divergence "
        "(Nowozin et al. 2016, Table 2): see `gankeras.losses.fgan`."
    )
    discriminator_loss.__doc__ = doc.format("discriminator")
    generator_loss.__doc__ = doc.format("generator")
    return (
        _register_as(discriminator_loss, f"fgan_{divergence}_discriminator_loss"),
        _register_as(generator_loss, f"fgan_{divergence}_generator_loss"),
    )


fgan_kl_discriminator_loss, fgan_kl_generator_loss = _fgan_pair("kl")
fgan_reverse_kl_discriminator_loss, fgan_reverse_kl_generator_loss = _fgan_pair("reverse_kl")
fgan_pearson_discriminator_loss, fgan_pearson_generator_loss = _fgan_pair("pearson")
(
    fgan_squared_hellinger_discriminator_loss,
    fgan_squared_hellinger_generator_loss,
) = _fgan_pair("squared_hellinger")
(
    fgan_jensen_shannon_discriminator_loss,
    fgan_jensen_shannon_generator_loss,
) = _fgan_pair("jensen_shannon")


# ----------------------------------------------------------------------
# Maximum-likelihood generator cost (Goodfellow 2016, Section 3.2.3)
# ----------------------------------------------------------------------
@_register
def maximum_likelihood_discriminator_loss(
    real_logits, fake_logits, real_targets=1.0, fake_targets=0.0
):
    """The minimax discriminator loss (cross-entropy on logits); the
    maximum-likelihood game changes only the generator's cost. Targets of
    None mean 1 and 0."""
    real_targets = 1.0 if real_targets is None else real_targets
    fake_targets = 0.0 if fake_targets is None else fake_targets
    return _adv.minimax_discriminator_loss(real_logits, fake_logits, real_targets, fake_targets)


@_register
def maximum_likelihood_generator_loss(real_logits, fake_logits):
    """`J_G = -1/2 E exp(v)`, v = sigma^-1(D(G(z))) the logit (Goodfellow
    2016, eq. 3.2.3). `D / (1 - D) = exp(v)` estimates `p_data / p_g`, so
    this is importance-weighted maximum likelihood; its gradient is
    dominated by the few samples D finds most real (high variance), which
    the tutorial's Figure 16 shows."""
    fake_logits = ops.convert_to_tensor(fake_logits)
    return -0.5 * ops.mean(ops.exp(fake_logits))


# ----------------------------------------------------------------------
# Kernel MMD on D's features (Li et al. 2017)
# ----------------------------------------------------------------------
def _flatten(x):
    x = ops.convert_to_tensor(x)
    if len(x.shape) == 1:
        return ops.reshape(x, (-1, 1))
    return ops.reshape(x, (ops.shape(x)[0], -1))


def gaussian_kernel_matrix(x, y, bandwidths=MMD_BANDWIDTHS):
    """`sum_s exp(-|x_i - y_j|^2 / (2 s^2))`, `[n, m]`, for features
    `x [n, d]`, `y [m, d]` (or `[n]` for d = 1)."""
    x, y = _flatten(x), _flatten(y)
    distances = (
        ops.sum(ops.square(x), axis=1)[:, None]
        - 2.0 * ops.matmul(x, ops.transpose(y))
        + ops.sum(ops.square(y), axis=1)[None, :]
    )
    distances = ops.maximum(distances, 0.0)
    return sum(ops.exp(-distances / (2.0 * float(s) ** 2)) for s in bandwidths)


def mmd_squared(x, y, bandwidths=MMD_BANDWIDTHS, unbiased=True):
    """MMD^2 between samples `x [n, d]` and `y [m, d]` with a mixture of
    Gaussian kernels (Gretton et al. 2012; Li et al. 2017).

    Unbiased (default, needs n, m >= 2): the within-sample means leave out
    the diagonal, `1/(n(n-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i
    != j} k(y_i, y_j) - 2/(nm) sum_{i,j} k(x_i, y_j)`; it can be slightly
    negative. Biased: plain means over all pairs (>= 0).

    Returns:
        Scalar tensor.
    """
    kxx = gaussian_kernel_matrix(x, x, bandwidths)
    kyy = gaussian_kernel_matrix(y, y, bandwidths)
    kxy = gaussian_kernel_matrix(x, y, bandwidths)
    if not unbiased:
        return ops.mean(kxx) + ops.mean(kyy) - 2.0 * ops.mean(kxy)
    n = ops.cast(ops.shape(kxx)[0], kxx.dtype)
    m = ops.cast(ops.shape(kyy)[0], kyy.dtype)
    xx = (ops.sum(kxx) - ops.trace(kxx)) / (n * (n - 1.0))
    yy = (ops.sum(kyy) - ops.trace(kyy)) / (m * (m - 1.0))
    return xx + yy - 2.0 * ops.mean(kxy)


@_register
def mmd_discriminator_loss(real_logits, fake_logits, real_targets=None, fake_targets=None):
    """`-MMD^2(features(real), features(fake))`: D learns the kernel's
    feature map that tells the two apart (Li et al. 2017, eq. 4; without
    their autoencoder term). "Logits" are D's features `[batch, d]`."""
    return -mmd_squared(real_logits, fake_logits)


@_register
def mmd_generator_loss(real_logits, fake_logits):
    """`MMD^2(features(real), features(fake))`; needs the real features
    (`AdversarialLoss(..., generator_needs_real=True)`)."""
    return mmd_squared(real_logits, fake_logits)


# ----------------------------------------------------------------------
# As `AdversarialLoss` objects, for `GAN.compile(loss=...)`
# ----------------------------------------------------------------------
LOSS_NAMES = tuple(f"fgan_{d}" for d in F_DIVERGENCES) + ("maximum_likelihood", "mmd")


def adversarial_loss(name):
    """The `gankeras.losses.AdversarialLoss` of one of `LOSS_NAMES`, with the
    flags `GAN.compile` needs: the f-GAN and MMD losses have no targets
    (label tricks do not apply); the maximum-likelihood game's D is the
    probabilistic minimax one; MMD's generator reads the real features.

    Example:

    ```python
    gan.compile(loss=gankeras.losses.fgan.adversarial_loss("fgan_pearson"))
    ```
    """
    from gankeras.losses.registry import AdversarialLoss

    if name not in LOSS_NAMES:
        raise ValueError(f"Unknown loss {name!r}. Expected one of {list(LOSS_NAMES)}.")
    d_loss = globals()[f"{name}_discriminator_loss"]
    g_loss = globals()[f"{name}_generator_loss"]
    if name == "maximum_likelihood":
        return AdversarialLoss(d_loss, g_loss, name=name, uses_targets=True, probabilistic=True)
    return AdversarialLoss(
        d_loss, g_loss, name=name, uses_targets=False, generator_needs_real=(name == "mmd")
    )
