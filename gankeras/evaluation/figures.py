"""PNG figures for evaluation reports, drawn with Pillow.

Matplotlib is not a gankeras dependency, so the four figures a report needs
(an image grid, a nearest-neighbour grid, a bar chart, line charts) are
drawn here directly: a plain axis box, min/max tick labels, a legend.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gankeras.data.pixels import to_pixels

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def image_grid(images, columns=8, padding=2):
    """uint8 `[rows * (H + p), columns * (W + p), 3]` grid of images in [-1, 1]."""
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(
            f"Expected images [n, H, W, 1 or 3] in [-1, 1]. Received shape {images.shape}."
        )
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    pixels = to_pixels(images)
    n, h, w, _ = pixels.shape
    columns = max(1, min(int(columns), n))
    rows = -(-n // columns)
    grid = np.full(
        (rows * (h + padding) + padding, columns * (w + padding) + padding, 3), 255, np.uint8
    )
    for i, image in enumerate(pixels):
        r, c = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


def save_image_grid(path, images, columns=8, scale=2):
    """Writes an image grid PNG (upscaled `scale` times, nearest neighbour)."""
    grid = Image.fromarray(image_grid(images, columns))
    grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    grid.save(path)


def save_nearest_neighbour_grid(path, samples, neighbours, pairs_per_row=4, scale=2):
    """Writes a grid of (sample, its nearest training image) pairs.

    Args:
        samples: `[n, H, W, C]` generated images in [-1, 1].
        neighbours: `[n, H, W, C]` the nearest training image of each.
    """
    samples, neighbours = np.asarray(samples), np.asarray(neighbours)
    if samples.shape != neighbours.shape:
        raise ValueError(
            f"Expected one neighbour per sample. Received {samples.shape} "
            f"samples and {neighbours.shape} neighbours."
        )
    interleaved = np.stack([samples, neighbours], axis=1).reshape((-1,) + samples.shape[1:])
    save_image_grid(path, interleaved, columns=2 * pairs_per_row, scale=scale)


def _canvas(width, height):
    image = Image.new("RGB", (width, height), "white")
    return image, ImageDraw.Draw(image), ImageFont.load_default()


def save_bar_chart(path, series, categories, title="", width=640, height=360):
    """Grouped bars: `series` maps a name to values `[len(categories)]`."""
    image, draw, font = _canvas(width, height)
    left, right, top, bottom = 50, width - 10, 30, height - 40
    draw.text((left, 8), title, fill="black", font=font)
    top_value = max(max(float(v) for v in values) for values in series.values()) or 1.0
    draw.rectangle([left, top, right, bottom], outline="black")
    draw.text((5, top - 5), f"{top_value:.2f}", fill="black", font=font)
    draw.text((5, bottom - 5), "0", fill="black", font=font)
    slot = (right - left) / len(categories)
    bar = slot * 0.8 / len(series)
    for s, (name, values) in enumerate(series.items()):
        colour = COLOURS[s % len(COLOURS)]
        for i, value in enumerate(values):
            x0 = left + i * slot + slot * 0.1 + s * bar
            y0 = bottom - (bottom - top) * float(value) / top_value
            draw.rectangle([x0, y0, x0 + bar - 1, bottom], fill=colour)
        draw.rectangle([right - 150, top + 5 + 14 * s, right - 140, top + 15 + 14 * s], fill=colour)
        draw.text((right - 135, top + 4 + 14 * s), name, fill="black", font=font)
    for i, category in enumerate(categories):
        draw.text(
            (left + i * slot + slot * 0.3, bottom + 5), str(category), fill="black", font=font
        )
    image.save(path)


def save_line_charts(path, panels, x_label="epochs", width=640, panel_height=240):
    """Stacked line charts, one per panel.

    Args:
        path: PNG path.
        panels: list of `(title, {name: values})`; values are per-epoch lists.
        x_label: label of the shared x axis.
    """
    image, draw, font = _canvas(width, panel_height * len(panels))
    for p, (title, series) in enumerate(panels):
        offset = p * panel_height
        left, right, top, bottom = 60, width - 10, offset + 25, offset + panel_height - 30
        draw.text((left, offset + 6), title, fill="black", font=font)
        draw.rectangle([left, top, right, bottom], outline="black")
        values = [float(v) for vs in series.values() for v in vs if np.isfinite(v)]
        if not values:
            continue
        low, high = min(values), max(values)
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
        length = max(len(vs) for vs in series.values())
        draw.text((5, top - 5), f"{high:.3g}", fill="black", font=font)
        draw.text((5, bottom - 5), f"{low:.3g}", fill="black", font=font)
        draw.text((left, bottom + 5), "1", fill="black", font=font)
        draw.text((right - 40, bottom + 5), f"{length} {x_label}", fill="black", font=font)
        for s, (name, vs) in enumerate(series.items()):
            colour = COLOURS[s % len(COLOURS)]
            points = [
                (
                    left + (right - left) * (i / max(length - 1, 1)),
                    bottom - (bottom - top) * (float(v) - low) / (high - low),
                )
                for i, v in enumerate(vs)
                if np.isfinite(v)
            ]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
            draw.rectangle(
                [right - 150, top + 5 + 14 * s, right - 140, top + 15 + 14 * s], fill=colour
            )
            draw.text((right - 135, top + 4 + 14 * s), name, fill="black", font=font)
    image.save(path)
