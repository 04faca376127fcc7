"""gankeras.data.folder: a folder of PNG/JPEG files -> arrays and datasets."""

import numpy as np
import pytest
from PIL import Image

from gankeras import data

pytestmark = pytest.mark.backend_independent


def save(path, array, mode=None):
    """Writes a uint8 array as an image file (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8), mode).save(path)
    return path


def gray(value, size=(8, 8)):
    return np.full(size, value, np.uint8)


def rgb(color, size=(8, 8)):
    return np.broadcast_to(np.array(color, np.uint8), size + (3,)).copy()


def test_grayscale_pngs_load_as_one_channel(tmp_path):
    for i in range(4):
        save(tmp_path / f"{i}.png", gray(60 * i))
    folder = data.load_image_folder(tmp_path)
    assert folder.images.shape == (4, 8, 8, 1) and folder.images.dtype == np.uint8
    np.testing.assert_array_equal(folder.images[:, 0, 0, 0], [0, 60, 120, 180])
    assert folder.labels is None


def test_rgb_png_and_jpeg_load_as_three_channels(tmp_path):
    save(tmp_path / "a.png", rgb((255, 0, 0)))
    save(tmp_path / "b.JPG", rgb((0, 0, 255)))
    folder = data.load_image_folder(tmp_path)
    assert folder.images.shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(folder.images[0, 0, 0], [255, 0, 0])
    assert np.argmax(folder.images[1, 4, 4]) == 2  # JPEG is lossy: still blue


def test_color_mode_converts_every_image(tmp_path):
    save(tmp_path / "a.png", rgb((255, 255, 255)))
    save(tmp_path / "b.png", gray(0))
    assert data.load_image_folder(tmp_path, color_mode="grayscale").images.shape == (2, 8, 8, 1)
    assert data.load_image_folder(tmp_path, color_mode="rgb").images.shape == (2, 8, 8, 3)


def test_image_size_center_crops_then_resizes(tmp_path):
    # 30 wide, 10 high: black sides, a white centre square of 10 x 10.
    wide = np.zeros((10, 30), np.uint8)
    wide[:, 10:20] = 255
    save(tmp_path / "wide.png", wide)
    images = data.load_image_folder(tmp_path, image_size=(5, 5)).images
    assert images.shape == (1, 5, 5, 1)
    # Only the white centre survives the crop (a plain resize would keep black
    # side columns); Lanczos filtering lets a little black bleed in at the edge.
    assert images.min() >= 200


def test_dataset_is_batched_in_minus_one_one(tmp_path):
    for i in range(6):
        save(tmp_path / f"{i}.png", rgb((0, 255, 0), size=(12, 16)))
    dataset = data.image_folder_dataset(tmp_path, image_size=(8, 8), batch_size=3)
    batches = list(dataset.as_numpy_iterator())
    assert [b.shape for b in batches] == [(3, 8, 8, 3)] * 2
    np.testing.assert_allclose(batches[0][0, 4, 4], [-1.0, 1.0, -1.0], atol=1e-6)


def test_labels_come_from_sorted_subfolders(tmp_path):
    save(tmp_path / "dog" / "1.png", gray(200))
    save(tmp_path / "cat" / "1.png", gray(100))
    save(tmp_path / "cat" / "2.png", gray(100))
    folder = data.load_image_folder(tmp_path, with_labels=True)
    assert folder.class_names == ["cat", "dog"]
    np.testing.assert_array_equal(folder.labels, [0, 0, 1])
    np.testing.assert_array_equal(folder.images[:, 0, 0, 0], [100, 100, 200])
    dataset = data.image_folder_dataset(tmp_path, batch_size=3, with_labels=True)
    assert dataset.class_names == ["cat", "dog"]
    _, labels = next(dataset.as_numpy_iterator())
    assert sorted(labels.tolist()) == [0, 0, 1]


# -- bad input -----------------------------------------------------------------


def test_empty_folder_says_it_is_empty(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"No images in .*: expected files ending in .png, .jpg, .jpeg, .webp, .bmp, .gif .* but it is empty",
    ):
        data.image_folder_dataset(tmp_path)


def test_folder_without_images_names_what_it_holds(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(
        ValueError, match=r"No images in .*it holds 1 other files, e.g. .*notes.txt"
    ):
        data.image_folder_dataset(tmp_path)


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere does not exist"):
        data.image_folder_dataset(tmp_path / "nowhere")


def test_unreadable_file_is_named(tmp_path):
    save(tmp_path / "good.png", gray(0))
    (tmp_path / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(
        ValueError, match=r"Could not read image file .*broken.png.*Expected a valid image file"
    ):
        data.load_image_folder(tmp_path)


def test_truncated_file_is_named(tmp_path):
    path = save(tmp_path / "cut.png", np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"Could not read image file .*cut.png"):
        data.load_image_folder(tmp_path)


def test_mixed_channels_without_color_mode_name_an_example_of_each(tmp_path):
    save(tmp_path / "a_gray.png", gray(0))
    save(tmp_path / "b_color.png", rgb((1, 2, 3)))
    with pytest.raises(
        ValueError,
        match=r"mixes grayscale and colour images \(grayscale: .*a_gray.png, colour: .*b_color.png\). Pass color_mode='rgb'",
    ):
        data.load_image_folder(tmp_path)


def test_mixed_sizes_without_image_size_name_an_example_of_each(tmp_path):
    save(tmp_path / "small.png", gray(0, size=(4, 4)))
    save(tmp_path / "big.png", gray(0, size=(8, 6)))
    with pytest.raises(
        ValueError, match=r"2 different sizes .*8x6: .*big.png, 4x4: .*small.png.*image_size="
    ):
        data.load_image_folder(tmp_path)


def test_labels_need_class_subfolders(tmp_path):
    save(tmp_path / "loose.png", gray(0))
    with pytest.raises(ValueError, match=r"sub-folder .*loose.png lies directly in"):
        data.load_image_folder(tmp_path, with_labels=True)


def test_unknown_color_mode_lists_the_known_ones(tmp_path):
    with pytest.raises(
        ValueError, match=r"one of \['grayscale', 'rgb'\] or None .*color_mode='cmyk'"
    ):
        data.load_image_folder(tmp_path, color_mode="cmyk")
