"""`WeightClip`: a Keras constraint clipping weights to `[-c, c]`."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="gankeras")
class WeightClip(keras.constraints.Constraint):
    """Clips every weight to `[-clip_value, clip_value]` (WGAN, Arjovsky et
    al. 2017), for use as a layer's `kernel_constraint`. (`GAN.compile(
    weight_clip=...)` does not use it: the discriminator phase clips after
    each update, leaving the user's variables without a constraint.)"""

    def __init__(self, clip_value=0.01):
        self.clip_value = float(clip_value)

    def __call__(self, w):
        return ops.clip(w, -self.clip_value, self.clip_value)

    def get_config(self):
        return {"clip_value": self.clip_value}
