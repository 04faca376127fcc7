"""The components' typed parameters (`ExampleGenParameters`,
`TrainerParameters`, `EvaluatorParameters`, `PusherParameters`): built from
`PipelineConfig` field for field, serialized into the execution record as
the mapping the dicts they replace were, round-tripped from it strictly,
and every field in the cache key."""

import dataclasses
import json
import os
import re

import pytest

from pipelines.components.evaluator import EvaluatorParameters
from pipelines.components.example_gen import ExampleGenParameters, make_example_gen
from pipelines.components.pusher import PusherParameters
from pipelines.components.trainer import TrainerParameters
from pipelines.config import PipelineConfig
from pipelines.framework import RESOLVED, RUNTIME, Component, LocalRunner, Parameters, runner
from pipelines.framework.errors import PipelineError

pytestmark = pytest.mark.backend_independent

# The keys of the execution records' "parameters" before the typed records
# (the dicts `trainer_parameters()` and the make_* functions built, plus the
# resolved ones): the record and the cache key serialize the same mapping.
# (ExampleGen's had the fingerprint of its own source's files only; both
# are now always there, None for the other source.)
RECORD_KEYS = {
    ExampleGenParameters: (
        "dataset idx_dir image_dir tfds_data_dir num_examples image_size channels background "
        "upscale_small_images strict_images labels_from_folders idx_files image_files order_seed"
    ).split(),
    TrainerParameters: (
        "architecture latent_dim base_filters loss d_steps epochs steps_per_epoch batch_size "
        "d_learning_rate g_learning_rate beta_1 ema ema_decay replay_buffer gradient_penalty r1_penalty augment "
        "ada_target conditional seed strategy precision tensorboard quality_every_n_epochs "
        "quality_samples network_options"
    ).split(),
    EvaluatorParameters: (
        "metric threshold num_samples cache_dir inception_weights encoder_steps baseline"
    ).split(),
    PusherParameters: ["serving_dir", "model_name", "version"],
}
CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(PipelineConfig)}


def built(tmp_path):
    """Each component's parameters from one (non-default) config, resolved
    fields set as the runner sets them."""
    config = PipelineConfig(
        image_dir=str(tmp_path),
        latent_dim=5,
        conditional=True,
        labels_from_folders=True,
        encoder_steps=7,
        eval_samples=33,
        version=4,
        verbose=2,
    )
    (tmp_path / "a.png").write_bytes(b"")
    return config, {
        ExampleGenParameters: make_example_gen(
            **config.example_gen_parameters(), workers=1
        ).parameters,
        TrainerParameters: config.trainer_parameters().replace(
            network_options={"base_filters": 32, "upsampling": "resize"}
        ),
        EvaluatorParameters: config.evaluator_parameters().replace(
            baseline={"version": 3, "value": 1.5}
        ),
        PusherParameters: config.pusher_parameters(),
    }


@pytest.mark.parametrize("cls", list(RECORD_KEYS), ids=lambda cls: cls.__name__)
def test_parameters_round_trip_through_the_record_json(tmp_path, cls):
    _, parameters = built(tmp_path)
    p = parameters[cls]
    serialized = json.loads(json.dumps(p.to_json()))  # as written to and read from the record
    assert sorted(serialized) == sorted(RECORD_KEYS[cls])
    runtime = {f.name: f.default for f in dataclasses.fields(cls) if f.metadata.get("runtime")}
    assert cls.from_json(serialized) == p.replace(**runtime)


def test_verbose_is_runtime_only():
    p = PipelineConfig(verbose=2).trainer_parameters()
    assert p.verbose == 2 and "verbose" not in p.to_json()
    assert TrainerParameters.from_json(p.to_json()).verbose == 0


def test_a_misspelled_key_in_a_record_is_an_error_naming_it():
    serialized = PipelineConfig().trainer_parameters().to_json()
    serialized["batchsize"] = serialized.pop("batch_size")
    with pytest.raises(PipelineError) as error:
        TrainerParameters.from_json(serialized, where="Trainer/executions/x.json")
    message = str(error.value)
    assert "TrainerParameters in Trainer/executions/x.json" in message
    assert "unknown ['batchsize']" in message and "missing ['batch_size']" in message
    assert "Expected the keys ['ada_target'," in message and "Received: ['ada_target'," in message


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("batch_size", "8", "batch_size to be int"),
        ("batch_size", 8.5, "batch_size to be int"),
        ("ema", 1, "ema to be bool"),
        ("steps_per_epoch", True, "steps_per_epoch to be int or None"),
        ("network_options", [], "network_options to be dict or None"),
    ],
)
def test_a_value_of_another_type_in_a_record_is_an_error_naming_it(name, value, expected):
    serialized = dict(PipelineConfig().trainer_parameters().to_json(), **{name: value})
    with pytest.raises(PipelineError, match=re.escape(f"expected {expected}. Received: {value!r}")):
        TrainerParameters.from_json(serialized)


def test_json_numbers_read_back_as_their_fields():
    serialized = dict(PipelineConfig().trainer_parameters().to_json(), gradient_penalty=10)
    assert TrainerParameters.from_json(serialized).gradient_penalty == 10  # an int is a float


def test_trainer_fields_are_the_config_fields_of_the_same_name_and_type():
    for field in dataclasses.fields(TrainerParameters):
        if field.metadata.get("resolved"):
            continue
        assert field.name in CONFIG_FIELDS, field.name
        assert field.type == CONFIG_FIELDS[field.name].type, field.name
        # The default lives in PipelineConfig only (runtime fields need one
        # for a record read back).
        assert (field.default is dataclasses.MISSING) != bool(field.metadata.get("runtime"))
    config = PipelineConfig(latent_dim=5, epochs=3, quality_every_n_epochs=2, verbose=2)
    p = config.trainer_parameters()
    for field in dataclasses.fields(p):
        if not field.metadata.get("resolved") and field.name != "precision":
            assert getattr(p, field.name) == getattr(config, field.name), field.name
    assert p.network_options is None  # resolved when the Trainer runs
    # --precision=auto is resolved to the policy this machine trains with.
    assert p.precision == config.resolved_precision()[0] != "auto"


def test_example_gen_fields_are_the_config_fields_of_the_same_name_and_type(tmp_path):
    config = PipelineConfig(image_dir=str(tmp_path), num_train_examples=9, channels=3)
    arguments = config.example_gen_parameters()
    fields = {f.name: f for f in dataclasses.fields(ExampleGenParameters)}
    assert set(arguments) <= set(fields)
    for name in arguments:
        if name in CONFIG_FIELDS:
            assert fields[name].type == CONFIG_FIELDS[name].type, name
    p = make_example_gen(**arguments).parameters
    assert (p.image_dir, p.num_examples, p.channels) == (str(tmp_path), 9, 3)
    assert p.image_files == {"files": 0, "sha256": p.image_files["sha256"]} and p.idx_files is None


def test_pusher_fields_are_the_config_fields_of_the_same_name_and_type(tmp_path):
    config = PipelineConfig(serving_dir=str(tmp_path / "s"), model_name="m", version=4)
    p = config.pusher_parameters()
    for field in dataclasses.fields(PusherParameters):
        assert field.type == CONFIG_FIELDS[field.name].type, field.name
    assert (p.serving_dir, p.model_name, p.version) == (str(tmp_path / "s"), "m", 4)


def test_evaluator_fields_follow_from_the_config(tmp_path):
    weights = tmp_path / "inception.h5"
    config = PipelineConfig(
        image_dir=str(tmp_path),
        pipeline_root=str(tmp_path / "root"),
        bless_metric="recall",
        bless_threshold=0.25,
        eval_samples=33,
        inception_weights=str(weights),
        encoder_steps=7,
    )
    p = config.evaluator_parameters()
    assert p == EvaluatorParameters(
        metric="recall",
        threshold=0.25,
        num_samples=33,
        cache_dir=str(tmp_path / "root" / "Evaluator" / "domain_classifier"),
        inception_weights=str(weights),
        encoder_steps=7,
        baseline=None,
    )
    resolved = [f.name for f in dataclasses.fields(p) if f.metadata.get("resolved")]
    assert resolved == ["baseline"]


@pytest.mark.parametrize("cls", list(RECORD_KEYS), ids=lambda cls: cls.__name__)
def test_every_serialized_field_is_in_the_cache_key(tmp_path, cls):
    _, parameters = built(tmp_path)
    p = parameters[cls]

    def key(q):
        return runner.cache_key(Component(cls.__name__, None, parameters=q), {}, "v", env={})

    base = key(p)
    for field in dataclasses.fields(cls):
        value = getattr(p, field.name)
        other = (
            not value
            if isinstance(value, bool)
            else value + 1
            if isinstance(value, (int, float))
            else {"changed": 1}
            if isinstance(value, dict) or value is None
            else value + "x"
        )
        changed = key(p.replace(**{field.name: other}))
        if field.metadata.get("runtime"):
            assert changed == base, field.name
        else:
            assert changed != base, field.name
    assert base == runner.cache_key(
        Component(cls.__name__, None, parameters=p.to_json()), {}, "v", env={}
    )


@dataclasses.dataclass(frozen=True)
class _Scale(Parameters):
    scale: int
    offset: int | None = dataclasses.field(default=None, metadata=RESOLVED)
    verbose: int = dataclasses.field(default=0, metadata=RUNTIME)


def _scaled(inputs, outputs, p):
    assert isinstance(p, _Scale) and p.offset == 10 and p.verbose == 2
    return {"value": p.scale + p.offset}


def _component():
    return Component(
        "Scaled",
        _scaled,
        outputs=("out",),
        parameters=_Scale(scale=3, verbose=2),
        resolvers={"offset": lambda inputs: 10},
    )


def test_the_runner_records_typed_parameters_and_reads_them_back(tmp_path):
    first = LocalRunner(tmp_path, log=lambda _: None).run([_component()])["Scaled"]
    with open(first.record_path) as f:
        assert json.load(f)["parameters"] == {"scale": 3, "offset": 10}
    assert first.result == {"value": 13} and first.parameters == _Scale(3, 10, 2)
    again = LocalRunner(tmp_path, log=lambda _: None).run([_component()])["Scaled"]
    assert again.cached and again.parameters == _Scale(3, 10)  # read from the record


def test_a_cached_record_with_an_unknown_key_fails_clearly(tmp_path):
    first = LocalRunner(tmp_path, log=lambda _: None).run([_component()])["Scaled"]
    with open(first.record_path) as f:
        record = json.load(f)
    record["parameters"]["scael"] = record["parameters"].pop("scale")
    with open(first.record_path, "w") as f:
        json.dump(record, f)
    with pytest.raises(PipelineError, match=r"unknown \['scael'\] and missing \['scale'\]") as e:
        LocalRunner(tmp_path, log=lambda _: None).run([_component()])
    assert os.path.basename(first.record_path) in str(e.value)
