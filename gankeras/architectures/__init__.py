"""Networks for `gankeras.GAN`: functions returning Functional `keras.Model`s.

Images are `[batch, H, W, C]` in [-1, 1]; sizes derive from `image_shape`.
Pick by name with `build("dcgan", image_shape=(28, 28, 1), latent_dim=100)`;
`resolve_options(name, **options)` spells out what `build` will use.
"""

from gankeras.architectures.conditional import (
    acgan_discriminator,
    conditional_discriminator,
    conditional_generator,
)
from gankeras.architectures.dcgan import dcgan_discriminator, dcgan_generator
from gankeras.architectures.layers import (
    ConditionalBatchNormalization,
    GlobalSumPooling2D,
    Maxout,
)
from gankeras.architectures.mlp import mlp_discriminator, mlp_generator
from gankeras.architectures.registry import (
    ARCHITECTURES,
    SUPPORTED_SIZES,
    build,
    resolve_options,
)
from gankeras.architectures.resnet import resnet_discriminator, resnet_generator
from gankeras.architectures.upsampling import DEFAULT_UPSAMPLING
from gankeras.architectures.vaegan import vaegan_encoder
from gankeras.architectures.wgan_gp import wgan_gp_critic
