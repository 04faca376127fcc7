"""Shared test set-up: quiet logs, fixed seeds, the active backend."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()


@pytest.fixture(autouse=True)
def _seeded():
    keras.utils.set_random_seed(0)
    np.random.seed(0)
    yield


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "backend_independent: the test exercises no Keras backend code (pure "
        "numpy/TensorFlow data or file code); it runs once, under the "
        "TensorFlow backend, instead of three times.",
    )


def pytest_collection_modifyitems(config, items):
    if BACKEND == "tensorflow":
        return
    skip = pytest.mark.skip(
        reason="backend-independent test; it runs in the KERAS_BACKEND=tensorflow pass"
    )
    for item in items:
        if "backend_independent" in item.keywords:
            item.add_marker(skip)
