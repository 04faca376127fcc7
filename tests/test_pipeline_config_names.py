"""The names the pipeline's flags list (kept as literals so that `--helpfull`
needs no Keras import) are the registries' names, and the defaults resolve
as documented."""

import pytest

from pipelines import config as config_lib
from pipelines.config import PipelineConfig


@pytest.mark.backend_independent
def test_flag_names_equal_the_registries():
    from gankeras import architectures, distribute, losses

    assert sorted(config_lib.ARCHITECTURES) == sorted(architectures.ARCHITECTURES)
    assert sorted(config_lib.LOSSES) == sorted(losses.LOSSES)
    assert sorted(config_lib.STRATEGIES) == sorted(distribute.STRATEGIES)


@pytest.mark.backend_independent
def test_unlabelled_folder_blesses_on_label_free_frechet_distance(tmp_path):
    folder = PipelineConfig(image_dir=str(tmp_path))
    assert folder.blessing() == config_lib.LABEL_FREE_BLESSING == ("frechet_distance", 5.0)
    labelled = PipelineConfig(image_dir=str(tmp_path), labels_from_folders=True)
    assert labelled.blessing() == ("classifier_score", 3.0)
    assert PipelineConfig(idx_dir=str(tmp_path)).blessing() == ("classifier_score", 3.0)
    explicit = PipelineConfig(image_dir=str(tmp_path), bless_metric="recall", bless_threshold=0.2)
    assert explicit.blessing() == ("recall", 0.2)


@pytest.mark.backend_independent
def test_metric_without_default_threshold_is_a_config_error(tmp_path):
    from pipelines.framework import PipelineError

    with pytest.raises(PipelineError, match="--bless_metric=recall needs a --bless_threshold"):
        PipelineConfig(image_dir=str(tmp_path), bless_metric="recall").validate()


@pytest.mark.backend_independent
def test_conditional_resnet_builds_resnet_projection():
    def network_name(architecture, conditional):
        config = PipelineConfig(architecture=architecture, conditional=conditional)
        return config.trainer_parameters().network_name

    assert network_name("resnet", conditional=True) == "resnet_projection"
    assert network_name("dcgan", conditional=True) == "conditional"
    assert network_name("resnet", conditional=False) == "resnet"


@pytest.mark.backend_independent
def test_inception_weights_and_encoder_steps_reach_the_evaluator(tmp_path):
    from pipelines.pipeline import build_components

    weights = tmp_path / "inception.h5"
    weights.write_bytes(b"")
    config = PipelineConfig(
        image_dir=str(tmp_path), inception_weights=str(weights), encoder_steps=7
    )
    evaluator = {c.name: c for c in build_components(config)}["Evaluator"]
    assert evaluator.parameters.inception_weights == str(weights)
    assert evaluator.parameters.encoder_steps == 7
    assert (evaluator.parameters.metric, evaluator.parameters.threshold) == (
        "frechet_distance",
        5.0,
    )


@pytest.mark.backend_independent
def test_missing_inception_weights_is_a_config_error(tmp_path):
    from pipelines.framework import PipelineError

    with pytest.raises(PipelineError, match="Bad --inception_weights: expected an InceptionV3"):
        PipelineConfig(
            image_dir=str(tmp_path), inception_weights=str(tmp_path / "no.h5")
        ).validate()
