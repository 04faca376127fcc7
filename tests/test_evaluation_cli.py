"""`python -m pipelines.evaluate` end to end, in a subprocess, on a tiny
saved generator: it writes metrics.json and the four PNGs; on unlabelled
IDX files it uses the label-free encoder (three PNGs, no class histogram)."""

import gzip
import json
import os
import struct
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from gankeras.data import FASHION_MNIST_DIR
from gankeras.evaluation.report import DISTANCE_METRICS

pytestmark = pytest.mark.skipif(
    not os.path.isdir(FASHION_MNIST_DIR), reason="Fashion-MNIST IDX files not installed"
)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNGS = ["class_histogram.png", "nearest_neighbours.png", "samples.png", "training_curves.png"]


def _tiny_generator(latent_dim=8):
    z = keras.Input((latent_dim,))
    x = keras.layers.Dense(28 * 28, activation="tanh")(z)
    return keras.Model(z, keras.layers.Reshape((28, 28, 1))(x), name="tiny_generator")


def _write_csv_log(path):
    with open(path, "w") as f:
        f.write("epoch,d_fake,d_loss,d_real,g_loss\n")
        for epoch, (d_loss, g_loss) in enumerate([(1.2, 0.8), (1.1, 0.9), (1.3, 0.7)]):
            f.write(f"{epoch},{0.4 + 0.01 * epoch},{d_loss},{0.6 - 0.01 * epoch},{g_loss}\n")


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory):
    """Shared by the CLI runs: the first trains the classifier, later ones
    load it from this cache."""
    return tmp_path_factory.mktemp("classifiers")


def _run_cli(
    model_path, tmp_path, history, classifier_dir, idx_dir=FASHION_MNIST_DIR, extra=(), expect_rc=0
):
    output_dir = tmp_path / "report"
    command = [
        sys.executable,
        "-m",
        "pipelines.evaluate",
        f"--model={model_path}",
        f"--output_dir={output_dir}",
        f"--idx_dir={idx_dir}",
        f"--classifier_dir={classifier_dir}",
        "--classifier_train_count=2000",
        "--classifier_epochs=1",
        "--reference_count=1000",
        "--num_samples=300",
        "--memorization_count=100",
        f"--history={history}",
        *extra,
    ]
    env = dict(
        os.environ,
        KERAS_BACKEND=keras.backend.backend(),
        TF_CPP_MIN_LOG_LEVEL="3",
        OMP_NUM_THREADS="1",
    )
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == expect_rc, result.stderr[-3000:]
    return output_dir if expect_rc == 0 else result


def _assert_report(output_dir):
    assert sorted(os.listdir(output_dir)) == sorted(["metrics.json"] + PNGS)
    with open(output_dir / "metrics.json") as f:
        report = json.load(f)
    metrics = report["metrics"]
    assert metrics["num_samples"] == 300
    for name in (
        "frechet_distance",
        "kernel_distance",
        "classifier_score",
        "precision",
        "recall",
        "class_kl",
        "parzen_log_likelihood",
        "memorization_ratio",
    ):
        assert np.isfinite(metrics[name]), name
    assert len(report["generated_class_histogram"]) == 10
    for name in PNGS:
        with Image.open(output_dir / name) as image:
            assert image.width > 100 and image.height > 100


def test_cli_evaluates_a_keras_generator_file(tmp_path, classifier_dir):
    model_path = tmp_path / "generator.keras"
    _tiny_generator().save(model_path)
    history = tmp_path / "log.csv"
    _write_csv_log(history)
    _assert_report(_run_cli(model_path, tmp_path, history, classifier_dir))


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="SavedModel export runs in the TensorFlow pass"
)
def test_cli_evaluates_an_exported_saved_model(tmp_path, classifier_dir):
    from gankeras.export import export_generator

    exported = export_generator(_tiny_generator(), str(tmp_path / "serving"), "tiny")
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            {
                "d_loss": [1.2, 1.1],
                "g_loss": [0.8, 0.9],
                "d_real": [0.6, 0.59],
                "d_fake": [0.4, 0.41],
            }
        )
    )
    _assert_report(_run_cli(exported.path, tmp_path, history, classifier_dir))


def test_cli_reports_a_missing_model_as_an_error_line(tmp_path):
    command = [
        sys.executable,
        "-m",
        "pipelines.evaluate",
        f"--model={tmp_path / 'nope.keras'}",
        f"--output_dir={tmp_path / 'out'}",
    ]
    result = subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, KERAS_BACKEND=keras.backend.backend()),
    )
    assert result.returncode == 1
    assert "error: --model" in result.stderr and "does not exist" in result.stderr


def _unlabelled_idx_dir(directory, train_count=600, test_count=300):
    """Fashion-MNIST images without any labels file (train and t10k)."""
    from gankeras.data import load_idx

    os.makedirs(directory)
    for split, prefix, count in (("train", "train", train_count), ("test", "t10k", test_count)):
        images, _ = load_idx(FASHION_MNIST_DIR, split, with_labels=False)
        images = images[:count, :, :, 0]
        with gzip.open(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz"), "wb") as f:
            f.write(struct.pack(">IIII", 0x803, count, 28, 28) + images.tobytes())
    return directory


def test_cli_evaluates_unlabelled_data_in_label_free_features(tmp_path, classifier_dir):
    model_path = tmp_path / "generator.keras"
    _tiny_generator().save(model_path)
    history = tmp_path / "log.csv"
    _write_csv_log(history)
    idx_dir = _unlabelled_idx_dir(str(tmp_path / "unlabelled"))
    output_dir = _run_cli(
        model_path,
        tmp_path,
        history,
        classifier_dir,
        idx_dir=idx_dir,
        extra=["--encoder_steps=5", "--reference_count=300"],
    )
    expected = sorted(["metrics.json"] + [name for name in PNGS if name != "class_histogram.png"])
    assert sorted(os.listdir(output_dir)) == expected
    with open(output_dir / "metrics.json") as f:
        report = json.load(f)
    metrics, protocol = report["metrics"], report["protocol"]
    for name in (*DISTANCE_METRICS, "memorization_ratio"):
        assert np.isfinite(metrics[name]), name
    assert "classifier_score" not in metrics and "generated_class_histogram" not in report
    assert protocol["extractor"] == "simclr_encoder" and protocol["extractor_config"]["steps"] == 5
    assert (protocol["num_real"], protocol["num_generated"], protocol["reference_split"]) == (
        300,
        300,
        "train",
    )
    assert any(protocol["extractor_fingerprint"] in name for name in os.listdir(classifier_dir))


def test_cli_refuses_the_classifier_on_unlabelled_data_with_an_error_line(tmp_path, classifier_dir):
    model_path = tmp_path / "generator.keras"
    _tiny_generator().save(model_path)
    history = tmp_path / "log.csv"
    _write_csv_log(history)
    idx_dir = _unlabelled_idx_dir(str(tmp_path / "unlabelled"), train_count=50, test_count=20)
    result = _run_cli(
        model_path,
        tmp_path,
        history,
        classifier_dir,
        idx_dir=idx_dir,
        extra=["--features=classifier"],
        expect_rc=1,
    )
    assert "error: --features=classifier needs class labels" in result.stderr
    assert "Traceback" not in result.stderr
