"""`--augment` / `--ada_target`: the pipeline's GAN trains with ADA and
records its p; a bad target is an `error:`."""

import glob
import json

import pytest

from tests.test_pipeline_support import TINY_FLAGS, run_pipeline, write_idx_files


@pytest.mark.tensorflow_pass(covered_by="tests/test_gan_augment.py")
def test_augment_ada_trains_and_records_p(tmp_path):
    result = run_pipeline(
        f"--idx_dir={write_idx_files(str(tmp_path / 'idx'))}",
        f"--pipeline_root={tmp_path / 'root'}",
        f"--serving_dir={tmp_path / 'saved_models'}",
        "--augment=ada",
        "--ada_target=0.5",
        *TINY_FLAGS,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (path,) = glob.glob(str(tmp_path / "root" / "**" / "history.json"), recursive=True)
    history = json.load(open(path))
    assert "augment_p" in history and "augment_rt" in history
    assert all(0.0 <= p <= 1.0 for p in history["augment_p"])


@pytest.mark.backend_independent
def test_ada_target_outside_the_unit_interval_is_an_error(tmp_path):
    result = run_pipeline(
        f"--pipeline_root={tmp_path / 'root'}", "--augment=ada", "--ada_target=1.5"
    )
    assert result.returncode != 0
    assert "error: Bad --ada_target: expected a number in (0, 1)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "root").exists()
