"""Walks through latent space and the truncation trick.

- `lerp`, `slerp`: linear and spherical paths between two latents. Latents
  drawn from N(0, I) in d dimensions concentrate near the sphere of radius
  sqrt(d); the straight line between two of them passes well inside it
  (its midpoint has norm about sqrt(d / 2)), where the generator never saw
  latents in training. The great-circle path keeps the norm (White 2016,
  "Sampling Generative Networks", arXiv:1609.04468).
- `interpolate(gan_or_generator, seed_a, seed_b, steps, path=...)`: the
  images along such a path between the latents of two integer seeds (the
  latents of `gankeras.sampling.latents_from_seeds`, so the end frames equal
  `gan.generate(seeds=[seed_a])` and `[seed_b]`), optionally written as a
  grid PNG and an animated GIF. Re-exported as `gankeras.sampling.
  interpolate`.
- `truncate(z, psi, mean)`: the truncation trick, `mean + psi * (z -
  mean)`, trading variety for quality (Brock et al. 2019, "Large Scale GAN
  Training for High Fidelity Natural Image Synthesis"; Karras et al. 2019,
  "A Style-Based Generator Architecture for GANs", Section 5.1: with a
  mapping network, pull w toward the average w from `mean_latent`).
"""

import os
import tempfile

import keras
import numpy as np

from gankeras.sampling import latents_from_seeds

PATHS = ("linear", "spherical")


def lerp(a, b, t):
    """Points `(1 - t) a + t b` on the segment from `a` to `b`.

    Args:
        a, b: float arrays `[d]` (or `[n, d]`, row by row).
        t: float array `[steps]` of fractions (0 gives `a`, 1 gives `b`).

    Returns:
        float array `[steps, d]` (or `[steps, n, d]`), dtype of `a`.
    """
    a, b = np.asarray(a), np.asarray(b)
    t = np.asarray(t, np.float64).reshape((-1,) + (1,) * a.ndim)
    return ((1.0 - t) * a + t * b).astype(a.dtype)


def slerp(a, b, t):
    """Spherical interpolation: points on the great circle from `a` to `b`.

    `sin((1 - t) omega) / sin(omega) a + sin(t omega) / sin(omega) b`, with
    `omega` the angle between `a` and `b` (Shoemake 1985; White 2016 for
    GAN latents). When `|a| = |b|` every point has that norm and the angle
    to `a` grows linearly, `t omega`. For (anti)parallel vectors (`sin
    omega` ~ 0) the circle is undefined and the linear path is used.
    Computed in float64.

    Args:
        a, b: float arrays `[d]` (or `[n, d]`, row by row).
        t: float array `[steps]` of fractions (0 gives `a`, 1 gives `b`).

    Returns:
        float array `[steps, d]` (or `[steps, n, d]`), dtype of `a`.
    """
    a_in = np.asarray(a)
    a, b = a_in.astype(np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64).reshape((-1,) + (1,) * a.ndim)
    norms = np.linalg.norm(a, axis=-1, keepdims=True) * np.linalg.norm(b, axis=-1, keepdims=True)
    cosine = np.clip(np.sum(a * b, axis=-1, keepdims=True) / np.maximum(norms, 1e-300), -1.0, 1.0)
    omega = np.arccos(cosine)
    sin_omega = np.sin(omega)
    degenerate = np.abs(sin_omega) < 1e-7
    safe = np.where(degenerate, 1.0, sin_omega)
    circle = (np.sin((1.0 - t) * omega) * a + np.sin(t * omega) * b) / safe
    line = (1.0 - t) * a + t * b
    return np.where(degenerate, line, circle).astype(a_in.dtype)


def truncate(z, psi, mean=0.0):
    """The truncation trick: `mean + psi * (z - mean)`.

    Pulls latents toward `mean`: `psi = 1` leaves them as drawn, `psi = 0`
    maps every latent to `mean` (one "average" image), values in between
    trade variety for fidelity (Brock et al. 2019, Section 3.1; Karras et
    al. 2019, Section 5.1, `w' = w_avg + psi (w - w_avg)`). For a
    generator fed z ~ N(0, I) directly the mean is 0; for a mapping network,
    pass the average w (`mean_latent`) and the mapped w. (Brock et al.'s
    own variant resamples entries beyond a threshold; this is the scaling
    form that StyleGAN and BigGAN's released code apply to z or w.)

    Plain arithmetic, so it works on numpy arrays and on tensors of every
    backend (inside a compiled function too).

    Args:
        z: latents `[batch, latent_dim]` (any float array or tensor).
        psi: Python float, finite; usually in [0, 1] (> 1 extrapolates).
        mean: the centre, a scalar or `[latent_dim]` (broadcast).

    Returns:
        Same type, shape and dtype as `z`.
    """
    psi = _check_psi(psi)
    if isinstance(z, np.ndarray):
        mean = np.asarray(mean, z.dtype)
        return (mean + psi * (z - mean)).astype(z.dtype)
    z = keras.ops.convert_to_tensor(z)
    mean = keras.ops.cast(mean, z.dtype)
    return mean + keras.ops.cast(psi, z.dtype) * (z - mean)


def mean_latent(mapping, latent_dim, num_samples=4096, seed=0, batch_size=512):
    """Average of `mapping(z)` over latents of seeds `seed ..`: the `w_avg`
    that StyleGAN's truncation pulls toward (Karras et al. 2019 track it as
    a moving average during training; a fixed-seed sample average is
    reproducible).

    Args:
        mapping: callable `z [batch, latent_dim] -> w [batch, w_dim]`
            (a `keras.Model` mapping network).
        latent_dim: size of z.
        num_samples: latents averaged.
        seed: first seed.
        batch_size: latents per call.

    Returns:
        float32 numpy array `[w_dim]`.
    """
    total, count = None, 0
    for start in range(0, int(num_samples), int(batch_size)):
        stop = min(start + int(batch_size), int(num_samples))
        z = latents_from_seeds(np.arange(seed + start, seed + stop), latent_dim)
        w = keras.ops.convert_to_numpy(mapping(z)).astype(np.float64)
        total = w.sum(0) if total is None else total + w.sum(0)
        count += len(w)
    return (total / count).astype(np.float32)


def interpolation_latents(seed_a, seed_b, steps, latent_dim, path="spherical"):
    """`[steps, latent_dim]` float32 latents from seed_a's to seed_b's.

    Frame 0 is exactly `latents_from_seeds([seed_a])`, the last frame
    exactly seed_b's; `t` is evenly spaced in [0, 1].
    """
    if path not in PATHS:
        raise ValueError(f"`path` must be one of {PATHS}. Received: path={path!r}")
    steps = _check_steps(steps)
    z = latents_from_seeds(np.array([seed_a, seed_b], np.int64), latent_dim)
    t = np.linspace(0.0, 1.0, steps)
    walk = lerp if path == "linear" else slerp
    latents = walk(z[0], z[1], t)
    latents[0], latents[-1] = z[0], z[1]  # exact end points, no round-off
    return latents


def interpolate(
    gan_or_generator,
    seed_a,
    seed_b,
    steps=8,
    path="spherical",
    label=None,
    truncation=None,
    use_ema=True,
    grid_path=None,
    gif_path=None,
    columns=None,
    scale=1,
    frame_duration_ms=100,
):
    """Images along a linear or spherical path between two seeds' latents.

    Args:
        gan_or_generator: a `gankeras.GAN` (sampled with its EMA weights
            when it keeps them and `use_ema`) or a generator `keras.Model`
            (`z` or `[z, labels]` -> images).
        seed_a, seed_b: integer seeds of the end points (the latents of
            `gankeras.sampling.latents_from_seeds`).
        steps: number of frames, >= 2, end points included.
        path: "spherical" (great circle, White 2016) or "linear".
        label: class id of every frame, for a conditional generator
            (default 0).
        truncation: optional psi applied to every latent (`truncate`).
        use_ema: use the GAN's moving-average generator weights.
        grid_path: if given, writes the frames as one row-major grid PNG.
        gif_path: if given, writes an animated GIF of the frames (looping).
        columns: grid columns (default: all frames in one row).
        scale: integer pixel upscaling of the PNG and GIF.
        frame_duration_ms: GIF frame duration.

    Returns:
        float32 numpy array `[steps, H, W, C]` in [-1, 1].
    """
    generator, context, num_classes = _unpack(gan_or_generator, use_ema)
    conditional = len(generator.inputs or []) == 2
    latent_dim = int(generator.inputs[0].shape[-1])
    latents = interpolation_latents(seed_a, seed_b, steps, latent_dim, path)
    if truncation is not None:
        latents = truncate(latents, truncation)
    inputs = latents
    if conditional:
        label = 0 if label is None else label
        if num_classes is not None and not 0 <= int(label) < num_classes:
            raise ValueError(
                f"`label` must be a class id in [0, {num_classes}). Received: label={label}"
            )
        inputs = [latents, np.full(len(latents), int(label), np.int32)]
    elif label is not None:
        raise ValueError(
            "`label` is only for conditional generators; this generator "
            f"takes latents only. Received: label={label!r}"
        )
    with context():
        images = generator(inputs, training=False)
        images = keras.ops.convert_to_numpy(keras.ops.cast(images, "float32"))
    if grid_path is not None or gif_path is not None:
        from gankeras.callbacks.sample_grid import tile

        if grid_path is not None:
            grid = tile(images, int(columns or len(images)), scale)
            _atomic_save(grid_path, lambda f: grid.save(f, format="PNG"))
        if gif_path is not None:
            frames = [tile(image[None], 1, scale, padding=0).convert("RGB") for image in images]
            _atomic_save(
                gif_path,
                lambda f: frames[0].save(
                    f,
                    format="GIF",
                    save_all=True,
                    append_images=frames[1:],
                    duration=int(frame_duration_ms),
                    loop=0,
                ),
            )
    return images


def _unpack(model, use_ema):
    """(generator, EMA context factory, num_classes or None)."""
    import contextlib

    if hasattr(model, "generator") and hasattr(model, "ema_weights"):
        return (
            model.generator,
            lambda: model.ema_weights(enabled=use_ema),
            model.num_classes,
        )
    if isinstance(model, keras.Model):
        return model, contextlib.nullcontext, None
    raise TypeError(
        "Expected a gankeras.GAN or a generator keras.Model. "
        f"Received: {model!r} of type {type(model).__name__}"
    )


def _check_steps(steps):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise ValueError(
            "`steps` must be an integer >= 2 (the two end points included). "
            f"Received: steps={steps!r}"
        )
    return int(steps)


def _check_psi(psi):
    try:
        value = float(psi)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(psi, bool) or not np.isfinite(value):
        raise ValueError(
            "The truncation `psi` must be a finite number, usually in [0, 1] "
            f"(1 = no truncation). Received: psi={psi!r}"
        )
    return value


def _atomic_save(path, write):
    """Runs `write(file)` on a temporary file next to `path`, then renames
    it into place: a crash never leaves a partial image."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise
