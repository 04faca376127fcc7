"""Latent vectors from integer seeds, identical everywhere.

`latents_from_seeds(seeds, latent_dim)` turns each integer seed into one
standard-normal latent vector with a counter-based hash (a 32-bit
"lowbias32" integer hash, Wellons 2018) and the Box-Muller transform. Being
plain integer arithmetic, it gives bit-identical latents in numpy, on every
Keras backend and inside the exported TensorFlow SavedModel
(`gankeras.export` implements the same arithmetic in TensorFlow), so
`gan.generate(seeds=[7])` and a serving request for seed 7 draw the same
image. Seeds are int64 `[n]`; all 64 bits are hashed (`seed_keys`), and
any other shape or dtype is refused here and in the SavedModel alike.
"""

import dataclasses

import keras
import numpy as np

_MASK = np.uint64(0xFFFFFFFF)


def hash32(x):
    """The lowbias32 hash of uint32 values (numpy, wrap-around arithmetic)."""
    x = np.asarray(x, dtype=np.uint64) & _MASK
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & _MASK
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & _MASK
    x ^= x >> np.uint64(16)
    return x


def check_seeds(seeds):
    """Returns `seeds` as an int64 array `[n]`, or raises.

    Seeds are integers in the int64 range, one per latent, as a 1-D array:
    a batch of seeds is `[n]`, never `[n, 1]` or a scalar (the SavedModel's
    `generate_from_seeds` takes the same `[n]`).

    Raises:
        ValueError: naming the received shape, dtype or value.
    """
    array = np.asarray(seeds)
    if array.dtype == object:
        try:
            array = np.asarray(seeds, dtype=np.int64)
        except (OverflowError, TypeError, ValueError):
            raise ValueError(
                "Expected integer seeds in [-2**63, 2**63). Received values "
                "outside the int64 range or not integers."
            ) from None
    if array.ndim != 1:
        raise ValueError(
            f"Expected seeds of shape [n] (one integer per latent). Received "
            f"shape {array.shape}; pass e.g. [7] for a single seed and "
            "np.ravel(seeds) to flatten."
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"Expected integer seeds. Received dtype {array.dtype}; pass "
            "whole numbers (e.g. np.arange(n))."
        )
    if array.dtype == np.uint64 and array.size and array.max() >= 2**63:
        raise ValueError(f"Expected integer seeds in [-2**63, 2**63). Received {int(array.max())}.")
    return array.astype(np.int64)


def seed_keys(seeds):
    """The 32-bit key of each int64 seed: `low ^ hash32(high)`, where `low`
    and `high` are the low and high 32 bits of the two's-complement value.

    Every bit of the seed counts, and seeds in [0, 2**32) keep their own
    value as key (hash32(0) == 0), so their latents are what they always
    were. Distinct seeds in [0, 2**32) never share a latent; two arbitrary
    int64 seeds do with probability 2**-32 (the key has 32 bits).
    """
    bits = np.asarray(seeds, dtype=np.int64).astype(np.uint64)
    low = bits & _MASK
    high = (bits >> np.uint64(32)) & _MASK
    return low ^ hash32(high)


def uniforms_from_seeds(seeds, count):
    """`[n, count]` float64 uniforms in (0, 1): element j of seed s is
    `(hash32(hash32(seed_keys(s)) + j) + 0.5) / 2**32`."""
    keys = seed_keys(check_seeds(seeds)).reshape(-1, 1)
    base = hash32(keys)
    counters = np.arange(count, dtype=np.uint64).reshape(1, -1)
    bits = hash32((base + counters) & _MASK)
    return (bits.astype(np.float64) + 0.5) / 2.0**32


def latents_from_seeds(seeds, latent_dim):
    """Standard-normal latents, one row per integer seed.

    Args:
        seeds: int array `[n]`, values in the int64 range; all 64 bits
            matter (0, 2**32 and -2**63 are three different latents).
        latent_dim: size of each latent vector.

    Returns:
        float32 array `[n, latent_dim]`, each entry ~ N(0, 1).

    Raises:
        ValueError: seeds that are not a 1-D integer array in the int64
            range.
    """
    half = (int(latent_dim) + 1) // 2
    u = uniforms_from_seeds(seeds, 2 * half)
    u1, u2 = u[:, :half], u[:, half:]
    radius = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([radius * np.cos(2 * np.pi * u2), radius * np.sin(2 * np.pi * u2)], axis=1)
    return z[:, : int(latent_dim)].astype(np.float32)


# ----------------------------------------------------------------------
# Discriminator rejection sampling
# ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class RejectionSample:
    """What `discriminator_rejection_sample` returns.

    Attributes:
        images: float32 `[num_images, *image_shape]`, the accepted samples,
            in the generator's output range ([-1, 1] for images).
        seeds: int64 `[num_images]`: `gan.generate(seeds=seeds,
            use_ema=False)` regenerates `images` (conditional GANs: with
            `labels`).
        labels: int32 `[num_images]` class ids of conditional GANs, else None.
        acceptance_rate: accepted / proposed candidates, in (0, 1].
        num_candidates: candidates proposed (burn-in included).
        max_logit: the bound `M` on D's logit that acceptance divides by.
    """

    images: np.ndarray
    seeds: np.ndarray
    labels: np.ndarray
    acceptance_rate: float
    num_candidates: int
    max_logit: float


def discriminator_rejection_sample(
    gan,
    num_images,
    seed=0,
    labels=None,
    burn_in=10_000,
    max_logit_quantile=1.0,
    max_candidates=None,
    batch_size=1024,
):
    """Samples `p_data` by rejecting generator samples with the discriminator.

    Discriminator rejection sampling (Azadi, Olsson, Darrell, Goodfellow &
    Odena 2019, "Discriminator Rejection Sampling", ICLR). The optimal
    discriminator of the minimax game is `D*(x) = p_data(x) / (p_data(x) +
    p_g(x))` (Goodfellow et al. 2014, Proposition 1), so its logit is the log
    density ratio: `logit(x) = log p_data(x) - log p_g(x)`. Rejection
    sampling from `p_g` with acceptance `exp(logit(x) - M)`, `M >= max
    logit`, then draws exactly from `p_data`. A trained D is only an estimate
    of D*, so this removes what D recognises as fake (samples between modes,
    off the data manifold) and cannot restore modes G never produces.

    Candidates are `gan.generate(seeds=[seed, seed + 1, ...], use_ema=False)`:
    D was trained against the raw generator, so its ratio is for those
    samples (not for the EMA generator). `M` is the `max_logit_quantile`
    quantile of D's logits on the first `burn_in` candidates: 1.0 is the
    paper's maximum; lower values accept every candidate above that
    quantile, trading exactness for a higher acceptance rate (the role of
    the paper's gamma). Acceptance draws come from `numpy.random.
    default_rng(seed)`, so the result is reproducible on every backend.

    Args:
        gan: a compiled `gankeras.GAN` whose loss is probabilistic (minimax,
            non_saturating, or a custom `AdversarialLoss(...,
            probabilistic=True)`): only there is sigmoid(logit) D's
            probability of "real".
        num_images: samples to return.
        seed: first candidate seed.
        labels: for conditional GANs, class ids `[num_images]` of the
            samples to return; default cycles through the classes. Each class
            is rejection-sampled on its own (D's ratio is then
            `p(x | y) / p_g(x | y)`).
        burn_in: candidates used to set `M` (10,000 in the paper).
        max_logit_quantile: in (0, 1]; see above.
        max_candidates: give up (RuntimeError) after proposing this many;
            default `1000 * num_images + burn_in`.
        batch_size: candidates per generator / discriminator pass.

    Returns:
        A `RejectionSample`.
    """
    adversarial_loss = getattr(gan, "adversarial_loss", None)
    if adversarial_loss is None:
        raise ValueError(
            "Discriminator rejection sampling needs a compiled GAN (it reads "
            "the loss to know what D's output means). Call `gan.compile(...)` "
            "or load a compiled model."
        )
    if not adversarial_loss.probabilistic:
        raise ValueError(
            "Discriminator rejection sampling needs a probabilistic "
            "discriminator, whose logit estimates log p_data / p_g: the "
            "'minimax' or 'non_saturating' loss. This GAN was compiled with "
            f"loss={adversarial_loss.name!r}."
        )
    num_images = int(num_images)
    if num_images < 1:
        raise ValueError(f"`num_images` must be >= 1. Received: {num_images}")
    if not 0.0 < float(max_logit_quantile) <= 1.0:
        raise ValueError(f"`max_logit_quantile` must be in (0, 1]. Received: {max_logit_quantile}")
    if max_candidates is None:
        max_candidates = 1000 * num_images + int(burn_in)
    conditional = gan.conditional_discriminator or gan.conditional_generator
    if conditional:
        from gankeras import validation

        if labels is None:
            labels = np.arange(num_images) % gan.num_classes
        labels = validation.check_labels(labels, num_images, gan.num_classes)
    elif labels is not None:
        raise ValueError("`labels` are only for conditional GANs; this GAN has num_classes=None.")
    rng = np.random.default_rng(int(seed))

    def propose(first_seed, count, label):
        """Candidates `seeds [count]`, `images`, D's logits (float64)."""
        seeds = np.arange(first_seed, first_seed + count, dtype=np.int64)
        candidate_labels = None
        if conditional:
            candidate_labels = (
                np.arange(count, dtype=np.int32) % gan.num_classes
                if label is None
                else np.full(count, label, np.int32)
            )
        images = gan.generate(
            seeds=seeds, labels=candidate_labels, use_ema=False, batch_size=batch_size
        )
        logits = []
        for start in range(0, count, batch_size):
            batch = images[start : start + batch_size]
            inputs = batch
            if gan.conditional_discriminator:
                inputs = [batch, candidate_labels[start : start + batch_size]]
            logit = gan._logits(gan.discriminator(inputs, training=False))
            logit = keras.ops.convert_to_numpy(keras.ops.cast(logit, "float32"))
            logits.append(np.reshape(logit, (len(batch), -1))[:, 0])
        return seeds, images, np.concatenate(logits).astype(np.float64)

    # Burn-in: M from D's logits on the first candidates (all classes).
    _, _, logits = propose(int(seed), int(burn_in), None)
    max_logit = float(np.quantile(logits, float(max_logit_quantile)))
    next_seed, proposed, accepted = int(seed) + int(burn_in), int(burn_in), 0
    kept_images, kept_seeds = [], []
    for label in [None] if not conditional else sorted(set(labels.tolist())):
        need = num_images if label is None else int(np.sum(labels == label))
        got_images, got_seeds, have = [], [], 0
        while have < need:
            if proposed >= max_candidates:
                which = "" if label is None else f" of class {label}"
                raise RuntimeError(
                    f"Discriminator rejection sampling accepted {have} of "
                    f"{need} samples{which} after {proposed} candidates "
                    f"(max_candidates={max_candidates}). D rejects almost "
                    "everything G makes: train longer, lower "
                    "`max_logit_quantile` (e.g. 0.99), or raise "
                    "`max_candidates`."
                )
            count = min(batch_size * 8, int(max_candidates) - proposed)
            seeds, images, logits = propose(next_seed, count, label)
            next_seed += count
            proposed += count
            accept = rng.uniform(size=count) < np.exp(np.minimum(logits - max_logit, 0.0))
            got_images.append(images[accept])
            got_seeds.append(seeds[accept])
            have += int(accept.sum())
            accepted += int(accept.sum())
        kept_images.append(np.concatenate(got_images)[:need])
        kept_seeds.append(np.concatenate(got_seeds)[:need])
    out_images = np.concatenate(kept_images)
    out_seeds = np.concatenate(kept_seeds)
    out_labels = None
    if conditional:
        # Back in the caller's label order.
        order = np.argsort(np.argsort(labels, kind="stable"), kind="stable")
        out_images, out_seeds = out_images[order], out_seeds[order]
        out_labels = labels
    return RejectionSample(
        images=out_images.astype(np.float32),
        seeds=out_seeds,
        labels=out_labels,
        acceptance_rate=accepted / (proposed - int(burn_in)),
        num_candidates=proposed,
        max_logit=max_logit,
    )


from gankeras.interpolation import interpolate, lerp, slerp, truncate  # noqa: E402,F401
