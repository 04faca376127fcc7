"""`python -m pipelines.train_mnist` end to end on tiny IDX files: the files
it produces, and a re-run that reuses every cached output."""

import glob
import json
import os

import numpy as np
import pytest
from PIL import Image

from tests.test_pipeline_support import TINY_FLAGS, run_pipeline, write_idx_files


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same pipeline run twice: `(first, second, root, serving_dir)`."""
    base = tmp_path_factory.mktemp("pipeline")
    flags = [
        f"--idx_dir={write_idx_files(str(base / 'idx'))}",
        f"--pipeline_root={base / 'root'}",
        f"--serving_dir={base / 'saved_models'}",
        "--model_name=tiny",
        *TINY_FLAGS,
    ]
    first = run_pipeline(*flags)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    second = run_pipeline(*flags)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    return first, second, base / "root", base / "saved_models"


def records(root, component):
    paths = sorted(glob.glob(str(root / component / "executions" / "*.json")))
    return [json.load(open(p)) for p in paths]


def test_each_component_writes_artifacts_and_an_execution_record(runs):
    _, _, root, _ = runs
    expected_outputs = {
        "ExampleGen": ["examples"],
        "Trainer": ["model", "samples"],
        "Evaluator": ["evaluation", "blessing"],
        "Pusher": ["pushed_model"],
    }
    for component, outputs in expected_outputs.items():
        (record,) = records(root, component)  # one execution: the re-run was cached
        assert record["status"] == "complete"
        assert sorted(record["outputs"]) == sorted(outputs)
        for name, uri in record["outputs"].items():
            assert uri == str(root / component / name / record["run_id"])
            assert os.listdir(uri), f"{component}.{name} is empty"
    assert json.load(open(root / "pipeline_config.json"))["model_name"] == "tiny"
    assert not glob.glob(str(root / "**" / "*.tmp*"), recursive=True)


def test_trainer_writes_a_generator_checkpoint_and_a_sample_grid(runs):
    _, _, root, _ = runs
    (record,) = records(root, "Trainer")
    model_dir = record["outputs"]["model"]
    assert os.path.isfile(os.path.join(model_dir, "generator.keras"))
    assert os.path.isdir(os.path.join(model_dir, "checkpoints", "ckpt-000001"))
    grid = Image.open(os.path.join(record["outputs"]["samples"], "fakes000001.png"))
    assert grid.size[0] >= 8 * 28 and grid.size[1] >= 8 * 28  # 8x8 cells (+ padding)
    assert np.asarray(grid).std() > 0  # not a blank image


def test_blessed_model_is_pushed_as_version_1_with_warmup_requests(runs):
    first, _, root, serving_dir = runs
    version_dir = serving_dir / "tiny" / "1"
    assert (root / "Evaluator").exists()
    (evaluation,) = records(root, "Evaluator")
    assert evaluation["result"]["blessed"] is True
    assert os.path.isfile(version_dir / "saved_model.pb")
    assert os.path.isfile(version_dir / "assets.extra" / "tf_serving_warmup_requests")
    pushed = json.load(open(version_dir / "assets.extra" / "evaluation.json"))
    assert pushed["metric"] == evaluation["result"]["metric"]
    assert "pushed:      version 1" in first.stdout


def test_rerun_with_same_inputs_reuses_every_component(runs):
    _, second, _, serving_dir = runs
    for component in ("ExampleGen", "Trainer", "Evaluator", "Pusher"):
        assert f"[{component}] cached" in second.stdout
    served = sorted(n for n in os.listdir(serving_dir / "tiny") if not n.startswith("."))
    assert served == ["1"]  # nothing pushed twice (hidden: lock files)


def test_console_shows_components_progress_and_summary(runs):
    first, _, _, _ = runs
    assert "[Trainer] running" in first.stdout
    assert "d_loss" in first.stdout  # Keras progress output
    assert "=== Pipeline summary ===" in first.stdout
