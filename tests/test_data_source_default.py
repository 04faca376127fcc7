"""The MNIST preset's default data on a machine with or without network
(`pipelines.data_source.resolve_default_source`), and an explicit TFDS
download that fails within seconds offline instead of retrying for minutes."""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from gankeras.data import tfds_source
from pipelines.config import PipelineConfig
from pipelines.data_source import resolve_default_source
from pipelines.framework import PipelineError
from tests.test_pipeline_support import REPO_ROOT, write_idx_files

pytestmark = pytest.mark.backend_independent


def resolve(tmp_path, prepared, online, idx=True):
    idx_dir = write_idx_files(str(tmp_path / "idx")) if idx else str(tmp_path / "none")
    return resolve_default_source(
        PipelineConfig(tfds_data_dir=str(tmp_path / "tfds")),
        is_prepared=lambda name, data_dir: prepared and name == "mnist",
        network_reachable=lambda: online,
        idx_dir=idx_dir,
    )


def test_prepared_tfds_mnist_is_used_without_network(tmp_path):
    overrides, reason = resolve(tmp_path, prepared=True, online=False)
    assert overrides == {"dataset": "mnist"} and "prepared in" in reason


def test_reachable_network_downloads_tfds_mnist(tmp_path):
    overrides, reason = resolve(tmp_path, prepared=False, online=True)
    assert overrides == {"dataset": "mnist"} and "downloaded" in reason


def test_offline_without_tfds_uses_the_installed_idx_files(tmp_path):
    overrides, reason = resolve(tmp_path, prepared=False, online=False)
    assert overrides == {"idx_dir": str(tmp_path / "idx")}
    assert "network is unreachable" in reason and "not prepared" in reason


def test_nothing_available_names_every_alternative(tmp_path):
    with pytest.raises(
        PipelineError, match=r"dataset-fashion-mnist.*--idx_dir.*--image_dir.*--tfds_data_dir"
    ):
        resolve(tmp_path, prepared=False, online=False, idx=False)


def test_network_check_is_bounded_in_time():
    # A server that accepts the connection and never answers the TLS
    # handshake: the check gives up after its timeout.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        start = time.monotonic()
        assert tfds_source.network_reachable(server.getsockname(), timeout=1.0) is False
        assert time.monotonic() - start < 2.0


def test_network_check_refuses_a_host_that_only_accepts_tcp():
    # Some sandboxes accept every TCP connection; a TLS peer with a wrong
    # certificate (or none) is not the download host.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        thread = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
        thread.start()
        assert tfds_source.network_reachable(server.getsockname(), timeout=2.0) is False


def test_real_resolution_here_finishes_within_seconds(tmp_path):
    # On this offline machine: not prepared in an empty data_dir, host unreachable.
    start = time.monotonic()
    overrides, _ = resolve_default_source(
        PipelineConfig(tfds_data_dir=str(tmp_path)), idx_dir=write_idx_files(str(tmp_path / "idx"))
    )
    assert time.monotonic() - start < tfds_source.NETWORK_TIMEOUT + 3.0
    if not tfds_source.network_reachable():
        assert "idx_dir" in overrides


@pytest.mark.skipif(tfds_source.network_reachable(), reason="needs a machine without network")
def test_explicit_tfds_dataset_offline_fails_within_seconds_naming_alternatives(tmp_path):
    start = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.train",
            "--dataset=mnist",
            f"--tfds_data_dir={tmp_path / 'tfds'}",
            f"--pipeline_root={tmp_path / 'root'}",
            f"--serving_dir={tmp_path / 'saved'}",
        ],
        cwd=REPO_ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert "error: ExampleGen could not read the dataset" in result.stderr
    assert "network is unreachable" in result.stderr and "--idx_dir" in result.stderr
    assert "--image_dir" in result.stderr and "Traceback" not in result.stderr
    # Interpreter + TensorFlow start-up takes most of this on 2 shared cores;
    # TFDS's own retries took 210 s.
    assert elapsed < 60, elapsed
