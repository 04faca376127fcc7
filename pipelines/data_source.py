"""Which data `python -m pipelines.train_mnist` uses when given none.

`make train` runs the MNIST preset with no arguments, on machines with and
without network. `resolve_default_source` picks, in this order:

1. TFDS `mnist`, when it is already prepared in `--tfds_data_dir`
   (no network needed);
2. TFDS `mnist` to download, when TFDS's download host answers within
   `gankeras.data.tfds_source.NETWORK_TIMEOUT` seconds;
3. the MNIST-format Fashion-MNIST files that `make setup` installs
   (Debian's `dataset-fashion-mnist`, in `/usr/share/datasets/fashion-mnist`).

and says why, so the run's first line names its data.
"""

import os

from pipelines.framework import PipelineError

#: Where `make setup` installs Fashion-MNIST (Debian `dataset-fashion-mnist`).
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
DEFAULT_DATASET = "mnist"


def _has_idx_train_files(directory):
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    return any(n.startswith("train-images") for n in names)


def resolve_default_source(
    config, is_prepared=None, network_reachable=None, idx_dir=FASHION_MNIST_DIR
):
    """`(overrides, reason)`: the data source fields to set and why.

    Args:
        config: the `PipelineConfig` (its `tfds_data_dir` is looked in).
        is_prepared: `fn(name, data_dir) -> bool` (default: TFDS's check).
        network_reachable: `fn() -> bool` (default: a bounded TCP check of
            TFDS's download host).
        idx_dir: the offline fallback folder.

    Raises:
        PipelineError: when none of the three is available, naming each.
    """
    if is_prepared is None or network_reachable is None:
        from gankeras.data import tfds_source

        is_prepared = is_prepared or tfds_source.is_prepared
        network_reachable = network_reachable or tfds_source.network_reachable
    where = config.tfds_data_dir or "~/tensorflow_datasets"
    if is_prepared(DEFAULT_DATASET, config.tfds_data_dir):
        return {"dataset": DEFAULT_DATASET}, f"TFDS {DEFAULT_DATASET}, prepared in {where}"
    if network_reachable():
        return {"dataset": DEFAULT_DATASET}, (
            f"TFDS {DEFAULT_DATASET}, to be downloaded into {where} (not prepared there; "
            "the download host answers)"
        )
    if _has_idx_train_files(idx_dir):
        return {"idx_dir": idx_dir}, (
            f"Fashion-MNIST IDX files in {idx_dir} (TFDS {DEFAULT_DATASET} is not prepared "
            f"in {where} and the network is unreachable; pass --dataset, --idx_dir or "
            "--image_dir to choose)"
        )
    raise PipelineError(
        f"No default data: TFDS {DEFAULT_DATASET} is not prepared in {where}, the network "
        f"is unreachable, and {idx_dir} holds no MNIST-format IDX files. Expected one of: "
        "`apt-get install dataset-fashion-mnist` (or `make setup` as root), "
        "--idx_dir=<folder of IDX files>, --image_dir=<folder of images>, or "
        "--tfds_data_dir=<a folder where mnist was prepared>."
    )
