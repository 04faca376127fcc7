"""An interrupted pipeline run resumes training from its last checkpoint."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.test_pipeline_support import REPO_ROOT, TINY_FLAGS, run_pipeline, write_idx_files


@pytest.mark.tensorflow_pass(
    covered_by="tests/test_pipeline_exact_resume.py (killed three times, bit for bit)"
)
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    flags = [
        f"--idx_dir={write_idx_files(str(tmp_path / 'idx'))}",
        f"--pipeline_root={tmp_path / 'root'}",
        f"--serving_dir={tmp_path / 'saved_models'}",
        *[f for f in TINY_FLAGS if not f.startswith(("--epochs", "--steps_per_epoch"))],
        "--epochs=2",
        # A long second epoch, so the kill lands inside it.
        "--steps_per_epoch=40",
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.train_mnist", *flags],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pattern = str(
        tmp_path
        / "root"
        / "Trainer"
        / "model"
        / "*"
        / "checkpoints"
        / "ckpt-000001"
        / "checkpoint.json"
    )
    deadline = time.time() + 500
    while not glob.glob(pattern) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert glob.glob(pattern), "the first epoch's checkpoint never appeared"
    process.send_signal(signal.SIGKILL)  # as a crash or a pre-empted machine would
    process.wait()
    assert not glob.glob(pattern.replace("ckpt-000001", "ckpt-000002")), (
        "epoch 2 finished before the kill; make it longer"
    )

    resumed = run_pipeline(*flags)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "re-entering unfinished run" in resumed.stdout
    assert "resuming from the checkpoint of epoch 1" in resumed.stdout
    (record_path,) = glob.glob(str(tmp_path / "root" / "Trainer" / "executions" / "*.json"))
    record = json.load(open(record_path))
    assert record["status"] == "complete"
    assert record["result"]["resumed_from_epoch"] == 1
    samples = record["outputs"]["samples"]
    grids = sorted(n for n in os.listdir(samples) if n.startswith("fakes"))
    assert grids == ["fakes000001.png", "fakes000002.png"]
