"""The label-free sanity ladder at the Evaluator's default encoder set-up.

Trains the SimCLR encoder (`gankeras.evaluation.contrastive`, default
set-up: 300 steps of 256 images) on 10,000 Fashion-MNIST training images,
never their labels, and prints FD, KID, precision/recall, density/coverage
and the memorization ratio for: held-out real images, training-set copies,
blurred images (Gaussian sigma 1 px), a mode-dropped set (test images of
classes 0-4 only; labels build the set, nothing else), a collapsed
generator (one image + 0.02 noise) and uniform noise. The same in the
features of the untrained (randomly initialised) encoder shows what the
training adds. Also prints the training time.

Figures (JAX, 2 cores shared at load ~12: training took 520 s there; 200
steps took 46 s at a lighter load), FD / KID / precision / recall /
density / coverage / memorization ratio:

    trained SimCLR encoder
      held-out real   0.0173 -0.0002 0.887 0.892 1.020 0.826 0.996
      train copies    0.0201 -0.0002 0.881 0.880 0.983 0.811 0.000
      blurred         2.1200  0.0436 0.190 0.032 0.083 0.044 0.908
      mode-dropped    1.9100  0.0362 0.884 0.759 1.001 0.560 0.934
      collapsed      11.5931  0.1641 1.000 0.000 1.452 0.002 0.848
      noise          44.9460  1.8597 0.000 0.000 0.000 0.000 2.573
    untrained encoder
      held-out real   0.0049 -0.0000 0.835 0.832 1.007 0.812
      blurred         0.3691  0.0078 0.864 0.032 0.985 0.276
      mode-dropped    0.0846  0.0010 0.849 0.597 1.012 0.583
      collapsed       1.6764  0.0200 1.000 0.000 0.648 0.001
      noise           1.4573  0.0250 0.016 0.000 0.007 0.001

Usage:
    KERAS_BACKEND=jax python bench/label_free_ladder.py [--steps=300]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import gaussian_filter  # noqa: E402

from gankeras.data import FASHION_MNIST_DIR, load_idx  # noqa: E402
from gankeras.evaluation import contrastive  # noqa: E402
from gankeras.evaluation.report import evaluate_samples  # noqa: E402

COLUMNS = (
    "frechet_distance",
    "kernel_distance",
    "precision",
    "recall",
    "density",
    "coverage",
    "memorization_ratio",
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=contrastive.DEFAULTS["steps"])
    parser.add_argument("--num_samples", type=int, default=2000)
    args = parser.parse_args()
    scale = lambda x: x.astype(np.float32) / 127.5 - 1.0  # noqa: E731
    train_x, _ = load_idx(FASHION_MNIST_DIR, "train", with_labels=False)
    test_x, test_y = load_idx(FASHION_MNIST_DIR, "test")
    train, n = scale(train_x[:10_000]), args.num_samples
    held_out, test = scale(test_x[:n]), scale(test_x[8000:])
    rest_x, rest_y = scale(test_x[n:8000]), test_y[n:8000]
    rng = np.random.default_rng(0)
    ladder = {
        "held-out real": held_out,
        "train copies": train[:n],
        "blurred": np.clip(gaussian_filter(held_out, sigma=(0, 1.0, 1.0, 0)), -1, 1),
        "mode-dropped": rest_x[rest_y < 5][:n],
        "collapsed": np.clip(
            np.repeat(held_out[:1], n, 0) + 0.02 * rng.normal(size=held_out.shape), -1, 1
        ).astype(np.float32),
        "noise": rng.uniform(-1, 1, held_out.shape).astype(np.float32),
    }
    print(f"backend={keras.backend.backend()} cpus={os.cpu_count()} steps={args.steps} samples={n}")
    start = time.perf_counter()
    trained = contrastive.load_or_train_contrastive_encoder(
        tempfile.mkdtemp(), train, steps=args.steps
    )
    print(
        f"encoder training: {time.perf_counter() - start:.1f} s; load average "
        f"{os.getloadavg()[0]:.1f}; loss per tenth {[round(v, 3) for v in trained.loss_history]}"
    )
    untrained = contrastive.ContrastiveEncoder(
        contrastive.build_contrastive_encoder(train.shape[1:])
    )
    for label, encoder in (("trained SimCLR encoder", trained), ("untrained encoder", untrained)):
        print(f"\n{label}")
        print(f"  {'':14s}" + "".join(f"{c[:12]:>13s}" for c in COLUMNS))
        for name, samples in ladder.items():
            m = evaluate_samples(
                samples,
                train[n : n + 5000],
                test,
                encoder,
                memorization_train=train,
                memorization_count=500,
                parzen_count=500,
            ).metrics
            print(f"  {name:14s}" + "".join(f"{m[c]:13.4f}" for c in COLUMNS))


if __name__ == "__main__":
    main()
