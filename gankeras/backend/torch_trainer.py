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


# ----------------------------------------------------------------------
# Transposed convolutions that compute only the output Keras keeps
# ----------------------------------------------------------------------
# Keras's torch `conv_transpose` runs torch's `conv_transpose*d` with
# padding 0, i.e. computes the whole "natural" output `(n - 1) * stride +
# kernel`, and slices Keras's window out of it afterwards: torch's symmetric
# `padding` plus right-side `output_padding` crop `(p, p - output_padding)`
# cannot express the `(left, right)` crops of "same" with an odd kernel and
# stride 2, `(1, 2)`. For the DCGAN's 7 -> 14 layer (kernel 5) that is 17x17
# outputs for 14x14 kept, +47% of the layer's work, and the slice's copies
# forward and backward (bench/train_throughput.py: the largest part of the
# gap to a plain PyTorch loop on torch).
#
# Mirroring a spatial axis swaps its crops: conv_transpose(x, w)[crop (l, r)]
# equals flip(conv_transpose(flip(x), flip(w))[crop (r, l)]). So each axis
# with l < r is computed mirrored, with torch padding r and output_padding
# r - l; an axis with l >= r directly, padding l and output_padding l - r.
# torch then computes exactly the kept window; the same sums, in another
# order (float round-off apart, the values of Keras's own path). Crops torch
# cannot express this way (negative, or an output_padding of `stride` or
# more with dilation 1) keep Keras's path.
def _torch_transpose_padding(crops, strides, dilations):
    """Per spatial axis `(mirror, padding, output_padding)` for torch's
    `conv_transpose*d` giving the `(left, right)` crops `crops`, or None
    when some axis has no such form."""
    plan = []
    for (left, right), stride, dilation in zip(crops, strides, dilations):
        mirror = left < right
        padding, extra = (right, right - left) if mirror else (left, left - right)
        # torch: output_padding < stride or < dilation.
        if left < 0 or right < 0 or not (extra < stride or extra < dilation):
            return None
        plan.append((mirror, padding, extra))
    return plan


def conv_transpose_computing_kept_window(conv_transpose):
    """Wraps Keras's torch `conv_transpose(inputs, kernel, strides, padding,
    output_padding, data_format, dilation_rate)` (kernel `[*spatial, out,
    in]`) so that torch computes only the output window Keras keeps (see
    above); anything else goes to `conv_transpose` unchanged."""
    import functools

    from keras.src.backend.common.backend_utils import (
        compute_conv_transpose_output_crops_for_torch,
    )
    from keras.src.utils.argument_validation import standardize_tuple

    @functools.wraps(conv_transpose)
    def wrapped(
        inputs,
        kernel,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
    ):
        inputs = keras.ops.convert_to_tensor(inputs)
        kernel = keras.ops.convert_to_tensor(kernel)
        rank = inputs.ndim - 2
        channels_last = (data_format or keras.config.image_data_format()) == "channels_last"
        plan = None
        if rank in (1, 2, 3) and kernel.ndim == rank + 2:
            stride_tuple = standardize_tuple(strides, rank, "strides")
            dilation_tuple = standardize_tuple(dilation_rate, rank, "dilation_rate")
            channels = inputs.shape[-1] if channels_last else inputs.shape[1]
            if channels == kernel.shape[-1]:  # else Keras raises its error
                crops = compute_conv_transpose_output_crops_for_torch(
                    input_shape=inputs.shape,
                    kernel_shape=kernel.shape,
                    strides=stride_tuple,
                    padding=padding,
                    output_padding=output_padding,
                    dilation_rate=dilation_rate,
                )
                plan = _torch_transpose_padding(crops, stride_tuple, dilation_tuple)
        if plan is None:
            return conv_transpose(
                inputs, kernel, strides, padding, output_padding, data_format, dilation_rate
            )
        spatial = tuple(range(1, rank + 1)) if channels_last else tuple(range(2, rank + 2))
        mirrored = [axis for axis, (mirror, _, _) in zip(spatial, plan) if mirror]
        kernel_mirrored = [axis for axis, (mirror, _, _) in zip(range(rank), plan) if mirror]
        if mirrored:
            inputs = torch.flip(inputs, mirrored)
            kernel = torch.flip(kernel, kernel_mirrored)
        if channels_last:  # a view: channels-last memory, what oneDNN takes
            inputs = inputs.permute(0, rank + 1, *range(1, rank + 1))
        # Keras `[*spatial, out, in]` -> torch `[in, out, *spatial]`.
        kernel = kernel.permute(rank + 1, rank, *range(rank))
        outputs = getattr(torch.nn.functional, f"conv_transpose{rank}d")(
            inputs,
            kernel,
            stride=stride_tuple,
            padding=tuple(p for _, p, _ in plan),
            output_padding=tuple(e for _, _, e in plan),
            dilation=dilation_tuple,
        )
        if channels_last:
            outputs = outputs.permute(0, *range(2, rank + 2), 1)
        if mirrored:
            outputs = torch.flip(outputs, mirrored)
        return outputs

    wrapped.gankeras_wrapped = True
    return wrapped


def _install_conv_fix():
    from keras.src.backend.torch import nn as torch_nn

    if not getattr(torch_nn.conv, "gankeras_wrapped", False):
        torch_nn.conv = conv_with_contiguous_kernel_gradients(torch_nn.conv)
    if not getattr(torch_nn.conv_transpose, "gankeras_wrapped", False):
        torch_nn.conv_transpose = conv_transpose_computing_kept_window(torch_nn.conv_transpose)


_install_conv_fix()
