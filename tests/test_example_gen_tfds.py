"""ExampleGen on TFDS datasets, offline: a dataset prepared in a temporary
data_dir with images of varying size, no labels and no test split; one with
labels and a test split (TFDS's `dummy_mnist`); and the bad names."""

import numpy as np
import pytest
import tensorflow_datasets as tfds
import tensorflow_datasets.testing  # noqa: F401  (registers "dummy_mnist")

from pipelines.components import example_gen
from pipelines.framework import Artifact, PipelineError

pytestmark = pytest.mark.backend_independent


class GankerasVariableSizeImages(tfds.core.GeneratorBasedBuilder):
    """20 RGB images of heights 30..49 x width 40, no label, train only."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "picture": tfds.features.Image(shape=(None, None, 3)),
                    "name": tfds.features.Text(),
                }
            )
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i in range(20):
            image = np.full((30 + i, 40, 3), 10 * i, np.uint8)
            image[0] = 255  # a white top row, cropped away by the centre crop
            yield i, {"picture": image, "name": str(i)}


class GankerasTextOnly(tfds.core.GeneratorBasedBuilder):
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({"text": tfds.features.Text()})
        )

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        yield 0, {"text": "hello"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("tfds"))
    GankerasVariableSizeImages(data_dir=directory).download_and_prepare()
    tfds.testing.DummyMnist(data_dir=directory).download_and_prepare()
    return directory


def run(tmp_path, name, data_dir, **parameters):
    component = example_gen.make_example_gen(dataset=name, tfds_data_dir=data_dir, **parameters)
    (tmp_path / "out").mkdir()
    out = Artifact("ExampleGen", "examples", str(tmp_path / "out"), "k", "r")
    example_gen.run_example_gen({}, {"examples": out}, component.parameters.replace(workers=0))
    return out


def test_varying_sizes_without_labels_or_test_split(tmp_path, data_dir):
    out = run(tmp_path, "gankeras_variable_size_images", data_dir, image_size=32)
    images, labels, stats = example_gen.load_examples(out)
    test, _, _ = example_gen.load_examples(out, "test")
    assert labels is None and stats["labelled"] is False and stats["num_classes"] is None
    assert images.shape == (18, 32, 32, 3) and test.shape == (2, 32, 32, 3)
    assert "10%" in stats["held_out"]
    assert stats["sizes_seen"]["40x30"] == 1 and stats["sizes_seen"]["40x49"] == 1
    # The shorter side becomes 32, then the centre is cut out: an image
    # taller than wide loses its white top row, one wider than tall keeps it.
    for image in np.concatenate([images, test]):
        height = 30 + int(image[16, 16, 0]) // 10
        kept_white_row = int(image[0, 16, 0]) > int(image[16, 16, 0]) + 20  # Lanczos blurs it
        if height <= 40 or height >= 45:  # (41..44 lose less than one output row)
            assert kept_white_row == (height <= 40), height


def test_labels_and_test_split_are_found(tmp_path, data_dir):
    out = run(tmp_path, "dummy_mnist", data_dir)
    images, labels, stats = example_gen.load_examples(out)
    assert images.shape == (20, 28, 28, 1) and labels.dtype == np.int32
    assert stats["test_count"] == 20 and "test split" in stats["held_out"]
    assert stats["num_classes"] == 10


def test_dataset_without_an_image_feature_names_its_features(tmp_path, data_dir):
    with pytest.raises(
        PipelineError, match=r"gankeras_text_only.*no image feature.*'text': 'Text'"
    ):
        run(tmp_path, "gankeras_text_only", data_dir)


def test_unknown_dataset_name_suggests_close_ones(tmp_path, data_dir):
    with pytest.raises(PipelineError, match=r"Unknown TFDS dataset name='cifar1O'.*cifar10"):
        run(tmp_path, "cifar1O", data_dir)
