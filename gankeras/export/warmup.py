"""`assets.extra/tf_serving_warmup_requests`: requests TF Serving replays
when it loads a version, so the first real client does not pay for graph
initialisation (https://www.tensorflow.org/tfx/serving/saved_model_warmup).

The file is a TFRecord of `tensorflow_serving.apis.prediction_log_pb2.
PredictionLog` records (TF Serving reads at most 1,000), each holding one
`PredictRequest`.
"""

import os

import numpy as np
import tensorflow as tf

from gankeras.sampling import latents_from_seeds

MAX_RECORDS = 1000  # TF Serving's limit on warm-up records.
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def warmup_requests(model_name, latent_dim, num_classes=None, batch_sizes=(1, 8, 64)):
    """Representative `PredictionLog`s: every signature at a few batch sizes.

    Args:
        model_name: the name TF Serving serves the model under.
        latent_dim: size of `z`.
        num_classes: class count of a conditional generator, else None.
        batch_sizes: request batch sizes to warm up.

    Returns:
        list of `PredictionLog` protos (3 per batch size).
    """
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    logs = []
    for batch in batch_sizes:
        seeds = np.arange(batch, dtype=np.int64)
        inputs_by_signature = {
            "serving_default": {"z": latents_from_seeds(seeds, latent_dim)},
            "generate_from_seeds": {"seeds": seeds},
            "generate_from_seeds_truncated": {
                "seeds": seeds,
                "truncation": np.float32(0.7),
            },
        }
        for signature, inputs in inputs_by_signature.items():
            if num_classes is not None:
                inputs["labels"] = (np.arange(batch) % num_classes).astype(np.int32)
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature)
            )
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            logs.append(
                prediction_log_pb2.PredictionLog(
                    predict_log=prediction_log_pb2.PredictLog(request=request)
                )
            )
    if len(logs) > MAX_RECORDS:
        raise ValueError(
            f"TF Serving reads at most {MAX_RECORDS} warm-up records. "
            f"Received batch_sizes giving {len(logs)}; pass fewer."
        )
    return logs


def write_warmup_requests(version_dir, logs):
    """Writes `logs` to `<version_dir>/assets.extra/tf_serving_warmup_requests`.

    Returns:
        the file's path.
    """
    path = os.path.join(version_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def read_warmup_requests(path):
    """The `PredictionLog`s stored in a warm-up file (for checks and tests)."""
    from tensorflow_serving.apis import prediction_log_pb2

    logs = []
    for record in tf.data.TFRecordDataset(path):
        logs.append(prediction_log_pb2.PredictionLog.FromString(record.numpy()))
    return logs
