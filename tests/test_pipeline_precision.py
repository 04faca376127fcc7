"""`--precision=mixed_bfloat16`: the pipeline trains in bfloat16 (float32
weights and losses), evaluates, and pushes a SavedModel whose signatures
still serve float32 latents -> float32 / uint8 images. `--precision=auto`
resolves to the policy the hardware computes natively, and that resolved
policy is what the Trainer's parameters, record and cache key hold."""

import glob
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gankeras import hardware
from pipelines import config as config_lib
from pipelines.framework import PipelineError
from tests.test_pipeline_support import TINY_FLAGS, run_pipeline, write_idx_files

AMX_CPU = frozenset({"avx2", "avx512bw", "avx512vl", "avx512dq", "amx_bf16"})
AVX2_CPU = frozenset({"avx", "avx2", "fma"})


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
    assert "precision: mixed_bfloat16 -> mixed_bfloat16 (" in result.stdout
    (record_path,) = glob.glob(str(tmp_path / "root" / "Trainer" / "executions" / "*.json"))
    assert json.load(open(record_path))["parameters"]["precision"] == "mixed_bfloat16"
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
    output = result.stdout + result.stderr
    assert "error: flag --precision=float16" in output, output[-2000:]
    assert "auto|float32|mixed_bfloat16" in output
    assert "Traceback" not in output
    assert not (tmp_path / "root" / "Trainer").exists()


@pytest.mark.backend_independent
def test_the_flag_choices_are_the_libraries():
    assert config_lib.PRECISIONS == hardware.PRECISIONS


@pytest.mark.backend_independent
def test_an_unknown_precision_in_the_config_is_a_pipeline_error(tmp_path):
    config = config_lib.PipelineConfig(idx_dir=str(tmp_path), precision="float16")
    with pytest.raises(PipelineError, match=r"--precision.*auto.*float32.*'float16'"):
        config.validate()


def machine(monkeypatch, cpu, gpus=()):
    monkeypatch.setattr(hardware, "cpu_features", lambda: cpu)
    monkeypatch.setattr(hardware, "gpu_compute_capabilities", lambda: gpus)


def trainer_key(precision, tmp_path):
    """The Trainer's parameters and cache key for a run with `precision`
    (same inputs, code and environment)."""
    from pipelines import pipeline
    from pipelines.framework import runner

    config = config_lib.PipelineConfig(idx_dir=str(tmp_path), precision=precision)
    trainer = next(c for c in pipeline.build_components(config) if c.name == "Trainer")
    return trainer.parameters, runner.cache_key(trainer, {}, "code", env={"backend": "x"})


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "cpu, gpus, policy",
    [
        (AMX_CPU, (), "mixed_bfloat16"),
        (AVX2_CPU, (), "float32"),
        (AVX2_CPU, ((9, 0),), "mixed_bfloat16"),
        (AMX_CPU, ((7, 5),), "float32"),
    ],
)
def test_auto_is_recorded_and_keyed_as_what_it_resolves_to(
    monkeypatch, tmp_path, cpu, gpus, policy
):
    machine(monkeypatch, cpu, gpus)
    parameters, key = trainer_key("auto", tmp_path)
    assert parameters.precision == policy
    # Exactly the run of the policy it resolved to: the same cache entry.
    assert key == trainer_key(policy, tmp_path)[1]


@pytest.mark.backend_independent
def test_auto_on_other_hardware_does_not_reuse_the_cache(monkeypatch, tmp_path):
    machine(monkeypatch, AMX_CPU)
    _, bf16_key = trainer_key("auto", tmp_path)
    machine(monkeypatch, AVX2_CPU)
    _, f32_key = trainer_key("auto", tmp_path)
    assert bf16_key != f32_key


@pytest.mark.backend_independent
def test_the_run_prints_what_auto_chose_and_why(tmp_path):
    # Stops at validation (no such --idx_dir): after the line, before any work.
    result = run_pipeline(f"--idx_dir={tmp_path / 'missing'}", "--precision=auto")
    policy, reason = hardware.resolve_precision("auto")
    assert f"precision: auto -> {policy} ({reason})" in result.stdout, result.stdout[-2000:]
    assert result.returncode == 1
