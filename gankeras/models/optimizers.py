"""One `model.optimizer` that holds the discriminator's and the generator's.

Keras's JAX trainer threads only `model.optimizer.variables` through its
stateless step, and `fit` builds only `model.optimizer`. A GAN has two
optimizers, so `GAN.compile` wraps them in this `keras.optimizers.
MultiOptimizer`: discriminator variables go to `d_optimizer`, everything else
(generator, encoder) to `g_optimizer`. Its `variables` are both optimizers'
variables, so saving, JAX state threading and distribution see them all.

The train step never calls `GANOptimizer.apply` (which insists on gradients
for every trainable variable at once); each phase calls its own optimizer
on its own variables. `iterations` counts train steps.
"""

import keras


class _DiscriminatorRouting(keras.optimizers.OptimizerMap):
    """Maps discriminator variables to `d_optimizer`, the rest to
    `g_optimizer`, by identity (variable paths depend on user-chosen names)."""

    def __init__(self, discriminator, d_optimizer, g_optimizer):
        super().__init__(g_optimizer, {"discriminator": d_optimizer})
        self._discriminator = discriminator
        self._d_optimizer = d_optimizer

    def __call__(self, variable):
        ids = {id(v) for v in self._discriminator.trainable_variables}
        if id(variable) in ids:
            return self._d_optimizer
        return self.default_optimizer


class GANOptimizer(keras.optimizers.MultiOptimizer):
    """`MultiOptimizer` over a GAN's `d_optimizer` and `g_optimizer`.

    Args:
        gan: the `GAN` whose discriminator variables go to `d_optimizer`.
        d_optimizer: optimizer of the discriminator.
        g_optimizer: optimizer of the generator (and encoder).
    """

    def __init__(self, gan, d_optimizer, g_optimizer):
        super().__init__(
            _DiscriminatorRouting(gan.discriminator, d_optimizer, g_optimizer),
            name="gan_optimizer",
        )
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def finalize_variable_values(self, var_list):
        """Leaves the weights as trained. Keras's default, at the end of
        `fit`, overwrites them with `g_optimizer`'s moving average; a GAN
        keeps its raw generator (a later `fit` or a resumed run continues
        from it) and samples with the average through `GAN.ema_weights()`."""

    def get_config(self):
        raise NotImplementedError(
            "GANOptimizer is rebuilt by GAN.compile from its two optimizers; "
            "serialize those (GAN.get_compile_config does)."
        )


def get_optimizer(identifier, role):
    """An optimizer instance from an instance, a name or a config dict.

    "adam" means Adam(2e-4, beta_1=0.5) (Radford et al. 2015's setting),
    named `<role>_adam`.
    """
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


def get_optimizers(d_optimizer, g_optimizer):
    """`(d_optimizer, g_optimizer)` as two distinct optimizer instances
    (`get_optimizer` of each); one object for both is a `ValueError`."""
    d_optimizer = get_optimizer(d_optimizer, "d_optimizer")
    g_optimizer = get_optimizer(g_optimizer, "g_optimizer")
    if d_optimizer is g_optimizer:
        raise ValueError(
            "`d_optimizer` and `g_optimizer` must be two optimizer "
            "instances: one optimizer's state cannot serve both networks. "
            "Received the same object twice."
        )
    return d_optimizer, g_optimizer
