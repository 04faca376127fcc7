"""`python -m pipelines.generate`: images by seed from a pushed SavedModel
(in a process that needs TensorFlow only) or a `.keras` file, as PNG grid,
.npy or a folder of PNGs; bad input is an `error:` line and writes nothing.

Subprocess runs check what only a fresh process shows (the imported
modules, the exit status); the other cases call `main(argv)` in-process.
SavedModel cases run once (the command's SavedModel path uses no Keras
backend; exporting from JAX/torch is tested in test_export.py); `.keras`
cases run under every backend."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from PIL import Image

from gankeras import export
from gankeras.interpolation import truncate
from gankeras.sampling import latents_from_seeds
from pipelines import generate as generate_cli
from tests.test_export import NUM_CLASSES, as_uint8, trained_gan

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(
    os.environ,
    PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
    TF_CPP_MIN_LOG_LEVEL="3",
)

# Runs the command, then records the modules it imported; with "tf" first,
# also the Keras modules that `import tensorflow` loads by itself.
WRAPPER = textwrap.dedent(
    """
    import json, runpy, sys
    modules_file, mode, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    tf_keras = []
    if mode == "tf":
        import tensorflow
        tf_keras = sorted(m for m in sys.modules if m.split(".")[0] == "keras")
    sys.argv = ["pipelines.generate"] + argv
    code = 0
    try:
        runpy.run_module("pipelines.generate", run_name="__main__")
    except SystemExit as exit:
        code = exit.code
    json.dump({"modules": sorted(sys.modules), "tf_keras": tf_keras}, open(modules_file, "w"))
    sys.exit(code)
    """
)


def error_lines(stderr):
    """The `error:` lines of stderr (TensorFlow may log other lines)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def run_subprocess(tmp_path, *flags, mode="bare"):
    """Runs the command in a fresh process; returns (result, {"modules": the
    modules imported, "tf_keras": Keras modules of a bare TensorFlow import})."""
    modules_file = tmp_path / "modules.json"
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(modules_file), mode, *flags],
        env=ENV,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    modules = json.loads(modules_file.read_text()) if modules_file.exists() else {}
    modules_file.unlink(missing_ok=True)
    return result, modules


@pytest.fixture
def run_main(tmp_path, monkeypatch, capsys):
    """`main(flags)` in this process, in tmp_path; returns (status, stderr)."""
    monkeypatch.chdir(tmp_path)

    def run(*flags):
        status = generate_cli.main(list(flags))
        return status, capsys.readouterr().err

    return run


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """A GAN with an EMA generator, pushed as versions 1 (raw weights) and 2
    (EMA weights, the newest)."""
    gan = trained_gan()
    serving_dir = tmp_path_factory.mktemp("saved_models")
    export.export_generator(
        gan, str(serving_dir), "tiny", version=1, use_ema=False, warmup_batch_sizes=(1,)
    )
    export.export_generator(gan, str(serving_dir), "tiny", version=2, warmup_batch_sizes=(1,))
    return gan, str(serving_dir / "tiny")


@pytest.mark.backend_independent
def test_savedmodel_png_grid_equals_generate_in_a_tensorflow_only_process(pushed, tmp_path):
    gan, model_dir = pushed
    result, modules = run_subprocess(
        tmp_path, f"--model={model_dir}", "--n=5", "--seed=3", "--out=grid.png", mode="tf"
    )
    assert result.returncode == 0, result.stderr
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    # ceil(sqrt(5)) = 3 columns, 2 rows of 28x28 cells, 1-pixel white borders.
    assert grid.shape == (2 * 29 + 1, 3 * 29 + 1)
    expected = as_uint8(gan.generate(seeds=np.arange(3, 8)))  # version 2: EMA weights
    for i in range(5):
        r, c = divmod(i, 3)
        cell = grid[1 + 29 * r : 29 * (r + 1), 1 + 29 * c : 29 * (c + 1)]
        assert np.abs(cell.astype(int) - expected[i, ..., 0].astype(int)).max() <= 1
    assert grid[0].min() == 255 and grid[-29:, -29:].min() == 255  # border, empty cell
    assert not any(m.split(".")[0] == "gankeras" for m in modules["modules"])
    # No Keras module beyond those `import tensorflow` loads by itself.
    keras_modules = {m for m in modules["modules"] if m.split(".")[0] == "keras"}
    assert keras_modules == set(modules["tf_keras"])


@pytest.mark.backend_independent
def test_savedmodel_npy_from_a_chosen_version(pushed, run_main, tmp_path):
    gan, model_dir = pushed
    status, err = run_main(f"--model={model_dir}/1", "--n=4", "--seed=10", "--out=out/images.npy")
    assert status == 0, err
    images = np.load(tmp_path / "out" / "images.npy")
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.float32
    np.testing.assert_allclose(
        images, gan.generate(seeds=np.arange(10, 14), use_ema=False), atol=1e-5
    )


@pytest.mark.backend_independent
def test_savedmodel_truncation_feeds_truncated_latents(pushed, run_main, tmp_path):
    gan, model_dir = pushed
    status, err = run_main(f"--model={model_dir}", "--n=3", "--truncation=0.5", "--out=t.npy")
    assert status == 0, err
    z = truncate(latents_from_seeds(np.arange(3), gan.latent_dim), 0.5)
    with gan.ema_weights():
        expected = keras.ops.convert_to_numpy(gan.generator(z))
    np.testing.assert_allclose(np.load(tmp_path / "t.npy"), expected, atol=1e-5)
    assert np.abs(expected - gan.generate(3)).max() > 1e-3  # truncation changed them


@pytest.mark.backend_independent
def test_folder_of_pngs_with_progress(pushed, run_main, tmp_path):
    gan, model_dir = pushed
    status, err = run_main(
        f"--model={model_dir}", "--n=5", "--seed=7", "--batch_size=2", "--out=samples/"
    )
    assert status == 0, err
    assert sorted(os.listdir(tmp_path / "samples")) == [f"seed{s:06d}.png" for s in range(7, 12)]
    first = np.asarray(Image.open(tmp_path / "samples" / "seed000007.png"))
    assert np.abs(first.astype(int) - as_uint8(gan.generate(seeds=[7]))[0, ..., 0]).max() <= 1
    assert "generated 2/5 images" in err and "generated 5/5 images" in err
    assert os.listdir(tmp_path) == ["samples"]  # no temporary left behind


@pytest.mark.backend_independent
def test_conditional_savedmodel_labels(tmp_path_factory, run_main, tmp_path):
    gan = trained_gan(conditional=True)
    exported = export.export_generator(
        gan, str(tmp_path_factory.mktemp("serving")), "cond", warmup_batch_sizes=(1,)
    )
    status, err = run_main(f"--model={exported.path}", "--n=3", "--labels=2,0,1", "--out=c.npy")
    assert status == 0, err
    np.testing.assert_allclose(
        np.load(tmp_path / "c.npy"), gan.generate(seeds=[0, 1, 2], labels=[2, 0, 1]), atol=1e-5
    )
    status, err = run_main(f"--model={exported.path}", "--n=3", "--out=d.npy")
    assert status == 2 and "--labels" in error_lines(err)[0]
    assert not (tmp_path / "d.npy").exists()


def test_keras_file_of_a_gan_from_the_command_line(tmp_path):
    gan = trained_gan(conditional=True)
    gan.save(tmp_path / "gan.keras")
    result, _ = run_subprocess(tmp_path, "--model=gan.keras", "--n=4", "--seed=5", "--out=k.npy")
    assert result.returncode == 0, result.stderr
    # Labels cycle through the GAN's classes, EMA weights: like generate().
    np.testing.assert_allclose(np.load(tmp_path / "k.npy"), gan.generate(4, seed=5), atol=1e-5)


def test_keras_file_labels_out_of_range(tmp_path, run_main):
    trained_gan(conditional=True).save(tmp_path / "gan.keras")
    status, err = run_main("--model=gan.keras", "--n=2", f"--labels={NUM_CLASSES}", "--out=b.npy")
    assert status == 2 and f"[0, {NUM_CLASSES})" in error_lines(err)[0]
    assert not (tmp_path / "b.npy").exists()


def test_keras_file_of_a_bare_generator_with_truncation(tmp_path, run_main):
    gan = trained_gan()
    gan.generator.save(tmp_path / "g.keras")
    status, err = run_main(
        "--model=g.keras", "--n=3", "--truncation=0", "--out=g.png", "--columns=3"
    )
    assert status == 0, err
    grid = np.asarray(Image.open(tmp_path / "g.png"))
    assert grid.shape == (29 + 1, 3 * 29 + 1)
    mean_image = as_uint8(keras.ops.convert_to_numpy(gan.generator(np.zeros((1, 8), "float32"))))
    for c in range(3):  # psi = 0: every cell is G(0)
        cell = grid[1:29, 1 + 29 * c : 29 * (c + 1)]
        assert np.abs(cell.astype(int) - mean_image[0, ..., 0]).max() <= 1


@pytest.mark.backend_independent
def test_bad_input_exits_non_zero_with_an_error_line(tmp_path):
    result, _ = run_subprocess(tmp_path, "--model=nowhere/tiny", "--out=x.png")
    assert result.returncode == 2
    assert error_lines(result.stderr) and "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "flags, message",
    [
        (["--model=nowhere/tiny", "--out=x.png"], "--model=nowhere/tiny: not a model"),
        (["--model=missing.keras", "--out=x.png"], "no such .keras file"),
        (["--model=MODEL", "--n=0", "--out=x.png"], "--n must be an integer >= 1"),
        (["--model=MODEL", "--n=many", "--out=x.png"], "Received: --n=many"),
        (["--model=MODEL", "--out=x.jpg"], "unknown output suffix '.jpg'"),
        (["--model=MODEL", "--labels=1", "--out=x.png"], "model is unconditional"),
        (["--model=MODEL", "--truncation=1.5", "--out=x.png"], "psi in [0, 1]"),
        (["--model=MODEL", "--n=3", "--labels=1,2", "--out=x.png"], "holds 2 ids but --n=3"),
        (["--model=MODEL", "--out=full"], "not empty"),
        (["--model=MODEL"], "--out"),
    ],
)
def test_bad_input_is_an_error_line_and_writes_nothing(pushed, run_main, tmp_path, flags, message):
    _, model_dir = pushed
    (tmp_path / "x.png").write_bytes(b"older file")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.png").write_bytes(b"kept")
    status, err = run_main(*[f.replace("MODEL", model_dir) for f in flags])
    assert status == 2
    assert len(error_lines(err)) == 1 and message in error_lines(err)[0], err
    assert "Traceback" not in err
    assert (tmp_path / "x.png").read_bytes() == b"older file"
    assert os.listdir(tmp_path / "full") == ["keep.png"]
    assert sorted(os.listdir(tmp_path)) == ["full", "x.png"]
