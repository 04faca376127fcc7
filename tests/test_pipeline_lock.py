"""Two runs at once: one process at a time per pipeline root and per served
model. Each test uses real processes: a holder that takes a lock and waits,
and a second process (the pipeline entry point, or a `RunLock` here). Every
wait is bounded and every process started is killed by the test."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pipelines import pipeline
from pipelines.framework import LockHeldError, RunLock
from tests.test_pipeline_support import REPO_ROOT, TINY_FLAGS, run_pipeline, snapshot

pytestmark = pytest.mark.backend_independent


@pytest.fixture
def holder():
    """`hold(path, seconds)`: a process holding `RunLock(path)` (it prints
    "held" once it does, then sleeps `seconds` and exits, releasing it)."""
    started = []

    def hold(path, seconds=120):
        code = textwrap.dedent(f"""
            import sys, time
            from pipelines.framework import RunLock
            lock = RunLock({str(path)!r}, "test").acquire()
            print("held", flush=True)
            time.sleep({seconds})
        """)
        process = subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=REPO_ROOT),
        )
        started.append(process)
        assert process.stdout.readline().strip() == "held"
        return process

    yield hold
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def flags_for(tmp_path, root="root"):
    return [
        f"--idx_dir={tmp_path / 'idx'}",  # never read: the run stops before ExampleGen
        f"--pipeline_root={tmp_path / root}",
        f"--serving_dir={tmp_path / 'saved_models'}",
        "--model_name=tiny",
        *TINY_FLAGS,
    ]


def assert_refused_naming(result, process, tmp_path, before):
    assert result.returncode == 1
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert f"in use by process {process.pid}" in error
    assert "--wait_for_lock" in error
    assert "Traceback" not in result.stderr
    after = snapshot(tmp_path)  # nothing changed; at most an empty lock file added
    assert {path: after.get(path) for path in before} == before
    assert all(path.endswith(pipeline.LOCK_FILE) for path in set(after) - set(before))


@pytest.fixture
def idx(tmp_path):
    (tmp_path / "idx").mkdir()


def test_second_run_on_a_busy_pipeline_root_exits_at_once_naming_the_holder(tmp_path, holder, idx):
    process = holder(tmp_path / "root" / pipeline.LOCK_FILE)
    before = snapshot(tmp_path)
    result = run_pipeline(*flags_for(tmp_path))
    assert_refused_naming(result, process, tmp_path, before)


def test_second_run_pushing_the_same_model_from_another_root_is_refused(tmp_path, holder, idx):
    process = holder(tmp_path / "saved_models" / "tiny" / pipeline.LOCK_FILE)
    before = snapshot(tmp_path)
    result = run_pipeline(*flags_for(tmp_path, root="other_root"))
    assert_refused_naming(result, process, tmp_path, before)
    assert not (tmp_path / "other_root" / "ExampleGen").exists()


def test_wait_for_lock_waits_a_bounded_time(tmp_path, holder, idx):
    process = holder(tmp_path / "root" / pipeline.LOCK_FILE)
    start = time.monotonic()
    result = run_pipeline(*flags_for(tmp_path), "--wait_for_lock=2")
    assert result.returncode == 1
    assert time.monotonic() - start >= 2
    assert f"in use by process {process.pid} " in result.stderr
    assert "after waiting 2 s" in result.stderr


def test_a_waiting_process_gets_the_lock_once_the_holder_finishes(tmp_path, holder):
    path = tmp_path / "lock"
    process = holder(path, seconds=1)
    with RunLock(path, "test", wait=60) as lock:
        assert lock.held
        assert process.poll() is not None  # the holder had exited (and released it)


def test_a_killed_holders_lock_is_released_by_the_kernel(tmp_path, holder):
    path = tmp_path / "lock"
    process = holder(path)
    with pytest.raises(LockHeldError, match=f"process {process.pid} "):
        RunLock(path, "test").acquire()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with RunLock(path, "test") as lock:  # at once: no stale lock to clean up
        assert lock.held
