"""Custom layers the architectures need and Keras 3 does not ship."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="gankeras")
class Maxout(keras.layers.Layer):
    """A maxout unit layer (Goodfellow et al. 2013, "Maxout Networks").

    An affine map to `units * pieces` values, then the maximum over each
    group of `pieces`: `y_j = max_k (x W_{jk} + b_{jk})`. Goodfellow et al.
    2014's MNIST discriminator is built from these. Keras 3 has no maxout
    layer (a `Dense` followed by a reshape and max would do it, but as three
    layers with a hard-coded shape).

    Args:
        units: output features.
        pieces: affine pieces per unit.
        kernel_initializer: as in `keras.layers.Dense`.

    Input shape: `[batch, features]`. Output shape: `[batch, units]`.
    """

    def __init__(self, units, pieces=5, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1 or int(pieces) < 1:
            raise ValueError(
                "`units` and `pieces` must be positive integers. "
                f"Received: units={units}, pieces={pieces}"
            )
        self.units = int(units)
        self.pieces = int(pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units * self.pieces),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = self.add_weight(
            shape=(self.units * self.pieces,), initializer="zeros", name="bias"
        )

    def call(self, inputs):
        x = ops.matmul(inputs, self.kernel) + self.bias
        x = ops.reshape(x, (-1, self.units, self.pieces))
        return ops.max(x, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            pieces=self.pieces,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config
