"""The torch backend's transposed convolution computes only the window Keras
keeps, with Keras's values and gradients (gankeras/backend/torch_trainer.py)."""

import keras
import numpy as np
import pytest

import gankeras  # noqa: F401  (installs the torch backend's kernels)
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "torch", reason="a torch-backend kernel choice")

# (input spatial shape, kernel, strides, padding, output_padding, dilation,
# data_format): "same" with odd and even kernels at strides 1-3 (crops
# (1, 2), (1, 1), (0, 1), (2, 2)...), "valid", explicit output_padding,
# dilation, 1D and 3D, channels_first.
CASES = [
    ((7, 7), 5, 2, "same", None, 1, "channels_last"),
    ((14, 14), 5, 2, "same", None, 1, "channels_last"),
    ((7, 6), 4, 2, "same", None, 1, "channels_last"),
    ((7, 7), 3, 2, "same", None, 1, "channels_last"),
    ((5, 5), 3, 1, "same", None, 1, "channels_last"),
    ((5, 5), 5, 3, "same", None, 1, "channels_last"),
    ((6, 6), 3, 2, "valid", None, 1, "channels_last"),
    ((6, 6), 3, 2, "valid", 1, 1, "channels_last"),
    ((6, 6), 3, 1, "same", None, 2, "channels_last"),
    ((9,), 5, 2, "same", None, 1, "channels_last"),
    ((3, 4, 3), 3, 2, "same", None, 1, "channels_last"),
    ((7, 7), 5, 2, "same", None, 1, "channels_first"),
]


def _torch_nn():
    from keras.src.backend.torch import nn as torch_nn

    return torch_nn


def _values_and_gradients(conv_transpose, x, kernel, case):
    import torch

    _, _, strides, padding, output_padding, dilation, data_format = case
    x = torch.tensor(x, requires_grad=True)
    kernel = torch.tensor(kernel, requires_grad=True)
    y = conv_transpose(x, kernel, strides, padding, output_padding, data_format, dilation)
    weights = torch.linspace(-1.0, 1.0, y.numel()).reshape(y.shape)
    grads = torch.autograd.grad((y * weights).sum(), [x, kernel])
    return [t.detach().numpy() for t in (y, *grads)]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_values_and_gradients_equal_keras_own_path(case):
    spatial, size, *_, data_format = case
    rng = np.random.default_rng(0)
    shape = (2, *spatial, 3) if data_format == "channels_last" else (2, 3, *spatial)
    x = rng.standard_normal(shape).astype("float32")
    kernel = rng.standard_normal((size,) * len(spatial) + (4, 3)).astype("float32")
    wrapped = _torch_nn().conv_transpose
    assert wrapped.gankeras_wrapped
    expected = _values_and_gradients(wrapped.__wrapped__, x, kernel, case)
    received = _values_and_gradients(wrapped, x, kernel, case)
    for e, r in zip(expected, received):
        assert e.shape == r.shape
        np.testing.assert_allclose(r, e, rtol=1e-5, atol=1e-4)


def test_the_dcgan_upsampling_computes_only_the_kept_window(monkeypatch):
    # Keras's own path computes the 17x17 "natural" output of a 5x5 stride-2
    # transposed convolution of a 7x7 grid and slices 14x14 out of it.
    import torch

    shapes = []
    original = torch.nn.functional.conv_transpose2d

    def recording(*args, **kwargs):
        out = original(*args, **kwargs)
        shapes.append(tuple(out.shape))
        return out

    monkeypatch.setattr(torch.nn.functional, "conv_transpose2d", recording)
    layer = keras.layers.Conv2DTranspose(8, 5, strides=2, padding="same")
    out = layer(np.zeros((2, 7, 7, 16), "float32"))
    assert tuple(out.shape) == (2, 14, 14, 8)
    assert shapes == [(2, 8, 14, 14)]
