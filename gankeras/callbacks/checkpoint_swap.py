"""`CheckpointSwap`: train now and then against a past generator or critic."""

import keras
import numpy as np


@keras.saving.register_keras_serializable(package="gankeras")
class CheckpointSwap(keras.callbacks.Callback):
    """Keeps past snapshots of G and D and swaps one in for a few steps.

    The seeds' tip "keep checkpoints of past G and D and occasionally swap
    them out for a few iterations", in the spirit of Pfau & Vinyals 2016
    (GANs as actor-critic: replaying past opponents) and of fictitious play
    against past selves: the live generator must also fool an older
    discriminator, and the live discriminator must also beat an older
    generator, which discourages the two from cycling between modes.

    Every `snapshot_every` steps a copy of each network in `networks` is
    stored (host memory, newest `keep`). Every `swap_every` steps one of
    those networks, picked at random, is replaced by a random snapshot for
    `swap_steps` steps; then the live weights, as they were at the swap, are
    put back (the snapshot's own updates during the swap are dropped). The
    optimizer state is left alone. Any swap still running at the end of an
    epoch is ended then, so end-of-epoch callbacks listed after this one
    (checkpoints, sample grids) see the live networks.

    Weights are read and written through `self.model`, which on JAX syncs
    the trainer's state first; and after a callback touched the state the
    JAX trainer re-reads it before the next step, so swaps reach the
    compiled step on every backend.

    Args:
        snapshot_every: steps between snapshots.
        keep: snapshots kept per network.
        swap_every: steps between swaps.
        swap_steps: length of each swap, in steps.
        networks: which of "generator", "discriminator" get snapshots and
            swaps.
        seed: seed of the host-side choice of network and snapshot.
    """

    def __init__(
        self,
        snapshot_every=100,
        keep=5,
        swap_every=500,
        swap_steps=20,
        networks=("generator", "discriminator"),
        seed=0,
    ):
        super().__init__()
        for name, value in (
            ("snapshot_every", snapshot_every),
            ("keep", keep),
            ("swap_every", swap_every),
            ("swap_steps", swap_steps),
        ):
            if int(value) < 1:
                raise ValueError(f"`{name}` must be >= 1. Received: {name}={value}")
        networks = tuple(networks)
        unknown = [n for n in networks if n not in ("generator", "discriminator")]
        if not networks or unknown:
            raise ValueError(
                "`networks` must name 'generator' and/or 'discriminator'. "
                f"Received: networks={networks!r}"
            )
        self.snapshot_every = int(snapshot_every)
        self.keep = int(keep)
        self.swap_every = int(swap_every)
        self.swap_steps = int(swap_steps)
        self.networks = networks
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)
        self.snapshots = {name: [] for name in networks}
        self.swapped = None  # (network name, live weights, end step)
        self.swap_log = []  # (start step, network, snapshot index)

    def on_train_begin(self, logs=None):
        self._step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        self._last_batch = -1
        self._next_snapshot = self._step + self.snapshot_every
        self._next_swap = self._step + self.swap_every

    def on_epoch_begin(self, epoch, logs=None):
        self._last_batch = -1

    def on_train_batch_begin(self, batch, logs=None):
        if self.swapped is not None and self._step >= self.swapped[2]:
            self._end_swap()
        if self.swapped is None and self._step >= self._next_swap:
            self._next_swap += self.swap_every
            candidates = [n for n in self.networks if self.snapshots[n]]
            if candidates:
                self._start_swap(candidates[self._rng.integers(len(candidates))])

    def on_train_batch_end(self, batch, logs=None):
        self._step += batch - self._last_batch
        self._last_batch = batch
        if self._step >= self._next_snapshot:
            self._next_snapshot += self.snapshot_every
            if self.swapped is None:
                gan = self.model  # syncs JAX state
                for name in self.networks:
                    ring = self.snapshots[name]
                    ring.append(getattr(gan, name).get_weights())
                    del ring[: -self.keep]

    def on_epoch_end(self, epoch, logs=None):
        if self.swapped is not None:
            self._end_swap()

    def on_train_end(self, logs=None):
        if self.swapped is not None:
            self._end_swap()

    def _start_swap(self, name):
        network = getattr(self.model, name)  # syncs JAX state
        index = int(self._rng.integers(len(self.snapshots[name])))
        live = network.get_weights()
        network.set_weights(self.snapshots[name][index])
        self.swapped = (name, live, self._step + self.swap_steps)
        self.swap_log.append((self._step, name, index))

    def _end_swap(self):
        name, live, _ = self.swapped
        getattr(self.model, name).set_weights(live)
        self.swapped = None

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        return {
            "snapshot_every": self.snapshot_every,
            "keep": self.keep,
            "swap_every": self.swap_every,
            "swap_steps": self.swap_steps,
            "networks": list(self.networks),
            "seed": self.seed,
        }
