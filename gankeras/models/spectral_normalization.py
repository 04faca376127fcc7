"""Spectral normalization that is a function of the raw kernel, on every backend.

Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for
Generative Adversarial Networks" (ICLR): a layer computes with
`W_SN = W / sigma(W)`, `sigma` the largest singular value of the kernel
reshaped to `[-1, units]`, estimated by one power iteration per training step
from a persistent vector `u`. Each such layer is then 1-Lipschitz, and so is a
discriminator of such layers and 1-Lipschitz activations.

Why not `keras.layers.SpectralNormalization` as it is: in training it
*assigns* `W / sigma` to the kernel variable during the forward pass and then
runs the wrapped layer on the variable. On PyTorch a GAN's discriminator
phase calls D twice (real batch, fake batch) before one backward pass; the
second call's in-place assignment changes the kernel that the first call's
autograd graph saved, and backward fails ("modified by an inplace
operation"). The assignment also leaves `d sigma / dW` out of the gradient,
which the paper (and `torch.nn.utils.spectral_norm`) backpropagates.

This subclass keeps the raw `W` in the kernel variable and, on every call,
computes `W / sigma(W)` as a tensor and runs the wrapped layer's own
arithmetic with it: `ops.matmul` for `Dense`, `convolution_op` for the
`Conv1D` / `Conv2D` / `Conv3D` family. Only `u` is assigned (in training),
and it sits outside the gradient. `normalized_weights()` still returns
`(u, W / sigma)`.
"""

import keras
from keras import ops

_DENSE = (keras.layers.Dense,)
_CONVOLUTIONS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


@keras.saving.register_keras_serializable(package="gankeras")
class SpectralNormalization(keras.layers.SpectralNormalization):
    """Wraps a `Dense` or `Conv1D/2D/3D` layer so it computes with
    `W / sigma(W)` (Miyato et al. 2018). Drop-in for
    `keras.layers.SpectralNormalization` on those layers.

    Args:
        layer: the `Dense` / `Conv*D` layer to normalize (not a transposed or
            depthwise convolution).
        power_iterations: power iterations per training call (1 in the paper).

    Input and output shapes are the wrapped layer's.
    """

    def build(self, input_shape):
        if not isinstance(self.layer, _DENSE + _CONVOLUTIONS) or isinstance(
            self.layer,
            (
                keras.layers.Conv1DTranspose,
                keras.layers.Conv2DTranspose,
                keras.layers.Conv3DTranspose,
            ),
        ):
            raise ValueError(
                "gankeras.SpectralNormalization wraps Dense, Conv1D, Conv2D or "
                f"Conv3D layers. Received: {type(self.layer).__name__}."
            )
        super().build(input_shape)

    def call(self, inputs, training=False):
        vector_u, kernel = self.normalized_weights()
        if training:
            self.vector_u.assign(vector_u)
        kernel = ops.cast(kernel, self.layer.compute_dtype)
        layer = self.layer
        if isinstance(layer, _DENSE):
            outputs = ops.matmul(inputs, kernel)
            bias_shape = None
        else:
            outputs = layer.convolution_op(inputs, kernel)
            if layer.data_format == "channels_last":
                bias_shape = (1,) * (layer.rank + 1) + (layer.filters,)
            else:
                bias_shape = (1, layer.filters) + (1,) * layer.rank
        if layer.use_bias:
            bias = ops.cast(layer.bias, layer.compute_dtype)
            outputs = ops.add(
                outputs, bias if bias_shape is None else ops.reshape(bias, bias_shape)
            )
        if layer.activation is not None:
            outputs = layer.activation(outputs)
        return outputs
