"""Bad data settings of `python -m pipelines.train`: an `error:` line naming
the value or file and what was expected, exit status 1, nothing written
earlier changed. The flag checks run in-process (`PipelineConfig.validate`
is what the entry point calls); two subprocess runs prove the CLI path
(a flag error, and an ExampleGen error after an earlier run's files exist)."""

import pytest

from pipelines.config import PipelineConfig
from pipelines.framework import PipelineError
from tests.test_pipeline_support import run_train, snapshot

pytestmark = pytest.mark.backend_independent


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"image_size": 0}, r"Bad --image_size: expected one of \[32, 64, 128\].*Received: 0"),
        ({"image_size": 48}, r"Bad --image_size: expected one of \[32, 64, 128\].*Received: 48"),
        ({"channels": 2}, r"Bad --channels: expected 1 \(grayscale\) or 3.*Received: 2"),
        ({"background": "plaid"}, r"Bad --background: expected a colour name.*'plaid'"),
        ({"dataset": "mnist"}, r"exactly one data source.*--image_dir=.*--dataset=mnist"),
        ({"image_dir": None}, r"exactly one data source.*Received: none"),
        (
            {"image_dir": "/nowhere/at/all"},
            r"Bad --image_dir: expected an existing folder.*nowhere",
        ),
    ],
)
def test_bad_data_flag_is_refused_naming_the_value(tmp_path, fields, message):
    config = PipelineConfig(**dict({"image_dir": str(tmp_path)}, **fields))
    with pytest.raises(PipelineError, match=message):
        config.validate()


def test_labels_from_folders_needs_an_image_dir():
    with pytest.raises(PipelineError, match="--labels_from_folders .* does not apply to --dataset"):
        PipelineConfig(dataset="mnist", labels_from_folders=True).validate()


@pytest.fixture
def earlier(tmp_path):
    root = tmp_path / "root"
    (root / "ExampleGen").mkdir(parents=True)
    (root / "ExampleGen" / "earlier.json").write_text("{}")
    return tmp_path, [f"--pipeline_root={root}", f"--serving_dir={tmp_path / 'saved'}"]


@pytest.mark.parametrize("case", ["image_size", "unreadable_folder"])
def test_cli_prints_one_error_line_and_changes_nothing(earlier, case):
    tmp_path, flags = earlier
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"")
    (folder / "b.jpg").write_text("not a jpeg")
    if case == "image_size":
        flags += [f"--image_dir={folder}", "--image_size=0"]
        message = "error: Bad --image_size: expected one of [32, 64, 128]"
    else:
        flags += [f"--image_dir={folder}", "--image_size=32"]
        message = f"error: ExampleGen could not read the dataset: the image folder {folder} holds no usable image (2 files skipped"
    before = snapshot(tmp_path)
    result = run_train(*flags, timeout=300)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    after = snapshot(tmp_path)
    assert {path: after.get(path) for path in before} == before
