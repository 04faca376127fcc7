"""`python -m pipelines.train --image_dir=...` end to end on real pictures:
Fashion-MNIST exported as PNG files into one folder per class, trained at
32x32 RGB (`--channels=3`), evaluated, blessed and pushed.

The Evaluator of today needs labels, so the folder is labelled by its
sub-folders (`--labels_from_folders`); an unlabelled folder needs the
label-free Evaluator (issue 13 item 3)."""

import glob
import json
import os

import numpy as np
import pytest
from PIL import Image

from gankeras import data
from tests.test_pipeline_support import TINY_FLAGS, run_train

pytestmark = pytest.mark.skipif(
    not os.path.isdir(data.FASHION_MNIST_DIR),
    reason=f"the real Fashion-MNIST IDX files are not installed in {data.FASHION_MNIST_DIR}",
)

CLASSES = [
    "tshirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "boot",
]


def export_pngs(directory, count=260):
    images, labels = data.load_idx(data.FASHION_MNIST_DIR, "test")
    for i in range(count):
        path = os.path.join(directory, CLASSES[labels[i]], f"{i:05d}.png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        Image.fromarray(images[i, ..., 0]).save(path)
    return directory


@pytest.mark.tensorflow_pass(
    covered_by="tests/test_pipeline_run.py (the Trainer on shards) and tests/test_evaluation_evaluator.py (label-free scoring of RGB data)"
)
def test_folder_of_pngs_trains_evaluates_and_pushes(tmp_path):
    folder = export_pngs(str(tmp_path / "fashion_png"))
    result = run_train(
        f"--image_dir={folder}",
        "--image_size=32",
        "--channels=3",
        "--labels_from_folders",
        f"--pipeline_root={tmp_path / 'root'}",
        f"--serving_dir={tmp_path / 'saved'}",
        "--model_name=fashion_png",
        *TINY_FLAGS,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (stats_path,) = glob.glob(
        str(tmp_path / "root" / "ExampleGen" / "examples" / "*" / "stats.json")
    )
    stats = json.load(open(stats_path))
    # --num_train_examples=200 of the 260 files: 200 train, every 10th of the
    # first 222 held out; every 28x28 image was upscaled to 32x32.
    assert stats["image_shape"] == [32, 32, 3] and stats["count"] == 200
    assert stats["test_count"] == 22 and stats["upscaled"] == 222
    assert stats["class_names"] == sorted(CLASSES)
    (info,) = glob.glob(str(tmp_path / "root" / "Trainer" / "model" / "*" / "model_info.json"))
    assert json.load(open(info))["image_shape"] == [32, 32, 3]
    version = tmp_path / "saved" / "fashion_png" / "1"
    assert (version / "saved_model.pb").is_file()
    assert "pushed:      version 1" in result.stdout
    (grid,) = glob.glob(str(tmp_path / "root" / "Trainer" / "samples" / "*" / "fakes000001.png"))
    assert np.asarray(Image.open(grid)).std() > 0
