"""The 32x32+ generators export for TF Serving: `export_generator` writes a
SavedModel (from JAX and torch through the TensorFlow subprocess, which must
rebuild the custom conditional-BN layers), and a TensorFlow-only process
(no gankeras) loads it and serves the images the generator makes."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import gankeras
from gankeras import architectures, export

LATENT_DIM = 8
CASES = {
    # name: (architecture, image_shape, num_classes)
    "dcgan_rgb": ("dcgan", (32, 32, 3), None),
    "resnet": ("resnet", (32, 32, 3), None),
    "resnet_projection": ("resnet_projection", (32, 32, 1), 3),
}
if keras.backend.backend() != "tensorflow":
    # Standard layers only: its JAX/torch -> TensorFlow-subprocess path is
    # the one tests/test_export.py covers; exported in the TensorFlow pass.
    del CASES["dcgan_rgb"]
SEEDS = np.array([0, 5, 9], np.int64)
LABELS = np.array([0, 2, 1], np.int32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each generator (random weights, batch-norm statistics moved by one
    training-mode call) exported, plus what it generates in this process."""
    serving_dir = tmp_path_factory.mktemp("saved_models")
    results = {}
    z = gankeras.latents_from_seeds(SEEDS, LATENT_DIM)
    for case, (name, shape, num_classes) in CASES.items():
        generator = architectures.build(name, shape, LATENT_DIM, num_classes, base_filters=2)[
            "generator"
        ]
        inputs = z if num_classes is None else [z, LABELS]
        generator(inputs, training=True)  # moving statistics no longer 0 / 1
        expected = keras.ops.convert_to_numpy(generator(inputs, training=False))
        model = export.export_generator(
            generator, str(serving_dir), case, num_classes=num_classes, warmup_batch_sizes=(1,)
        )
        results[case] = (model, expected)
    return results


def test_a_tensorflow_only_process_serves_every_generator(exported, tmp_path):
    models = {
        case: (model.path, CASES[case][2] is not None) for case, (model, _) in exported.items()
    }
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import tensorflow as tf
        for case, (path, conditional) in {models!r}.items():
            serve = tf.saved_model.load(path).signatures["serving_default"]
            z = np.load({str(tmp_path / "z.npy")!r})
            kwargs = dict(z=tf.constant(z))
            if conditional:
                kwargs["labels"] = tf.constant({LABELS.tolist()!r}, tf.int32)
            np.save({str(tmp_path)!r} + "/" + case + ".npy", serve(**kwargs)["images"].numpy())
        assert "gankeras" not in sys.modules, "the client must not need gankeras"
        """
    )
    np.save(
        tmp_path / "z.npy",
        keras.ops.convert_to_numpy(gankeras.latents_from_seeds(SEEDS, LATENT_DIM)),
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=str(tmp_path))
    for case, (_model, expected) in exported.items():
        served = np.load(tmp_path / f"{case}.npy")
        assert served.shape == (len(SEEDS),) + CASES[case][1], case
        np.testing.assert_allclose(served, expected, atol=1e-4, err_msg=case)


def test_export_records_shape_and_classes(exported):
    for case, (model, _) in exported.items():
        _, shape, num_classes = CASES[case]
        assert model.image_shape == shape and model.num_classes == num_classes, case
        assert model.latent_dim == LATENT_DIM
