"""Re-runs after a kill: the push is idempotent (the model's fingerprint is
recorded with its version), half-written `.tmp-*` versions are removed
(only when no live exporter owns them), and an unfinished Trainer run with
an incompatible checkpoint ends in one `error:` line saying what to do.

The states a kill leaves are reproduced exactly (a record still "running",
a version directory already renamed into place, a hidden temporary
version): the pipeline code that reads them is backend-independent, so
these run once (TensorFlow pass)."""

import glob
import json
import os
import subprocess
import sys
import textwrap

import pytest

from gankeras.export import versions
from tests.test_pipeline_support import REPO_ROOT, TINY_FLAGS, run_pipeline, write_idx_files

pytestmark = pytest.mark.backend_independent


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """A pushed tiny run: `(flags, root, model_dir)`."""
    base = tmp_path_factory.mktemp("push")
    flags = [
        f"--idx_dir={write_idx_files(str(base / 'idx'))}",
        f"--pipeline_root={base / 'root'}",
        f"--serving_dir={base / 'saved_models'}",
        "--model_name=tiny",
        *TINY_FLAGS,
    ]
    result = run_pipeline(*flags)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return flags, base / "root", base / "saved_models" / "tiny"


def record_path(root, component):
    (path,) = glob.glob(str(root / component / "executions" / "*.json"))
    return path


def set_status(path, status):
    record = json.load(open(path))
    record["status"] = status
    with open(path, "w") as f:
        json.dump(record, f)
    return record


def served(model_dir):
    return sorted(n for n in os.listdir(model_dir) if not n.startswith("."))


def test_the_version_records_the_model_fingerprint(pushed):
    _, root, model_dir = pushed
    push = json.load(open(record_path(root, "Pusher")))["result"]
    fingerprint = open(model_dir / "1" / versions.FINGERPRINT_FILE).read()
    assert fingerprint == push["fingerprint"] and fingerprint.startswith("sha256:")


def test_rerun_after_a_kill_right_after_the_rename_reports_the_existing_version(pushed):
    flags, root, model_dir = pushed
    # A SIGKILL just after os.rename: version 1 in place, the Pusher's
    # record still "running", its push.json never written.
    path = record_path(root, "Pusher")
    record = set_status(path, "running")
    os.remove(os.path.join(record["outputs"]["pushed_model"], "push.json"))

    result = run_pipeline(*flags)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "[Pusher] re-entering unfinished run" in result.stdout
    assert "already pushed as version 1" in result.stdout
    assert served(model_dir) == ["1"]  # no byte-identical version 2
    rerun = json.load(open(path))
    assert rerun["status"] == "complete"
    assert rerun["result"]["already_pushed"] is True and rerun["result"]["version"] == 1


def test_the_next_run_removes_half_written_versions_of_killed_runs(pushed):
    flags, root, model_dir = pushed
    stale = model_dir / ".tmp-2-abc123"
    (stale / "variables").mkdir(parents=True)
    (stale / "saved_model.pb").write_bytes(b"half written")
    result = run_pipeline(*flags)  # every component cached: nothing pushed
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "removed temporary version directories of killed runs: .tmp-2-abc123" in result.stdout
    assert not stale.exists()
    assert served(model_dir) == ["1"]


def test_a_live_exporters_temporary_version_is_left_alone(tmp_path):
    model_dir = tmp_path / "tiny"
    code = textwrap.dedent(f"""
        import os, time
        from gankeras.export import versions
        with versions.exclusive({str(model_dir)!r}):
            os.makedirs(os.path.join({str(model_dir)!r}, ".tmp-1-live"))
            print("exporting", flush=True)
            time.sleep(120)
    """)
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        text=True,
        stdout=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT),
    )
    try:
        assert process.stdout.readline().strip() == "exporting"
        assert versions.remove_stale_temp_dirs(str(model_dir)) == []
        assert (model_dir / ".tmp-1-live").is_dir()
        process.kill()  # the exporter dies: its directory is now stale
        process.wait(timeout=30)
        assert versions.remove_stale_temp_dirs(str(model_dir)) == [".tmp-1-live"]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_an_incompatible_checkpoint_gives_one_error_line(pushed):
    """An unfinished Trainer run whose checkpoint was made for another
    set-up: one `error:` line with the way out, no traceback."""
    flags, root, _ = pushed
    path = record_path(root, "Trainer")
    record = set_status(path, "failed")
    (manifest_path,) = glob.glob(
        os.path.join(record["outputs"]["model"], "checkpoints", "ckpt-*", "checkpoint.json")
    )
    original = open(manifest_path).read()
    manifest = json.loads(original)
    manifest["signature"]["loss"] = "hinge"
    try:
        with open(manifest_path, "w") as f:
            json.dump(manifest, f)
        result = run_pipeline(*flags)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert "cannot resume its unfinished run" in error
        assert "--nocache" in result.stderr and "--pipeline_root" in result.stderr
        assert "loss" in result.stderr  # why: the difference is named
    finally:  # leave the module's run as it was
        with open(manifest_path, "w") as f:
            f.write(original)
        set_status(path, "complete")
