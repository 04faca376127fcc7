"""`AdversarialLoss`: a named pair of discriminator and generator losses.

`get("non_saturating")` looks a loss up by name; `AdversarialLoss(d_fn, g_fn)`
wraps any pair of callables with the signatures documented in
`gankeras.losses.adversarial`. Both are what `GAN.compile(loss=...)` accepts.
"""

import keras

from gankeras.losses import adversarial as _adv


@keras.saving.register_keras_serializable(package="gankeras")
class AdversarialLoss:
    """A discriminator loss and a generator loss that belong together.

    Args:
        discriminator_loss: callable
            `(real_logits, fake_logits, real_targets, fake_targets) -> scalar`.
        generator_loss: callable `(real_logits, fake_logits) -> scalar`.
        name: a name for logs and configs.
        uses_targets: whether the discriminator loss reads its targets, so
            label smoothing, soft labels and label flips mean something.
        probabilistic: whether sigmoid(logit) is D's probability of "real";
            then the model reports D(x) and D(G(z)) as probabilities, else as
            raw scores.
        generator_needs_real: whether the generator loss reads `real_logits`
            (relativistic losses); otherwise the generator step skips the
            discriminator pass on real data and passes `None`.

    Custom callables must be registered with
    `keras.saving.register_keras_serializable` for the model to save.

    Example:

    ```python
    @keras.saving.register_keras_serializable()
    def my_d_loss(real_logits, fake_logits, real_targets, fake_targets): ...
    @keras.saving.register_keras_serializable()
    def my_g_loss(real_logits, fake_logits): ...
    gan.compile(loss=gankeras.losses.AdversarialLoss(my_d_loss, my_g_loss))
    ```
    """

    def __init__(
        self,
        discriminator_loss,
        generator_loss,
        name=None,
        uses_targets=True,
        probabilistic=False,
        generator_needs_real=False,
    ):
        for role, fn in (
            ("discriminator_loss", discriminator_loss),
            ("generator_loss", generator_loss),
        ):
            if not callable(fn):
                raise TypeError(f"`{role}` must be callable. Received: {role}={fn!r}")
        self.discriminator_loss = discriminator_loss
        self.generator_loss = generator_loss
        self.name = name or getattr(discriminator_loss, "__name__", "custom")
        self.uses_targets = bool(uses_targets)
        self.probabilistic = bool(probabilistic)
        self.generator_needs_real = bool(generator_needs_real)

    def __repr__(self):
        return f"AdversarialLoss(name={self.name!r})"

    def get_config(self):
        if self.name in LOSSES and LOSSES[self.name] is self:
            return {"name": self.name}
        return {
            "discriminator_loss": keras.saving.serialize_keras_object(self.discriminator_loss),
            "generator_loss": keras.saving.serialize_keras_object(self.generator_loss),
            "name": self.name,
            "uses_targets": self.uses_targets,
            "probabilistic": self.probabilistic,
            "generator_needs_real": self.generator_needs_real,
        }

    @classmethod
    def from_config(cls, config):
        if set(config) == {"name"}:
            return get(config["name"])
        config = dict(config)
        for key in ("discriminator_loss", "generator_loss"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


LOSSES = {
    "minimax": AdversarialLoss(
        _adv.minimax_discriminator_loss,
        _adv.minimax_generator_loss,
        name="minimax",
        probabilistic=True,
    ),
    "non_saturating": AdversarialLoss(
        _adv.non_saturating_discriminator_loss,
        _adv.non_saturating_generator_loss,
        name="non_saturating",
        probabilistic=True,
    ),
    "wasserstein": AdversarialLoss(
        _adv.wasserstein_discriminator_loss,
        _adv.wasserstein_generator_loss,
        name="wasserstein",
        uses_targets=False,
    ),
    "hinge": AdversarialLoss(
        _adv.hinge_discriminator_loss,
        _adv.hinge_generator_loss,
        name="hinge",
        uses_targets=False,
    ),
    "least_squares": AdversarialLoss(
        _adv.least_squares_discriminator_loss,
        _adv.least_squares_generator_loss,
        name="least_squares",
    ),
    "relativistic_average": AdversarialLoss(
        _adv.relativistic_average_discriminator_loss,
        _adv.relativistic_average_generator_loss,
        name="relativistic_average",
        uses_targets=False,
        generator_needs_real=True,
    ),
}

# The rest of the lecture notes' games: the f-GAN family (Nowozin et al. 2016),
# the maximum-likelihood generator cost (Goodfellow 2016) and MMD on D's
# features (Li et al. 2017), defined in `gankeras.losses.fgan`.
from gankeras.losses import fgan as _fgan  # noqa: E402 (needs AdversarialLoss above)

LOSSES.update({name: _fgan.adversarial_loss(name) for name in _fgan.LOSS_NAMES})


def get(identifier):
    """Returns the `AdversarialLoss` for a name, an instance or a pair.

    Args:
        identifier: one of `LOSSES`' names, an `AdversarialLoss`, or a
            `(discriminator_loss, generator_loss)` pair of callables.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, AdversarialLoss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in LOSSES:
            raise ValueError(
                f"Unknown adversarial loss {identifier!r}. Expected one of "
                f"{sorted(LOSSES)}, an AdversarialLoss, or a "
                "(discriminator_loss, generator_loss) pair of callables."
            )
        return LOSSES[identifier]
    if isinstance(identifier, (tuple, list)) and len(identifier) == 2:
        return AdversarialLoss(*identifier)
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    raise ValueError(
        "`loss` must be a loss name, an AdversarialLoss or a "
        "(discriminator_loss, generator_loss) pair. "
        f"Received: loss={identifier!r}"
    )
