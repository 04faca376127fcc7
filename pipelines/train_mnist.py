"""`python -m pipelines.train_mnist`: the MNIST preset of `pipelines.train`.

The same pipeline and flags (`pipelines.cli`); without a data flag it picks
MNIST-like data that works on this machine (`pipelines.data_source.
resolve_default_source`): TFDS mnist when it is prepared or its download
host answers within a few seconds, else the Fashion-MNIST IDX files that
`make setup` installs (`/usr/share/datasets/fashion-mnist`). It prints
which and why. Images keep their 28x28 size and labels.

Examples:

```
python -m pipelines.train_mnist                          # TFDS mnist, else Fashion-MNIST files
python -m pipelines.train_mnist --model_name=fashion_gan \\
    --idx_dir=/usr/share/datasets/fashion-mnist          # offline, explicitly
python -m pipelines.train_mnist --helpfull               # every flag
```
"""

from absl import app

from pipelines import cli, data_source

# MNIST is labelled: blessed on the domain classifier's score, as always.
cli.define_flags(bless_metric="classifier_score", bless_threshold=3.0)


def main(argv):
    return cli.run(argv, default_source=data_source.resolve_default_source)


if __name__ == "__main__":
    app.run(main)
