"""A `.keras` GAN saved by an older gankeras still loads, samples and trains.

`tests/data/legacy_gan.keras` was written by commit d7d3f34 (before the
training-config refactor) with `tests/data/make_legacy_gan.py`; the expected
numbers beside it are what that code produced on each backend after loading
the file: the EMA and raw samples, and every weight after one more epoch
(2 steps) of training.
"""

import os

import keras
import numpy as np
import pytest

import gankeras
from tests.gan_fixtures import images

DATA = os.path.join(os.path.dirname(__file__), "data")
BACKEND = keras.backend.backend()


@pytest.fixture
def legacy():
    gan = keras.saving.load_model(os.path.join(DATA, "legacy_gan.keras"))
    expected = np.load(os.path.join(DATA, f"legacy_gan_expected_{BACKEND}.npz"))
    return gan, expected


def test_legacy_file_loads_with_its_compile_options(legacy):
    gan, _ = legacy
    assert isinstance(gan, gankeras.GAN)
    assert gan.compiled and gan.has_ema
    assert gan.training_config["label_smoothing"] == pytest.approx(0.1)
    assert gan.training_config["r1_penalty"] == pytest.approx(0.1)
    assert gan.replay_buffer is not None


def test_legacy_file_generates_what_the_old_code_generated(legacy):
    gan, expected = legacy
    np.testing.assert_allclose(gan.generate(4, seed=0), expected["generated"], atol=1e-6)
    np.testing.assert_allclose(
        gan.generate(4, seed=0, use_ema=False), expected["generated_raw"], atol=1e-6
    )


def test_legacy_file_continues_training_as_the_old_code_did(legacy):
    gan, expected = legacy
    gan.fit(images(16, seed=1), batch_size=8, epochs=1, verbose=0, shuffle=False)
    weights = gan.get_weights()
    assert len(weights) == len([k for k in expected.files if k.startswith("weight_")])
    for i, w in enumerate(weights):
        np.testing.assert_allclose(w, expected[f"weight_{i}"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gan.generate(4, seed=0), expected["generated_after"], atol=1e-5)
