"""What the CPU can do, read from the machine, never assumed.

Machines of one kind differ: one x86 server has AMX-BF16, the next (an AMD
EPYC with AVX2 only) has no bfloat16 arithmetic at all. Defaults and
messages that depend on that (`mixed_bfloat16` speed, which kernels a
backend can use) ask this module.

- `cpu_features()`: the CPU's feature flags (`/proc/cpuinfo` on Linux).
- `native_bfloat16()`: whether the CPU computes in bfloat16 in hardware
  (x86 AMX-BF16 or AVX512-BF16, Arm BF16); only then is `mixed_bfloat16`
  faster than float32 on a CPU.
- `onednn_bfloat16()`: whether oneDNN (the CPU kernels of TensorFlow and
  PyTorch) has bfloat16 convolutions for this CPU: AVX-512 (BW, VL, DQ)
  or a native bfloat16 unit. Without them PyTorch falls back to its own,
  slow bfloat16 kernels.
- `gpu_compute_capabilities()`: the NVIDIA GPUs' compute capabilities
  (`nvidia-smi`), `gpu_bfloat16()`: whether they all have bfloat16 tensor
  cores (compute capability 8.0, Ampere, or later).
- `resolve_precision("auto")`: `mixed_bfloat16` where bfloat16 is computed
  natively (such GPUs, or a CPU with native bfloat16), else `float32`,
  with the reason in words.

Example:

```python
from gankeras import hardware
if not hardware.native_bfloat16():
    print("mixed_bfloat16 will be slower than float32 here:",
          hardware.describe())
```
"""

import functools
import platform
import shutil
import subprocess

_CPUINFO = "/proc/cpuinfo"

#: Flags that mean bfloat16 arithmetic in hardware (x86 / Arm spellings).
NATIVE_BFLOAT16_FLAGS = ("amx_bf16", "avx512_bf16", "bf16")

#: x86 flags oneDNN needs for its bfloat16 kernels (emulated on AVX-512).
ONEDNN_BFLOAT16_FLAGS = ("avx512bw", "avx512vl", "avx512dq")


def parse_cpuinfo(text):
    """The feature flags in the text of a `/proc/cpuinfo`.

    Reads the first `flags` (x86) or `Features` (Arm) line.

    Args:
        text: the file's contents.

    Returns:
        frozenset of lower-case flag names (empty if there is no such line).
    """
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return frozenset(value.lower().split())
    return frozenset()


@functools.cache
def cpu_features():
    """The CPU feature flags of this machine, e.g. `{"avx2", "amx_bf16"}`.

    Returns:
        frozenset of lower-case names; empty where they cannot be read
        (a non-Linux system), in which case nothing is assumed present.
    """
    try:
        with open(_CPUINFO) as f:
            return parse_cpuinfo(f.read())
    except OSError:
        return frozenset()


def native_bfloat16(features=None):
    """Whether the CPU has bfloat16 arithmetic in hardware.

    Args:
        features: flags to judge (default: `cpu_features()`).
    """
    features = cpu_features() if features is None else features
    return any(flag in features for flag in NATIVE_BFLOAT16_FLAGS)


def onednn_bfloat16(features=None):
    """Whether oneDNN has bfloat16 kernels for this CPU (AVX-512 BW/VL/DQ or
    native bfloat16). PyTorch runs bfloat16 convolutions through oneDNN only
    then (`torch.ops.mkldnn._is_mkldnn_bf16_supported()`)."""
    features = cpu_features() if features is None else features
    return native_bfloat16(features) or all(f in features for f in ONEDNN_BFLOAT16_FLAGS)


def describe(features=None):
    """One line for logs: the processor and its bfloat16 capability."""
    features = cpu_features() if features is None else features
    if native_bfloat16(features):
        kind = "native bfloat16 ({})".format(
            ", ".join(f for f in NATIVE_BFLOAT16_FLAGS if f in features)
        )
    elif onednn_bfloat16(features):
        kind = "no native bfloat16 (AVX-512 emulation only)"
    else:
        kind = "no bfloat16 hardware (no AMX-BF16, AVX512-BF16 or AVX-512)"
    return f"{platform.machine() or 'unknown CPU'}: {kind}"


#: The precisions `resolve_precision` accepts: "auto" or a Keras dtype policy.
PRECISIONS = ("auto", "float32", "mixed_bfloat16")

#: The first NVIDIA compute capability with bfloat16 tensor cores (Ampere).
GPU_BFLOAT16_CAPABILITY = (8, 0)


def parse_compute_capabilities(text):
    """Compute capabilities from `nvidia-smi --query-gpu=compute_cap
    --format=csv,noheader` output, e.g. `"8.0\n9.0"` -> `((8, 0), (9, 0))`.
    Lines that are not `major.minor` are ignored."""
    found = []
    for line in text.splitlines():
        major, dot, minor = line.strip().partition(".")
        if dot and major.isdigit() and minor.isdigit():
            found.append((int(major), int(minor)))
    return tuple(found)


@functools.cache
def gpu_compute_capabilities():
    """The compute capabilities of this machine's NVIDIA GPUs, e.g.
    `((9, 0),)` for one H100; `()` without GPUs or without `nvidia-smi`
    (nothing is assumed). Asks the driver, not a Keras backend, so it
    needs no framework import and answers the same on every backend."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ()
    try:
        result = subprocess.run(
            [smi, "--query-gpu=compute_cap", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    return parse_compute_capabilities(result.stdout) if result.returncode == 0 else ()


def gpu_bfloat16(capabilities=None):
    """Whether there are GPUs and all of them compute bfloat16 natively
    (compute capability >= 8.0).

    Args:
        capabilities: `(major, minor)` tuples to judge (default:
            `gpu_compute_capabilities()`).
    """
    capabilities = gpu_compute_capabilities() if capabilities is None else capabilities
    return bool(capabilities) and all(tuple(c) >= GPU_BFLOAT16_CAPABILITY for c in capabilities)


def resolve_precision(precision, features=None, gpu_capabilities=None):
    """The Keras dtype policy a `--precision` names, and why.

    "auto" is `mixed_bfloat16` (bfloat16 compute, float32 weights and
    losses) where the hardware computes bfloat16 natively: NVIDIA GPUs of
    compute capability >= 8.0 (all of them, when there are GPUs), or else a
    CPU with AMX-BF16, AVX512-BF16 or Arm BF16; `float32` elsewhere, where
    bfloat16 is emulated and slower. "float32" and "mixed_bfloat16" are
    themselves.

    Args:
        precision: one of `PRECISIONS`.
        features: CPU flags to judge (default: `cpu_features()`).
        gpu_capabilities: GPU compute capabilities to judge (default:
            `gpu_compute_capabilities()`); `()` means no GPU.

    Returns:
        `(policy, reason)`: "float32" or "mixed_bfloat16", and one line.

    Raises:
        ValueError: for a precision not in `PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"Unknown precision: expected one of {list(PRECISIONS)}. Received: {precision!r}"
        )
    if precision != "auto":
        return precision, f"--precision={precision} was asked for"
    capabilities = gpu_compute_capabilities() if gpu_capabilities is None else gpu_capabilities
    capabilities = tuple(tuple(c) for c in capabilities)
    if capabilities:
        shown = ", ".join(f"{major}.{minor}" for major, minor in capabilities)
        if gpu_bfloat16(capabilities):
            return "mixed_bfloat16", f"GPU compute capability {shown} has bfloat16 tensor cores"
        return "float32", f"GPU compute capability {shown} < 8.0: no native bfloat16"
    if native_bfloat16(features):
        return "mixed_bfloat16", describe(features)
    return "float32", describe(features)
