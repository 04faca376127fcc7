"""`gankeras.export`: the TF Serving layout, the two signatures, warm-up
records, atomic never-overwritten versions, and checks done the way a
serving client sees the model (saved_model_cli, a TensorFlow-only process).

Runs under every backend: from JAX and torch the export goes through a
TensorFlow subprocess, so these tests cover carrying the weights over."""

import os
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from keras import layers

import gankeras
from gankeras import export
from gankeras.export import saved_model as saved_model_lib
from gankeras.export import versions as export_versions
from gankeras.export import warmup
from tests.test_pipeline_support import snapshot

LATENT_DIM = 8
NUM_CLASSES = 3
CLIENT_ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def tiny_generator(conditional=False):
    z = keras.Input((LATENT_DIM,), name="z")
    inputs, h = z, z
    if conditional:
        labels = keras.Input((), dtype="int32", name="labels")
        inputs = [z, labels]
        h = layers.Concatenate()([z, layers.Flatten()(layers.Embedding(NUM_CLASSES, 4)(labels))])
    h = layers.Dense(7 * 7 * 4, activation="relu")(h)
    h = layers.Reshape((7, 7, 4))(h)
    images = layers.Conv2DTranspose(1, 4, strides=4, padding="same", activation="tanh")(h)
    return keras.Model(inputs, images)


def tiny_discriminator(conditional=False):
    images = keras.Input((28, 28, 1))
    h = layers.Flatten()(images)
    if conditional:
        labels = keras.Input((), dtype="int32")
        h = layers.Concatenate()([h, layers.Flatten()(layers.Embedding(NUM_CLASSES, 4)(labels))])
        return keras.Model([images, labels], layers.Dense(1)(h))
    return keras.Model(images, layers.Dense(1)(h))


def trained_gan(conditional=False):
    """A GAN trained for 2 steps with an EMA generator (EMA != raw weights)."""
    gan = gankeras.GAN(
        tiny_generator(conditional),
        tiny_discriminator(conditional),
        num_classes=NUM_CLASSES if conditional else None,
    )
    gan.compile(
        keras.optimizers.Adam(1e-2),
        keras.optimizers.Adam(1e-2, use_ema=True),
    )
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (32, 28, 28, 1)).astype("float32")
    if conditional:
        labels = rng.integers(0, NUM_CLASSES, 32).astype("int32")
        gan.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    else:
        gan.fit(images, batch_size=16, epochs=1, verbose=0)
    return gan


def as_uint8(images):
    """The documented float -> uint8 mapping of `generate_from_seeds`."""
    return np.round(np.clip((images + 1.0) * 127.5, 0, 255)).astype(np.uint8)


@pytest.fixture(scope="module")
def unconditional(tmp_path_factory):
    gan = trained_gan()
    serving_dir = tmp_path_factory.mktemp("saved_models")
    exported = export.export_generator(gan, str(serving_dir), "mnist_gan")
    return gan, exported


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    gan = trained_gan(conditional=True)
    serving_dir = tmp_path_factory.mktemp("saved_models")
    exported = export.export_generator(gan, str(serving_dir), "cgan")
    return gan, exported


def load_signatures(path):
    import tensorflow as tf

    return tf.saved_model.load(path).signatures


def test_export_writes_the_tf_serving_layout(unconditional):
    _, exported = unconditional
    model_dir = os.path.dirname(exported.path)
    assert exported.version == 1
    assert entries(model_dir) == ["1"]  # no temporary dir left behind
    assert os.path.isfile(os.path.join(exported.path, "saved_model.pb"))
    assert os.path.isdir(os.path.join(exported.path, "variables"))
    assert os.path.isfile(os.path.join(exported.path, warmup.WARMUP_FILE))


def test_serving_default_maps_latents_to_ema_images(unconditional):
    gan, exported = unconditional
    z = gankeras.latents_from_seeds(np.arange(4), LATENT_DIM)
    served = load_signatures(exported.path)["serving_default"](z=z)["images"].numpy()
    assert served.dtype == np.float32 and served.shape == (4, 28, 28, 1)
    np.testing.assert_allclose(served, gan.generate(seeds=np.arange(4)), atol=1e-5)
    # The EMA weights were exported, not the raw ones.
    raw = gan.generate(seeds=np.arange(4), use_ema=False)
    assert np.abs(served - raw).max() > 1e-3


def test_served_seed_image_equals_generate(unconditional):
    gan, exported = unconditional
    seeds = np.array([0, 7, -3, 2**33 + 1], dtype=np.int64)
    served = load_signatures(exported.path)["generate_from_seeds"](seeds=seeds)["images"]
    served = served.numpy()
    assert served.dtype == np.uint8 and served.shape == (4, 28, 28, 1)
    expected = as_uint8(gan.generate(seeds=seeds))
    # Float rounding of two different backends may land across .5 on a pixel.
    assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1
    assert np.mean(served == expected) > 0.99


def test_truncated_seed_signature_serves_psi_times_the_latent(unconditional):
    _, exported = unconditional
    signatures = load_signatures(exported.path)
    seeds = np.array([3, 4, 5], dtype=np.int64)
    served = {
        psi: signatures["generate_from_seeds_truncated"](seeds=seeds, truncation=np.float32(psi))[
            "images"
        ].numpy()
        for psi in (1.0, 0.5, 0.0)
    }
    plain = signatures["generate_from_seeds"](seeds=seeds)["images"].numpy()
    np.testing.assert_array_equal(served[1.0], plain)
    # psi = 0.5: G(0.5 z); psi = 0: G(0), the same image for every seed.
    z = gankeras.latents_from_seeds(seeds, LATENT_DIM)
    expected = as_uint8(signatures["serving_default"](z=0.5 * z)["images"].numpy())
    assert np.abs(served[0.5].astype(int) - expected.astype(int)).max() <= 1
    assert (served[0.5] != plain).any()
    assert (served[0.0] == served[0.0][:1]).all()


def test_conditional_signatures_take_labels(conditional):
    gan, exported = conditional
    signatures = load_signatures(exported.path)
    seeds = np.array([5, 5, 5], dtype=np.int64)
    labels = np.array([0, 1, 2], dtype=np.int32)
    served = signatures["generate_from_seeds"](seeds=seeds, labels=labels)["images"].numpy()
    expected = as_uint8(gan.generate(seeds=seeds, labels=labels))
    assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1
    z = gankeras.latents_from_seeds(seeds, LATENT_DIM)
    images = signatures["serving_default"](z=z, labels=labels)["images"].numpy()
    np.testing.assert_allclose(images, gan.generate(seeds=seeds, labels=labels), atol=1e-5)


def test_warmup_file_holds_requests_for_both_signatures(conditional):
    _, exported = conditional
    logs = export.read_warmup_requests(os.path.join(exported.path, warmup.WARMUP_FILE))
    assert 0 < len(logs) <= warmup.MAX_RECORDS
    requests = [log.predict_log.request for log in logs]
    assert {r.model_spec.signature_name for r in requests} == {
        "serving_default",
        "generate_from_seeds",
        "generate_from_seeds_truncated",
    }
    assert all(r.model_spec.name == "cgan" for r in requests)
    assert all(
        set(r.inputs) in ({"z", "labels"}, {"seeds", "labels"}, {"seeds", "truncation", "labels"})
        for r in requests
    )


def test_next_export_gets_the_next_version_and_existing_one_is_refused(unconditional, tmp_path):
    gan, first = unconditional
    model_dir = tmp_path / "mnist_gan"
    shutil.copytree(first.path, model_dir / "1")  # a real version 1 already served
    before = snapshot(model_dir / "1")
    second = export.export_generator(gan, str(tmp_path), "mnist_gan")
    assert second.version == 2
    with pytest.raises(export.VersionExistsError, match="never overwritten"):
        export.export_generator(gan, str(tmp_path), "mnist_gan", version=1)
    assert snapshot(model_dir / "1") == before
    assert entries(model_dir) == ["1", "2"]


def test_crash_while_exporting_leaves_no_partial_version(tmp_path, monkeypatch):
    def crash_midway(generator, export_dir):
        open(os.path.join(export_dir, "saved_model.pb"), "w").close()
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(saved_model_lib, "_write_savedmodel", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        export.export_generator(tiny_generator(), str(tmp_path), "g")
    assert entries(tmp_path / "g") == []


def entries(model_dir):
    """What a model directory holds, less the exporters' lock file."""
    return sorted(n for n in os.listdir(model_dir) if n != export_versions.LOCK_FILE)


@pytest.mark.backend_independent
def test_a_model_with_a_recorded_fingerprint_is_not_exported_twice(tmp_path):
    generator = tiny_generator()
    first = export.export_generator(generator, str(tmp_path), "g", fingerprint="sha256:abc")
    again = export.export_generator(generator, str(tmp_path), "g", fingerprint="sha256:abc")
    assert (first.version, first.reused) == (1, False)
    assert (again.version, again.reused) == (1, True)
    assert entries(tmp_path / "g") == ["1"]
    with open(os.path.join(first.path, export_versions.FINGERPRINT_FILE)) as f:
        assert f.read() == "sha256:abc"


@pytest.mark.backend_independent
def test_the_next_exporter_removes_temporary_versions_of_killed_ones(tmp_path):
    stale = tmp_path / "g" / ".tmp-3-killed"
    stale.mkdir(parents=True)
    (stale / "saved_model.pb").write_bytes(b"half")
    with export_versions.exclusive(str(tmp_path / "g")):
        assert not stale.exists()


def test_unwritable_serving_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(PermissionError, match="not a writable directory"):
        export.export_generator(tiny_generator(), str(blocker / "saved_models"), "g")


# The archive is always built by the TensorFlow code path (a subprocess
# from JAX/torch, covered above), so the client view is checked once.
@pytest.mark.backend_independent
def test_saved_model_cli_shows_and_runs_the_signatures(unconditional, tmp_path):
    gan, exported = unconditional
    show = subprocess.run(
        ["saved_model_cli", "show", "--all", "--dir", exported.path],
        capture_output=True,
        text=True,
        env=CLIENT_ENV,
        check=True,
    ).stdout
    assert "signature_def['serving_default']" in show
    assert "signature_def['generate_from_seeds']" in show
    assert f"shape: (-1, {LATENT_DIM})" in show and "DT_UINT8" in show
    seeds_file = tmp_path / "seeds.npy"
    np.save(seeds_file, np.array([11, 12], dtype=np.int64))
    subprocess.run(
        [
            "saved_model_cli",
            "run",
            "--dir",
            exported.path,
            "--tag_set",
            "serve",
            "--signature_def",
            "generate_from_seeds",
            "--inputs",
            f"seeds={seeds_file}",
            "--outdir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=CLIENT_ENV,
        check=True,
    )
    served = np.load(tmp_path / "out" / "images.npy")
    expected = as_uint8(gan.generate(seeds=[11, 12]))
    assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1


# The archive is always built by the TensorFlow code path (a subprocess
# from JAX/torch, covered above), so the client view is checked once.
@pytest.mark.backend_independent
def test_a_tensorflow_only_process_loads_and_generates(unconditional, tmp_path):
    gan, exported = unconditional
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import tensorflow as tf
        model = tf.saved_model.load({exported.path!r})
        out = model.signatures["generate_from_seeds"](seeds=tf.constant([21, 22], tf.int64))
        np.save({str(tmp_path / "images.npy")!r}, out["images"].numpy())
        # (`import tensorflow` itself imports keras in TF 2.21; gankeras, the
        # library that trained the model, must not be needed.)
        assert "gankeras" not in sys.modules, "the client must not need gankeras"
        """
    )
    subprocess.run([sys.executable, "-c", script], env=CLIENT_ENV, check=True, cwd=str(tmp_path))
    served = np.load(tmp_path / "images.npy")
    expected = as_uint8(gan.generate(seeds=[21, 22]))
    assert served.shape == (2, 28, 28, 1)
    assert np.abs(served.astype(int) - expected.astype(int)).max() <= 1
