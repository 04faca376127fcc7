"""Pusher: exports a blessed generator as the next TF Serving version.

Only a blessed model is pushed (as in TFX). The version directory is written
by `gankeras.export.export_generator`: atomically, never overwriting one, and
with the evaluation that blessed it in `assets.extra/evaluation.json` (the
next run's Evaluator compares against it) and the model's fingerprint (the
sha256 of the Trainer's `generator.keras`) in `assets.extra/
model_fingerprint`. Pushing is idempotent: a model whose fingerprint a
version already holds is not pushed again; that version is reported (a
re-run after a kill that came just after the version appeared).

Output `pushed_model/push.json`: pushed or not, version, path, fingerprint,
already_pushed.
"""

import dataclasses
import hashlib
import json

from pipelines.components import evaluator
from pipelines.framework import Component, Parameters


@dataclasses.dataclass(frozen=True)
class PusherParameters(Parameters):
    """The Pusher's parameters (`pipelines.config.PipelineConfig.
    pusher_parameters()` builds them from the flags).

    Attributes:
        serving_dir: TF Serving's base directory (`saved_models`), absolute.
        model_name: the served model's name.
        version: explicit version number, or None for the next one.
    """

    serving_dir: str
    model_name: str
    version: int | None


def make_pusher(model, blessing, evaluation, parameters):
    """The Pusher component.

    Args:
        model: the Trainer `model` channel.
        blessing: the Evaluator `blessing` channel.
        evaluation: the Evaluator `evaluation` channel.
        parameters: a `PusherParameters`.
    """
    return Component(
        name="Pusher",
        executor=run_pusher,
        inputs={"model": model, "blessing": blessing, "evaluation": evaluation},
        outputs=("pushed_model",),
        parameters=parameters,
    )


def run_pusher(inputs, outputs, p):
    """The executor: `p` is the `PusherParameters`."""
    import keras

    from gankeras import export

    record = dict(pushed=False, version=None, path=None)
    if not evaluator.is_blessed(inputs["blessing"]):
        print("  not blessed: nothing pushed")
    else:
        generator = keras.saving.load_model(inputs["model"].path("generator.keras"), compile=False)
        with open(inputs["model"].path("model_info.json")) as f:
            model_info = json.load(f)
        with open(inputs["evaluation"].path("metrics.json")) as f:
            evaluation = json.load(f)
        evaluation["model"] = inputs["model"].fingerprint
        fingerprint = model_fingerprint(inputs["model"].path("generator.keras"))
        exported = export.export_generator(
            generator,
            p.serving_dir,
            p.model_name,
            version=p.version,
            num_classes=model_info["num_classes"],
            extra_assets={evaluator.EVALUATION_FILE: json.dumps(evaluation, indent=2)},
            fingerprint=fingerprint,
        )
        record = dict(
            pushed=True,
            version=exported.version,
            path=exported.path,
            fingerprint=fingerprint,
            already_pushed=exported.reused,
        )
        if exported.reused:
            print(
                f"  already pushed as version {exported.version} ({exported.path}): "
                "the same model is not pushed twice"
            )
        else:
            print(f"  pushed version {exported.version} to {exported.path}")
    with open(outputs["pushed_model"].path("push.json"), "w") as f:
        json.dump(record, f, indent=2)
    return record


def model_fingerprint(path):
    """`sha256:<hex>` of the file at `path` (the generator's `.keras`)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"
