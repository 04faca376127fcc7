"""Issue 13 item 6, end to end: a user's own folder of unlabelled RGB images
(PNG and JPEG, one RGBA PNG) at 32x32 goes through the whole pipeline with
no flag about labels or blessing: ExampleGen -> Trainer -> Evaluator (the
label-free SimCLR features, blessed on their Fréchet distance by default)
-> Pusher; the pushed SavedModel then serves `[batch, 32, 32, 3]` uint8
images to a process that imports only TensorFlow."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.test_pipeline_support import REPO_ROOT, TINY_FLAGS


def write_images(directory, count=230, seed=0):
    """`count` RGB pictures (a coloured square on a coloured background),
    alternately PNG and JPEG, the first one an RGBA PNG; a few are 48x40
    (resized and centre-cropped to 32x32)."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        height, width = (40, 48) if i % 25 == 3 else (32, 32)
        image = np.empty((height, width, 3), np.uint8)
        image[:] = rng.integers(0, 120, 3)
        row, col = rng.integers(0, height - 12), rng.integers(0, width - 12)
        image[row : row + 12, col : col + 12] = rng.integers(130, 256, 3)
        if i == 0:
            alpha = np.full((height, width, 1), 255, np.uint8)
            alpha[:8] = 0  # transparent rows: composited onto --background
            Image.fromarray(np.concatenate([image, alpha], -1), "RGBA").save(
                os.path.join(directory, "rgba.png")
            )
        elif i % 2:
            Image.fromarray(image).save(os.path.join(directory, f"{i:04d}.png"))
        else:
            Image.fromarray(image).save(os.path.join(directory, f"{i:04d}.jpg"), quality=90)
    return directory


# In a fresh interpreter that imports TensorFlow only: the serving signature's
# shapes and dtypes, and a call.
SERVE = """
import sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
fn = model.signatures["generate_from_seeds"]
(spec,) = fn.structured_outputs.values()
images = fn(seeds=tf.constant([0, 1, 2], tf.int64))["images"]
assert not any(m.split(".")[0] in ("gankeras", "pipelines") for m in sys.modules)
print(spec.shape.as_list(), spec.dtype.name, images.shape.as_list(), images.dtype.name)
"""


@pytest.mark.tensorflow_pass(
    covered_by="tests/test_pipeline_run.py (the Trainer on shards) and tests/test_evaluation_evaluator.py (label-free scoring of RGB data)"
)
def test_unlabelled_folder_trains_evaluates_label_free_and_serves(tmp_path):
    folder = write_images(str(tmp_path / "photos"))
    flags = [f for f in TINY_FLAGS if not f.startswith("--bless_metric")]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.train",
            f"--image_dir={folder}",
            "--image_size=32",
            f"--pipeline_root={tmp_path / 'root'}",
            f"--serving_dir={tmp_path / 'saved'}",
            "--model_name=photos",
            "--encoder_steps=3",
            *flags,
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (stats,) = glob.glob(str(tmp_path / "root" / "ExampleGen" / "examples" / "*" / "stats.json"))
    stats = json.load(open(stats))
    assert stats["image_shape"] == [32, 32, 3] and stats["num_classes"] is None
    assert stats["count"] == 200
    (metrics,) = glob.glob(
        str(tmp_path / "root" / "Evaluator" / "evaluation" / "*" / "metrics.json")
    )
    metrics = json.load(open(metrics))
    # Unlabelled: no --bless_metric given, so the label-free default metric,
    # in the SimCLR encoder's features, with no class metrics.
    assert metrics["metric"] == "frechet_distance"
    assert metrics["protocol"]["extractor"] == "simclr_encoder"
    assert "classifier_score" not in metrics["metrics"]
    assert "-> BLESSED" in result.stdout and "pushed:      version 1" in result.stdout

    version = str(tmp_path / "saved" / "photos" / "1")
    served = subprocess.run(
        [sys.executable, "-c", SERVE, version],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert served.returncode == 0, served.stderr[-3000:]
    assert served.stdout.strip().endswith("[None, 32, 32, 3] uint8 [3, 32, 32, 3] uint8")
