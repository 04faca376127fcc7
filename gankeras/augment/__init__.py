"""Differentiable augmentation of discriminator inputs.

- `DiffAugment` (Zhao et al. 2020): colour, translation, cutout, always on.
- `AdaptiveAugment` (ADA, Karras et al. 2020): each transform with
  probability p per example; p in a variable, adapted from
  r_t = E[sign(D(x_real))] toward a target.

Images are float `[batch, H, W, C]` in [-1, 1]; outputs have the same shape.
All math is `keras.ops` (it runs inside the compiled step on TensorFlow,
JAX and PyTorch), randomness comes from a caller's
`keras.random.SeedGenerator`, and the output is differentiable with respect
to the input.

How the GAN's train step must use it (design note for the one train step)
-------------------------------------------------------------------------
With `aug` one of these layers, tracked by the GAN (an attribute, so its
variables are in `gan.non_trainable_variables`, saved in `.keras` files and
checkpoints and threaded through JAX's stateless step), and
`seeds = gan.seed_generator`:

1. D's phase. Real and fake alike go through the same `aug` before D:
   `d_real = D(aug.augment(real, seeds, training))`,
   `d_fake = D(aug.augment(fake, seeds, training))` (fresh parameters for
   each call; the same distribution). Anything else D sees (replayed
   fakes, instance noise) is augmented too; augment last, right before D.
2. Penalties see D's inputs as D does. R1 (Mescheder et al. 2018) as in
   StyleGAN2-ADA: the gradient is taken with respect to the *un-augmented*
   real batch, through the augmentation. Draw the parameters outside the
   differentiated function and apply them inside (an advance of the
   SeedGenerator inside `gankeras.backend.value_and_input_gradient` is
   dropped on JAX):
   `params = aug.sample_parameters(real, seeds)`;
   `value_and_input_gradient(lambda x: D(aug.apply(x, params)), real)`.
   The WGAN-GP penalty: interpolate between the augmented real and the
   augmented fake batches (the images D was scored on) and take the
   gradient at the interpolates.
3. ADA's controller: once per D step, after D scored the augmented reals,
   `aug.update(d_real_logits)` (a no-op for `DiffAugment`). It assigns only
   the layer's non-trainable variables with `.assign`, which the JAX
   trainer collects from the stateless step like batch-norm statistics;
   call it outside any `value_and_input_gradient` function. Under
   `tf.distribute`, pass `gankeras.backend.all_gather(d_real_logits)`.
   Log `aug.p` (and `aug.rt`) as metrics.
4. G's phase: G's loss is computed on D of *augmented* fakes,
   `D(aug.augment(G(z), seeds, training))`, without `stop_gradient`: the
   gradient flows through the augmentation into G. That is what keeps G
   from learning the augmentations (it is never rewarded for producing
   augmented-looking images, since D only compares augmented with
   augmented).
5. Evaluation (`gan.evaluate`, metrics) and generation: no augmentation
   (`training=False` is the identity).

Example:
```python
aug = gankeras.augment.AdaptiveAugment(target=0.6)
seeds = keras.random.SeedGenerator(0)
x = aug.augment(images, seeds)          # [b, H, W, C] -> [b, H, W, C]
aug.update(discriminator(x))            # adjusts aug.p every 4 calls
```
"""

from gankeras.augment import transforms
from gankeras.augment.ada import TRANSFORMS, AdaptiveAugment
from gankeras.augment.base import Augmentation
from gankeras.augment.diffaugment import POLICIES, DiffAugment

_BY_NAME = {"diffaugment": DiffAugment, "ada": AdaptiveAugment}


def get(name, **options):
    """The augmentation named by a pipeline flag `--augment`.

    Args:
        name: "none" (returns None), "diffaugment" or "ada".
        **options: keyword arguments of the class, e.g. `target=0.6`.

    Returns:
        An `Augmentation` layer, or None for "none".
    """
    if name in (None, "none"):
        return None
    if name not in _BY_NAME:
        raise ValueError(
            f"Unknown augmentation {name!r}. Expected one of {['none'] + sorted(_BY_NAME)}."
        )
    return _BY_NAME[name](**options)
