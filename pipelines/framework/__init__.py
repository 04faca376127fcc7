"""A minimal local orchestrator in the shape of TFX.

- `Component`: declared inputs (channels from upstream outputs), outputs and
  parameters (a typed `Parameters` record, serialized to JSON), plus an
  executor function doing the work.
- `Artifact`: one output directory `<root>/<Component>/<output>/<run_id>/`.
- `LocalRunner`: runs components in order, writes an execution record per
  run (`<root>/<Component>/executions/<run_id>.json`) and reuses the outputs
  of an earlier complete execution with the same cache key (component,
  parameters, input fingerprints, the code of `gankeras/` and `pipelines/`,
  the Keras backend). An interrupted execution with the same key is
  re-entered in its own directories, so a Trainer resumes from the
  checkpoints it left there.
- `RunLock`: one process at a time per pipeline root and per served model
  (`fcntl.flock`, released by the kernel when its holder dies).

Why not TFX itself: it is not installable next to Keras 3 / TF 2.21 here
(its releases pin older TensorFlow), and a local orchestrator of ~200 lines
is all the pipeline needs.
"""

from pipelines.framework.artifact import Artifact
from pipelines.framework.component import Channel, Component
from pipelines.framework.errors import PipelineError
from pipelines.framework.lock import LockHeldError, RunLock
from pipelines.framework.parameters import RESOLVED, RUNTIME, Parameters
from pipelines.framework.runner import ExecutionRecord, LocalRunner
