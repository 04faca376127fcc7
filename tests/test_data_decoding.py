"""gankeras.data.decoding: the rules every image source shares, and the
library's folder dataset giving the same pixels as the pipeline's ExampleGen."""

import numpy as np
import pytest
from PIL import Image

from gankeras import data
from gankeras.data import decoding
from pipelines.components import example_gen
from pipelines.framework import Artifact

pytestmark = pytest.mark.backend_independent


def test_shorter_side_is_resized_then_the_centre_cropped(tmp_path):
    # 60 wide x 30 high: red | green | blue thirds. To 16x16: 32x16, then
    # the centre 16 columns, which lie inside the green third.
    image = np.zeros((30, 60, 3), np.uint8)
    image[:, :20, 0] = image[:, 20:40, 1] = image[:, 40:, 2] = 255
    Image.fromarray(image).save(tmp_path / "wide.png")
    decoded = decoding.decode_file(tmp_path / "wide.png", (16, 16))
    assert decoded.array.shape == (16, 16, 3) and decoded.size == (60, 30)
    assert decoded.array[:, 3:13, 1].min() > 200 and decoded.array[:, 3:13, 0].max() < 60
    assert not decoded.upscaled


def test_small_image_is_upscaled_or_refused(tmp_path):
    Image.new("L", (10, 12), 7).save(tmp_path / "small.png")
    decoded = decoding.decode_file(tmp_path / "small.png", (32, 32))
    assert decoded.array.shape == (32, 32, 1) and decoded.upscaled
    with pytest.raises(decoding.UnusableImage, match=r"10x12 is smaller than the image size 32x32"):
        decoding.decode_file(tmp_path / "small.png", (32, 32), upscale=False)


@pytest.mark.parametrize("name, mode", [("a.bmp", "RGB"), ("a.webp", "RGB"), ("a.jpg", "L")])
def test_other_formats_decode(tmp_path, name, mode):
    Image.new(mode, (20, 20), 128 if mode == "L" else (128, 64, 32)).save(tmp_path / name)
    decoded = decoding.decode_file(tmp_path / name)
    assert decoded.array.shape == (20, 20, 1 if mode == "L" else 3)
    assert abs(int(decoded.array[10, 10, 0]) - 128) <= 3


def test_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 255))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    np.testing.assert_array_equal(decoding.decode_file(tmp_path / "a.gif").array[0, 0], [255, 0, 0])


def test_palette_transparency_is_composited(tmp_path):
    palette = Image.fromarray(np.array([[0, 1]], np.uint8), "P")
    palette.putpalette([0, 0, 0, 255, 0, 255] + [0] * 762)
    palette.save(tmp_path / "p.png", transparency=0)
    array = decoding.decode_file(tmp_path / "p.png", background=(0, 0, 255)).array
    np.testing.assert_array_equal(array[0], [[0, 0, 255], [255, 0, 255]])


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(tmp_path / "deep.png")
    assert decoding.decode_file(tmp_path / "deep.png").array.max() == 255
    Image.fromarray(np.full((4, 4), 32768, np.uint16)).save(tmp_path / "half.png")
    assert abs(int(decoding.decode_file(tmp_path / "half.png").array.max()) - 128) <= 1


@pytest.mark.parametrize("value", ["plaid", (300, 0, 0), "#12"])
def test_bad_background_names_the_value(value):
    with pytest.raises(ValueError, match=r"`background` must be a colour.*Received: background="):
        decoding.parse_background(value)


def test_background_forms():
    assert decoding.parse_background("white") == (255, 255, 255)
    assert decoding.parse_background("#102030") == (16, 32, 48)
    assert decoding.parse_background((1, 2, 3)) == (1, 2, 3)


def test_library_folder_dataset_matches_the_pipeline(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "in").mkdir()
    for i in range(10):
        size = (40 + 3 * i, 36 + i)
        rgba = rng.integers(0, 256, size[::-1] + (4,), dtype=np.uint8)
        Image.fromarray(rgba, "RGBA").save(tmp_path / "in" / f"{i}.png")
    dataset = data.image_folder_dataset(
        tmp_path / "in", image_size=32, batch_size=10, shuffle=False, background="black"
    )
    library = next(iter(dataset)).numpy()
    component = example_gen.make_example_gen(
        image_dir=str(tmp_path / "in"), image_size=32, background="black", order_seed=None
    )
    (tmp_path / "out").mkdir()
    out = Artifact("ExampleGen", "examples", str(tmp_path / "out"), "k", "r")
    example_gen.run_example_gen({}, {"examples": out}, component.parameters.replace(workers=0))
    train, _, _ = example_gen.load_examples(out)
    test, _, _ = example_gen.load_examples(out, "test")
    expected = (library[:9] + 1.0) * 127.5  # files 0..8 train, file 9 held out
    np.testing.assert_allclose(train.astype(np.float32), expected, atol=1e-3)
    np.testing.assert_allclose(test.astype(np.float32), (library[9:] + 1.0) * 127.5, atol=1e-3)


def test_exif_orientation_is_applied(tmp_path):
    # Stored 20 wide x 10 high with "rotate 90" (orientation 6): shown 10 x 20.
    image = Image.new("RGB", (20, 10), (0, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "photo.jpg", exif=exif)
    assert decoding.decode_file(tmp_path / "photo.jpg").array.shape == (20, 10, 3)
