"""`--precision=mixed_bfloat16`: the pipeline trains in bfloat16 (float32
weights and losses), evaluates, and pushes a SavedModel whose signatures
still serve float32 latents -> float32 / uint8 images."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

from tests.test_pipeline_support import TINY_FLAGS, run_pipeline, write_idx_files


def test_mixed_bfloat16_pipeline_pushes_a_float32_serving_model(tmp_path):
    result = run_pipeline(
        f"--idx_dir={write_idx_files(str(tmp_path / 'idx'))}",
        f"--pipeline_root={tmp_path / 'root'}",
        f"--serving_dir={tmp_path / 'saved_models'}",
        "--model_name=tiny",
        "--precision=mixed_bfloat16",
        *TINY_FLAGS,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    config = json.load(open(tmp_path / "root" / "pipeline_config.json"))
    assert config["precision"] == "mixed_bfloat16"
    (generator_path,) = (tmp_path / "root" / "Trainer").glob("model/*/generator.keras")
    layers = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(f"""
                import json, zipfile
                config = json.loads(zipfile.ZipFile({str(generator_path)!r}).read("config.json"))
                print(json.dumps(sorted({{str(l["config"].get("dtype", {{}}).get("config", {{}}).get("name"))
                                         for l in config["config"]["layers"]
                                         if l["class_name"] != "InputLayer"}})))
            """),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert layers == ["mixed_bfloat16"], layers  # trained in bfloat16
    version = tmp_path / "saved_models" / "tiny" / "1"
    script = textwrap.dedent(
        f"""
        import numpy as np, tensorflow as tf
        model = tf.saved_model.load({str(version)!r})
        images = model.signatures["serving_default"](z=tf.zeros([2, 16]))["images"]
        pixels = model.signatures["generate_from_seeds"](seeds=tf.constant([1, 2], tf.int64))["images"]
        assert images.dtype == tf.float32 and pixels.dtype == tf.uint8, (images.dtype, pixels.dtype)
        np.save({str(tmp_path / "images.npy")!r}, images.numpy())
        """
    )
    subprocess.run(
        [sys.executable, "-c", script], check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    )
    images = np.load(tmp_path / "images.npy")
    assert images.shape == (2, 28, 28, 1) and np.isfinite(images).all()
    assert np.abs(images).max() <= 1.0


def test_unknown_precision_is_refused_before_any_work(tmp_path):
    result = run_pipeline(
        f"--idx_dir={write_idx_files(str(tmp_path / 'idx'))}",
        f"--pipeline_root={tmp_path / 'root'}",
        "--precision=float16",
        *TINY_FLAGS,
    )
    assert result.returncode != 0
    assert "precision" in (result.stdout + result.stderr)
    assert not (tmp_path / "root" / "Trainer").exists()
