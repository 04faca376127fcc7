"""The Evaluator component's metric part on unlabelled and labelled data:
unlabelled RGB data is scored in label-free SimCLR features (no longer
refused) and blessed on `frechet_distance`; labelled data keeps the domain
classifier and its class metrics; both record the protocol in metrics.json;
a blessing metric the data cannot have is an error naming those it has,
before any work."""

import json
import os

import keras
import numpy as np
import pytest

from gankeras.evaluation import contrastive
from gankeras.evaluation.report import DISTANCE_METRICS
from pipelines.components import evaluator, example_gen
from pipelines.framework import Artifact, PipelineError

SHAPE = (32, 32, 3)


def _artifact(root, producer, name):
    uri = os.path.join(root, producer, name, "1")
    os.makedirs(uri)
    return Artifact(
        producer=producer, name=name, uri=uri, fingerprint=f"{producer}-{name}", run_id="1"
    )


def _examples(root, labelled, count=240, test_count=60):
    """An ExampleGen `examples` artifact of uint8 RGB blobs."""
    rng = np.random.default_rng(0)
    low = rng.integers(0, 256, (count + test_count, 4, 4, 3))
    images = np.kron(low, np.ones((1, 8, 8, 1))).astype(np.uint8)
    artifact = _artifact(root, "ExampleGen", "examples")
    labels = rng.integers(0, 3, count + test_count).astype(np.int32) if labelled else None
    example_gen.write_examples(
        artifact.uri,
        images[:count],
        None if labels is None else labels[:count],
        images[count:],
        None if labels is None else labels[count:],
        source="test blobs",
    )
    return artifact


def _model(root):
    artifact = _artifact(root, "Trainer", "model")
    z = keras.Input((8,))
    x = keras.layers.Dense(int(np.prod(SHAPE)), activation="tanh")(z)
    keras.Model(z, keras.layers.Reshape(SHAPE)(x)).save(artifact.path("generator.keras"))
    with open(artifact.path("model_info.json"), "w") as f:
        json.dump(dict(latent_dim=8, num_classes=None, image_shape=list(SHAPE)), f)
    return artifact


def _run(tmp_path, labelled, metric="frechet_distance", **extra):
    root = str(tmp_path)
    inputs = {"examples": _examples(root, labelled), "model": _model(root)}
    outputs = {name: _artifact(root, "Evaluator", name) for name in ("evaluation", "blessing")}
    parameters = evaluator.EvaluatorParameters(
        metric=metric,
        threshold=1e9,
        num_samples=160,
        cache_dir=os.path.join(root, "cache"),
        baseline=None,
        **{"inception_weights": None, "encoder_steps": None, **extra},
    )
    result = evaluator.run_evaluator(inputs, outputs, parameters)
    with open(outputs["evaluation"].path("metrics.json")) as f:
        return result, json.load(f), outputs, parameters.cache_dir


@pytest.fixture
def tiny_encoder(monkeypatch):
    monkeypatch.setitem(contrastive.DEFAULTS, "steps", 2)
    monkeypatch.setitem(contrastive.DEFAULTS, "batch_size", 32)


def test_unlabelled_rgb_data_is_scored_in_label_free_features_and_blessed(tmp_path, tiny_encoder):
    result, record, outputs, cache_dir = _run(tmp_path, labelled=False, encoder_steps=3)
    assert result["blessed"] and os.path.exists(outputs["blessing"].path("BLESSED"))
    metrics, protocol = record["metrics"], record["protocol"]
    for name in DISTANCE_METRICS:
        assert np.isfinite(metrics[name]), name
    assert "classifier_score" not in metrics and "classes_covered" not in metrics
    assert protocol["extractor"] == "simclr_encoder" and protocol["extractor_config"]["steps"] == 3
    assert (protocol["num_real"], protocol["num_generated"]) == (160, 160)
    assert protocol["reference_split"] == "train" and protocol["image_shape"] == list(SHAPE)
    cached = sorted(os.listdir(cache_dir))
    assert cached == [
        f"contrastive_encoder-{protocol['extractor_fingerprint']}.{ext}"
        for ext in ("json", "keras")
    ]


def test_labelled_data_keeps_the_domain_classifier_and_its_class_metrics(tmp_path):
    result, record, _, cache_dir = _run(tmp_path, labelled=True, metric="classifier_score")
    metrics, protocol = record["metrics"], record["protocol"]
    assert protocol["extractor"] == "domain_classifier"
    assert protocol["extractor_fingerprint"] and any(
        protocol["extractor_fingerprint"] in name for name in os.listdir(cache_dir)
    )
    for name in ("frechet_distance", "density", "coverage", "classifier_score", "classes_covered"):
        assert np.isfinite(metrics[name]), name
    assert record["metric"] == "classifier_score" and result["value"] == metrics["classifier_score"]


def test_a_blessing_metric_the_data_lacks_is_an_error_naming_those_it_has(tmp_path, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before checking the blessing metric")

    monkeypatch.setattr(contrastive, "train_contrastive_encoder", no_training)
    with pytest.raises(PipelineError) as error:
        _run(tmp_path, labelled=False, metric="classifier_score")
    message = str(error.value)
    assert "'classifier_score' does not exist for this data" in message
    assert "unlabelled" in message and "frechet_distance" in message
    evaluation_dir = tmp_path / "Evaluator" / "evaluation" / "1"
    assert os.listdir(evaluation_dir) == []
    assert not os.path.exists(tmp_path / "cache")
