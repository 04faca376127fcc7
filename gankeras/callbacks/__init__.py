"""Keras callbacks for GAN training (one per file).

- `GANCheckpoint` + `resume_or_start`: atomic, rotating, resumable checkpoints.
- `SampleGrid`: PNG grids of fixed latents per epoch, a GIF or contact sheet.
- `CheckpointSwap`: train now and then against past snapshots of G or D.
- `DivergenceGuard`: stop on NaN/Inf losses or a collapsed discriminator.

The generator's moving average needs no callback: pass
`g_optimizer=keras.optimizers.Adam(..., use_ema=True)`; `GAN.generate`,
`SampleGrid` and `GAN.ema_weights()` use it. (`keras.callbacks.
SwapEMAWeights` swaps the raw and averaged weights in place for whole
epochs; a checkpoint taken meanwhile would store them swapped.)
"""

from gankeras.callbacks.checkpoint import (
    CheckpointMismatchError,
    GANCheckpoint,
    read_history,
    resume_or_start,
)
from gankeras.callbacks.checkpoint_swap import CheckpointSwap
from gankeras.callbacks.divergence_guard import (
    DiscriminatorCollapseError,
    DivergenceGuard,
    GANDivergedError,
)
from gankeras.callbacks.quality import Quality
from gankeras.callbacks.replay_buffer import ReplayBuffer
from gankeras.callbacks.sample_grid import SampleGrid
from gankeras.callbacks.tensorboard_gan import GANTensorBoard
