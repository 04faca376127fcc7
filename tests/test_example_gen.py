"""ExampleGen on a folder it builds itself: shards, statistics, skipped
files, the hold-out, and the readers the Trainer and Evaluator use.

The executor runs in-process on small folders (no network, no training), so
these run once (TensorFlow pass)."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from pipelines.components import example_gen
from pipelines.framework import Artifact, PipelineError

pytestmark = pytest.mark.backend_independent


def save(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def rgb(color, size=(40, 40)):
    return Image.new("RGB", size, color)


def messy_folder(root):
    """Nested PNG/JPEG/RGBA/palette/GIF/BMP/WebP images plus a zero-byte
    file, a text file, a corrupt PNG, a text file named .png and a 20x20
    image (too small for 32x32). Returns {name: path} of the bad ones."""
    save(root / "a" / "red.png", rgb((255, 0, 0)))
    save(root / "a" / "deep" / "blue.jpg", rgb((0, 0, 255), (60, 40)))
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., 1] = 255  # green, fully transparent on the left half
    rgba[:, 20:, 3] = 255
    save(root / "b" / "half_transparent.png", Image.fromarray(rgba, "RGBA"))
    palette = Image.fromarray(np.ones((40, 40), np.uint8), "P")
    palette.putpalette([0, 0, 0, 255, 0, 255] + [0] * 762)
    palette.save(root / "b" / "palette.png", transparency=0)
    save(root / "b" / "gray.png", Image.new("L", (50, 40), 100))
    frames = [rgb((0, 255, 255)), rgb((255, 255, 0))]
    (root / "c").mkdir()
    frames[0].save(root / "c" / "anim.gif", save_all=True, append_images=frames[1:])
    save(root / "c" / "pic.bmp", rgb((10, 20, 30)))
    save(root / "c" / "pic.webp", rgb((200, 100, 50)))
    save(root / "c" / "small.png", rgb((1, 2, 3), (20, 20)))
    bad = {
        "empty": root / "c" / "empty.png",
        "text": root / "notes.txt",
        "fake": root / "a" / "fake.png",
        "corrupt": root / "a" / "corrupt.png",
    }
    bad["empty"].write_bytes(b"")
    bad["text"].write_text("not an image")
    bad["fake"].write_text("a text file with an image name")
    good = (root / "a" / "red.png").read_bytes()
    bad["corrupt"].write_bytes(good[: len(good) // 2])
    return bad


def artifact(tmp_path, name="examples"):
    uri = tmp_path / name
    uri.mkdir()
    return Artifact("ExampleGen", "examples", str(uri), f"key:{name}", "run")


def run(tmp_path, source, out="examples", **parameters):
    component = example_gen.make_example_gen(image_dir=str(source), **parameters)
    examples = artifact(tmp_path, out)
    result = example_gen.run_example_gen({}, {"examples": examples}, component.parameters)
    return examples, result


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    base = tmp_path_factory.mktemp("messy")
    bad = messy_folder(base / "images")
    examples, result = run(base, base / "images", image_size=32, workers=0)
    return base, bad, examples, result


def test_usable_images_become_shards_of_the_image_size(messy):
    _, _, examples, result = messy
    images, labels, stats = example_gen.load_examples(examples)
    test_images, _, _ = example_gen.load_examples(examples, "test")
    # 12 files with an image extension (3 unusable) + notes.txt; in walk
    # order the 10th image file (c/pic.bmp) is held out.
    assert stats["image_shape"] == [32, 32, 3] and stats["channels"] == 3
    assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3)
    assert labels is None
    assert stats["count"] + stats["test_count"] == 9  # 13 files - 4 unusable
    assert len(images) == stats["count"] and len(test_images) == stats["test_count"]
    assert all(os.path.isfile(examples.path(n)) for n in stats["shards"]["train"])
    assert result["count"] == stats["count"]


def test_skipped_json_lists_each_unusable_file_with_its_reason(messy):
    _, bad, examples, _ = messy
    skipped = {s["file"]: s["reason"] for s in json.load(open(examples.path("skipped.json")))}
    assert set(skipped) == {str(p) for p in bad.values()}
    assert "empty file" in skipped[str(bad["empty"])]
    assert "not an image" in skipped[str(bad["fake"])]
    assert "corrupt" in skipped[str(bad["corrupt"])] or "truncated" in skipped[str(bad["corrupt"])]
    assert "not an image file extension" in skipped[str(bad["text"])]
    assert json.load(open(examples.path("stats.json")))["skipped"] == 4


def test_stats_record_sizes_modes_upscaled_and_channel_moments(messy):
    _, _, examples, _ = messy
    stats = json.load(open(examples.path("stats.json")))
    assert stats["sizes_seen"]["40x40"] >= 5 and stats["sizes_seen"]["20x20"] == 1
    assert stats["sizes_seen"]["60x40"] == 1 and stats["sizes_seen"]["50x40"] == 1
    assert {"RGB", "RGBA", "P", "L"} <= set(stats["modes_seen"])
    assert stats["upscaled"] == 1  # the 20x20 image
    images, _, _ = example_gen.load_examples(examples)
    pixels = images.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(stats["mean"], pixels.mean(0), atol=1e-3)
    np.testing.assert_allclose(stats["std"], pixels.std(0), atol=1e-3)


def test_transparency_is_composited_onto_the_background(tmp_path):
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 1] = 255
    rgba[:, 16:, 3] = 255  # left half transparent, right half opaque green
    for i in range(10):
        save(tmp_path / "in" / f"{i}.png", Image.fromarray(rgba, "RGBA"))
    for background, expected in (
        ("white", [255, 255, 255]),
        ("#000000", [0, 0, 0]),
        ("#ff0000", [255, 0, 0]),
    ):
        examples, _ = run(
            tmp_path,
            tmp_path / "in",
            out=background.strip("#"),
            image_size=32,
            background=background,
            workers=0,
        )
        images, _, _ = example_gen.load_examples(examples)
        np.testing.assert_array_equal(images[0, 5, 2], expected)
        np.testing.assert_array_equal(images[0, 5, 30], [0, 255, 0])


def test_grayscale_folder_gets_one_channel_and_a_colour_file_makes_three(tmp_path):
    for i in range(10):
        save(tmp_path / "gray" / f"{i}.png", Image.new("L", (32, 32), 10 * i))
    examples, _ = run(tmp_path, tmp_path / "gray", out="g", image_size=32, workers=0)
    assert example_gen.read_stats(examples)["image_shape"] == [32, 32, 1]
    save(tmp_path / "gray" / "z_colour.png", rgb((255, 0, 0), (32, 32)))
    examples, _ = run(
        tmp_path, tmp_path / "gray", out="c", image_size=32, order_seed=None, workers=0
    )
    images, _, stats = example_gen.load_examples(examples)
    assert stats["image_shape"] == [32, 32, 3]
    np.testing.assert_array_equal(images[1, 0, 0], [10, 10, 10])  # gray broadcast to RGB
    examples, _ = run(tmp_path, tmp_path / "gray", out="one", image_size=32, channels=1, workers=0)
    assert example_gen.read_stats(examples)["image_shape"] == [32, 32, 1]


def test_every_tenth_image_in_file_order_is_held_out_without_an_order_seed(tmp_path):
    for i in range(30):
        save(tmp_path / "in" / f"{i:02d}.png", Image.new("L", (32, 32), i))
    examples, _ = run(tmp_path, tmp_path / "in", image_size=32, order_seed=None, workers=0)
    train, _, stats = example_gen.load_examples(examples)
    test, _, _ = example_gen.load_examples(examples, "test")
    assert test[:, 0, 0, 0].tolist() == [9, 19, 29]
    assert train[:, 0, 0, 0].tolist() == [i for i in range(30) if i % 10 != 9]
    assert "10%" in stats["held_out"] and stats["order"] == "sorted file order"


def test_worker_processes_write_the_same_shards_as_one_process(tmp_path):
    for i in range(300):
        save(
            tmp_path / "in" / f"{i // 100}" / f"{i:03d}.png",
            Image.new("RGB", (36, 34), (i % 256, (3 * i) % 256, 7)),
        )
    one, _ = run(tmp_path, tmp_path / "in", out="one", image_size=32, workers=0)
    two, _ = run(tmp_path, tmp_path / "in", out="two", image_size=32, workers=2)
    a, _, _ = example_gen.load_examples(one)
    b, _, _ = example_gen.load_examples(two)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 270


def test_labels_from_folders_and_the_training_examples_reader(tmp_path):
    for c, name in enumerate(["cat", "dog"]):
        for i in range(10):
            save(tmp_path / "in" / name / f"{i}.png", Image.new("L", (32, 32), 100 * c + i))
    examples, result = run(
        tmp_path, tmp_path / "in", image_size=32, labels_from_folders=True, workers=0
    )
    stats = example_gen.read_stats(examples)
    assert stats["class_names"] == ["cat", "dog"] and stats["num_classes"] == 2
    dataset, count = example_gen.training_examples(examples, with_labels=True)
    pairs = [(int(x[0, 0, 0]), int(y)) for x, y in dataset.as_numpy_iterator()]
    assert count == 18 and len(pairs) == 18 and len(set(pairs)) == 18
    assert all(value // 100 == label for value, label in pairs)  # each file keeps its class
    dataset, _ = example_gen.training_examples(examples, with_labels=False)
    element = next(iter(dataset))
    assert element.shape == (32, 32, 1) and element.dtype.name == "uint8"
    limited, labels, _ = example_gen.load_examples(examples, "train", limit=5)
    assert limited.shape == (5, 32, 32, 1)
    assert labels.tolist() == [value // 100 for value, _ in pairs[:5]]


def test_unlabelled_folder_refuses_labels(tmp_path):
    for i in range(10):
        save(tmp_path / "in" / f"{i}.png", Image.new("L", (32, 32), i))
    examples, _ = run(tmp_path, tmp_path / "in", image_size=32, workers=0)
    with pytest.raises(PipelineError, match="Labels were asked for.*has none"):
        example_gen.training_examples(examples, with_labels=True)


def test_num_examples_keeps_the_first_usable_training_images(tmp_path):
    for i in range(40):
        save(tmp_path / "in" / f"{i:02d}.png", Image.new("L", (32, 32), i))
    examples, _ = run(
        tmp_path, tmp_path / "in", image_size=32, num_examples=12, order_seed=None, workers=0
    )
    train, _, stats = example_gen.load_examples(examples)
    assert train[:, 0, 0, 0].tolist() == [i for i in range(14) if i % 10 != 9][:12]
    assert stats["count"] == 12


def test_too_small_images_are_skipped_without_upscaling(tmp_path):
    for i in range(12):
        save(tmp_path / "in" / f"{i:02d}.png", Image.new("L", (32 if i else 16, 32), i))
    examples, _ = run(
        tmp_path, tmp_path / "in", image_size=32, upscale_small_images=False, workers=0
    )
    (skipped,) = json.load(open(examples.path("skipped.json")))
    assert skipped["file"].endswith("00.png") and "16x32 is smaller than" in skipped["reason"]


def test_strict_images_refuses_the_first_unusable_file_by_name(tmp_path):
    for i in range(12):
        save(tmp_path / "in" / f"{i:02d}.png", Image.new("L", (32, 32), i))
    (tmp_path / "in" / "05b.png").write_bytes(b"")
    with pytest.raises(
        PipelineError, match=r"Unusable image .*05b.png: empty file.*--strict_images"
    ):
        run(tmp_path, tmp_path / "in", image_size=32, strict_images=True, workers=0)


@pytest.mark.parametrize("contents", ["empty", "only_bad"])
def test_empty_or_all_unreadable_folder_is_an_error_naming_it(tmp_path, contents):
    folder = tmp_path / "in"
    folder.mkdir()
    if contents == "only_bad":
        (folder / "a.png").write_bytes(b"")
        (folder / "b.jpg").write_text("not a jpeg")
        message = r"the image folder .*in holds no usable image \(2 files skipped"
    else:
        message = r"no image files in .*in: it is empty"
    with pytest.raises(PipelineError, match=message):
        run(tmp_path, folder, image_size=32, workers=0)


def test_rerun_into_an_interrupted_output_replaces_its_shards(tmp_path):
    for i in range(10):
        save(tmp_path / "in" / f"{i}.png", Image.new("L", (32, 32), i))
    examples = artifact(tmp_path)
    with open(examples.path("train-00007.tfrecord"), "wb") as f:
        f.write(b"left by a killed run")
    component = example_gen.make_example_gen(image_dir=str(tmp_path / "in"), image_size=32)
    example_gen.run_example_gen({}, {"examples": examples}, component.parameters.replace(workers=0))
    assert sorted(os.listdir(examples.uri)) == [
        "skipped.json",
        "stats.json",
        "test-00000.tfrecord",
        "train-00000.tfrecord",
    ]


def test_cache_key_changes_when_a_file_is_replaced(tmp_path):
    save(tmp_path / "in" / "a.png", Image.new("L", (32, 32), 0))
    before = example_gen.make_example_gen(image_dir=str(tmp_path / "in")).parameters
    os.utime(tmp_path / "in" / "a.png", ns=(1, 1))
    after = example_gen.make_example_gen(image_dir=str(tmp_path / "in")).parameters
    assert before.image_files != after.image_files


def shard_labels(examples):
    """The labels of each training shard, in record order."""
    import tensorflow as tf

    return [
        [
            tf.train.Example.FromString(record).features.feature["label"].int64_list.value[0]
            for record in tf.data.TFRecordDataset(examples.path(name)).as_numpy_iterator()
        ]
        for name in example_gen.read_stats(examples)["shards"]["train"]
    ]


@pytest.fixture(scope="module")
def clustered(tmp_path_factory):
    """4 class folders of 40 images each (pixel value = class * 50 + i)."""
    root = tmp_path_factory.mktemp("clustered")
    for c in range(4):
        for i in range(40):
            save(root / "in" / f"class{c}" / f"{i:02d}.png", Image.new("L", (32, 32), 50 * c + i))
    return root


def test_a_class_clustered_folder_is_written_mixed_across_shards(clustered, monkeypatch):
    monkeypatch.setattr(example_gen, "SHARD_BYTES", 36 * 32 * 32)  # 36 images a shard
    mixed, _ = run(
        clustered, clustered / "in", out="mixed", image_size=32, labels_from_folders=True, workers=0
    )
    in_order, _ = run(
        clustered,
        clustered / "in",
        out="in_order",
        image_size=32,
        labels_from_folders=True,
        order_seed=None,
        workers=0,
    )
    shards = shard_labels(mixed)
    assert len(shards) == 4 and sum(map(len, shards)) == 144
    assert all(len(set(labels)) == 4 for labels in shards)  # every shard holds every class
    assert [len(set(labels)) for labels in shard_labels(in_order)] == [1, 1, 1, 1]
    _, test_labels, _ = example_gen.load_examples(mixed, "test")
    assert len(set(test_labels.tolist())) >= 3  # the hold-out is not one class either
    limited, _ = run(
        clustered,
        clustered / "in",
        out="limited",
        image_size=32,
        labels_from_folders=True,
        num_examples=12,
        workers=0,
    )
    _, labels, _ = example_gen.load_examples(limited)
    assert len(labels) == 12 and len(set(labels.tolist())) >= 3


def test_the_same_files_and_seed_give_the_same_shards(clustered):
    def shard_bytes(examples):
        stats = example_gen.read_stats(examples)
        return [open(examples.path(n), "rb").read() for n in stats["shards"]["train"]]

    first, _ = run(clustered, clustered / "in", out="first", image_size=32, workers=0)
    again, _ = run(clustered, clustered / "in", out="again", image_size=32, workers=0)
    other, _ = run(clustered, clustered / "in", out="other", image_size=32, order_seed=1, workers=0)
    assert shard_bytes(first) == shard_bytes(again)
    a, _, stats = example_gen.load_examples(first)
    b, _, _ = example_gen.load_examples(other)
    assert "default_rng(0)" in stats["order"]
    assert a[:, 0, 0, 0].tolist() != b[:, 0, 0, 0].tolist()  # another seed: another order
    values = sorted(
        a[:, 0, 0, 0].tolist() + example_gen.load_examples(first, "test")[0][:, 0, 0, 0].tolist()
    )
    assert values == sorted(50 * c + i for c in range(4) for i in range(40))


@pytest.mark.parametrize(
    "shape, label", [((32, 32, 3), None), ((28, 28, 1), 7), ((1, 1, 1), 0), ((130, 130, 3), 300)]
)
def test_serialized_examples_are_the_protobuf_tf_train_example(shape, label):
    import tensorflow as tf

    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    feature = {
        "image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()])),
        "shape": tf.train.Feature(int64_list=tf.train.Int64List(value=list(shape))),
    }
    if label is not None:
        feature["label"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))
    expected = tf.train.Example(features=tf.train.Features(feature=feature))
    record = example_gen.serialize_example(image, shape, label)
    assert tf.train.Example.FromString(record) == expected
