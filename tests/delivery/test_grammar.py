"""The ops grammar: one canonical form, round trips, and 400s that name the op."""

from __future__ import annotations

from fractions import Fraction

import pytest

from vitrina.delivery import DeliveryLimits, InvalidOps, Ops, canonical, check_limits, parse_ops
from vitrina.delivery.grammar import validate_presets
from vitrina.delivery.ops import Effect, Overlay
from vitrina.errors import ConfigError

A = "0123456789abcdef0123456789abcdef"
B = "fedcba9876543210fedcba9876543210"
PRESETS = {"card": "w_400,h_300,c_fill,g_auto", "mark": f"l_{A}:g_se:o_40", "soft": "e_blur:2,q_60"}


@pytest.mark.parametrize(
    "spellings, expected",
    [
        (
            [
                "w_400,h_300,c_fill,g_auto,q_auto,f_auto",
                "f_auto,g_auto,c_fill,h_300,w_400",
                "w_0400,h_0300,c_fill,g_auto,f_auto",
            ],
            None,
        ),
        (
            [
                "w_400,h_300",
                "h_300,w_400,c_fit",
                "w_400,h_300,c_fit,g_north",
                "w_400,h_300,dpr_1,q_auto",
            ],
            "h_300,w_400",
        ),
        (
            [
                "c_fill,w_10,h_10,g_se",
                "g_southeast,h_10,c_fill,w_10",
                "w_10,c_fill,h_10,g_south_east",
            ],
            "c_fill,g_south_east,h_10,w_10",
        ),
        (
            ["f_jpeg,b_FFF,dpr_2.0,w_5", "w_5,dpr_2,b_ffffffff,f_jpg", "dpr_2.00,f_jpg,w_5"],
            "dpr_2,f_jpg,w_5",
        ),
        (
            ["ar_16:9,w_320,c_fill", "ar_32:18,c_fill,w_320", "c_fill,w_320,ar_16:9"],
            "ar_16:9,c_fill,w_320",
        ),
        (["ar_1.5", "ar_3:2", "ar_6:4"], "ar_3:2"),
        (["e_grey,e_blur", "e_blur:3,e_grayscale", "e_greyscale,e_blur:3.0"], "e_blur,e_grayscale"),
        (["fl_v", "r_180,fl_h", "fl_h,r_-180", "r_540,fl_h"], "fl_h,r_180"),
        (["fl_hv", "r_180", "fl_vh,r_360"], "r_180"),
        (["r_-90,fl_v", "r_90,fl_h"], "fl_h,r_90"),
        (["gx_0.3,c_fill", "c_fill,g_xy,gx_0.30,gy_0.5"], "c_fill,g_xy,gx_0.3,gy_0.5"),
        (["f_png,q_50", "q_90,f_png"], "f_png"),
        (["", "-", "c_fit", "q_auto,dpr_1.0,r_0,b_fff"], "-"),
        (["t_card", "c_fill,t_card", "t_card,w_400"], "c_fill,g_auto,h_300,w_400"),
        (["t_card,w_500", "w_500,h_300,c_fill,g_auto"], "c_fill,g_auto,h_300,w_500"),
    ],
)
def test_spellings_fold_to_one_canonical_form(spellings: list[str], expected: str | None) -> None:
    forms = {canonical(parse_ops(s, PRESETS)) for s in spellings}
    assert len(forms) == 1, forms
    if expected is not None:
        assert forms == {expected}


ROUND_TRIP = [
    "w_400,h_300,c_fill,g_auto,q_auto,f_auto", "c_pad,w_300,h_300,b_00000080,g_north_west",
    "c_crop,x_10,y_20,w_30,h_40,dpr_1.5", "c_thumb,g_face,w_64,h_64,q_55,f_avif",
    "c_scale,ar_4:3,h_100,r_270,fl_h", "e_sharpen:0.5,e_blur:12.25,e_grayscale,w_8",
    f"l_{A}:g_se:x_-4:y_8:o_50:w_120,l_{B},w_600", f"l_{B}:g_nw,l_{A}", "t_mark,t_soft,w_10",
    "c_fill,g_xy,gx_0.1234,gy_1,w_5,h_5", "c_limit,w_2000,dpr_3", "f_webp,q_1", "ar_100:1",
]  # fmt: skip


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_parse_of_canonical_is_identity(text: str) -> None:
    ops = parse_ops(text, PRESETS)
    form = canonical(ops)
    assert parse_ops(form) == ops
    assert canonical(parse_ops(form)) == form
    tokens = form.split(",")
    keys = [t.split("_")[0] for t in tokens]
    assert keys == sorted(keys)  # sorted by key (overlays keep their drawing order)


def test_parsed_values() -> None:
    ops = parse_ops(f"w_400,ar_16:9,c_fill,dpr_2,q_70,f_webp,b_f00,e_blur:5,l_{A}:g_se:x_10:o_50")
    assert ops == Ops(
        w=400, ar=Fraction(16, 9), c="fill", dpr=2.0, q=70, f="webp", b="ff0000",
        e=(Effect("blur", 5.0),), l=(Overlay(A, g="south_east", x=10, o=50),),
    )  # fmt: skip
    assert parse_ops(f"l_{A},l_{B}").l == (Overlay(A), Overlay(B))  # order kept
    assert canonical(parse_ops(f"l_{B},l_{A}")) != canonical(parse_ops(f"l_{A},l_{B}"))
    assert parse_ops("e_blur").e[0].sigma == 3.0


@pytest.mark.parametrize(
    "text, op",
    [
        ("w_400,zoom_2", "zoom"), ("width_400", "width"), ("w400", "w400"), ("w_", "w"),
        ("w_0", "w"), ("w_-5", "w"), ("w_1.5", "w"), ("w_abc", "w"), ("h_9999999", "h"),
        ("w_10,w_20", "w"), ("c_stretch", "c"), ("g_middle", "g"), ("q_0", "q"), ("q_101", "q"),
        ("q_best", "q"), ("f_gif", "f"), ("f_", "f"), ("b_12", "b"), ("b_red", "b"), ("r_45", "r"),
        ("fl_x", "fl"), ("e_sepia", "e"), ("e_grayscale:3", "e"), ("e_blur:0", "e"),
        ("e_blur:10001", "e"), ("e_blur,e_blur:2", "e"), ("dpr_0", "dpr"), ("dpr_101", "dpr"),
        ("dpr_1.23456", "dpr"), ("ar_0:1", "ar"), ("ar_1:1000", "ar"), ("ar_x", "ar"),
        ("ar_1:1,w_1,h_1", "ar"), ("gx_2", "gx"), ("g_north,gy_0.5,c_fill", "gy"),
        ("x_10,w_5", "x"), ("c_crop,x_1,g_north", "g"), ("c_pad,g_auto,w_1,h_1", "g"),
        ("l_notanid", "l"), (f"l_{A}:g_auto", "l"), (f"l_{A}:o_101", "l"), (f"l_{A}:z_1", "l"),
        (f"l_{A}:x_1:x_2", "l"), ("t_nope", "t"), ("w_1,,h_1", "ops"), ("w_1;h_1", "w"),
        ("w_1" + ",h_1" * 400, "ops"), ("w_1\n", "w"), (f"l_{A}\n", "l"),
    ],
)  # fmt: skip
def test_bad_ops_are_400_naming_the_op(text: str, op: str) -> None:
    with pytest.raises(InvalidOps) as info:
        parse_ops(text, PRESETS)
    err = info.value
    assert (err.status, err.code, err.details["op"]) == (400, "invalid_op", op)


def test_presets_cannot_nest_and_are_checked_at_start() -> None:
    with pytest.raises(InvalidOps) as info:
        parse_ops("t_outer", {"outer": "t_card", "card": "w_1"})
    assert info.value.details["op"] == "t"
    validate_presets(PRESETS)
    for bad in ({"card": "w_0"}, {"Bad Name": "w_1"}, {"loop": "t_loop"}):
        with pytest.raises(ConfigError):
            validate_presets(bad)


@pytest.mark.parametrize(
    "text, op",
    [
        ("l_" + ",l_".join([A] * 5), "l"), ("w_9000", "w"), ("h_5000,dpr_2", "h"), ("dpr_5", "dpr"),
        ("w_8000,h_8000", "w"), ("e_blur:60,dpr_2", "e"), (f"l_{A}:w_9000", "l"),
        # over the server's limits, not malformed: the README promises op_out_of_range
        ("e_blur:500", "e"), ("dpr_11", "dpr"),
    ],
)  # fmt: skip
def test_limits_refuse_with_op_out_of_range(text: str, op: str) -> None:
    with pytest.raises(InvalidOps) as info:
        check_limits(parse_ops(text), DeliveryLimits())
    err = info.value
    assert (err.status, err.code, err.details["op"]) == (400, "op_out_of_range", op)


def test_limits_pass_at_the_edge() -> None:
    limits = DeliveryLimits()
    check_limits(parse_ops("l_" + ",l_".join([A] * 4) + ",w_4000,h_2500,dpr_2,e_blur:50"), limits)
    with pytest.raises(ConfigError):
        DeliveryLimits(max_width=0)
