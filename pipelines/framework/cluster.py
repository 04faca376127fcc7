"""The pipeline on several workers (`--strategy=multi_worker`, TensorFlow).

Every worker runs the same command with its own `TF_CONFIG`. The chief
(task type "chief", else worker 0) runs the pipeline as on one machine:
locks, ExampleGen, Trainer, Evaluator, Pusher, execution records, all under
`--pipeline_root`, which must be a path every worker reads (a shared file
system, docs/distribution.md). The other workers run only the Trainer, in
lockstep with the chief:

1. `join`: every worker creates `MultiWorkerMirroredStrategy` first (it
   waits for the others at most `STARTUP_TIMEOUT` s) with the failure
   detection below.
2. The chief's runner (`ChiefRunner`), when it is about to run the Trainer,
   sends the other workers what to run (the Trainer's parameters, the URIs
   of its input and output artifacts) over the cluster's collectives; or,
   when the Trainer is cached or the chief failed before it, that there is
   nothing to train.
3. `follow` (the other workers) copies the chief's model directory (its
   checkpoints: a rerun resumes from the chief's last checkpoint on every
   worker) into a temporary directory, runs the same Trainer executor there
   (every worker must run the same steps, saves included: they are
   collectives) and removes the directory. It never writes under the
   pipeline root; it neither evaluates nor pushes. A killed worker cannot
   remove its directory: the next run on that machine does
   (`remove_stale_directories`).

A lost worker: TensorFlow's coordination service (leader in the chief)
reports a worker whose heartbeats stopped for `HEARTBEAT_TIMEOUT` s to the
others, whose collectives then fail, so a worker blocked in an all-reduce
with a dead peer fails within a bounded time (tens of seconds) with an
`error:` naming the lost worker (`lost_worker_error`), and the chief's
Trainer execution is recorded as failed. Rerunning the command on every
worker resumes.

JAX (`keras.distribution` multi-process) is refused for the pipeline (a clear
`PipelineError`): its collectives, failure detection and the "create the
cluster before anything runs" rule differ, and only the TensorFlow path is
tested here; `examples/train_multiworker.py` trains on JAX clusters.
"""

import contextlib
import dataclasses
import json
import os
import re
import shutil
import tempfile

from pipelines.framework.artifact import Artifact
from pipelines.framework.errors import PipelineError
from pipelines.framework.parameters import Parameters, serialize, with_values
from pipelines.framework.runner import LocalRunner

# Components that run on every worker (the others run on the chief only).
ON_EVERY_WORKER = ("Trainer",)
STARTUP_TIMEOUT = 600.0  # s every worker waits for the others to start
# s without a worker's heartbeats before the others fail (TensorFlow's
# coordination service; its default is 10 s).
HEARTBEAT_TIMEOUT = 10.0
# s a worker waits for the chief to reach the Trainer (ExampleGen first);
# a dead chief is noticed by its missing heartbeats long before.
HANDOFF_TIMEOUT = 24 * 3600.0
TEMP_PREFIX = "gankeras-pipeline-worker-"


@dataclasses.dataclass(frozen=True)
class Role:
    """This process in the cluster.

    Attributes:
        index: its position among the workers (the chief task first);
            count: the number of workers.
        chief: whether it writes (and evaluates, and pushes).
        strategy: the `tf.distribute` strategy every worker created.
        job, task: its `TF_CONFIG` task type and index.
    """

    index: int
    count: int
    chief: bool
    strategy: object
    job: str = "worker"
    task: int = 0


def join(config):
    """For `--strategy=multi_worker`: this process's `Role` in the cluster
    of `TF_CONFIG`, once every worker has started; None for other
    strategies. Call it before TensorFlow runs anything.

    Raises:
        PipelineError: not the TensorFlow backend, no or a bad `TF_CONFIG`,
            or the other workers did not start within `STARTUP_TIMEOUT`.
    """
    if config.strategy != "multi_worker":
        return None
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise PipelineError(
            f"--strategy=multi_worker runs the pipeline on TensorFlow only "
            f"(KERAS_BACKEND=tensorflow, MultiWorkerMirroredStrategy from TF_CONFIG). "
            f"Received: KERAS_BACKEND={backend}. On a JAX cluster, train with "
            "examples/train_multiworker.py and evaluate and push on one machine; "
            "see docs/distribution.md."
        )
    text = os.environ.get("TF_CONFIG")
    index, count, chief = read_tf_config(text)
    task = json.loads(text)["task"]
    from gankeras import distribute

    distribute.configure_failure_detection(
        heartbeat_timeout=HEARTBEAT_TIMEOUT, startup_timeout=STARTUP_TIMEOUT
    )
    try:
        strategy = distribute.get_strategy("multi_worker")
    except (RuntimeError, tf_errors()) as error:
        raise PipelineError(
            f"--strategy=multi_worker: the {count} workers of TF_CONFIG did not all start "
            f"within {STARTUP_TIMEOUT:.0f} s ({error}). Start the same command on every "
            "worker, each with its own TF_CONFIG task index."
        ) from error
    return Role(index, count, chief, strategy, job=task["type"], task=int(task["index"]))


def read_tf_config(text):
    """`(index, count, chief)` of this task in the `TF_CONFIG` JSON `text`.

    The chief is the task of type "chief", else worker 0. Raises
    `PipelineError` for a missing or malformed `TF_CONFIG`.
    """
    example = (
        '{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
        '"task": {"type": "worker", "index": 0}}'
    )
    if not text:
        raise PipelineError(
            "--strategy=multi_worker found no cluster: set TF_CONFIG on every worker, e.g. "
            f"{example} (the same cluster, each its own index; docs/distribution.md). "
            "On one machine use --strategy=mirrored."
        )
    try:
        spec = json.loads(text)
        cluster, task = spec["cluster"], spec["task"]
        kind, index = task["type"], int(task["index"])
        counts = {job: len(cluster[job]) for job in ("chief", "worker") if job in cluster}
        if kind not in counts or not 0 <= index < counts[kind]:
            raise ValueError(f"task {kind}:{index} is not in the cluster")
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise PipelineError(
            f"Bad TF_CONFIG for --strategy=multi_worker ({error}): expected JSON like "
            f"{example} with a task of type 'chief' or 'worker' in the cluster. "
            f"Received: {text!r}"
        ) from None
    chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in counts)
    position = index if kind == "chief" else counts.get("chief", 0) + index
    return position, sum(counts.values()), chief


# ----------------------------------------------------------------------
# Where every worker reads and the chief writes
# ----------------------------------------------------------------------
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def check_posix_paths(config):
    """`--pipeline_root` and `--serving_dir` must be file-system paths.

    The pipeline writes with POSIX file operations: atomic `os.replace`
    renames (records, checkpoints, versions), `fcntl.flock` locks, listing
    and `os.path`. An object-store URL (`gs://`, `s3://`, `hdfs://`,
    `ram://`, ...) has none of them, and `os.path.abspath` would turn it into
    a local folder (`gs://b/run` -> `./gs:/b/run`), silently. Raises
    `PipelineError` before anything is written.
    """
    for flag, value in (
        ("pipeline_root", config.pipeline_root),
        ("serving_dir", config.serving_dir),
    ):
        if value and _URL.match(str(value)):
            scheme = str(value).split("://", 1)[0]
            raise PipelineError(
                f"Bad --{flag}: expected a file-system path (a local disk, or on a cluster "
                "a shared POSIX file system mounted at the same path on every worker: NFS, "
                "Filestore, EFS, CephFS, or a bucket mounted with gcsfuse / mountpoint-s3). "
                f"Received: {value!r}, a {scheme}:// URL. The pipeline renames files "
                "atomically and locks them, which object stores do not do; "
                "docs/distribution.md says which schemes work where."
            )


# ----------------------------------------------------------------------
# The chief
# ----------------------------------------------------------------------
def make_runner(role, pipeline_root, log=print):
    """The runner of this process: `LocalRunner`, or `ChiefRunner` on the
    chief of a multi-worker run."""
    if role is None:
        return LocalRunner(pipeline_root, log=log)
    return ChiefRunner(pipeline_root, role, log=log)


class ChiefRunner(LocalRunner):
    """`LocalRunner` that runs `ON_EVERY_WORKER` components in lockstep with
    the other workers: just before one runs, it sends them its executor's
    arguments (`follow` runs the same); when it is reused from the cache,
    or the run fails before it, it tells them there is nothing to run."""

    def __init__(self, pipeline_root, role, log=print):
        super().__init__(pipeline_root, log=log)
        self.role = role
        self._told = False

    def run(self, components):
        for component in components:
            if component.name in ON_EVERY_WORKER:
                component.executor = self._shared(component.name, component.executor)
        try:
            records = super().run(components)
        except BaseException as error:
            with contextlib.suppress(Exception):  # the error to report is `error`
                self._tell({"run": None, "failed": f"{type(error).__name__}: {error}"})
            raise
        self._tell({"run": None, "reason": "the chief had nothing to train"})
        return records

    def _reuse(self, component, previous, key):
        record = super()._reuse(component, previous, key)
        if component.name in ON_EVERY_WORKER:
            self._tell(
                {
                    "run": None,
                    "reason": f"the chief reuses the cached {component.name} run "
                    f"{previous['run_id']}: nothing to train",
                }
            )
        return record

    def _shared(self, name, executor):
        def run_on_every_worker(inputs, outputs, parameters):
            self._tell(
                {
                    "run": name,
                    "inputs": {k: dataclasses.asdict(a) for k, a in inputs.items()},
                    "outputs": {k: a.uri for k, a in outputs.items()},
                    "parameters": serialize(parameters),
                }
            )
            with lost_worker_error(self.role, outputs):
                return executor(inputs, outputs, parameters)

        return run_on_every_worker

    def _tell(self, message):
        if self._told:
            return
        self._told = True
        with lost_worker_error(self.role):
            broadcast(self.role, message)


# ----------------------------------------------------------------------
# The other workers
# ----------------------------------------------------------------------
def follow(role, components, log=print):
    """The run of a worker that is not the chief: waits for the chief's
    message, runs the component it names (from `components`, this
    process's own, built from the same flags) in a temporary directory
    seeded with the chief's model directory, removes the directory.

    Returns:
        `{"worker": {...}}`: this worker's index, what it ran and the
        executor's result (see `summary`).
    """
    removed = remove_stale_directories()
    if removed:
        log(f"removed the temporary directories of killed workers: {', '.join(removed)}")
    log(f"worker {role.index} of {role.count}: waiting for the chief")
    with lost_worker_error(role):
        message = broadcast(role, None, timeout=HANDOFF_TIMEOUT)
    worker = {"index": role.index, "count": role.count, "ran": message["run"]}
    if message.get("failed"):
        raise PipelineError(
            f"The chief's run failed before training, so this worker ({role.index} of "
            f"{role.count}) stops: {message['failed']}"
        )
    if message["run"] is None:
        log(f"worker {role.index}: {message['reason']}")
        return {"worker": dict(worker, reason=message["reason"])}
    (component,) = [c for c in components if c.name == message["run"]]
    temp = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-")
    try:
        inputs = {k: Artifact(**a) for k, a in message["inputs"].items()}
        outputs = {}
        for name, uri in message["outputs"].items():
            local = os.path.join(temp, name)
            if os.path.isdir(uri):  # what the chief resumes from
                shutil.copytree(uri, local, symlinks=True)
            os.makedirs(local, exist_ok=True)
            outputs[name] = Artifact(component.name, name, local, f"worker:{name}", "worker")
        log(f"worker {role.index}: running {component.name} with the chief in {temp}")
        parameters = message["parameters"]
        if isinstance(component.parameters, Parameters):
            parameters = type(component.parameters).from_json(parameters, where="the chief")
        parameters = with_values(parameters, {"verbose": 0})
        with lost_worker_error(role, outputs):
            result = component.executor(inputs, outputs, parameters)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    log(f"worker {role.index}: {component.name} done; removed {temp}")
    return {"worker": dict(worker, result=result or {})}


def is_worker_result(records):
    """Whether `records` is what `follow` returned."""
    return isinstance(records, dict) and set(records) == {"worker"}


def summary(records):
    """The console summary of `follow`'s result."""
    worker = records["worker"]
    lines = ["", "=== Pipeline summary (worker) ==="]
    lines.append(f"worker {worker['index']} of {worker['count']} (not the chief): wrote nothing")
    if worker["ran"] is None:
        lines.append(f"ran nothing: {worker['reason']}")
    else:
        result = worker["result"]
        metrics = result.get("final_metrics") or {}
        lines.append(
            f"ran {worker['ran']} with the chief: {result.get('epochs')} epochs, "
            f"resumed from epoch {result.get('resumed_from_epoch')}"
        )
        if metrics:
            lines.append(
                "train:       " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items()))
            )
        lines.append("the chief evaluates, pushes and holds the records")
    return "\n".join(lines)


def remove_stale_directories(root=None):
    """Removes this machine's worker temporary directories whose process
    is gone (a killed worker's); returns their paths."""
    root = root or tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(root)
    except OSError:
        return removed
    for name in names:
        match = re.fullmatch(rf"{re.escape(TEMP_PREFIX)}(\d+)-.*", name)
        if match and not _alive(int(match.group(1))):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            removed.append(os.path.join(root, name))
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----------------------------------------------------------------------
# Collectives
# ----------------------------------------------------------------------
def broadcast(role, message, timeout=None):
    """The chief's JSON-able `message`, on every worker (the chief passes
    it, the others None): two all-reduce sums over the cluster (the length,
    then the bytes; the others add zeros). Every worker must call it, the
    same number of times. `timeout`: seconds to wait (None: no limit)."""
    import numpy as np

    data = np.zeros(0, np.float32)
    if role.chief:
        data = np.frombuffer(json.dumps(message).encode(), np.uint8).astype(np.float32)
    (length,) = _sum(role.strategy, np.array([data.size], np.float32), timeout)
    padded = np.zeros(int(length), np.float32)
    padded[: data.size] = data
    received = _sum(role.strategy, padded, timeout)
    return json.loads(received.astype(np.uint8).tobytes().decode())


def _sum(strategy, array, timeout):
    """Sum of `array` (float32; every worker the same shape) over the
    workers. Bytes and lengths below 2**24 are exact in float32."""
    import tensorflow as tf

    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    value = tf.constant(array)
    reduced = strategy.extended.reduce_to(
        tf.distribute.ReduceOp.SUM, value, destinations=value, options=options
    )
    return reduced.numpy()


def tf_errors():
    import tensorflow as tf

    return tf.errors.OpError


# TensorFlow's words for a collective that lost a peer (missed heartbeats,
# a reset connection, a timeout), and how it names tasks.
_LOST = re.compile(
    r"unhealthy|heartbeat|is down|aborted|Deadline|unavailable|Connection reset|Socket closed",
    re.IGNORECASE,
)
_TASK = re.compile(r"/job:(\w+)/(?:replica:\d+/)?task:(\d+)")


def _lost_task(text, own):
    """The first task named in TensorFlow's error `text` that is not this
    one (`own`: `(job, index)`), as "worker 1"; None if none is named."""
    for job, index in _TASK.findall(text):
        if (job, int(index)) != own:
            return f"{job} {index}"
    return None


@contextlib.contextmanager
def lost_worker_error(role, outputs=None):
    """Turns TensorFlow's errors for a lost worker (a failed health check,
    an aborted or timed-out collective) into a `PipelineError` that says
    which worker and what to do."""
    import tensorflow as tf

    try:
        yield
    except tf.errors.OpError as error:
        lost = isinstance(error, (tf.errors.UnavailableError, tf.errors.DeadlineExceededError))
        if not (lost or _LOST.search(str(error))):
            raise
        text = str(error)
        who = _lost_task(text, (role.job, role.task)) or "another worker"
        where = ""
        if role.chief and outputs and "model" in outputs:
            where = f" ({outputs['model'].path('checkpoints')})"
        raise PipelineError(
            f"The cluster lost {who}: it stopped answering (its process ended or its "
            "machine is unreachable), so this "
            f"worker ({role.index} of {role.count}) cannot continue "
            f"({type(error).__name__}: {' '.join(text.split())[-400:]}). Start the same "
            "command on every worker again: the Trainer resumes from the chief's last "
            f"checkpoint{where}."
        ) from None
