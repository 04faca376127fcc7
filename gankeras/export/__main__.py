"""`python -m gankeras.export`: exports a saved generator `.keras` file.

Run under `KERAS_BACKEND=tensorflow`. `export_generator` uses it to export
generators trained on the JAX or torch backends; it also serves by hand:

```
KERAS_BACKEND=tensorflow python -m gankeras.export \
    --generator=generator.keras --serving_dir=saved_models --model_name=mnist
```
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gankeras.export", description=__doc__)
    parser.add_argument("--generator", required=True, help="a generator .keras file")
    parser.add_argument(
        "--export_dir",
        help="write only the SavedModel into this directory (no version, no warm-up)",
    )
    parser.add_argument("--serving_dir", help="write a new version under SERVING_DIR/MODEL_NAME")
    parser.add_argument("--model_name", default="generator")
    parser.add_argument("--version", type=int, default=None)
    parser.add_argument("--num_classes", type=int, default=None)
    parser.add_argument(
        "--import_module",
        action="append",
        default=[],
        help="module to import first (registers custom layers); repeatable",
    )
    args = parser.parse_args(argv)
    if (args.export_dir is None) == (args.serving_dir is None):
        parser.error("pass exactly one of --export_dir or --serving_dir")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")

    import keras

    from gankeras.export import saved_model

    if keras.backend.backend() != "tensorflow":
        parser.error(
            f"needs KERAS_BACKEND=tensorflow; received KERAS_BACKEND={keras.backend.backend()}"
        )
    generator = saved_model.load_generator_file(args.generator, args.import_module)
    if args.export_dir is not None:
        saved_model.write_archive(generator, args.export_dir)
        return 0
    exported = saved_model.export_generator(
        generator,
        args.serving_dir,
        args.model_name,
        version=args.version,
        num_classes=args.num_classes,
    )
    print(exported.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
