"""`LocalRunner`: runs components in order with execution records and caching.

Execution record (`<root>/<Component>/executions/<run_id>.json`):

```
{"component": "Trainer", "run_id": "20261126-111500-3f2a9c1e",
 "cache_key": "3f2a9c1e...", "status": "complete" | "running" | "failed",
 "parameters": {...the component's Parameters.to_json()...},
 "inputs": {"examples": "<uri>"},
 "outputs": {"model": "<uri>"}, "result": {...metrics...},
 "code_version": "0.1.0+<digest of gankeras/ and pipelines/>",
 "environment": {"keras_backend": "jax", ...}, "pid": 1234,
 "started": "...", "finished": "...", "seconds": 12.3,
 "cached_from": null | "<run_id>", "error": "<on failure>"}
```

The cache key covers the component name, its (resolved) parameters (every
serialized field: `pipelines.framework.parameters`), the
fingerprints of its inputs, the code of every `.py` file under `gankeras/`
and `pipelines/`, and the environment (Keras backend and versions).
"""

import contextlib
import dataclasses
import datetime
import errno
import functools
import hashlib
import json
import os
import time

from pipelines.framework.artifact import Artifact
from pipelines.framework.errors import PipelineError
from pipelines.framework.parameters import Parameters, serialize, with_values


@dataclasses.dataclass
class ExecutionRecord:
    """What one component execution did (the JSON above, as an object)."""

    component: str
    run_id: str
    cache_key: str
    status: str
    cached: bool
    outputs: dict  # name -> Artifact
    result: dict
    record_path: str
    seconds: float
    # The execution's parameters (a `Parameters` record, or a dict); for a
    # reused execution read back from its record (`RUNTIME` fields at their
    # defaults).
    parameters: object = None


# The packages whose code decides what an execution produces: every `.py`
# file under them is part of every cache key.
CODE_PACKAGES = ("gankeras", "pipelines")
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def source_digest(roots):
    """sha256 over every `.py` file under the directories `roots`: each
    file's path (relative to its root's parent) and content, sorted by path.

    Args:
        roots: directories, e.g. the `gankeras/` and `pipelines/` packages.

    Returns:
        hex digest; any edit, added or removed file changes it.
    """
    files = []
    for root in roots:
        root = os.path.abspath(root)
        base = os.path.dirname(root)
        for directory, subdirs, names in os.walk(root):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            for name in names:
                if name.endswith(".py"):
                    path = os.path.join(directory, name)
                    files.append((os.path.relpath(path, base).replace(os.sep, "/"), path))
    digest = hashlib.sha256()
    for relative, path in sorted(files):
        with open(path, "rb") as f:
            content = f.read()
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


@functools.cache
def _cached_digest(roots):
    return source_digest(roots)


def code_version():
    """`<gankeras version>+<digest of all gankeras/ and pipelines/ code>`.

    Computed once per process (`CODE_PACKAGES` under the repository root).
    Any edit to the library or the pipeline invalidates every cached
    execution: a change far from a component (a loss, a layer, the data
    code) can change its result as much as one in its own module.
    """
    import gankeras

    roots = tuple(os.path.join(_REPO_ROOT, name) for name in CODE_PACKAGES)
    return f"{gankeras.__version__}+{_cached_digest(roots)[:16]}"


def environment():
    """What changes results without being a flag: the Keras backend (and
    its version) and Keras's version. Part of every cache key, so a run under
    another backend never reuses (or re-enters) this backend's executions."""
    import importlib.metadata

    import keras

    backend = keras.config.backend()
    try:
        backend_version = importlib.metadata.version(backend)
    except importlib.metadata.PackageNotFoundError:
        backend_version = None
    return {
        "keras": keras.__version__,
        "keras_backend": backend,
        "keras_backend_version": backend_version,
    }


def cache_key(component, input_artifacts, version, env=None):
    """sha256 of what decides an execution's outputs: component name,
    parameters (resolved), input fingerprints, code version, environment."""
    payload = json.dumps(
        {
            "component": component.name,
            "parameters": serialize(component.parameters),
            "inputs": {k: a.fingerprint for k, a in sorted(input_artifacts.items())},
            "code_version": version,
            "environment": environment() if env is None else env,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class LocalRunner:
    """Runs a list of components (in dependency order) under `pipeline_root`.

    Args:
        pipeline_root: directory for all artifacts and execution records.
        log: `fn(str)` for the console lines.
    """

    def __init__(self, pipeline_root, log=print):
        self.pipeline_root = os.fspath(pipeline_root)
        self.log = log

    def run(self, components):
        """Runs `components`; returns `{name: ExecutionRecord}`."""
        records = {}
        for component in components:
            records[component.name] = self._run_one(component, records)
        return records

    # ------------------------------------------------------------------
    def _run_one(self, component, records):
        inputs = {}
        for name, channel in component.inputs.items():
            if channel.component not in records:
                raise PipelineError(
                    f"{component.name} reads {channel.component}.{channel.output}, "
                    "but that component has not run before it. Order the "
                    "components so that producers come first."
                )
            inputs[name] = records[channel.component].outputs[channel.output]
        if component.resolvers:
            component.parameters = with_values(
                component.parameters,
                {name: fn(inputs) for name, fn in component.resolvers.items()},
            )
        for check in component.checks:
            check(inputs, component.parameters)
        version = code_version()
        env = environment()
        key = cache_key(component, inputs, version, env)
        previous = self._previous_executions(component.name, key)
        complete = [r for r in previous if r["status"] == "complete"]
        if component.cache and complete and self._outputs_exist(complete[-1]):
            return self._reuse(component, complete[-1], key)
        # Only one process runs in a pipeline root at a time (the caller
        # holds its `RunLock`), so an unfinished record is never a live
        # execution: a killed or failed one, safe to re-enter. Without the
        # cache (--nocache) nothing earlier is reused: a fresh run directory.
        unfinished = [r for r in previous if r["status"] != "complete"]
        if unfinished and component.cache:
            run_id = unfinished[-1]["run_id"]
            self.log(f"[{component.name}] re-entering unfinished run {run_id}")
        else:
            run_id = self._new_run_id(component.name, key)
        outputs = {
            name: Artifact(
                producer=component.name,
                name=name,
                uri=os.path.join(self.pipeline_root, component.name, name, run_id),
                fingerprint=f"{key}:{name}",
                run_id=run_id,
            )
            for name in component.outputs
        }
        record = {
            "component": component.name,
            "run_id": run_id,
            "cache_key": key,
            "status": "running",
            "parameters": serialize(component.parameters),
            "inputs": {k: a.uri for k, a in inputs.items()},
            "outputs": {k: a.uri for k, a in outputs.items()},
            "result": None,
            "code_version": version,
            "environment": env,
            "pid": os.getpid(),
            "started": _now(),
            "finished": None,
            "seconds": None,
            "cached_from": None,
        }
        path = self._record_path(component.name, run_id)
        start = time.time()
        try:
            for artifact in outputs.values():
                os.makedirs(artifact.uri, exist_ok=True)
            _write_json(path, record)
            self.log(f"[{component.name}] running (run {run_id})")
            result = component.executor(
                inputs, outputs, with_values(component.parameters, component.runtime)
            )
            record.update(
                status="complete",
                result=result or {},
                finished=_now(),
                seconds=round(time.time() - start, 3),
            )
            _write_json(path, record)
        except BaseException as error:
            record.update(
                status="failed",
                error=f"{type(error).__name__}: {error}",
                finished=_now(),
                seconds=round(time.time() - start, 3),
            )
            _mark_failed(path, record)
            if _is_disk_full(error):
                where = getattr(error, "filename", None)
                where = f"{where} (under {self.pipeline_root})" if where else self.pipeline_root
                raise PipelineError(
                    f"No space left on the device: {component.name} could not write "
                    f"to {where} ({error.strerror or error}). Its execution is recorded as failed "
                    f"({path}); earlier runs' outputs are intact. Free space on that "
                    "file system (or pass another --pipeline_root / --serving_dir) "
                    "and run again: the execution is re-entered where it stopped."
                ) from error
            raise
        self.log(f"[{component.name}] done in {record['seconds']:.1f}s")
        return ExecutionRecord(
            component.name,
            run_id,
            key,
            "complete",
            False,
            outputs,
            record["result"],
            path,
            record["seconds"],
            component.parameters,
        )

    def _new_run_id(self, component_name, key):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        run_id, n = f"{stamp}-{key[:8]}", 1
        while os.path.exists(self._record_path(component_name, run_id)):
            n += 1
            run_id = f"{stamp}-{key[:8]}-{n}"
        return run_id

    def _reuse(self, component, previous, key):
        outputs = {
            name: Artifact(component.name, name, uri, f"{key}:{name}", previous["run_id"])
            for name, uri in previous["outputs"].items()
        }
        record_path = self._record_path(component.name, previous["run_id"])
        parameters = previous.get("parameters") or {}
        if isinstance(component.parameters, Parameters):
            # Raises PipelineError naming an unknown or missing key.
            parameters = type(component.parameters).from_json(parameters, where=record_path)
        self.log(
            f"[{component.name}] cached: inputs, parameters and code unchanged; "
            f"reusing run {previous['run_id']}"
        )
        return ExecutionRecord(
            component.name,
            previous["run_id"],
            key,
            "complete",
            True,
            outputs,
            previous.get("result") or {},
            record_path,
            0.0,
            parameters,
        )

    def _record_path(self, component_name, run_id):
        return os.path.join(self.pipeline_root, component_name, "executions", f"{run_id}.json")

    def _previous_executions(self, component_name, key):
        directory = os.path.join(self.pipeline_root, component_name, "executions")
        if not os.path.isdir(directory):
            return []
        found = []
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(directory, name)) as f:
                    record = json.load(f)
            except (OSError, ValueError):
                continue  # a record being written when a run was killed
            if record.get("cache_key") == key:
                found.append(record)
        return found

    @staticmethod
    def _outputs_exist(record):
        return all(os.path.isdir(uri) for uri in record["outputs"].values())


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _is_disk_full(error):
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def _write_json(path, data):
    """Writes JSON atomically (temp file + rename), so a kill never leaves a
    truncated record; the temp file is removed if writing fails."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=True, default=str)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temp)
        raise


def _mark_failed(path, record):
    """Writes the failed record, also on a full disk: atomically if the file
    system has room for a temp file, else in place (the small record reuses
    the blocks of the "running" one it replaces)."""
    try:
        _write_json(path, record)
        return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        text = json.dumps(record, sort_keys=True, default=str)
        with open(path, "r+") as f:
            f.write(text)
            f.truncate()
