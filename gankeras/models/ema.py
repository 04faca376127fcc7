"""Sampling with the generator's exponential moving average (Karras et al. 2018).

The average is kept by Keras's optimizer (`g_optimizer=Adam(..., use_ema=True)`):
its `_model_variables_moving_average` mirror the generator's (and encoder's)
trainable variables. `ema_weights` swaps them in for the length of a context.
"""

import contextlib

from keras import ops


def has_ema(optimizer):
    """Whether `optimizer` (or None) keeps built moving-average weights."""
    return bool(
        optimizer is not None
        and getattr(optimizer, "use_ema", False)
        and getattr(optimizer, "_model_variables_moving_average", None)
    )


@contextlib.contextmanager
def ema_weights(optimizer):
    """Within the context the optimizer's variables hold their moving
    averages (restored afterwards, also on error); a no-op for None."""
    if optimizer is None:
        yield
        return
    variables = optimizer._trainable_variables
    saved = [ops.copy(v.value) for v in variables]
    for v, average in zip(variables, optimizer._model_variables_moving_average):
        v.assign(average)
    try:
        yield
    finally:
        for v, value in zip(variables, saved):
            v.assign(value)
