"""The seeds' figure: a trained discriminator D(x) against D*(x) = p/(p+p_g).

Trains the 1-D probe of `gankeras.evaluation.probes` (a `gankeras.GAN` whose
generator N(0, 1) is held fixed) on a two-Gaussian mixture p, then draws on
one PNG: the densities p and p_g, the optimal discriminator D* (Goodfellow
et al. 2014, Prop. 1) and the trained D, and prints the trained value
V(D) next to 2 JSD(p, p_g) - log 4 (numerical integration), and a WGAN-GP
critic's value next to W1.

Usage:
    KERAS_BACKEND=jax python bench/optimal_discriminator.py --out=/tmp/optimal_discriminator.png
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from gankeras.evaluation import probes, theory  # noqa: E402

P = theory.GaussianMixture1D([-1.5, 1.0], [0.5, 0.7])
P_G = theory.GaussianMixture1D([0.0], [1.0])


def _plot(path, x, curves, width=720, height=420):
    """Curves `{label: (values, colour, dashed)}` over x; y from 0 to 1."""
    image = Image.new("RGB", (width, height), "white")
    draw, font = ImageDraw.Draw(image), ImageFont.load_default()
    left, right, top, bottom = 50, width - 20, 30, height - 40
    draw.rectangle([left, top, right, bottom], outline="black")
    draw.text(
        (left, 8),
        "Discriminator vs the optimal D*(x) = p(x) / (p(x) + p_g(x))",
        fill="black",
        font=font,
    )
    for value in (0.0, 0.5, 1.0):
        y = bottom - (bottom - top) * value
        draw.line([(left, y), (right, y)], fill=(225, 225, 225))
        draw.text((15, y - 6), f"{value:.1f}", fill="black", font=font)
    for value in np.arange(np.ceil(x[0]), x[-1] + 1e-9):
        px = left + (right - left) * (value - x[0]) / (x[-1] - x[0])
        draw.text((px - 4, bottom + 6), f"{value:g}", fill="black", font=font)
    for i, (label, (values, colour, dashed)) in enumerate(curves.items()):
        points = [
            (
                left + (right - left) * (xi - x[0]) / (x[-1] - x[0]),
                bottom - (bottom - top) * float(v),
            )
            for xi, v in zip(x, values)
        ]
        segments = zip(points[:-1], points[1:])
        for j, (a, b) in enumerate(segments):
            if not dashed or j % 4 < 2:
                draw.line([a, b], fill=colour, width=3)
        draw.line(
            [(right - 200, top + 12 + 16 * i), (right - 175, top + 12 + 16 * i)],
            fill=colour,
            width=3,
        )
        draw.text((right - 170, top + 6 + 16 * i), label, fill="black", font=font)
    image.save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="/tmp/optimal_discriminator.png")
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    _, discriminator = probes.train_probe(P.sample(args.steps * 1024), 0.0, 1.0, batch_size=1024)
    x = np.linspace(-4.0, 4.0, 401)
    d = 1.0 / (
        1.0
        + np.exp(-keras.ops.convert_to_numpy(discriminator(x[:, None].astype(np.float32))).ravel())
    )
    d_star = theory.optimal_discriminator(P, P_G, x)
    peak = max(P.pdf(x).max(), P_G.pdf(x).max())
    _plot(
        args.out,
        x,
        {
            "p(x) (data, scaled)": (P.pdf(x) / peak, (31, 119, 180), False),
            "p_g(x) (generator, scaled)": (P_G.pdf(x) / peak, (44, 160, 44), False),
            "D*(x)": (d_star, (0, 0, 0), True),
            "trained D(x)": (d, (214, 39, 40), False),
        },
    )
    value = theory.discriminator_value(
        keras.ops.convert_to_numpy(discriminator(P.sample(50_000, seed=1))),
        keras.ops.convert_to_numpy(discriminator(P_G.sample(50_000, seed=2))),
    )
    weight = P.pdf(x) + P_G.pdf(x)
    print(f"backend={keras.backend.backend()} steps={args.steps}")
    print(
        f"mean |D - D*| weighted by p + p_g: {np.sum(weight * np.abs(d - d_star)) / weight.sum():.4f}"
    )
    print(f"V(D) = {value:.4f}   2 JSD - log 4 = {theory.optimal_discriminator_value(P, P_G):.4f}")
    _, critic = probes.train_probe(
        P.sample(args.steps * 1024, seed=3),
        0.0,
        1.0,
        loss="wasserstein",
        gradient_penalty=10.0,
        batch_size=1024,
        hidden=64,
        activation="relu",
    )
    critic_value = np.mean(keras.ops.convert_to_numpy(critic(P.sample(50_000, seed=1)))) - np.mean(
        keras.ops.convert_to_numpy(critic(P_G.sample(50_000, seed=2)))
    )
    print(f"WGAN-GP critic value = {critic_value:.4f}   W1 = {theory.wasserstein1(P, P_G):.4f}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
