"""The layout solver: one template, every placement, boxes inside the safe zone."""

from __future__ import annotations

import itertools

import pytest

from vitrina.creative.layout import _split, aspect_class, safe_box, solve
from vitrina.creative.model import PLACEMENTS, Placement
from vitrina.creative.template import builtin, builtin_names
from vitrina.errors import InvalidInput


def test_aspect_classes_of_the_placements():
    assert {p.name: aspect_class(p.width, p.height) for p in PLACEMENTS} == {
        "link": "wide", "square": "square", "story": "tall", "medium-rectangle": "square",
        "leaderboard": "banner", "skyscraper": "tall",
    }


def test_safe_box_is_the_margin_of_the_short_side():
    assert safe_box(Placement("x", 1200, 628), 0.05) == (31, 31, 1169, 597)
    assert safe_box(Placement("x", 728, 90), 0.05) == (4, 4, 724, 86)


@pytest.mark.parametrize("name, placement", list(itertools.product(
    ("banner", "hero", "overlay"), PLACEMENTS)), ids=lambda v: getattr(v, "name", v))
def test_every_slot_lands_inside_the_safe_zone_without_overlap(name, placement):
    lay = solve(builtin(name), placement, 0.05)
    sx0, sy0, sx1, sy1 = lay.safe
    boxes = list(lay.cells.values())
    assert "headline" in lay.cells
    for x0, y0, x1, y1 in boxes:
        assert sx0 <= x0 < x1 <= sx1 and sy0 <= y0 < y1 <= sy1
    for a, b in itertools.combinations(boxes, 2):
        assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    ix0, iy0, ix1, iy1 = lay.image
    assert 0 <= ix0 < ix1 <= placement.width and 0 <= iy0 < iy1 <= placement.height


def test_hero_is_side_by_side_when_wide_and_stacked_when_tall():
    hero = builtin("hero")
    wide = solve(hero, Placement("link", 1200, 628), 0.05)
    assert wide.image[2] <= wide.cells["headline"][0]  # photo left of the text
    for p in (Placement("story", 1080, 1920), Placement("skyscraper", 160, 600)):
        tall = solve(hero, p, 0.05)
        assert tall.image[3] <= tall.cells["headline"][1]  # photo above the text
        assert tall.cells["headline"][2] - tall.cells["headline"][0] == tall.safe[2] - tall.safe[0]
    banner = solve(hero, Placement("leaderboard", 728, 90), 0.05)
    h = banner.cells["headline"]
    assert banner.image[2] <= banner.cells["logo"][0] < h[0] and h[3] - h[1] == 82


def test_split_divides_by_share_with_exact_gaps():
    cells = _split((0, 0, 100, 300), "column", 0.1, (("a", 1), ("b", 2)), 100)
    assert cells == {"a": (0, 0, 100, 97), "b": (0, 107, 100, 300)}
    row = _split((10, 0, 110, 50), "row", 0.0, (("a", 1), ("b", 1), ("c", 2)), 50)
    assert row == {"a": (10, 0, 35, 50), "b": (35, 0, 60, 50), "c": (60, 0, 110, 50)}


def test_all_built_ins_serve_every_placement():
    for name in builtin_names():
        assert {solve(builtin(name), p, 0.05).aspect for p in PLACEMENTS} == {
            "wide", "square", "tall", "banner"}


@pytest.mark.parametrize("w, h", [(10, 600), (5000, 100), (300, 0)])
def test_placements_out_of_range_are_refused(w, h):
    with pytest.raises(InvalidInput) as err:
        solve(builtin("hero"), Placement("odd", w, h), 0.05)
    assert err.value.code == "invalid_placement"
