"""Templates as data: the built-ins load, and every malformed field is named."""

from __future__ import annotations

import copy
import json

import pytest

from vitrina.creative.template import (
    ASPECTS,
    InvalidTemplate,
    SlotRule,
    Template,
    builtin,
    builtin_names,
)


def test_the_built_ins_load_with_a_layout_per_aspect():
    assert builtin_names() == ("banner", "hero", "overlay")
    for name in builtin_names():
        t = builtin(name)
        assert t.id == name and t.version >= 1
        assert set(t.layouts) == set(ASPECTS)
        for arrangement in t.layouts.values():
            placed = [role for area in arrangement.areas for role, _ in area.slots]
            assert "headline" in placed and len(placed) == len(set(placed))


def test_layout_overrides_change_only_their_aspect():
    hero = builtin("hero")
    assert hero.layouts["banner"].rules["headline"].max_px == 0.3
    assert hero.layouts["wide"].rules["headline"].max_px == hero.slots["headline"].max_px == 0.085


def test_px_range_scales_with_the_short_side_and_keeps_its_floor():
    rule = SlotRule("headline", min_px=0.05, max_px=0.1, floor_px=12)
    assert rule.px_range(1080) == (54, 108)
    assert rule.px_range(90) == (12, 12)


def _hero() -> dict:
    return json.loads(json.dumps(_raw("hero")))


def _raw(name: str) -> dict:
    from importlib import resources

    return json.loads(resources.files("vitrina.creative").joinpath(f"templates/{name}.json")
                      .read_text())


def _set(data: dict, path: list, value):
    d = data
    for key in path[:-1]:
        d = d[key]
    if value is _DELETE:
        del d[path[-1]]
    else:
        d[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize("path, value, field", [
    (["layouts", "tall"], _DELETE, "layouts.tall"),
    (["layouts", "wide", "areas", 0, "rect"], [0.5, 0, 0.4, 1], "layouts.wide.areas[0].rect"),
    (["layouts", "wide", "areas", 0, "rect"], [0, 0, 1], "layouts.wide.areas[0].rect"),
    (["layouts", "wide", "areas", 0, "slots", "badge"], 1, "layouts.wide.areas[0].slots.badge"),
    (["layouts", "wide", "areas", 0, "flow"], "diagonal", "layouts.wide.areas[0].flow"),
    (["layouts", "wide", "image", "space"], "page", "layouts.wide.image.space"),
    (["layouts", "square", "overrides", "subline", "max_lines"], 0,
     "layouts.square.overrides.subline.max_lines"),
    (["slots", "headline", "align"], "justify", "slots.headline.align"),
    (["slots", "headline", "min_px"], 0.5, "slots.headline.min_px"),
    (["slots", "headline", "max_px"], "big", "slots.headline.max_px"),
    (["slots", "sticker"], {}, "slots.sticker"),
    (["slots", "headline"], _DELETE, "slots.headline"),
    (["version"], "1", "version"),
    (["layouts", "banner", "areas"], [], "layouts.banner.areas"),
])
def test_mistakes_are_named_by_field(path, value, field):
    data = _set(copy.deepcopy(_hero()), path, value)
    with pytest.raises(InvalidTemplate) as err:
        Template.from_dict(data)
    assert err.value.code == "invalid_template"
    assert err.value.details["field"] == field


def test_a_layout_without_the_headline_is_refused():
    data = _hero()
    data["layouts"]["wide"]["areas"][0]["slots"].pop("headline")
    with pytest.raises(InvalidTemplate) as err:
        Template.from_dict(data)
    assert err.value.details["field"] == "layouts.wide.areas"


def test_not_json_and_unknown_built_in():
    with pytest.raises(InvalidTemplate) as err:
        Template.from_json(b"{not json")
    assert err.value.details["field"] == "$"
    with pytest.raises(InvalidTemplate) as err:
        builtin("../hero")
    assert err.value.details["field"] == "template"


def test_json_round_trip_equals_the_built_in():
    assert Template.from_json(json.dumps(_raw("overlay"))).layouts == builtin("overlay").layouts
