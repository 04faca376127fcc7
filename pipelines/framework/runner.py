"""`LocalRunner`: runs components in order with execution records and caching.

Execution record (`<root>/<Component>/executions/<run_id>.json`):

```
{"component": "Trainer", "run_id": "20261126-111500-3f2a9c1e",
 "cache_key": "3f2a9c1e...", "status": "complete" | "running" | "failed",
 "parameters": {...}, "inputs": {"examples": "<uri>"},
 "outputs": {"model": "<uri>"}, "result": {...metrics...},
 "code_version": "...", "started": "...", "finished": "...", "seconds": 12.3,
 "cached_from": null | "<run_id>"}
```
"""

import dataclasses
import datetime
import hashlib
import inspect
import json
import os
import time

from pipelines.framework.artifact import Artifact
from pipelines.framework.errors import PipelineError


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


def code_version(executor):
    """Hash of the source file defining `executor` and the gankeras version.

    A change to the component's code (or a new gankeras release) therefore
    invalidates its cache; edits elsewhere in the library do not.
    """
    import gankeras

    source = inspect.getsource(inspect.getmodule(executor))
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    return f"{gankeras.__version__}+{digest}"


def cache_key(component, input_artifacts, version):
    payload = json.dumps(
        {
            "component": component.name,
            "parameters": component.parameters,
            "inputs": {k: a.fingerprint for k, a in sorted(input_artifacts.items())},
            "code_version": version,
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
            component.parameters = dict(
                component.parameters,
                **{name: fn(inputs) for name, fn in component.resolvers.items()},
            )
        version = code_version(component.executor)
        key = cache_key(component, inputs, version)
        previous = self._previous_executions(component.name, key)
        complete = [r for r in previous if r["status"] == "complete"]
        if component.cache and complete and self._outputs_exist(complete[-1]):
            return self._reuse(component, complete[-1], key)
        unfinished = [r for r in previous if r["status"] != "complete"]
        if unfinished:
            run_id = unfinished[-1]["run_id"]
            self.log(f"[{component.name}] re-entering unfinished run {run_id}")
        else:
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
            run_id = f"{stamp}-{key[:8]}"
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
        for artifact in outputs.values():
            os.makedirs(artifact.uri, exist_ok=True)
        record = {
            "component": component.name,
            "run_id": run_id,
            "cache_key": key,
            "status": "running",
            "parameters": component.parameters,
            "inputs": {k: a.uri for k, a in inputs.items()},
            "outputs": {k: a.uri for k, a in outputs.items()},
            "result": None,
            "code_version": version,
            "started": _now(),
            "finished": None,
            "seconds": None,
            "cached_from": None,
        }
        path = self._record_path(component.name, run_id)
        _write_json(path, record)
        self.log(f"[{component.name}] running (run {run_id})")
        start = time.time()
        try:
            result = component.executor(
                inputs, outputs, dict(component.parameters, **component.runtime)
            )
        except BaseException as error:
            record.update(
                status="failed",
                error=f"{type(error).__name__}: {error}",
                finished=_now(),
                seconds=round(time.time() - start, 3),
            )
            _write_json(path, record)
            raise
        record.update(
            status="complete",
            result=result or {},
            finished=_now(),
            seconds=round(time.time() - start, 3),
        )
        _write_json(path, record)
        self.log(f"[{component.name}] done in {record['seconds']:.1f}s")
        return ExecutionRecord(
            component.name, run_id, key, "complete", False, outputs,
            record["result"], path, record["seconds"],
        )

    def _reuse(self, component, previous, key):
        outputs = {
            name: Artifact(component.name, name, uri, f"{key}:{name}", previous["run_id"])
            for name, uri in previous["outputs"].items()
        }
        self.log(
            f"[{component.name}] cached: inputs, parameters and code unchanged; "
            f"reusing run {previous['run_id']}"
        )
        return ExecutionRecord(
            component.name, previous["run_id"], key, "complete", True, outputs,
            previous.get("result") or {}, self._record_path(component.name, previous["run_id"]),
            0.0,
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


def _write_json(path, data):
    """Writes JSON atomically (temp file + rename), so a kill never leaves a
    truncated record."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True, default=str)
    os.replace(temp, path)
