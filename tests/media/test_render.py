"""Overlays land where gravity says with their opacity; effects do what they say;
limits and the time budget hold while rendering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import pyvips

from vitrina.delivery import DeliveryLimits, InvalidOps, RenderTimeout, parse_ops
from vitrina.errors import CorruptMedia, MediaTooLarge, NotFound
from vitrina.media.transform import transform

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
COFFEE = PHOTOS / "coffee.png"  # 600x400
OV = "0123456789abcdef0123456789abcdef"


def _array(data: bytes) -> np.ndarray:
    array = pyvips.Image.new_from_buffer(data, "").numpy().astype(np.float64)
    return array[..., None] if array.ndim == 2 else array


@pytest.mark.parametrize(
    "ops, layer, at",
    [
        ("w_600", "g_se:x_10:y_20:o_50:w_100", (490, 280)),
        ("w_600", "g_nw:x_10:y_20:o_50:w_100", (10, 20)),
        ("w_600", "x_10:y_-20:o_50:w_100", (260, 130)),
        ("w_600", "g_south:x_10:y_20:o_50:w_100", (260, 280)),
        ("w_300,dpr_2", "g_se:x_5:y_10:o_50:w_50", (490, 280)),
        ("w_600", "g_ne:o_100:w_100", (500, 0)),
    ],
)
def test_overlay_lands_where_gravity_says(ops: str, layer: str, at: tuple[int, int]) -> None:
    base = _array(transform(COFFEE, parse_ops("w_600"), "png").data)
    mark = pyvips.Image.thumbnail(str(PHOTOS / "camera.png"), 100, height=100, size="force")
    mark = mark.colourspace("srgb").numpy().astype(np.float64)
    opacity = int(layer.split("o_")[1].split(":")[0]) / 100
    out = _array(
        transform(
            COFFEE, parse_ops(f"{ops},l_{OV}:{layer}"), "png", overlays={OV: PHOTOS / "camera.png"}
        ).data
    )
    assert out.shape == base.shape == (400, 600, 3)

    def placed(x: int, y: int) -> np.ndarray:
        expected = base.copy()
        expected[y : y + 100, x : x + 100] = (
            opacity * mark + (1 - opacity) * base[y : y + 100, x : x + 100]
        )
        return expected

    assert np.abs(out - placed(*at)).max() <= 2
    # the check can fail: four pixels further left is far off
    assert np.abs(out - placed(at[0] - 4, at[1])).max() > 20


def test_two_overlays_draw_in_order_and_a_missing_one_is_404() -> None:
    other = "fedcba9876543210fedcba9876543210"
    sources = {OV: PHOTOS / "camera.png", other: (PHOTOS / "astronaut.png").read_bytes()}
    first = _array(
        transform(COFFEE, parse_ops(f"l_{OV}:w_100,l_{other}:w_100"), "png", overlays=sources).data
    )
    second = _array(
        transform(COFFEE, parse_ops(f"l_{other}:w_100,l_{OV}:w_100"), "png", overlays=sources).data
    )
    centre = (slice(150, 250), slice(250, 350))
    assert np.ptp(first[centre], axis=2).mean() > 10  # colour astronaut on top
    assert np.ptp(second[centre], axis=2).max() == 0  # grey camera on top
    with pytest.raises(NotFound) as info:
        transform(COFFEE, parse_ops(f"l_{OV}"), "png", overlays={})
    assert info.value.details["op"] == "l"


def _detail(a: np.ndarray) -> float:
    grey = a.mean(axis=2)
    return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())


def test_effects() -> None:
    plain = _array(transform(COFFEE, parse_ops("w_300"), "png").data)
    grey = _array(transform(COFFEE, parse_ops("w_300,e_grayscale"), "png").data)
    assert grey.shape[2] == 1 and abs(grey.mean() - plain.mean()) < 15
    blurred = _array(transform(COFFEE, parse_ops("w_300,e_blur:4"), "png").data)
    sharpened = _array(transform(COFFEE, parse_ops("w_300,e_sharpen:1"), "png").data)
    assert blurred.shape == sharpened.shape == plain.shape
    assert _detail(blurred) < _detail(plain) / 2
    assert _detail(sharpened) > _detail(plain) * 1.1
    both = _array(transform(COFFEE, parse_ops("w_300,e_blur:4,e_grayscale"), "png").data)
    assert both.shape[2] == 1 and _detail(both) < _detail(grey) / 2


def test_q_auto_depends_on_format_and_dpr() -> None:
    def jpg(ops: str) -> bytes:
        return transform(COFFEE, parse_ops(ops), "jpeg").data

    assert jpg("w_100") == jpg("w_100,q_80")
    assert jpg("w_50,dpr_2") == jpg("w_50,dpr_2,q_70")
    assert len(jpg("w_100,q_30")) < len(jpg("w_100,q_95"))


def test_limits_while_rendering() -> None:
    with pytest.raises(MediaTooLarge):
        transform(
            COFFEE, parse_ops("w_10"), "jpeg", limits=DeliveryLimits(max_source_pixels=200_000)
        )
    with pytest.raises(InvalidOps) as info:
        transform(COFFEE, parse_ops("c_scale,dpr_4"), "jpeg", limits=DeliveryLimits(max_width=2000))
    assert (info.value.code, info.value.details["op"]) == ("op_out_of_range", "dpr")
    with pytest.raises(InvalidOps) as info:
        transform(
            COFFEE,
            parse_ops("w_20,l_" + ",l_".join([OV] * 3)),
            "jpeg",
            limits=DeliveryLimits(max_overlays=2),
        )
    assert info.value.details["op"] == "l"
    with pytest.raises(InvalidOps) as info:
        transform(COFFEE, parse_ops("w_10"), "gif")
    assert info.value.details["op"] == "f"


def test_time_budget_stops_a_render_and_leaves_no_trace() -> None:
    ops = parse_ops("w_2000,e_blur:10")
    with pytest.raises(RenderTimeout) as info:
        transform(COFFEE, ops, "jpeg", limits=DeliveryLimits(max_render_seconds=0.001))
    assert (info.value.status, info.value.code) == (503, "render_timeout")
    # the same pipeline (shared through libvips' operation cache) still renders afterwards
    assert (
        transform(COFFEE, ops, "jpeg", limits=DeliveryLimits(max_render_seconds=None)).width == 2000
    )
    assert transform(COFFEE, ops, "jpeg", limits=DeliveryLimits(max_render_seconds=60)).width == 2000


def test_undecodable_source_is_422() -> None:
    """Truncated files are refused at ingest; here only bytes that are no image at all."""
    for broken in (b"not an image at all", b"\xff\xd8\xff" + b"\0" * 64):
        with pytest.raises(CorruptMedia) as info:
            transform(broken, parse_ops("w_100"), "jpeg")
        assert info.value.status == 422


def test_known_source_size_skips_the_header_and_gives_the_same_bytes() -> None:
    ops = parse_ops("c_fill,w_120,h_90")
    assert transform(COFFEE, ops, "png", size=(600, 400)).data == transform(COFFEE, ops, "png").data
    with pytest.raises(MediaTooLarge):
        transform(COFFEE, ops, "png", size=(20_000, 20_000))


def test_decode_errors_name_no_server_path(tmp_path: Path) -> None:
    bad = tmp_path / "secret-dir" / "blob.bin"
    bad.parent.mkdir()
    bad.write_bytes(b"no known format")  # libvips names the file in this error
    with pytest.raises(CorruptMedia) as info:
        transform(bad, parse_ops("w_100"), "jpeg", size=(10, 10))
    assert "blob.bin" in str(info.value.details) and "secret-dir" not in str(info.value.to_dict())
