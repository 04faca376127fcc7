"""The training job the exact-resume tests start, kill and rerun.

    python -m tests.resume_harness WORKDIR [PAUSE]

Runs the pipeline's Trainer executor (`run_trainer`) on a tiny examples
artifact in WORKDIR (written on first use, always the same), with outputs
in WORKDIR/model and WORKDIR/samples. PAUSE makes the job stop dead at a
chosen moment, print `paused` and wait to be killed:

- `after-save-E`: right after the checkpoint of epoch E is written;
- `batch-E-B`: inside epoch E (1-based), after its batch B (1-based);

This module holds no tests (its name does not start with `test_`).
"""

import json
import os
import sys
import time

from pipelines.config import PipelineConfig

COUNT = 44  # 44 examples (28x28 IDX): batches of 8 straddle the passes over the data
# The Trainer's parameters, as the pipeline builds them (a field added to
# TrainerParameters gets its PipelineConfig default here).
PARAMETERS = PipelineConfig(
    architecture="dcgan",
    latent_dim=4,
    base_filters=4,
    loss="non_saturating",
    d_steps=1,
    epochs=3,
    steps_per_epoch=4,
    batch_size=8,
    d_learning_rate=1e-3,
    g_learning_rate=1e-3,
    beta_1=0.5,
    ema=True,
    replay_buffer=8,
    gradient_penalty=0.0,
    augment="none",
    ada_target=0.6,
    conditional=False,
    seed=3,
    strategy="default",
    precision="float32",
    verbose=0,
    tensorboard=True,  # the pipeline's default: its summaries must not disturb the resume
    quality_every_n_epochs=0,
).trainer_parameters()


def write_examples(workdir, artifact):
    """The examples artifact: the pipeline's ExampleGen executor on tiny
    MNIST-format IDX files (its TFRecord shards, as a pipeline run has them)."""
    from pipelines.components import example_gen
    from tests.test_pipeline_support import write_idx_files

    idx_dir = write_idx_files(os.path.join(workdir, "idx"), count=COUNT + 6)
    component = example_gen.make_example_gen(idx_dir=idx_dir, num_examples=COUNT)
    example_gen.run_example_gen({}, {"examples": artifact("examples")}, component.parameters)


def pause_here():
    print("paused", flush=True)
    time.sleep(600)  # the test kills the process now


def install_pause(pause):
    """Instruments `GANCheckpoint` (in this process only) to stop at `pause`."""
    from gankeras.callbacks import checkpoint

    cls = checkpoint.GANCheckpoint
    if pause.startswith("after-save-"):
        target = int(pause.rsplit("-", 1)[1])
        save = cls.save

        def saving(self, epochs_done):
            path = save(self, epochs_done)
            if epochs_done == target:
                pause_here()
            return path

        cls.save = saving
    elif pause.startswith("batch-"):
        _, epoch, batch = pause.split("-")
        target = (int(epoch) - 1, int(batch) - 1)
        begin = cls.on_epoch_begin

        def on_epoch_begin(self, epoch, logs=None):
            self._harness_epoch = epoch
            return begin(self, epoch, logs)

        def on_train_batch_end(self, batch, logs=None):
            if (self._harness_epoch, batch) == target:
                pause_here()

        cls.on_epoch_begin = on_epoch_begin
        cls.on_train_batch_end = on_train_batch_end
    else:
        raise SystemExit(f"unknown PAUSE {pause!r}")


def main(workdir, pause=None):
    from pipelines.components import trainer
    from pipelines.framework.artifact import Artifact

    def artifact(name):
        uri = os.path.join(workdir, name)
        os.makedirs(uri, exist_ok=True)
        return Artifact("Harness", name, uri, name, "run")

    if not os.path.exists(os.path.join(workdir, "examples", "stats.json")):
        write_examples(workdir, artifact)
    if pause:
        install_pause(pause)
    result = trainer.run_trainer(
        {"examples": artifact("examples")},
        {"model": artifact("model"), "samples": artifact("samples")},
        PARAMETERS,
    )
    print("done", json.dumps(result), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
