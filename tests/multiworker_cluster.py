"""Starts a cluster of worker processes on loopback, and always ends it.

Used by `tests/test_distribution_multiworker.py` and `bench/scaling.py`.
`cluster_environments` describes an N-process cluster to the active
backend's engine (TensorFlow: `TF_CONFIG` for `MultiWorkerMirroredStrategy`;
JAX: `KERAS_DISTRIBUTION_*` for `keras.distribution.initialize`), with one
CPU device per process and this checkout first on `PYTHONPATH`.
`run_cluster` starts one process per environment, each in its own process
group, waits at most `timeout` seconds, stops early when one worker fails
(its peers would block in a collective forever), and kills every process
group it started before returning or raising, whatever happened.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CLUSTER_VARIABLES = (
    "TF_CONFIG",
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


class ClusterError(RuntimeError):
    """A worker failed, or the cluster outlived its deadline.

    Attributes:
        pids: the worker processes' ids (all ended when this is raised).
        logs: each worker's stdout and stderr.
    """

    def __init__(self, message, pids=(), logs=()):
        super().__init__(message)
        self.pids = list(pids)
        self.logs = list(logs)


def free_ports(count):
    """`count` distinct TCP ports free on 127.0.0.1 right now (the sockets
    are held together, so the kernel hands out different ports)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def base_environment(backend, devices_per_process=1):
    """The parent's environment for a worker: `backend`, this checkout
    first on the path, CPU only, `devices_per_process` XLA host devices,
    no cluster variables inherited from the parent."""
    env = {k: v for k, v in os.environ.items() if k not in _CLUSTER_VARIABLES}
    env["KERAS_BACKEND"] = backend
    env["PYTHONPATH"] = os.pathsep.join(
        [ROOT] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["JAX_PLATFORMS"] = "cpu"
    flags = [
        f
        for f in env.get("XLA_FLAGS", "").split()
        if not f.startswith("--xla_force_host_platform_device_count")
    ]
    if devices_per_process > 1:
        flags.append(f"--xla_force_host_platform_device_count={devices_per_process}")
    env["XLA_FLAGS"] = " ".join(flags)
    return env


def cluster_environments(backend, num_workers):
    """One environment per worker of a `num_workers`-process cluster on
    127.0.0.1 for `backend` ("tensorflow" or "jax"); worker 0 is the chief
    (TF) / coordinator (JAX)."""
    if backend == "tensorflow":
        addresses = [f"127.0.0.1:{port}" for port in free_ports(num_workers)]
        cluster = {"worker": addresses}
        return [
            dict(
                base_environment(backend),
                TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
            )
            for i in range(num_workers)
        ]
    if backend == "jax":
        (port,) = free_ports(1)
        return [
            dict(
                base_environment(backend),
                KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
                KERAS_DISTRIBUTION_NUM_PROCESSES=str(num_workers),
                KERAS_DISTRIBUTION_PROCESS_ID=str(i),
            )
            for i in range(num_workers)
        ]
    raise ValueError(
        f"A multi-process cluster exists for 'tensorflow' and 'jax' only. "
        f"Received: backend={backend!r}"
    )


def run_cluster(argv_per_worker, environments, log_directory, timeout):
    """Runs `argv_per_worker[i]` with `environments[i]`, all at once.

    Args:
        argv_per_worker: one command (list of str) per worker.
        environments: one environment (dict) per worker.
        log_directory: existing folder; worker i's stdout and stderr go to
            `worker<i>.log` there (files, not pipes: a full pipe would block
            a worker).
        timeout: seconds the whole cluster may run.

    Returns:
        The logs' texts, when every worker exited with status 0.

    Raises:
        ClusterError: a worker exited non-zero (the others are killed at
            once), or the deadline passed (all are killed); the message holds
            every worker's status and the end of its log.
    """
    processes, logs, paths = [], [], []
    deadline = time.monotonic() + timeout
    try:
        for i, (argv, env) in enumerate(zip(argv_per_worker, environments, strict=True)):
            paths.append(os.path.join(log_directory, f"worker{i}.log"))
            logs.append(open(paths[-1], "w"))
            processes.append(
                subprocess.Popen(
                    argv,
                    env=env,
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=logs[-1],
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group
                )
            )
        problem = None
        while problem is None:
            codes = [p.poll() for p in processes]
            if any(code not in (None, 0) for code in codes):
                problem = "a worker failed"
            elif all(code == 0 for code in codes):
                break
            elif time.monotonic() > deadline:
                problem = f"the cluster ran past its {timeout:.0f} s deadline"
            else:
                time.sleep(0.2)
    finally:
        for process in processes:
            kill_group(process)
        for log in logs:
            log.close()
    texts = []
    for path in paths:
        with open(path) as f:
            texts.append(f.read())
    if problem is not None:
        report = "\n".join(
            f"--- worker {i}: exit status {p.returncode}\n{text[-3000:]}"
            for i, (p, text) in enumerate(zip(processes, texts))
        )
        raise ClusterError(f"{problem}:\n{report}", [p.pid for p in processes], texts)
    return texts


def kill_group(process):
    """SIGKILLs the process group of `process` (it and its children) unless
    it already exited, and reaps it."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable
        pass
    else:
        # Children the worker left behind in its group.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def python_module(module, *args):
    """The argv that runs `python -m module args...` with this interpreter."""
    return [sys.executable, "-m", module, *map(str, args)]
