"""`gankeras.hardware` reads CPU capabilities; mixed_bfloat16 trains on
torch whichever kernels the CPU gets (oneDNN on AVX-512/AMX CPUs, torch's
own fallback kernels on AVX2-only CPUs, forced here by turning oneDNN off).
"""

import contextlib

import keras
import numpy as np
import pytest

from gankeras import hardware
from tests.conftest import BACKEND

AVX2_EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B12
flags\t\t: fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma bmi2 sha_ni
"""
SAPPHIRE_RAPIDS = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: avx avx2 avx512f avx512dq avx512bw avx512vl avx512_bf16 amx_bf16 amx_tile
"""
SKYLAKE = "flags\t: avx avx2 avx512f avx512dq avx512bw avx512vl\n"
NEOVERSE_V1 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "cpuinfo, native, onednn",
    [
        (AVX2_EPYC, False, False),
        (SAPPHIRE_RAPIDS, True, True),
        (SKYLAKE, False, True),
        (NEOVERSE_V1, True, True),
        ("", False, False),
    ],
)
def test_bfloat16_capability_from_the_cpu_flags(cpuinfo, native, onednn):
    features = hardware.parse_cpuinfo(cpuinfo)
    assert hardware.native_bfloat16(features) is native
    assert hardware.onednn_bfloat16(features) is onednn
    assert ("no" not in hardware.describe(features).split(": ", 1)[1]) is native


@pytest.mark.backend_independent
def test_cpu_features_are_this_machines():
    with open("/proc/cpuinfo") as f:
        assert hardware.cpu_features() == hardware.parse_cpuinfo(f.read())


torch_only = pytest.mark.skipif(BACKEND != "torch", reason="torch's CPU convolution kernels")


@contextlib.contextmanager
def fallback_kernels(enabled):
    """torch's own CPU kernels instead of oneDNN's (what an AVX2-only CPU
    gets for bfloat16), when `enabled`."""
    import torch

    with torch.backends.mkldnn.flags(enabled=not enabled):
        yield


@torch_only
def test_torch_detects_its_bfloat16_kernels_by_capability():
    import torch

    from gankeras.backend import torch_trainer

    x = torch.zeros(2, 3, 8, 8, dtype=torch.bfloat16)
    k = torch.zeros(1, 3, 3, 3, dtype=torch.bfloat16)
    assert torch_trainer._torch_uses_native_conv(x, k) is (not hardware.onednn_bfloat16())
    with fallback_kernels(True):
        assert torch_trainer._torch_uses_native_conv(x, k)


def one_channel_conv_gradients(x, kernel):
    variable = keras.Variable(kernel)
    import torch

    inputs = torch.tensor(x, requires_grad=True)
    out = keras.ops.conv(inputs, variable.value, padding="same")
    grads = torch.autograd.grad((out * out).sum(), [inputs, variable.value])
    return [keras.ops.convert_to_numpy(v) for v in (out,) + grads]


@torch_only
def test_one_output_channel_conv_is_unchanged_on_the_fallback_kernels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6, 6, 5)).astype("float32")
    kernel = rng.normal(size=(3, 3, 5, 1)).astype("float32")
    expected = one_channel_conv_gradients(x, kernel)  # oneDNN (float32 is oneDNN everywhere)
    with fallback_kernels(True):
        received = one_channel_conv_gradients(x, kernel)
    for a, b in zip(expected, received):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.fixture
def mixed_bfloat16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@torch_only
@pytest.mark.parametrize("fallback", [False, True], ids=["this_cpu", "avx2_fallback"])
@pytest.mark.parametrize("architecture", ["dcgan", "wgan_gp"])
def test_mixed_bfloat16_trains_the_pipeline_networks(mixed_bfloat16, fallback, architecture):
    import gankeras
    from gankeras import architectures

    networks = architectures.build(
        architecture, image_shape=(28, 28, 1), latent_dim=4, base_filters=4
    )
    gan = gankeras.GAN(**networks)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(1e-3),
        g_optimizer=keras.optimizers.Adam(1e-3),
        gradient_penalty=10.0 if architecture == "wgan_gp" else 0.0,
    )
    assert gan.generator.compute_dtype == "bfloat16"
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    with fallback_kernels(fallback):
        history = gan.fit(images, batch_size=8, epochs=1, verbose=0).history
    assert int(gan.optimizer.iterations) == 2
    assert all(np.isfinite(v[0]) for v in history.values()), history


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "text, capabilities",
    [
        ("8.0\n9.0\n", ((8, 0), (9, 0))),
        ("7.5", ((7, 5),)),
        ("", ()),
        ("[N/A]\n8.6", ((8, 6),)),
    ],
)
def test_gpu_compute_capabilities_from_nvidia_smi(text, capabilities):
    assert hardware.parse_compute_capabilities(text) == capabilities


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "precision, cpuinfo, gpus, policy",
    [
        ("auto", AVX2_EPYC, (), "float32"),
        ("auto", SKYLAKE, (), "float32"),  # AVX-512 emulation is no native bf16
        ("auto", SAPPHIRE_RAPIDS, (), "mixed_bfloat16"),
        ("auto", NEOVERSE_V1, (), "mixed_bfloat16"),
        ("auto", "", (), "float32"),  # nothing known: nothing assumed
        ("auto", AVX2_EPYC, ((8, 0),), "mixed_bfloat16"),  # A100
        ("auto", AVX2_EPYC, ((9, 0), (9, 0)), "mixed_bfloat16"),  # H100s
        ("auto", SAPPHIRE_RAPIDS, ((7, 0),), "float32"),  # V100: the GPU decides
        ("auto", AVX2_EPYC, ((8, 0), (7, 5)), "float32"),  # a T4 among them
        ("float32", SAPPHIRE_RAPIDS, ((9, 0),), "float32"),
        ("mixed_bfloat16", AVX2_EPYC, (), "mixed_bfloat16"),
    ],
)
def test_auto_precision_resolves_from_the_hardware(precision, cpuinfo, gpus, policy):
    resolved, reason = hardware.resolve_precision(
        precision, features=hardware.parse_cpuinfo(cpuinfo), gpu_capabilities=gpus
    )
    assert resolved == policy
    assert reason and "\n" not in reason


@pytest.mark.backend_independent
def test_unknown_precision_names_the_choices():
    with pytest.raises(ValueError, match=r"auto.*float32.*mixed_bfloat16.*'float16'"):
        hardware.resolve_precision("float16")
