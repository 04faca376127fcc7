"""Bad input to `python -m pipelines.train_mnist`: a clear error, a non-zero
exit, and earlier artifacts and served versions left exactly as they were.

The errors happen before any training (flag parsing and pre-flight checks),
so these run once, in the TensorFlow pass."""

import os

import pytest

from tests.test_pipeline_support import TINY_FLAGS, run_pipeline, snapshot, write_idx_files

pytestmark = pytest.mark.backend_independent


@pytest.fixture
def earlier_run(tmp_path):
    """A pipeline root and a serving dir holding a real version 1."""
    import keras

    from gankeras import export

    z = keras.Input((16,))
    images = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784, activation="tanh")(z))
    export.export_generator(keras.Model(z, images), str(tmp_path / "saved_models"), "tiny")
    root = tmp_path / "root"
    (root / "ExampleGen").mkdir(parents=True)
    (root / "ExampleGen" / "earlier.json").write_text("{}")
    flags = [
        f"--idx_dir={write_idx_files(str(tmp_path / 'idx'))}",
        f"--pipeline_root={root}",
        f"--serving_dir={tmp_path / 'saved_models'}",
        "--model_name=tiny",
        *TINY_FLAGS,
    ]
    return tmp_path, flags


def assert_fails_untouched(tmp_path, flags, message):
    """Non-zero exit, `message` on stderr, every earlier file unchanged and
    no new served version. (A failed execution record may be added.)"""
    before = snapshot(tmp_path)
    versions_before = sorted(os.listdir(tmp_path / "saved_models" / "tiny"))
    result = run_pipeline(*flags)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-2000:]
    after = snapshot(tmp_path)
    assert {path: after.get(path) for path in before} == before
    assert sorted(os.listdir(tmp_path / "saved_models" / "tiny")) == versions_before


def test_unknown_flag_value(earlier_run):
    tmp_path, flags = earlier_run
    assert_fails_untouched(tmp_path, flags + ["--loss=not_a_loss"], "--loss")


def test_unreadable_dataset(earlier_run):
    tmp_path, flags = earlier_run
    bad = tmp_path / "bad_idx"
    bad.mkdir()
    (bad / "train-images-idx3-ubyte").write_bytes(b"not an IDX file")
    (bad / "train-labels-idx1-ubyte").write_bytes(b"nor this")
    assert_fails_untouched(
        tmp_path, flags + [f"--idx_dir={bad}"], "ExampleGen could not read the dataset"
    )


def test_pipeline_root_not_writable(earlier_run):
    tmp_path, flags = earlier_run
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where a directory should be")
    assert_fails_untouched(tmp_path, flags + [f"--pipeline_root={blocker / 'root'}"],
                           "--pipeline_root")


def test_serving_dir_not_writable(earlier_run):
    tmp_path, flags = earlier_run
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where a directory should be")
    assert_fails_untouched(tmp_path, flags + [f"--serving_dir={blocker / 'saved'}"],
                           "not a writable directory")


def test_existing_version_number(earlier_run):
    tmp_path, flags = earlier_run
    assert_fails_untouched(tmp_path, flags + ["--version=1"], "--version=1 already exists")


def test_strategy_the_backend_lacks(earlier_run, monkeypatch):
    # Keras's torch backend has no data-parallel engine: "mirrored" there is
    # refused with the reason, before any training.
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    tmp_path, flags = earlier_run
    assert_fails_untouched(tmp_path, flags + ["--strategy=mirrored"], "--strategy=mirrored")
