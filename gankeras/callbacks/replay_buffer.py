"""`ReplayBuffer`: the callback face of the discriminator's replay pool.

The design asks that callbacks handle experience replay (Shrivastava et al.
2017; TF-GAN's `features.tensor_pool`). The pool itself stays in the compiled
step, as the `gankeras.models.ReplayBuffer` layer; this callback only
installs that layer on the GAN before the first training step.
"""

import keras

from gankeras.models.replay import ReplayBuffer as ReplayPool


@keras.saving.register_keras_serializable(package="gankeras", name="ReplayBufferCallback")
class ReplayBuffer(keras.callbacks.Callback):
    """Shows the discriminator a share of past fakes, installed by `fit`.

    `gan.fit(data, callbacks=[gankeras.callbacks.ReplayBuffer(1024, 0.5)])`
    trains exactly as `gankeras.GAN(..., replay_buffer=gankeras.
    ReplayBuffer(1024, 0.5))` does: in `on_train_begin` the callback builds
    a `gankeras.models.ReplayBuffer` layer for the GAN's image shape, sets
    it as `gan.replay_buffer` and rebuilds the train function, before the
    first step is traced. Each discriminator step then replaces the first
    `round(fraction * batch)` fakes by images drawn from the pool and writes
    its fresh fakes into it (see the layer for the exact rule).

    Why the pool is a layer of the model and not held by this callback: the
    compiled step must read and write the pool on every step. Keras's JAX
    trainer jits a *stateless* `train_step(state, data)` whose `state` holds
    only the values of variables the model tracks (its trainable,
    non-trainable, optimizer and metric variables), gathered before the
    first step and threaded through every step. Variables a callback owns
    are not in that state: inside the jitted step they would be constants
    captured at trace time, their assignments would be dropped, and the pool
    would never fill. Host-side callback hooks (`on_train_batch_begin`) run
    between steps and cannot see the step's fakes. So the callback's job is
    to put the layer where the step's state includes it; the pool then
    lives in the model's variables (and in its checkpoints and `.keras`
    files) on every backend.

    Installing happens once: a second `fit` with the same callback keeps
    the pool it has filled. A GAN that already has another replay buffer is
    refused. To resume from a `gankeras.callbacks.GANCheckpoint` (which
    holds the pool), call `callback.install(gan)` before `resume_or_start`,
    so the pool's variables exist when the checkpoint is restored into them.

    Args:
        capacity: number of images the pool holds (positive int).
        fraction: share of each fake batch taken from the pool, in [0, 1].
    """

    def __init__(self, capacity=1024, fraction=0.5):
        super().__init__()
        # Validates capacity and fraction now, not at the first fit.
        self.pool = ReplayPool(capacity=capacity, fraction=fraction, name="replay_buffer")
        self.capacity = self.pool.capacity
        self.fraction = self.pool.fraction

    def on_train_begin(self, logs=None):
        if self.install(self.model):
            # `fit` made the train function before calling on_train_begin.
            # It is traced at its first call, but rebuild it anyway so that
            # no backend reuses a trace (or a JAX state layout) without the
            # pool.
            self.model.make_train_function(force=True)

    def install(self, gan):
        """Sets this callback's pool as `gan.replay_buffer` (built for its
        image shape). Returns True if it was installed now, False if the GAN
        had it already."""
        existing = getattr(gan, "replay_buffer", None)
        if existing is self.pool:
            return False
        if not hasattr(gan, "replay_buffer"):
            raise TypeError(
                "gankeras.callbacks.ReplayBuffer works with a gankeras.GAN "
                f"(it sets `gan.replay_buffer`). Received a {type(gan).__name__}."
            )
        if existing is not None:
            raise ValueError(
                "This GAN already has a replay buffer (capacity="
                f"{existing.capacity}, fraction={existing.fraction}), set by "
                "`GAN(replay_buffer=...)` or another ReplayBuffer callback. "
                "Use one of the two, not both."
            )
        self.pool.build(gan.image_shape)
        gan.replay_buffer = self.pool
        return True

    def get_config(self):
        return {"capacity": self.capacity, "fraction": self.fraction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
