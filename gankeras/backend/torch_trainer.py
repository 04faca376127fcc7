"""The GAN step's gradient code for the PyTorch backend (torch.autograd)."""

import keras
import torch

from gankeras.backend.stateful_trainer import StatefulGANTrainer


class GANTrainer(StatefulGANTrainer):
    """Mixin for `GAN`: each phase's gradients from `torch.autograd.grad`."""

    def _loss_and_gradients(self, phase, real, labels):
        loss, logs = phase.loss_fn(real, labels)
        # Gradients of this phase's variables only: nothing accumulates in
        # `.grad`, so the other network needs no zeroing.
        grads = torch.autograd.grad(loss, [v.value for v in phase.variables], allow_unused=True)
        return {name: value.detach() for name, value in logs.items()}, list(grads)

    def _update_context(self):
        return torch.no_grad()


def value_and_input_gradient(fn, x):
    """`(fn(x), d sum(fn(x)) / dx)`; the gradient stays differentiable."""
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    y = fn(x)
    (grad,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    return y, grad


def replica_shard():
    """`(replica_id, num_replicas)`: always `(0, 1)` here.

    Keras's torch backend runs on one device per process; see
    docs/distribution.md.
    """
    return 0, 1


def all_gather(x):
    """Identity: one replica holds the whole batch (see `replica_shard`)."""
    return x


def no_grad():
    """A context for forward passes nothing differentiates: `torch.no_grad`,
    so autograd records no graph (and keeps no activations) for them."""
    return torch.no_grad()


# ----------------------------------------------------------------------
# Convolutions with one output channel on torch's native CPU kernels
# ----------------------------------------------------------------------
# Keras's torch `conv` hands torch a channels-last *view* of the kernel. With
# a single output channel that view is not contiguous in torch's default
# layout, and the backward pass of torch's own CPU convolution
# (`slow_conv2d`, used whenever oneDNN is not: bfloat16 on a CPU without
# AVX-512 or native bfloat16, e.g. an AVX2-only AMD EPYC, or oneDNN turned
# off) then fails: "slow_conv2d: grad_weight must be contiguous". oneDNN's
# kernels accept the layout, so CPUs with AVX-512/AMX never see it.
#
# The fix, and the one change gankeras makes to Keras: `conv` is wrapped so
# that, when torch will use its native kernel, a kernel with one output
# channel gets a second, all-zero output channel and the result keeps the
# first channel only. Values and gradients are unchanged (the zero channel
# feeds nothing); only that layer's cost doubles, and only on that path.
def _torch_uses_native_conv(inputs, kernel):
    """Whether torch runs this CPU convolution with its own kernels rather
    than oneDNN's (a capability probe: torch's own oneDNN checks)."""
    mkldnn = torch.backends.mkldnn
    if not (mkldnn.is_available() and mkldnn.enabled):
        return True
    if kernel.dtype == torch.bfloat16:
        try:
            return not torch.ops.mkldnn._is_mkldnn_bf16_supported()
        except (AttributeError, RuntimeError):
            from gankeras import hardware

            return not hardware.onednn_bfloat16()
    if kernel.dtype == torch.float16:
        try:
            return not torch.ops.mkldnn._is_mkldnn_fp16_supported()
        except (AttributeError, RuntimeError):
            return True
    # float32: torch keeps batch-1 convolutions on its own kernels.
    return inputs.shape[0] == 1


def conv_with_contiguous_kernel_gradients(conv):
    """Wraps Keras's torch `conv(inputs, kernel, strides, padding,
    data_format, dilation_rate)` (kernel `[*spatial, in, out]`) so that its
    backward pass works on torch's native CPU kernels (see above)."""
    import functools

    @functools.wraps(conv)
    def wrapped(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
        kernel_tensor = keras.ops.convert_to_tensor(kernel)
        one_output = kernel_tensor.ndim in (4, 5) and kernel_tensor.shape[-1] == 1
        if (
            one_output
            and torch.is_grad_enabled()
            and not kernel_tensor.is_cuda
            and (data_format or keras.config.image_data_format()) == "channels_last"
            and _torch_uses_native_conv(keras.ops.convert_to_tensor(inputs), kernel_tensor)
        ):
            padded = torch.cat([kernel_tensor, torch.zeros_like(kernel_tensor)], dim=-1)
            return conv(inputs, padded, strides, padding, data_format, dilation_rate)[..., :1]
        return conv(inputs, kernel, strides, padding, data_format, dilation_rate)

    wrapped.gankeras_wrapped = True
    return wrapped


def _install_conv_fix():
    from keras.src.backend.torch import nn as torch_nn

    if not getattr(torch_nn.conv, "gankeras_wrapped", False):
        torch_nn.conv = conv_with_contiguous_kernel_gradients(torch_nn.conv)


_install_conv_fix()
