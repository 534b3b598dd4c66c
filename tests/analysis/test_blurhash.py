from __future__ import annotations

import blurhash
import numpy
import pytest

from tests.analysis.conftest import get


def linear_mean_as_srgb(pixels: numpy.ndarray) -> numpy.ndarray:
    """The physical mean colour (averaged in linear light), expressed in sRGB 0..255."""
    c = pixels.reshape(-1, 3).astype(numpy.float64) / 255
    mean = numpy.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).mean(0)
    return 255 * numpy.where(mean <= 0.0031308, mean * 12.92, 1.055 * mean ** (1 / 2.4) - 0.055)


def encode(image: numpy.ndarray) -> str:
    return get("blurhash").analyse([image])[0]["hash"]


def components(h: str) -> tuple[int, int]:
    """The (x, y) component counts a hash declares in its first character (base 83)."""
    size_flag = _BASE83.index(h[0])
    return size_flag % 9 + 1, size_flag // 9 + 1


_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def test_hashes_match_stored_references(previews: dict, references) -> None:
    references.check("blurhash", {name: encode(image) for name, image in previews.items()})


@pytest.mark.parametrize("name", ["astronaut.png", "coffee.png", "rocket.jpg", "camera.png"])
def test_decodes_to_the_photos_colours(previews: dict, name: str) -> None:
    image = previews[name]
    h = encode(image)
    assert len(h) == 28 and components(h) == (4, 3)
    decoded = numpy.asarray(blurhash.decode(h, 64, 64), dtype=numpy.float64)[..., :3]
    # BlurHash's DC term is the mean colour in linear light
    assert numpy.abs(linear_mean_as_srgb(decoded) - linear_mean_as_srgb(image)).max() < 4
    # and the coarse layout: top/bottom halves keep their order of brightness
    top, bottom = image[: image.shape[0] // 2].mean(), image[image.shape[0] // 2 :].mean()
    dtop, dbottom = decoded[:32].mean(), decoded[32:].mean()
    assert (top > bottom) == (dtop > dbottom)


def test_flat_colour_round_trips() -> None:
    flat = numpy.full((50, 80, 3), (30, 140, 220), numpy.uint8)
    decoded = numpy.asarray(blurhash.decode(encode(flat), 32, 20), dtype=float)
    assert numpy.abs(linear_mean_as_srgb(decoded) - (30, 140, 220)).max() <= 2
    # the reference basis, cos(pi*i*x/W), leaks a few percent of a flat colour into AC terms
    assert numpy.abs(decoded - (30, 140, 220)).max() <= 25
