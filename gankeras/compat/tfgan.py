"""Load tensorflow-gan (TF-GAN) 2.1.0 on TensorFlow >= 2.16.

TF-GAN's last release imports `tf.estimator` from two modules,
`tensorflow_gan.python.estimator` and `tensorflow_gan.python.train`, and
`tf.estimator` was removed in TensorFlow 2.16. Everything gankeras uses from
TF-GAN (losses, eval: FID/KID/classifier score/sliced Wasserstein, features:
tensor pool and spectral norm, `eval.image_grid`) never touches those two
modules. `load()` registers empty placeholder modules under their names before
importing TF-GAN, so the package imports; touching `tfgan.estimator` or a
training helper then raises a clear error instead of failing the whole import.

TF-GAN's `eval.inception_metrics` also imports `tensorflow_hub` (to download
Inception weights), and tensorflow-hub 0.16 imports `pkg_resources`, which
setuptools >= 81 no longer ships. When `tensorflow_hub` cannot import, a
placeholder takes its place too: gankeras computes its metrics on features of
its own classifier and never downloads Inception.

This is the only place in gankeras that knows about the workaround.

Example:

```python
from gankeras.compat import tfgan
tfgan_module = tfgan.load()
loss = tfgan_module.losses.wargs.modified_generator_loss(fake_logits)
```
"""

import importlib
import sys
import types

# The TF-GAN modules that need `tf.estimator`, which TF >= 2.16 no longer has.
_ESTIMATOR_MODULES = (
    "tensorflow_gan.python.estimator",
    "tensorflow_gan.python.train",
)


class _RemovedModule(types.ModuleType):
    """Stands in for a TF-GAN module that cannot import on this TensorFlow."""

    __all__ = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"`{self.__name__}.{name}` is unavailable: gankeras loads TF-GAN "
            "only for its losses, eval and features, and this module could "
            "not import here (TF-GAN's estimator/train modules need "
            "`tf.estimator`, removed in TensorFlow 2.16; tensorflow_hub needs "
            "`pkg_resources`). Train with `gankeras.GAN` instead."
        )


def load():
    """Imports and returns the `tensorflow_gan` module.

    Returns:
        The `tensorflow_gan` module with working `losses`, `eval` and
        `features`; its `estimator` and `train` members are placeholders.

    Raises:
        ImportError: if tensorflow-gan is not installed.
    """
    if "tensorflow_gan" in sys.modules:
        return sys.modules["tensorflow_gan"]
    try:
        import tensorflow as tf
    except ImportError as e:  # pragma: no cover - TF is a hard dependency.
        raise ImportError(
            "TF-GAN needs TensorFlow. Install it with `pip install tensorflow`."
        ) from e
    added = []
    if not hasattr(tf, "estimator"):
        for name in _ESTIMATOR_MODULES:
            if name not in sys.modules:
                sys.modules[name] = _RemovedModule(name)
                added.append(name)
    if "tensorflow_hub" not in sys.modules:
        try:
            importlib.import_module("tensorflow_hub")
        except ImportError:
            sys.modules["tensorflow_hub"] = _RemovedModule("tensorflow_hub")
            added.append("tensorflow_hub")
    try:
        return importlib.import_module("tensorflow_gan")
    except ImportError as e:
        for name in added:
            sys.modules.pop(name, None)
        raise ImportError(
            "Could not import tensorflow-gan. Install it with "
            "`pip install tensorflow-gan` (gankeras's setup does this). "
            f"Underlying error: {e}"
        ) from e
