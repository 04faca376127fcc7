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
