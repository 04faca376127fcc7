"""`TrainingConfig`: every training option of `GAN.compile`, written once.

Each option is one dataclass field: its default, the check that turns bad
input into an error naming what was expected and what was received
(`gankeras.validation`), and its meaning. `GAN.compile(**options)` builds one,
`GAN.get_compile_config` / `compile_from_config` serialize it (flat, as JSON
data), the objectives in `gankeras.models.phases` read it, and
`log_names` derives the names the GAN logs from it. Adding an option is one
field here plus the code that reads it.

Example:

```python
config = gankeras.TrainingConfig(loss="wasserstein", gradient_penalty=10.0, d_steps=5)
gan.compile(d_optimizer=..., g_optimizer=..., **config.options())
gan.training_options == config          # True
```
"""

import dataclasses

import keras

from gankeras import validation
from gankeras.losses import registry as losses_registry


def _option(default, check, doc):
    return dataclasses.field(default=default, metadata={"check": check, "doc": doc})


def _optional_non_negative(name, value):
    return None if value is None else validation.check_non_negative(name, value)


def _optional_layer_name(name, value):
    if value is None or (isinstance(value, str) and value):
        return value
    raise ValueError(
        f"`{name}` must be the name of a discriminator layer (a non-empty str) or None. "
        f"Received: {name}={value!r}"
    )


def _bool(name, value):
    if isinstance(value, bool):
        return value
    raise ValueError(f"`{name}` must be True or False. Received: {name}={value!r}")


# Penalties whose weight > 0 adds a logged term of the same name.
PENALTIES = ("gradient_penalty", "r1_penalty")


@keras.saving.register_keras_serializable(package="gankeras")
@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """The options of one GAN training set-up (what `GAN.compile` takes
    besides the optimizers and Keras's own compile arguments).

    Validated on construction; the stored values are normalised (floats,
    tuples, an `AdversarialLoss`). Fields, with the paper each follows:

    - `loss`: a name from `gankeras.losses.LOSSES`, an `AdversarialLoss` or a
      `(discriminator_loss, generator_loss)` pair; stored as an
      `AdversarialLoss`.
    - `d_steps`: discriminator updates per generator update (the k of
      Goodfellow et al. 2014, Algorithm 1).
    - `label_smoothing`: one-sided label smoothing (Salimans et al. 2016):
      real targets `1 - label_smoothing`.
    - `real_label_range` / `fake_label_range`: `(low, high)`; each target
      drawn uniformly from it per example (soft labels).
    - `label_flip`: probability of swapping an example's real and fake
      targets in the discriminator phase (noisy labels).
    - `gradient_penalty`: weight of WGAN-GP (Gulrajani et al. 2017; 10 there).
    - `r1_penalty`: gamma of R1 (Mescheder et al. 2018): gamma/2 E|grad D(x)|^2.
    - `weight_clip`: clip D's weights to `[-c, c]` after each D update (WGAN,
      Arjovsky et al. 2017; 0.01 there). Done by the discriminator phase; the
      networks' variables get no constraint.
    - `instance_noise`: initial std of Gaussian noise on D's inputs (Sønderby
      et al. 2016); the GAN keeps it in the variable `instance_noise_std` so a
      callback can anneal it.
    - `auxiliary_weight`: weight of the ACGAN class loss (Odena et al. 2017).
    - `kl_weight` / `reconstruction_weight`: VAE-GAN terms (Larsen et al.
      2016): the weight of KL(q(z|x) || N(0, I)) and of the reconstruction
      error in the encoder's (and, by default, the decoder's) objective.
    - `reconstruction_layer`: where a VAE-GAN measures reconstructions. None
      (the default): in pixels, mean squared error, D sees prior samples
      only. The name of a layer of D: Larsen et al.'s learned similarity,
      the Gaussian observation model on that layer's features Dis_l
      (`objectives.feature_reconstruction_error`), and D also judges the
      reconstructions Dec(Enc(x)) (`objectives.reconstruction_discriminator_loss`);
      the encoder gets no adversarial gradient (the paper's Algorithm 1).
    - `vaegan_gamma`: the decoder's weight on the reconstruction term
      (Larsen et al.'s gamma, weighting reconstruction against the GAN
      term); None: `reconstruction_weight`, the encoder's weight.
    - `ema_warmup`: ramp the generator EMA's decay up over the first
      updates, `min(ema_momentum, (1 + t) / (10 + t))` at generator update
      t (`gankeras.models.ema.warmup_momentum`; the `num_updates` rule of
      TensorFlow's `ExponentialMovingAverage`), so that a short run's
      average is not dominated by the random initial weights. Keras's own
      EMA (`g_optimizer=Adam(..., use_ema=True)`) uses the constant
      `ema_momentum`: with 0.999 a run of 500 updates still averages in
      0.999**500 = 61% of the initial weights. Needs `use_ema` on
      `g_optimizer`.
    """

    loss: object = _option("non_saturating", None, "adversarial loss")
    d_steps: int = _option(1, validation.check_positive_int, "D updates per G update")
    label_smoothing: float = _option(0.0, validation.check_fraction, "one-sided smoothing")
    real_label_range: tuple = _option(None, validation.check_optional_range, "soft real targets")
    fake_label_range: tuple = _option(None, validation.check_optional_range, "soft fake targets")
    label_flip: float = _option(0.0, validation.check_fraction, "target flip probability")
    gradient_penalty: float = _option(0.0, validation.check_non_negative, "WGAN-GP weight")
    r1_penalty: float = _option(0.0, validation.check_non_negative, "R1 gamma")
    weight_clip: float = _option(None, validation.check_optional_positive, "D weight clip")
    instance_noise: float = _option(0.0, validation.check_non_negative, "input noise std")
    auxiliary_weight: float = _option(1.0, validation.check_non_negative, "ACGAN weight")
    kl_weight: float = _option(1.0, validation.check_non_negative, "VAE-GAN KL weight")
    reconstruction_weight: float = _option(
        1.0, validation.check_non_negative, "VAE-GAN reconstruction weight"
    )
    reconstruction_layer: str = _option(None, _optional_layer_name, "VAE-GAN Dis_l layer")
    vaegan_gamma: float = _option(None, _optional_non_negative, "VAE-GAN decoder weight")
    ema_warmup: bool = _option(False, _bool, "ramp the G EMA decay up")

    def __post_init__(self):
        object.__setattr__(self, "loss", losses_registry.get(self.loss))
        for field in dataclasses.fields(self):
            check = field.metadata["check"]
            if check is not None:
                object.__setattr__(self, field.name, check(field.name, getattr(self, field.name)))
        if self.uses_label_tricks and not self.loss.uses_targets:
            with_targets = sorted(
                n for n, loss in losses_registry.LOSSES.items() if loss.uses_targets
            )
            raise ValueError(
                f"The {self.loss.name!r} loss has no real/fake targets, so "
                "label smoothing, soft labels and label flips do not apply to it. "
                f"Use them with one of {with_targets}."
            )

    @classmethod
    def names(cls):
        """Every option name, `loss` first."""
        return [field.name for field in dataclasses.fields(cls)]

    @classmethod
    def from_options(cls, options):
        """Builds a config from keyword options, naming any unknown one."""
        unknown = sorted(set(options) - set(cls.names()))
        if unknown:
            raise TypeError(
                f"Unknown training option(s) {unknown}. Expected some of "
                f"{cls.names()} (see gankeras.TrainingConfig)."
            )
        return cls(**options)

    @property
    def uses_label_tricks(self):
        return bool(
            self.label_smoothing
            or self.label_flip
            or self.real_label_range is not None
            or self.fake_label_range is not None
        )

    def options(self):
        """The options as keyword arguments for `GAN.compile` (loss included)."""
        return {name: getattr(self, name) for name in self.names()}

    def training_options(self):
        """JSON-ready dict of every option but the loss (ranges as lists):
        `GAN.training_config`, the form checkpoints record."""
        out = {}
        for name in self.names()[1:]:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def log_names(self, auxiliary_classifier=False, vae=False):
        """Names of the values the training step logs, in order.

        Args:
            auxiliary_classifier: D returns class logits (ACGAN): adds
                `d_aux_loss`, `g_aux_loss`.
            vae: the GAN has an encoder: adds `kl_loss`, `reconstruction_loss`
                (and, when `reconstruction_layer` is set, D's loss on
                reconstructions `d_reconstruction_loss` and its score on them,
                `d_reconstructed`).
        """
        names = ["d_loss", "g_loss", "d_real", "d_fake"]
        names += [name for name in PENALTIES if getattr(self, name)]
        if auxiliary_classifier:
            names += ["d_aux_loss", "g_aux_loss"]
        if vae:
            names += ["kl_loss", "reconstruction_loss"]
            if self.reconstruction_layer:
                names += ["d_reconstruction_loss", "d_reconstructed"]
        return names

    def get_config(self):
        """JSON-ready, flat: `{"loss": <serialized loss>, **training_options()}`."""
        return {"loss": keras.saving.serialize_keras_object(self.loss), **self.training_options()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls.from_options(config)
