"""A Trainer run killed at any moment and rerun ends exactly where a run
that was never stopped ends: every saved value (both networks, both
optimizers' slots and counters, the EMA weights, the seed generator and
replay pool) bit for bit, and the whole history.

The job is `tests/resume_harness.py` (the pipeline's Trainer executor on a
tiny examples artifact), run in subprocesses and SIGKILLed from outside.
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np

from gankeras.callbacks.checkpoint import list_checkpoints, read_checkpoint
from tests.resume_harness import PARAMETERS
from tests.test_pipeline_support import REPO_ROOT

EPOCHS = PARAMETERS.epochs


def run_job(workdir, pause=None):
    """Runs the harness to the end, or until it pauses there and is killed."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=REPO_ROOT)
    job = subprocess.Popen(
        [sys.executable, "-m", "tests.resume_harness", str(workdir)] + ([pause] if pause else []),
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if pause is None:
            out, err = job.communicate(timeout=300)
            assert job.returncode == 0, err[-3000:]
            return out
        lines = []
        for line in job.stdout:
            lines.append(line)
            if line.startswith("paused"):
                job.send_signal(signal.SIGKILL)  # as a crash or a pre-empted machine would
                break
        job.wait(timeout=300)
        assert job.returncode == -signal.SIGKILL, (pause, lines, job.stderr.read()[-3000:])
        return "".join(lines)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()


def final_state(workdir):
    checkpoints = os.path.join(workdir, "model", "checkpoints")
    newest = list_checkpoints(checkpoints)[-1]
    manifest, values = read_checkpoint(newest)
    with open(os.path.join(workdir, "model", "history.json")) as f:
        history = json.load(f)
    return manifest, values, history


def test_run_killed_three_times_equals_the_uninterrupted_run_bit_for_bit(tmp_path):
    run_job(tmp_path / "uninterrupted")
    interrupted = tmp_path / "interrupted"
    # After the first checkpoint; mid-epoch (epoch 3, after its 2nd batch);
    # after the last checkpoint (before history.json and generator.keras).
    for pause in ("after-save-1", f"batch-{EPOCHS}-2", f"after-save-{EPOCHS}"):
        run_job(interrupted, pause)
        assert not os.path.exists(interrupted / "model" / "history.json"), pause
    resumed_output = run_job(interrupted)
    assert f'"resumed_from_epoch": {EPOCHS}' in resumed_output

    expected, expected_values, expected_history = final_state(tmp_path / "uninterrupted")
    received, received_values, received_history = final_state(interrupted)
    assert received["epoch"] == expected["epoch"] == EPOCHS
    assert received["step"] == expected["step"] == EPOCHS * PARAMETERS.steps_per_epoch
    paths = [v["path"] for v in expected["variables"]]
    assert paths == [v["path"] for v in received["variables"]]
    # Networks, optimizer slots, EMA copies, seed generator, replay pool.
    assert any("seed_generator" in p for p in paths), paths
    assert any("replay" in p for p in paths), paths
    for path, a, b in zip(paths, expected_values, received_values):
        np.testing.assert_array_equal(a, b, err_msg=path)
    assert set(expected_history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(len(v) == EPOCHS for v in expected_history.values())
    assert received_history == expected_history
