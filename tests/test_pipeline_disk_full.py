"""A full disk: one `error:` line naming the path, the execution record
marked failed, no temporary files left, the earlier state intact.

Two ways: ENOSPC injected into an executor (always runs), and the real
thing, a 2 MB tmpfs as `--pipeline_root` (needs root and `mount`; skipped
with the reason where that is not allowed). Both run once (the handling
is the runner's, backend-independent)."""

import errno
import glob
import json
import os
import subprocess

import pytest

from pipelines.framework import Component, LocalRunner, PipelineError
from tests.test_pipeline_support import TINY_FLAGS, run_pipeline, snapshot, write_idx_files

pytestmark = pytest.mark.backend_independent


def fills_the_disk(inputs, outputs, parameters):
    path = outputs["out"].path("weights.bin")
    with open(path, "wb") as f:
        f.write(b"x")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)


def test_injected_enospc_is_one_error_naming_the_path_and_a_failed_record(tmp_path):
    component = Component("Writer", fills_the_disk, outputs=("out",))
    with pytest.raises(PipelineError) as caught:
        LocalRunner(tmp_path, log=lambda _: None).run([component])
    message = str(caught.value)
    assert "No space left on the device" in message
    assert "weights.bin" in message and str(tmp_path) in message
    (record_path,) = glob.glob(str(tmp_path / "Writer" / "executions" / "*.json"))
    record = json.load(open(record_path))
    assert record["status"] == "failed" and "No space left" in record["error"]
    assert not glob.glob(str(tmp_path / "**" / "*.tmp-*"), recursive=True)


@pytest.fixture
def tiny_filesystem(tmp_path):
    mount_point = tmp_path / "tiny_fs"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the injected-ENOSPC test covers the handling")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_pipeline_root(tmp_path, tiny_filesystem):
    root = tiny_filesystem / "root"
    (root / "ExampleGen").mkdir(parents=True)
    (root / "ExampleGen" / "earlier.json").write_text('{"an": "earlier record"}')
    (root / "pipeline_config.json").write_text('{"model_name": "earlier"}')
    before = snapshot(tiny_filesystem)
    result = run_pipeline(
        f"--idx_dir={write_idx_files(str(tmp_path / 'idx'))}",
        f"--pipeline_root={root}",
        f"--serving_dir={tmp_path / 'saved_models'}",
        "--model_name=tiny",
        *TINY_FLAGS,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "No space left on the device" in error and str(root) in error
    after = snapshot(tiny_filesystem)
    assert {path: after.get(path) for path in before} == before  # earlier state intact
    assert not [p for p in after if ".tmp" in os.path.basename(p)]  # no temporary files
    statuses = {}
    for path in glob.glob(str(root / "*" / "executions" / "*.json")):
        record = json.load(open(path))
        statuses[record["component"]] = record["status"]
    assert "failed" in statuses.values() and "running" not in statuses.values()
    assert not (tmp_path / "saved_models" / "tiny" / "1").exists()
