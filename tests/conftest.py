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
    config.addinivalue_line(
        "markers",
        "tensorflow_pass(covered_by): an end-to-end pipeline test of wiring "
        "(flags -> components -> files) whose backend-specific behaviour is "
        "tested on every backend in `covered_by`; it runs in the TensorFlow "
        "pass only, to keep the three-backend suite within CI's time.",
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
        marker = item.get_closest_marker("tensorflow_pass")
        if marker is not None:
            covered_by = marker.kwargs.get("covered_by") or (marker.args and marker.args[0])
            if not covered_by:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.tensorflow_pass needs covered_by=... "
                    "(the test file that covers its backend-specific part on every backend)"
                )
            item.add_marker(
                pytest.mark.skip(
                    reason=f"pipeline wiring, run in the TensorFlow pass; {covered_by} "
                    f"covers it on {BACKEND}"
                )
            )
