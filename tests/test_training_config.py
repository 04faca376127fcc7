"""gankeras.TrainingConfig: defaults, validation, serialization, log names."""

import dataclasses
import json
import math

import keras
import pytest

import gankeras
from gankeras import TrainingConfig

pytestmark = pytest.mark.backend_independent


def test_defaults_are_the_documented_compile_defaults():
    config = TrainingConfig()
    assert config.loss is gankeras.losses.LOSSES["non_saturating"]
    assert config.d_steps == 1
    assert config.weight_clip is None
    assert config.training_options()["real_label_range"] is None
    assert TrainingConfig.names()[0] == "loss"
    assert set(TrainingConfig.names()) == {"loss", *config.training_options()}


def test_get_config_is_json_and_round_trips():
    config = TrainingConfig(
        loss="least_squares",
        d_steps=3,
        real_label_range=(0.7, 1.2),
        label_flip=0.05,
        gradient_penalty=10,
        weight_clip=0.01,
    )
    data = json.loads(json.dumps(config.get_config()))
    again = TrainingConfig.from_config(data)
    assert again == config
    assert again.real_label_range == (0.7, 1.2)
    assert again.gradient_penalty == 10.0 and isinstance(again.gradient_penalty, float)
    # Through Keras's registry too.
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(config))
    assert revived == config


@pytest.mark.parametrize(
    "options, message",
    [
        ({"d_steps": True}, r"`d_steps` must be a positive integer. Received: d_steps=True"),
        ({"d_steps": 0}, r"`d_steps` must be a positive integer. Received: d_steps=0"),
        ({"d_steps": 1.5}, r"`d_steps` must be a positive integer"),
        (
            {"label_smoothing": 1.0},
            r"`label_smoothing` must be in \[0, 1\). Received: label_smoothing=1.0",
        ),
        ({"label_flip": -0.1}, r"`label_flip` must be in \[0, 1\)"),
        ({"real_label_range": (1.0, 0.5)}, r"`real_label_range` must be a \(low, high\) pair"),
        ({"fake_label_range": (0.0,)}, r"`fake_label_range` must be a \(low, high\) pair"),
        (
            {"gradient_penalty": -1.0},
            r"`gradient_penalty` must be >= 0. Received: gradient_penalty=-1.0",
        ),
        ({"r1_penalty": math.nan}, r"`r1_penalty` must be finite"),
        (
            {"instance_noise": "0.1"},
            r"`instance_noise` must be a number. Received: instance_noise='0.1'",
        ),
        ({"kl_weight": True}, r"`kl_weight` must be a number. Received: kl_weight=True"),
        ({"weight_clip": 0.0}, r"`weight_clip` must be > 0 \(or None\)"),
        (
            {"loss": "wasserstein", "label_smoothing": 0.1},
            r"'wasserstein' loss has no real/fake targets",
        ),
        ({"loss": "nonsaturating"}, r"Unknown adversarial loss 'nonsaturating'"),
    ],
)
def test_bad_options_name_what_was_expected_and_received(options, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**options)


def test_unknown_option_names_the_known_ones():
    with pytest.raises(TypeError, match=r"Unknown training option\(s\) \['dsteps'\].*'d_steps'"):
        TrainingConfig.from_options({"dsteps": 2})


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TrainingConfig().d_steps = 2


def test_log_names_follow_from_the_config():
    assert TrainingConfig().log_names() == ["d_loss", "g_loss", "d_real", "d_fake"]
    config = TrainingConfig(loss="wasserstein", gradient_penalty=10.0, r1_penalty=1.0)
    assert config.log_names(auxiliary_classifier=True, vae=True) == [
        "d_loss",
        "g_loss",
        "d_real",
        "d_fake",
        "gradient_penalty",
        "r1_penalty",
        "d_aux_loss",
        "g_aux_loss",
        "kl_loss",
        "reconstruction_loss",
    ]


@pytest.mark.backend_independent
def test_every_registered_gankeras_class_has_its_own_name():
    # Two classes registered under one "gankeras>Name" silently shadow each
    # other: a saved GAN's replay pool would load as the ReplayBuffer callback.
    import inspect
    import pkgutil

    import gankeras

    classes = {}
    for info in pkgutil.walk_packages(gankeras.__path__, "gankeras."):
        if info.name.startswith("gankeras.backend."):
            continue  # one backend per process
        module = __import__(info.name, fromlist=["_"])
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == info.name:
                name = keras.saving.get_registered_name(obj)
                if name.startswith("gankeras>"):
                    classes.setdefault(name, set()).add(obj)
    assert classes, "no registered gankeras classes found"
    shared = {name: objs for name, objs in classes.items() if len(objs) > 1}
    assert not shared, f"registered names shared by several classes: {shared}"
    for name, (obj,) in classes.items():
        assert keras.saving.get_registered_object(name) is obj, name
