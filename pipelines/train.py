"""`python -m pipelines.train`: the GAN pipeline on any image data.

ExampleGen (exactly one of `--image_dir`, `--dataset`, `--idx_dir`;
streamed into TFRecord shards) -> Trainer -> Evaluator (metrics + blessing)
-> Pusher (TF Serving version under `--serving_dir`).

Images become `--image_size` x `--image_size` (32, 64 or 128): the shorter
side is resized to the size (Lanczos), then the centre square is cropped.
Smaller images are upscaled the same way and counted (`stats.json`
"upscaled"); `--noupscale_small_images` skips them instead (listed in
`skipped.json`), or makes them an error with `--strict_images`. Transparency
is composited onto `--background`. `--channels` (1 or 3) defaults to 3 when
any image is colour, else 1.

Examples:

```
python -m pipelines.train --image_dir=photos/ --image_size=64
python -m pipelines.train --image_dir=icons/ --image_size=32 --background=black
python -m pipelines.train --image_dir=classes/ --labels_from_folders --conditional
python -m pipelines.train --dataset=cifar10 --model_name=cifar_gan
python -m pipelines.train --idx_dir=/usr/share/datasets/fashion-mnist --image_size=32
python -m pipelines.train --helpfull                     # every flag
```
"""

from absl import app

from pipelines import cli

cli.define_flags(model_name="gan")


def main(argv):
    return cli.run(argv)


if __name__ == "__main__":
    app.run(main)
