"""The pipeline's cache key covers what changes a result beyond the flags:
the code of `gankeras/` and `pipelines/`, the Keras backend and the network
options resolved from it. A change to any of them runs the components again
(in a new run directory); nothing else does.

The cross-backend test runs the pipeline itself under two backends in
subprocesses, so every test here runs once (TensorFlow pass)."""

import glob
import json
import os
import shutil

import pytest

from pipelines.framework import LocalRunner, runner
from tests.test_pipeline_framework import CALLS, pipeline
from tests.test_pipeline_support import REPO_ROOT, TINY_FLAGS, run_pipeline, write_idx_files

pytestmark = pytest.mark.backend_independent


@pytest.fixture
def code_copy(tmp_path, monkeypatch):
    """A copy of `gankeras/` and `pipelines/` that the runner hashes instead
    of the real tree (the code version is computed once per process: the
    test clears that memo after each edit)."""
    copy = tmp_path / "repo"
    for package in runner.CODE_PACKAGES:
        shutil.copytree(
            os.path.join(REPO_ROOT, package),
            copy / package,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    monkeypatch.setattr(runner, "_REPO_ROOT", str(copy))
    runner._cached_digest.cache_clear()
    yield copy
    runner._cached_digest.cache_clear()


def test_code_version_is_computed_once_per_process(code_copy):
    first = runner.code_version()
    with open(code_copy / "gankeras" / "models" / "gan.py", "a") as f:
        f.write("# edited\n")
    assert runner.code_version() == first  # memoized: not re-hashed per component


@pytest.mark.parametrize(
    "edit",
    [
        ("gankeras/models/gan.py", "\n# a comment changes the code version too\n"),
        ("pipelines/components/example_gen.py", "\nX = 1\n"),
        ("gankeras/losses/new_module.py", "Y = 2\n"),  # an added file
    ],
)
def test_any_edit_to_the_library_invalidates_the_cache(tmp_path, code_copy, edit):
    root = tmp_path / "root"
    LocalRunner(root, log=lambda _: None).run(pipeline())
    CALLS.clear()
    LocalRunner(root, log=lambda _: None).run(pipeline())
    assert CALLS == []  # unchanged code: every component cached

    path, text = edit
    with open(code_copy / path, "a") as f:
        f.write(text)
    runner._cached_digest.cache_clear()  # as a new process would
    records = LocalRunner(root, log=lambda _: None).run(pipeline())
    assert CALLS == ["Numbers", "Sum"]
    assert not records["Sum"].cached
    assert len(os.listdir(root / "Sum" / "executions")) == 2  # a new run directory


def test_the_backend_is_part_of_the_key(tmp_path, monkeypatch):
    root = tmp_path / "root"
    LocalRunner(root, log=lambda _: None).run(pipeline())
    CALLS.clear()
    env = dict(runner.environment(), keras_backend="some_other_backend")
    monkeypatch.setattr(runner, "environment", lambda: env)
    LocalRunner(root, log=lambda _: None).run(pipeline())
    assert CALLS == ["Numbers", "Sum"]


def test_a_rerun_under_another_backend_trains_anew_and_is_never_stuck(tmp_path):
    """JAX, then TensorFlow, same flags, same --pipeline_root: nothing is
    reused, and the JAX run left "running" (as a kill leaves it) is not
    re-entered (its checkpoints would not fit the TensorFlow networks)."""
    flags = [
        f"--idx_dir={write_idx_files(str(tmp_path / 'idx'))}",
        f"--pipeline_root={tmp_path / 'root'}",
        f"--serving_dir={tmp_path / 'saved_models'}",
        "--model_name=tiny",
        *TINY_FLAGS,
    ]
    first = run_pipeline(*flags, env={"KERAS_BACKEND": "jax"})
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    (jax_path,) = glob.glob(str(tmp_path / "root" / "Trainer" / "executions" / "*.json"))
    jax_record = json.load(open(jax_path))
    jax_record["status"] = "running"
    with open(jax_path, "w") as f:
        json.dump(jax_record, f)

    second = run_pipeline(*flags, env={"KERAS_BACKEND": "tensorflow"})
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "cached" not in second.stdout and "re-entering" not in second.stdout
    records = [
        json.load(open(p))
        for p in glob.glob(str(tmp_path / "root" / "Trainer" / "executions" / "*.json"))
    ]
    by_backend = {r["environment"]["keras_backend"]: r for r in records}
    assert sorted(by_backend) == ["jax", "tensorflow"]
    assert by_backend["tensorflow"]["status"] == "complete"
    assert by_backend["tensorflow"]["run_id"] != jax_record["run_id"]
    assert by_backend["tensorflow"]["outputs"]["model"] != jax_record["outputs"]["model"]
    # The resolved network choice differs too, and is recorded in the key's parameters.
    # Every option of the networks is recorded (gankeras.architectures.resolve_options).
    assert jax_record["parameters"]["network_options"] == {
        "base_filters": 8,
        "upsampling": "resize",
    }
    assert by_backend["tensorflow"]["parameters"]["network_options"] == {
        "base_filters": 8,
        "upsampling": "transposed",
    }
