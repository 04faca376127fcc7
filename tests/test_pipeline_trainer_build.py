"""The Trainer's `build_gan`: the compiled GAN is what its
`TrainerParameters` say (every backend)."""

from pipelines.config import PipelineConfig


def test_the_trainer_builds_the_generator_ema_with_ema_decay():
    from pipelines.components.trainer import build_gan

    config = PipelineConfig(ema_decay=0.995, latent_dim=8, base_filters=4, precision="float32")
    gan = build_gan(config.trainer_parameters(), (28, 28, 1), None)
    assert gan.g_optimizer.use_ema and gan.g_optimizer.ema_momentum == 0.995
    assert not gan.d_optimizer.use_ema


def test_the_trainer_ramps_the_ema_decay_up():
    from pipelines.components.trainer import build_gan

    config = PipelineConfig(latent_dim=8, base_filters=4, precision="float32")
    assert build_gan(config.trainer_parameters(), (28, 28, 1), None).training_options.ema_warmup
    config = PipelineConfig(ema=False, latent_dim=8, base_filters=4, precision="float32")
    assert not build_gan(config.trainer_parameters(), (28, 28, 1), None).training_options.ema_warmup


def test_the_trainer_compiles_r1_with_r1_penalty():
    from pipelines.components.trainer import build_gan

    config = PipelineConfig(r1_penalty=0.5, latent_dim=8, base_filters=4, precision="float32")
    gan = build_gan(config.trainer_parameters(), (28, 28, 1), None)
    assert gan.training_options.r1_penalty == 0.5
    assert "r1_penalty" in gan._trackers  # the step computes and logs the penalty
