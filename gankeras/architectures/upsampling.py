"""How convolutional generators double their feature maps, and which way is
the default on each Keras backend.

Two ways, both "fractionally-strided" in the sense of Radford et al. 2015:

- "transposed": a stride-2 `Conv2DTranspose` (Radford et al. 2015).
- "resize": nearest-neighbour `UpSampling2D` then a stride-1 `Conv2D`
  (Odena, Dumoulin & Olah 2016, "Deconvolution and Checkerboard Artifacts",
  Distill): free of checkerboard artifacts by construction.

`DEFAULT_UPSAMPLING` below is the one place where gankeras picks an
architecture by backend. It is a speed decision, measured with
`bench/train_throughput.py --upsampling=...` (the figures are in the README's
benchmark table):

- JAX (always XLA): XLA on CPU computes the gradient of a strided
  `Conv2DTranspose` many times slower than that of a `Conv2D`, so "resize"
  wins by a wide margin although it does ~30% more arithmetic.
- TensorFlow: `jit_compile="auto"` means no XLA on a CPU-only machine
  (Keras's `_resolve_auto_jit_compile`), and there "transposed" trains more
  images per second. Under XLA (GPUs, or `jit_compile=True`) the CPU penalty
  above applies instead; pass `upsampling="resize"` there if training on CPU
  with XLA.
- PyTorch (eager, no XLA): "transposed" (fewer FLOPs, no XLA penalty).
"""

import keras

UPSAMPLING_MODES = ("transposed", "resize")

# Backend -> upsampling that trains fastest there (see the module docstring).
DEFAULT_UPSAMPLING = {
    "tensorflow": "transposed",
    "jax": "resize",
    "torch": "transposed",
}

# Kernel size used when the caller passes none: 5x5 for transposed
# convolutions (Radford et al.'s released code), 3x3 after a resize (each
# output then sees a 2x2-input neighbourhood, like the 5x5 stride-2 case,
# at about the same arithmetic).
DEFAULT_KERNEL_SIZE = {"transposed": 5, "resize": 3}


def resolve_upsampling(upsampling="auto"):
    """Returns "transposed" or "resize"; "auto" picks the active backend's
    entry of `DEFAULT_UPSAMPLING`."""
    if upsampling == "auto":
        return DEFAULT_UPSAMPLING.get(keras.backend.backend(), "transposed")
    if upsampling not in UPSAMPLING_MODES:
        raise ValueError(
            f"`upsampling` must be 'auto' or one of {UPSAMPLING_MODES}. "
            f"Received: upsampling={upsampling!r}"
        )
    return upsampling


def upsample(x, filters, kernel_size, upsampling, name, activation=None, use_bias=True):
    """Doubles the height and width of `x` (`[batch, H, W, C]` ->
    `[batch, 2H, 2W, filters]`) the chosen way."""
    if upsampling == "transposed":
        return keras.layers.Conv2DTranspose(
            filters,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=use_bias,
            activation=activation,
            name=name,
        )(x)
    x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        use_bias=use_bias,
        activation=activation,
        name=name,
    )(x)
