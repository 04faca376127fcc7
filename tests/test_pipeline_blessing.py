"""Blessing: a model that must be rejected is, and is not pushed.

The decision is a pure function (`decide_blessing`, table-driven tests);
end to end, a threshold no model can pass and a candidate worse than the
version already pushed both give NOT_BLESSED and a skipped push. The
decision and the push are backend-independent Python, so the end-to-end
runs happen once (TensorFlow pass); the pipeline under each backend is
covered by tests/test_pipeline_run.py."""

import glob
import json
import math
import os

import pytest

from pipelines.components.evaluator import decide_blessing
from tests.test_pipeline_support import TINY_FLAGS, run_pipeline, write_idx_files

pytestmark = pytest.mark.backend_independent

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "metric, value, threshold, baseline, blessed",
    [
        ("frechet_distance", 10.0, 20.0, None, True),
        ("frechet_distance", 30.0, 20.0, None, False),  # above a distance threshold
        ("classifier_score", 2.0, 3.0, None, False),  # below a score threshold
        ("classifier_score", 3.0, 3.0, None, True),  # passing means "at least"
        ("frechet_distance", 10.0, 20.0, {"version": 1, "value": 5.0}, False),  # worse
        ("frechet_distance", 5.0, 20.0, {"version": 1, "value": 5.0}, True),  # not worse
        ("classifier_score", 4.0, 3.0, {"version": 2, "value": 4.5}, False),
        ("frechet_distance", NAN, 1e9, None, False),  # non-finite metric: never
        ("frechet_distance", -INF, 1e9, None, False),
        ("classifier_score", INF, 3.0, None, False),
        ("frechet_distance", 10.0, NAN, None, False),  # non-finite threshold: never
        ("frechet_distance", NAN, 1e9, {"version": 1, "value": 5.0}, False),
    ],
)
def test_decide_blessing(metric, value, threshold, baseline, blessed):
    result, reasons = decide_blessing(metric, value, threshold, baseline)
    assert result is blessed
    assert bool(reasons) is (not blessed)
    if not math.isfinite(value):
        assert "not finite" in reasons[0]


def records(root, component):
    paths = sorted(glob.glob(str(root / component / "executions" / "*.json")))
    return [json.load(open(p)) for p in paths]


def versions(serving_dir):
    directory = serving_dir / "tiny"
    return sorted(n for n in os.listdir(directory) if n.isdigit()) if directory.exists() else []


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """A pushed tiny run: `(flags without serving dir, root, serving_dir)`."""
    base = tmp_path_factory.mktemp("blessing")
    flags = [
        f"--idx_dir={write_idx_files(str(base / 'idx'))}",
        f"--pipeline_root={base / 'root'}",
        "--model_name=tiny",
        *TINY_FLAGS,
    ]
    result = run_pipeline(*flags, f"--serving_dir={base / 'saved_models'}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert versions(base / "saved_models") == ["1"]
    return flags, base / "root", base / "saved_models"


def assert_not_blessed_and_not_pushed(result, root, reason):
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "-> NOT BLESSED" in result.stdout
    assert "pushed:      nothing (not blessed)" in result.stdout
    evaluation = records(root, "Evaluator")[-1]
    assert evaluation["result"]["blessed"] is False
    assert any(reason in r for r in evaluation["result"]["reasons"])
    (blessing,) = os.listdir(evaluation["outputs"]["blessing"])
    assert blessing == "NOT_BLESSED"
    push = records(root, "Pusher")[-1]
    assert push["status"] == "complete" and push["result"]["pushed"] is False
    assert (
        json.load(open(os.path.join(push["outputs"]["pushed_model"], "push.json")))["pushed"]
        is False
    )


def test_a_threshold_no_model_passes_blesses_nothing_and_pushes_nothing(pushed, tmp_path):
    flags, root, _ = pushed
    serving_dir = tmp_path / "saved_models"
    # FD is a distance >= 0: no model is at most -1. The trained model is reused.
    result = run_pipeline(
        *[f for f in flags if not f.startswith("--bless_threshold")],
        "--bless_threshold=-1",
        f"--serving_dir={serving_dir}",
    )
    assert "[Trainer] cached" in result.stdout
    assert_not_blessed_and_not_pushed(result, root, "does not pass the threshold")
    assert versions(serving_dir) == []


def test_a_candidate_worse_than_the_pushed_version_is_not_pushed(pushed):
    """Two real models on one serving dir: whichever scores worse is
    rejected against the other one's pushed evaluation."""
    flags, root, serving_dir = pushed
    other = run_pipeline(*flags, "--seed=1", f"--serving_dir={serving_dir}")
    assert other.returncode == 0, other.stdout[-3000:] + other.stderr[-3000:]
    if "-> BLESSED" in other.stdout:
        # The seed-1 model beat version 1 and is version 2; the seed-0 model,
        # evaluated again against it (its Trainer cached), is the worse one.
        assert versions(serving_dir) == ["1", "2"]
        result = run_pipeline(*flags, f"--serving_dir={serving_dir}")
        assert "[Trainer] cached" in result.stdout
        expected_versions = ["1", "2"]
    else:
        result, expected_versions = other, ["1"]
    assert_not_blessed_and_not_pushed(result, root, "is worse than the pushed version")
    assert versions(serving_dir) == expected_versions
