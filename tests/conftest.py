"""Shared test set-up: quiet logs, fixed seeds, the active backend."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

BACKEND = keras.backend.backend()

# Tests run tiny models, often in parallel pytest-xdist workers: each worker
# gets its share of this machine's cores (1 per worker with `-n 2` on 2
# cores; more on a bigger machine), so workers do not contend for cores.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
THREADS = max(1, CORES // max(1, WORKERS))
if BACKEND == "torch":
    import torch

    torch.set_num_threads(THREADS)
elif BACKEND == "tensorflow":
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(THREADS)
    except RuntimeError:  # TensorFlow already initialised its thread pools.
        pass


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
