"""What the Trainer's monitoring callbacks cost per epoch, at the pipeline's
default networks (`PipelineConfig`: dcgan, base_filters 32, latent 64,
batch 128).

Prints, per image shape: the seconds of one training step (a one-batch
`fit`, its set-up included: an upper bound), of one epoch of
MNIST (60,000 / 128 = 468 steps, extrapolated), of one `GANTensorBoard`
write (grid of 16 + D's accuracy on 64 real and 64 fake images + events
file) and of one `Quality` measurement (256 fakes, random SimCLR features,
1000 real images; opt-in via --quality_every_n_epochs).

Figures (TensorFlow, 2 cores shared at load ~5):

    (28, 28, 1): step 0.734 s, MNIST epoch ~344 s, GANTensorBoard 0.146 s (0.04% of an epoch), Quality 0.51 s (0.1%)
    (64, 64, 3): step 5.290 s, MNIST epoch ~2476 s, GANTensorBoard 0.596 s (0.02% of an epoch), Quality 1.57 s (0.1%)

Usage: KERAS_BACKEND=tensorflow python bench/pipeline_monitoring_cost.py
"""

import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from gankeras import callbacks  # noqa: E402
from gankeras.evaluation import contrastive  # noqa: E402
from pipelines.components.trainer import build_gan  # noqa: E402
from pipelines.config import PipelineConfig  # noqa: E402


def timed(fn, repeat=3):
    fn()  # warm-up (tracing)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main():
    p = PipelineConfig().trainer_parameters()
    for shape in ((28, 28, 1), (64, 64, 3)):
        gan = build_gan(p, shape, None)
        real = np.random.default_rng(0).uniform(-1, 1, (1000, *shape)).astype(np.float32)
        batch = real[: p.batch_size]
        gan.fit(batch, batch_size=p.batch_size, epochs=1, verbose=0)
        step = timed(
            lambda gan=gan, batch=batch: gan.fit(batch, batch_size=len(batch), epochs=1, verbose=0)
        )
        board = callbacks.GANTensorBoard(tempfile.mkdtemp(), real_images=real[:64])
        board.set_model(gan)
        tb = timed(lambda board=board: board.on_epoch_end(0, {"d_loss": 1.0, "g_loss": 1.0}))
        encoder = contrastive.ContrastiveEncoder(contrastive.build_contrastive_encoder(shape))
        quality = callbacks.Quality(encoder.features, real, num_samples=256)
        quality.set_model(gan)
        quality.on_train_begin()
        q = timed(lambda quality=quality: quality.on_epoch_end(0, {}), repeat=2)
        epoch = 468 * step
        print(
            f"{keras.backend.backend()} {shape}: step {step:.3f} s, MNIST epoch ~{epoch:.0f} s, "
            f"GANTensorBoard {tb:.3f} s ({100 * tb / epoch:.2f}% of an epoch), "
            f"Quality {q:.2f} s ({100 * q / epoch:.1f}%)"
        )


if __name__ == "__main__":
    main()
