"""`--quality_every_n_epochs`: the Trainer measures FD/KID with
`gankeras.callbacks.Quality` and hands the best generator it kept
(`quality/best.keras`) to the Evaluator and the Pusher; its record names the
epoch. `--tensorboard` (default on) writes GANTensorBoard events. One run,
class-conditional, so the grid and D's accuracy also take labels."""

import glob
import json
import os

import pytest

from tests.test_pipeline_support import TINY_FLAGS, run_pipeline, write_idx_files


@pytest.mark.tensorflow_pass(covered_by="tests/test_callbacks_quality.py")
def test_best_generator_is_what_is_evaluated_and_pushed(tmp_path):
    flags = [f for f in TINY_FLAGS if not f.startswith("--epochs")]
    result = run_pipeline(
        f"--idx_dir={write_idx_files(str(tmp_path / 'idx'))}",
        f"--pipeline_root={tmp_path / 'root'}",
        f"--serving_dir={tmp_path / 'saved'}",
        "--model_name=tiny",
        "--conditional",
        "--epochs=2",
        "--quality_every_n_epochs=1",
        "--quality_samples=160",
        *flags,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (record,) = glob.glob(str(tmp_path / "root" / "Trainer" / "executions" / "*.json"))
    record = json.load(open(record))
    (model,) = glob.glob(str(tmp_path / "root" / "Trainer" / "model" / "*"))
    assert json.load(open(os.path.join(model, "model_info.json")))["num_classes"] == 10
    best = json.load(open(os.path.join(model, "quality", "best.json")))
    assert record["result"]["quality_best_epoch"] == best["epoch"] in (1, 2)
    assert f"best epoch:  {best['epoch']}" in result.stdout
    # generator.keras, what the Evaluator loads and the Pusher exports, is the best one.
    with (
        open(os.path.join(model, "generator.keras"), "rb") as f,
        open(os.path.join(model, "quality", "best.keras"), "rb") as g,
    ):
        assert f.read() == g.read()
    assert glob.glob(os.path.join(model, "tensorboard", "events.out.tfevents.*"))
    assert "pushed:      version 1" in result.stdout
