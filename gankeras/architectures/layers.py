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


@keras.saving.register_keras_serializable(package="gankeras")
class ConditionalBatchNormalization(keras.layers.Layer):
    """Class-conditional batch normalization (de Vries et al. 2017; Miyato &
    Koyama 2018's generator).

    Batch normalization without its own scale and offset, then a per-class
    `gamma[y] * x_hat + beta[y]`: each class has its own learned `[C]` scale
    (initialised to 1) and offset (initialised to 0). The moving statistics
    are shared by all classes (the inner `BatchNormalization`).

    Args:
        num_classes: number of classes (>= 2).
        momentum, epsilon: as in `keras.layers.BatchNormalization`.

    Call args:
        inputs: `[x, labels]`: `x` `[batch, ..., C]` features (channels last),
            `labels` int `[batch]` class ids in `[0, num_classes)`.
        training: batch statistics (and moving-average updates) when true.

    Output shape: that of `x`.
    """

    def __init__(self, num_classes, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        if num_classes is None or int(num_classes) < 2:
            raise ValueError(
                "ConditionalBatchNormalization needs `num_classes` >= 2. "
                f"Received: num_classes={num_classes!r}"
            )
        self.num_classes = int(num_classes)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.batch_norm = keras.layers.BatchNormalization(
            momentum=self.momentum,
            epsilon=self.epsilon,
            center=False,
            scale=False,
            dtype=self.dtype_policy,
            name="batch_norm",
        )

    def build(self, input_shape):
        x_shape = tuple(input_shape[0])
        channels = x_shape[-1]
        self.batch_norm.build(x_shape)
        self.gamma = self.add_weight(
            shape=(self.num_classes, channels), initializer="ones", name="gamma"
        )
        self.beta = self.add_weight(
            shape=(self.num_classes, channels), initializer="zeros", name="beta"
        )

    def call(self, inputs, training=None):
        x, labels = inputs
        x = self.batch_norm(x, training=training)
        labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
        shape = (-1,) + (1,) * (len(x.shape) - 2) + (x.shape[-1],)
        gamma = ops.reshape(ops.take(self.gamma, labels, axis=0), shape)
        beta = ops.reshape(ops.take(self.beta, labels, axis=0), shape)
        return x * ops.cast(gamma, x.dtype) + ops.cast(beta, x.dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, momentum=self.momentum, epsilon=self.epsilon)
        return config


@keras.saving.register_keras_serializable(package="gankeras")
class GlobalSumPooling2D(keras.layers.Layer):
    """Sums over height and width: `[batch, H, W, C]` -> `[batch, C]`.

    The last pooling of Miyato et al. 2018's ResNet discriminators (a sum,
    not a mean, so the logit scales with the image area as in their code).
    """

    def call(self, inputs):
        return ops.sum(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])
