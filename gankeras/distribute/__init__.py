"""Data-parallel training on the engines Keras supports (docs/distribution.md).

`strategy_scope(name)` builds the right context for the active backend:
`tf.distribute` strategies on TensorFlow, `keras.distribution.DataParallel`
on JAX; PyTorch trains on one device.
"""

from gankeras.distribute.strategies import (
    STRATEGIES,
    configure_failure_detection,
    get_strategy,
    num_replicas,
    strategy_scope,
)
