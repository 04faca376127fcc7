"""Multi-worker training: two processes on loopback train what one does.

`strategy_scope("multi_worker")` runs on the engine of the active backend:
TensorFlow's `MultiWorkerMirroredStrategy` (cluster from `TF_CONFIG`, ring
all-reduces over gRPC) and JAX's `keras.distribution.initialize` +
`DataParallel` (gloo collectives on CPU). The cluster is two worker processes
on 127.0.0.1 with free ports and one CPU device each
(`tests/multiworker_cluster.py`); each worker (`tests/multiworker_step.py`)
compares two multi-worker steps of a conditional WGAN-GP with `d_steps=2`, a
replay pool and EMA with the single-process steps on the same global batches,
from the same initial weights, once per augmentation of D's inputs (ADA with
its adapted p, DiffAugment; `tests.multiworker_step.CASES`), in one cluster
start-up. The cluster has a hard deadline and every
worker's process group is killed when the fixture is done, whatever happened.
"""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from tests.multiworker_cluster import (
    ClusterError,
    base_environment,
    cluster_environments,
    python_module,
    run_cluster,
)
from tests.multiworker_step import CASES, GLOBAL_BATCH, SCENARIO, STEPS

BACKEND = keras.backend.backend()
TOLERANCE = 2e-5  # as tests/test_distribution.py: float summation order only
# seconds; one augmentation case took 30-140 s on 2 shared cores, both cases
# 130 s (TensorFlow) and over 300 s (JAX) at a load average of 15-20.
CLUSTER_DEADLINE = 600
ENGINES = {
    "tensorflow": "TensorFlow's MultiWorkerMirroredStrategy",
    "jax": "JAX's jax.distributed + keras.distribution.DataParallel",
}
jax_only = pytest.mark.skipif(
    BACKEND != "jax",
    reason="tests JAX's jax.distributed engine; runs in the KERAS_BACKEND=jax pass",
)
torch_only = pytest.mark.skipif(
    BACKEND != "torch",
    reason="tests the torch backend's refusal; runs in the KERAS_BACKEND=torch pass",
)


# ----------------------------------------------------------------------
# Two workers, one global batch
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The states the two workers and the single-process reference saved,
    per augmentation case (`tests.multiworker_step.CASES`): `case ->
    {"initial", "single", 0, 1} -> name -> array` (see
    `tests.multiworker_step._state`), and `"info"`: each worker's report."""
    if BACKEND not in ENGINES:
        pytest.skip(
            f"tests the multi-worker engines of TensorFlow and JAX; Keras's "
            f"{BACKEND} backend has no multi-worker fit"
        )
    folder = tmp_path_factory.mktemp("cluster")
    run_cluster(
        [python_module("tests.multiworker_step", folder)] * 2,
        cluster_environments(BACKEND, 2),
        str(folder),
        timeout=CLUSTER_DEADLINE,
    )
    states = {
        case: {
            key: dict(np.load(folder / f"{name}-{case}.npz"))
            for key, name in (
                ("initial", "initial"),
                ("single", "single"),
                (0, "worker0"),
                (1, "worker1"),
            )
        }
        for case in CASES
    }
    states["info"] = [json.loads((folder / f"worker{i}.json").read_text()) for i in range(2)]
    if BACKEND == "tensorflow":
        states["file_rows"] = [np.load(folder / f"file-rows{i}.npy") for i in range(2)]
    for i, info in enumerate(states["info"]):
        assert info["worker"] == i
        assert info["backend"] == BACKEND  # the workers ran this engine
        assert info["num_workers"] == 2 and info["num_replicas"] == 2
    return states


def _largest_difference(state_a, state_b, prefix):
    """Largest elementwise difference between the arrays named `prefix...`
    of two states (which must hold the same names)."""
    names = sorted(n for n in state_a if n.startswith(prefix))
    assert names and names == sorted(n for n in state_b if n.startswith(prefix))
    return max(
        float(np.max(np.abs(state_a[n].astype("float64") - state_b[n]), initial=0.0)) for n in names
    )


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("worker", [0, 1])
def test_multi_worker_step_matches_single_process_step(cluster, case, worker):
    run = cluster[case]
    single, state = run["single"], run[worker]
    # The weights moved, so equal weights mean equal (all-reduced) updates.
    assert _largest_difference(run["initial"], single, "weight/") > 1e-3
    worst = max(
        (n for n in single if n.startswith("weight/")),
        key=lambda n: np.max(np.abs(single[n] - state[n]), initial=0.0),
    )
    path = cluster["info"][worker]["weight_paths"][case][int(worst.split("/")[1])]
    assert _largest_difference(single, state, "weight/") < TOLERANCE, path
    # Both optimizers' slots and iteration counts, and the EMA slots.
    assert _largest_difference(single, state, "optimizer/") < TOLERANCE


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("worker", [0, 1])
def test_multi_worker_metrics_are_global_batch_means(cluster, case, worker):
    run = cluster[case]
    assert "log/gradient_penalty" in run[worker]
    assert _largest_difference(run["single"], run[worker], "log/") < TOLERANCE


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("worker", [0, 1])
def test_multi_worker_replay_pool_and_ema_match_single_process(cluster, case, worker):
    run = cluster[case]
    state = run[worker]
    # Every fake of every critic step written once into the pool.
    assert int(state["pool/count"]) == GLOBAL_BATCH * STEPS * SCENARIO[1]["d_steps"]
    assert _largest_difference(run["single"], state, "pool/") < TOLERANCE
    assert _largest_difference(run["single"], state, "ema/") < TOLERANCE


@pytest.mark.parametrize("worker", [0, 1])
def test_multi_worker_ada_p_follows_the_global_real_logits(cluster, worker):
    run = cluster["ada"]
    # Logged p and r_t after the last critic step, as one process adapts them
    # from the whole batch's logits (all-gathered), on every worker.
    for name in ("log/augment_p", "log/augment_rt"):
        assert abs(float(run[worker][name]) - float(run["single"][name])) < TOLERANCE, name
    p = float(run["single"]["log/augment_p"])
    # interval 1, two critic steps per batch, two batches: 4 moves of 8/80.
    assert p != 0.5 and p in [pytest.approx(0.5 + k * 0.1, abs=1e-6) for k in range(-4, 5)]


def _rows(values, worker):
    local = GLOBAL_BATCH // 2
    return values[worker * local : (worker + 1) * local]


@pytest.mark.parametrize("case", CASES)
def test_workers_draw_their_own_rows_of_the_single_process_draw(cluster, case):
    run = cluster[case]
    single = run["single"]["latents"]
    assert single.shape == (GLOBAL_BATCH, 4)
    for worker in (0, 1):
        np.testing.assert_allclose(run[worker]["latents"], _rows(single, worker), atol=TOLERANCE)
    first, second = run[0]["latents"], run[1]["latents"]
    assert np.min(np.abs(first - second)) > 0.0  # not one batch twice


@pytest.mark.parametrize("case", CASES)
def test_workers_augment_with_their_own_rows_of_the_single_process_draw(cluster, case):
    run = cluster[case]
    names = sorted(n for n in run["single"] if n.startswith("draw/"))
    assert len(names) >= 3, names  # several transforms' parameters
    for name in names:
        single = run["single"][name]
        assert single.shape[0] == GLOBAL_BATCH, name
        for worker in (0, 1):
            np.testing.assert_allclose(
                run[worker][name].astype("float64"), _rows(single, worker), atol=TOLERANCE
            )
    # The workers' continuous draws differ (not one augmentation twice).
    continuous = [n for n in names if run["single"][n].dtype.kind == "f"]
    assert continuous, names
    for name in continuous:
        assert not np.array_equal(run[0][name], run[1][name]), name


@pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.distribute's dataset sharding")
def test_workers_take_their_rows_of_a_dataset_read_from_a_file(cluster):
    # Not file by file (TensorFlow's AUTO policy): the pipeline's data is
    # TFRecord shards, fewer than the workers here.
    x = np.random.RandomState(0).uniform(-1, 1, (GLOBAL_BATCH * STEPS, 4, 4, 1)).astype("float32")
    for worker in (0, 1):
        np.testing.assert_array_equal(cluster["file_rows"][worker], _rows(x[:GLOBAL_BATCH], worker))


# ----------------------------------------------------------------------
# Clear errors
# ----------------------------------------------------------------------
@jax_only
def test_jax_multi_worker_without_a_cluster_names_the_variables():
    env = base_environment("jax")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "from gankeras.distribute import get_strategy\n"
                "try:\n"
                "    get_strategy('multi_worker')\n"
                "except ValueError as error:\n"
                "    print('error:', error)\n"
            ),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    message = result.stdout
    assert "error: strategy='multi_worker' on the JAX backend found no cluster" in message
    for variable in (
        "KERAS_DISTRIBUTION_JOB_ADDRESSES",
        "KERAS_DISTRIBUTION_NUM_PROCESSES",
        "KERAS_DISTRIBUTION_PROCESS_ID",
    ):
        assert variable in message
    assert "strategy='mirrored'" in message


@jax_only
def test_jax_multi_worker_after_a_computation_says_to_create_it_first(monkeypatch):
    from gankeras.distribute import get_strategy

    for name in (
        "KERAS_DISTRIBUTION_JOB_ADDRESSES",
        "KERAS_DISTRIBUTION_NUM_PROCESSES",
        "KERAS_DISTRIBUTION_PROCESS_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    keras.ops.convert_to_numpy(keras.ops.ones((1,)) + 1)  # JAX has run something
    with pytest.raises(ValueError, match="must be created before JAX runs anything"):
        get_strategy("multi_worker")


@torch_only
def test_multi_worker_on_torch_says_what_to_use_instead():
    from gankeras.distribute import get_strategy

    with pytest.raises(ValueError) as raised:
        get_strategy("multi_worker")
    message = str(raised.value)
    assert "KERAS_BACKEND=tensorflow" in message and "KERAS_BACKEND=jax" in message
    assert "docs/distribution.md" in message


# ----------------------------------------------------------------------
# The harness never leaves a worker behind
# ----------------------------------------------------------------------
# A worker that starts a child (as TF and JAX start helper processes) and
# then blocks, printing the child's id.
_BLOCKING_WORKER = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "print('child', child.pid, flush=True)\n"
    "time.sleep(600)\n"
)


def _running(pid):
    """Whether `pid` is a live (not zombie) process of `_BLOCKING_WORKER`
    (its command line holds `sleep(600)`; a pid the kernel reused for
    someone else's process does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z" and b"sleep(600)" in command


def _assert_ended(pids, within=10.0):
    """Every pid ends within `within` seconds (SIGKILL is delivered
    asynchronously: a killed grandchild may take a moment to exit)."""
    deadline = time.monotonic() + within
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _running(pid)]


def _children(logs):
    pids = []
    for log in logs:
        for line in log.splitlines():
            if line.startswith("child "):
                pids.append(int(line.split()[1]))
    return pids


@pytest.mark.backend_independent
def test_cluster_kills_every_process_group_past_the_deadline(tmp_path):
    argv = [sys.executable, "-c", _BLOCKING_WORKER]
    started = time.monotonic()
    with pytest.raises(ClusterError, match="deadline") as raised:
        run_cluster([argv, argv], [dict(os.environ)] * 2, str(tmp_path), timeout=5)
    assert time.monotonic() - started < 30
    children = _children(raised.value.logs)
    assert len(children) == 2  # the workers got as far as starting them
    _assert_ended(raised.value.pids + children)


@pytest.mark.backend_independent
def test_cluster_ends_the_other_workers_when_one_fails(tmp_path):
    blocking = [sys.executable, "-c", _BLOCKING_WORKER]
    failing = [sys.executable, "-c", "import time; time.sleep(2); raise SystemExit(3)"]
    started = time.monotonic()
    with pytest.raises(ClusterError, match="a worker failed") as raised:
        run_cluster([blocking, failing], [dict(os.environ)] * 2, str(tmp_path), timeout=120)
    assert time.monotonic() - started < 60  # not the deadline
    assert "exit status 3" in str(raised.value)
    _assert_ended(raised.value.pids + _children(raised.value.logs))
