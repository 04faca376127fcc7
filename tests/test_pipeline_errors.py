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
    # The config of an earlier run: a failing run must not overwrite it.
    (root / "pipeline_config.json").write_text('{"model_name": "earlier"}')
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
    versions_before = served(tmp_path)
    result = run_pipeline(*flags)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    # One `error:` line (absl reports values outside an enum flag itself).
    errors = [
        line
        for line in result.stderr.splitlines()
        if line.startswith("error:") or "Flags parsing error" in line
    ]
    assert len(errors) == 1, result.stderr[-2000:]
    after = snapshot(tmp_path)
    assert {path: after.get(path) for path in before} == before
    assert served(tmp_path) == versions_before


def served(tmp_path):
    """Every non-hidden entry of the served model's directory (hidden ones
    are lock files and temporary versions TF Serving ignores)."""
    return sorted(
        n for n in os.listdir(tmp_path / "saved_models" / "tiny") if not n.startswith(".")
    )


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
    assert_fails_untouched(
        tmp_path, flags + [f"--pipeline_root={blocker / 'root'}"], "--pipeline_root"
    )


def test_serving_dir_not_writable(earlier_run):
    tmp_path, flags = earlier_run
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where a directory should be")
    assert_fails_untouched(
        tmp_path, flags + [f"--serving_dir={blocker / 'saved'}"], "not a writable directory"
    )


def test_existing_version_number(earlier_run):
    tmp_path, flags = earlier_run
    assert_fails_untouched(tmp_path, flags + ["--version=1"], "--version=1 already exists")


def test_strategy_the_backend_lacks(earlier_run, monkeypatch):
    # Keras's torch backend has no data-parallel engine: "mirrored" there is
    # refused with the reason, before any training.
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    tmp_path, flags = earlier_run
    assert_fails_untouched(tmp_path, flags + ["--strategy=mirrored"], "--strategy=mirrored")


def test_nan_bless_threshold(earlier_run):
    # NaN compares false with every score, so it used to bless any model.
    tmp_path, flags = earlier_run
    assert_fails_untouched(
        tmp_path,
        flags + ["--bless_threshold=nan"],
        "Bad --bless_threshold: expected a finite number",
    )


@pytest.mark.parametrize("threshold", [float("inf"), float("-inf")])
def test_infinite_bless_threshold_is_a_config_error(threshold):
    from pipelines.config import PipelineConfig
    from pipelines.framework import PipelineError

    with pytest.raises(PipelineError, match="Bad --bless_threshold: expected a finite number"):
        PipelineConfig(bless_threshold=threshold).validate()


def test_serving_dir_that_takes_no_file(earlier_run):
    # As root, os.access says /proc is writable; only a real file tells.
    tmp_path, flags = earlier_run
    assert_fails_untouched(
        tmp_path,
        flags + ["--serving_dir=/proc/anything"],
        "Cannot use --serving_dir '/proc/anything'",
    )


def test_pipeline_root_that_takes_no_file_fails_preflight(tmp_path):
    from pipelines import pipeline
    from pipelines.config import PipelineConfig
    from pipelines.framework import PipelineError

    config = PipelineConfig(pipeline_root="/proc/anything", serving_dir=str(tmp_path))
    with pytest.raises(PipelineError, match="Cannot use --pipeline_root '/proc/anything'"):
        pipeline.preflight(config)
    assert os.listdir(tmp_path) == []  # the serving dir was not even probed


def test_batch_larger_than_the_dataset(earlier_run):
    # Without --num_train_examples the data size is known only once
    # ExampleGen has read it: the Trainer refuses before building anything.
    tmp_path, flags = earlier_run
    flags = [f for f in flags if not f.startswith("--num_train_examples")]
    assert_fails_untouched(
        tmp_path,
        flags + ["--batch_size=300"],
        "Bad --batch_size: expected at most the 216 training images",
    )


@pytest.mark.backend_independent
@pytest.mark.parametrize("decay", [1.0, -0.1, 1.5])
def test_ema_decay_outside_0_1_is_a_config_error(decay):
    from pipelines.config import PipelineConfig
    from pipelines.framework import PipelineError

    with pytest.raises(PipelineError, match=r"Bad --ema_decay: expected a number in \[0, 1\)"):
        PipelineConfig(ema_decay=decay).validate()


@pytest.mark.backend_independent
def test_negative_r1_penalty_is_a_config_error():
    from pipelines.config import PipelineConfig
    from pipelines.framework import PipelineError

    with pytest.raises(PipelineError, match=r"Bad --r1_penalty: expected a gamma >= 0"):
        PipelineConfig(r1_penalty=-1.0).validate()
