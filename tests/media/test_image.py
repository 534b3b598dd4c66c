from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy
import pytest
import pyvips

from vitrina.errors import CorruptMedia, InvalidInput
from vitrina.media.image import (
    available_formats,
    make_derivatives,
    preview_array,
    rendition_preview,
)
from vitrina.media.probe import probe, verify_decodes
from vitrina.media.sniff import sniff

WIDTHS = [100, 320, 640, 1280]
# Expected (width, height) per photo for WIDTHS: height = round(H * w / W), widths at or
# above the source width dropped.
SIZES = {
    "astronaut.png": [(100, 100), (320, 320)],
    "camera.png": [(100, 100), (320, 320)],
    "chelsea.png": [(100, 67), (320, 213)],
    "coffee.png": [(100, 67), (320, 213)],
    "rocket.jpg": [(100, 67), (320, 214)],
    "hubble_deep_field.jpg": [(100, 87), (320, 279), (640, 558)],
    "text.png": [(100, 38), (320, 123)],
    "retina.jpg": [(100, 100), (320, 320), (640, 640), (1280, 1280)],
}
LOADER = {"jpeg": "jpegload_buffer", "webp": "webpload_buffer", "avif": "heifload_buffer"}


def decode(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def pixels(image: pyvips.Image) -> numpy.ndarray:
    return image.numpy().astype(numpy.float64)


def mean_colour_diff(a: pyvips.Image, b: pyvips.Image) -> float:
    """Largest per-channel difference of mean colours: lossy coding barely moves it, a
    wrong colour conversion does."""
    return float(numpy.abs(pixels(a).mean((0, 1)) - pixels(b).mean((0, 1))).max())


def mean_abs_diff(a: pyvips.Image, b: pyvips.Image) -> float:
    assert (a.width, a.height, a.bands) == (b.width, b.height, b.bands)
    return float(numpy.abs(pixels(a) - pixels(b)).mean())


def test_available_formats() -> None:
    assert {"jpeg", "webp"} <= available_formats() <= {"jpeg", "webp", "avif"}


@pytest.mark.parametrize("name", sorted(SIZES))
def test_sizes_per_photo(photos: Path, name: str) -> None:
    out = make_derivatives(photos / name, WIDTHS, ["webp"])
    assert [(r.width, r.height) for r in out] == SIZES[name]
    for r in out:
        im = decode(r.data)
        assert (im.width, im.height, im.bands, im.format, im.interpretation) == (
            r.width,
            r.height,
            3,
            "uchar",
            "srgb",
        )


@pytest.mark.parametrize(
    "name, widths, size",
    [
        ("chelsea.png", [451, 2000], (451, 300)),
        ("rocket.jpg", [640], (640, 427)),
        ("text.png", [5000], (448, 172)),
    ],
)
def test_never_upscaled(photos: Path, name: str, widths: list[int], size: tuple[int, int]) -> None:
    out = make_derivatives(photos / name, widths, ["jpeg"])
    assert [(r.width, r.height) for r in out] == [size]
    assert (decode(out[0].data).width, decode(out[0].data).height) == size


def test_each_output_decodes_in_its_format(photos: Path) -> None:
    formats = sorted(available_formats())
    out = make_derivatives(
        (photos / "rocket.jpg").read_bytes(), [320, 100, 100], formats, quality=70
    )
    assert [(r.width, r.format) for r in out] == [(w, f) for w in (100, 320) for f in formats]
    for r in out:
        assert sniff(r.data).mime == r.mime == f"image/{r.format}"
        im = decode(r.data)
        assert im.get("vips-loader") == LOADER[r.format]
        assert (im.width, im.height) == (r.width, r.height)


def test_large_camera_upload_uses_shrink_on_load(photos: Path, tmp_path: Path) -> None:
    # a camera-sized source: retina.jpg upscaled to 4000 px
    big = pyvips.Image.new_from_file(str(photos / "retina.jpg")).resize(4000 / 1411)
    path = tmp_path / "big.jpg"
    big.jpegsave(str(path), Q=85)
    assert probe(path).width == 4000
    out = make_derivatives(path, [320, 1280, 2560], ["jpeg"])
    assert [(r.width, r.height) for r in out] == [(320, 320), (1280, 1280), (2560, 2560)]
    # the smaller width is derived from the largest decode and matches a direct resize
    direct = pyvips.Image.thumbnail(str(path), 320)
    assert mean_abs_diff(decode(out[0].data), direct) < 3


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_comes_out_upright(
    oriented_jpeg: Callable[[int], bytes], orientation: int
) -> None:
    (reference,) = make_derivatives(oriented_jpeg(1), [200], ["webp"])
    (out,) = make_derivatives(oriented_jpeg(orientation), [200], ["webp"])
    assert (out.width, out.height) == (200, 133)
    ref, got = decode(reference.data), decode(out.data)
    assert mean_abs_diff(ref, got) < 4
    assert mean_abs_diff(ref, ref.fliphor()) > 20  # the comparison can tell a mirror image


def test_preview_is_upright(oriented_jpeg: Callable[[int], bytes]) -> None:
    upright = preview_array(oriented_jpeg(1), 128).astype(float)
    for orientation in (3, 6, 7):
        got = preview_array(oriented_jpeg(orientation), 128).astype(float)
        assert got.shape == upright.shape == (85, 128, 3)
        assert numpy.abs(got - upright).mean() < 4


@pytest.fixture(scope="module")
def chelsea_300(photos: Path) -> pyvips.Image:
    return pyvips.Image.thumbnail(str(photos / "chelsea.png"), 300).copy_memory()


def assert_srgb_like(data: bytes, reference: pyvips.Image, tolerance: float) -> None:
    im = decode(data)
    assert (im.bands, im.format, im.interpretation) == (3, "uchar", "srgb")
    assert mean_abs_diff(im, reference) < tolerance


def test_cmyk_jpeg_comes_out_8_bit_srgb(photos: Path, chelsea_300: pyvips.Image) -> None:
    chelsea = pyvips.Image.new_from_file(str(photos / "chelsea.png"))
    cmyk = chelsea.colourspace("cmyk")  # converted through libvips' built-in CMYK profile
    with_profile = cmyk.jpegsave_buffer(Q=95)
    without = cmyk.jpegsave_buffer(Q=95, keep="none")
    assert probe(with_profile).colorspace == probe(without).colorspace == "cmyk"
    for data in (with_profile, without):
        for r in make_derivatives(data, [300], ["jpeg", "webp"]):
            assert_srgb_like(r.data, chelsea_300, tolerance=6)


def test_16_bit_png_comes_out_8_bit_srgb(photos: Path, chelsea_300: pyvips.Image) -> None:
    chelsea = pyvips.Image.new_from_file(str(photos / "chelsea.png"))
    rgb16 = (chelsea.cast("ushort") * 257).cast("ushort").copy(interpretation="rgb16")
    data = rgb16.pngsave_buffer(bitdepth=16)
    assert probe(data).bit_depth == 16
    for r in make_derivatives(data, [300], ["jpeg", "webp"]):
        assert_srgb_like(r.data, chelsea_300, tolerance=4)


def test_grey_comes_out_srgb(photos: Path) -> None:
    (r,) = make_derivatives(photos / "camera.png", [256], ["jpeg"])
    im = decode(r.data)
    assert (im.bands, im.interpretation) == (3, "srgb")
    rgb = pixels(im)
    assert numpy.abs(rgb[..., 0] - rgb[..., 2]).mean() < 1


def srgb_reference(path: Path, width: int) -> pyvips.Image:
    """An independent route to upright sRGB: convert at full size, then resize."""
    im = pyvips.Image.new_from_file(str(path)).autorot()
    if im.get_typeof("icc-profile-data"):
        im = im.icc_transform("srgb", embedded=True)
    return im.colourspace("srgb").cast("uchar").resize(width / im.width)


def test_embedded_adobe_rgb_profile_is_honoured(photos: Path) -> None:
    # rocket.jpg is tagged "Adobe RGB (1998)"
    (r,) = make_derivatives(photos / "rocket.jpg", [320], ["webp"])
    reference = srgb_reference(photos / "rocket.jpg", 320)
    assert mean_colour_diff(decode(r.data), reference) < 1
    assert mean_abs_diff(decode(r.data), reference) < 4.5
    ignoring_profile = pyvips.Image.thumbnail(str(photos / "rocket.jpg"), 320)
    assert mean_colour_diff(ignoring_profile, reference) > 5


def test_embedded_p3_profile_is_honoured(photos: Path) -> None:
    # coffee's pixels re-encoded in Display P3 with that profile embedded: a correct
    # converter gets back to the sRGB pixels; one that ignores the profile does not.
    coffee = pyvips.Image.thumbnail(str(photos / "coffee.png"), 300).copy_memory()
    p3 = coffee.icc_transform("p3", embedded=True)
    (r,) = make_derivatives(p3.pngsave_buffer(), [1000], ["webp"])
    assert_srgb_like(r.data, coffee, tolerance=5)
    assert mean_colour_diff(decode(r.data), coffee) < 1
    assert mean_colour_diff(p3.copy(interpretation="srgb"), coffee) > 5


def test_alpha_kept_for_webp_and_avif_flattened_on_white_for_jpeg(photos: Path) -> None:
    im = pyvips.Image.thumbnail(str(photos / "coffee.png"), 200)  # 200x133
    mask = (pyvips.Image.xyz(200, 133)[0] >= 100).ifthenelse(255, 0)  # left half transparent
    data = im.bandjoin(mask).cast("uchar").pngsave_buffer()
    formats = sorted(available_formats())
    for r in make_derivatives(data, [100], formats):
        out = pixels(decode(r.data))
        left, right = out[:, :45], out[:, 55:]
        if r.format == "jpeg":
            assert out.shape[2] == 3
            assert left.mean() > 250  # white
        else:
            assert out.shape[2] == 4
            assert left[..., 3].max() < 5 and right[..., 3].min() > 250
        assert right[..., :3].mean() < 200  # the coffee picture, not white


def test_outputs_carry_no_metadata(gps_jpeg: bytes) -> None:
    assert probe(gps_jpeg).has_gps
    for r in make_derivatives(gps_jpeg, [320, 2000], sorted(available_formats())):
        im = decode(r.data)
        fields = im.get_fields()
        assert not [f for f in fields if f.startswith(("exif", "xmp", "iptc", "icc"))], r.format
        assert b"Exif" not in r.data and b"Vitrina Test Cam" not in r.data
        info = probe(r.data)
        assert (info.has_gps, info.exif, info.orientation) == (False, {}, 1)


@pytest.mark.parametrize(
    "name, shape",
    [
        ("astronaut.png", (256, 256, 3)),
        ("rocket.jpg", (171, 256, 3)),
        ("text.png", (98, 256, 3)),
        ("camera.png", (256, 256, 3)),
    ],
)
def test_preview_array(photos: Path, name: str, shape: tuple[int, int, int]) -> None:
    a = preview_array(photos / name)
    assert a.shape == shape and a.dtype == numpy.uint8 and a.flags.c_contiguous
    ref = srgb_reference(photos / name, a.shape[1])
    assert numpy.abs(a.astype(float) - pixels(ref)).mean() < 2
    small = preview_array((photos / name).read_bytes(), size=32)
    assert max(small.shape[:2]) == 32


@pytest.mark.parametrize("name", ["astronaut.png", "rocket.jpg", "text.png", "camera.png"])
def test_rendition_preview_matches_the_general_path(photos: Path, name: str) -> None:
    (rendition,) = make_derivatives(photos / name, [320], ["jpeg"])
    fast, general = rendition_preview(rendition.data), preview_array(rendition.data)
    assert fast.shape == general.shape and fast.dtype == numpy.uint8 and fast.flags.c_contiguous
    assert numpy.abs(fast.astype(float) - general).mean() < 2.5  # area average vs Lanczos


def test_rendition_preview_never_upscales_and_refuses_garbage(photos: Path) -> None:
    tiny = pyvips.Image.thumbnail(str(photos / "rocket.jpg"), 40).jpegsave_buffer()
    assert rendition_preview(tiny).shape == (27, 40, 3)
    with pytest.raises(CorruptMedia):
        rendition_preview(b"\xff\xd8 not a jpeg")


def test_preview_never_upscales_and_flattens_alpha(photos: Path) -> None:
    im = pyvips.Image.thumbnail(str(photos / "coffee.png"), 40)
    transparent = im.bandjoin(0).cast("uchar").pngsave_buffer()
    a = preview_array(transparent, size=256)
    assert a.shape == (im.height, 40, 3)
    assert a.min() == 255  # fully transparent becomes white


@pytest.mark.parametrize(
    "widths, formats, quality",
    [
        ([], ["jpeg"], 80),
        ([0], ["jpeg"], 80),
        (["320"], ["jpeg"], 80),
        ([320], ["png"], 80),
        ([320], [], 80),
        ([320], "jpeg", 80),
        ([320], ["jpeg"], 0),
        ([320], ["jpeg"], 101),
    ],
)
def test_bad_arguments_are_refused(photos: Path, widths: list, formats: list, quality: int) -> None:
    with pytest.raises(InvalidInput):
        make_derivatives(photos / "rocket.jpg", widths, formats, quality)


def test_a_reused_path_is_read_afresh(photos: Path, tmp_path: Path) -> None:
    # libvips caches loads by file name; a temp path reused for new bytes must not see old ones
    path = tmp_path / "original"
    path.write_bytes((photos / "rocket.jpg").read_bytes())
    assert probe(path).width == 640
    first = preview_array(path, 64)
    path.write_bytes((photos / "chelsea.png").read_bytes())
    assert (probe(path).width, probe(path).format) == (451, "png")
    assert make_derivatives(path, [100], ["jpeg"])[0].height == 67
    assert numpy.abs(preview_array(path, 64).astype(float).mean() - first.mean()) > 10


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".gif", ".tif", ".avif"])
def test_every_input_format(photos: Path, suffix: str) -> None:
    chelsea = pyvips.Image.new_from_file(str(photos / "chelsea.png"))
    data = chelsea.write_to_buffer(suffix, **({"effort": 0} if suffix == ".avif" else {}))
    verify_decodes(data)
    info = probe(data)
    assert (info.width, info.height, info.mime) == (451, 300, sniff(data).mime)
    (r,) = make_derivatives(data, [100], ["jpeg"])
    assert (r.width, r.height) == (100, 67)
    reference = pyvips.Image.thumbnail(str(photos / "chelsea.png"), 100)
    assert mean_colour_diff(decode(r.data), reference) < 8  # GIF's 256-colour palette is the worst
