"""Rendering: the built-in templates on every placement with the demo items, against
stored perceptual hashes, byte-identical re-renders, the gates, and clear errors."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy
import pytest
from PIL import Image

from vitrina.creative import gates
from vitrina.creative.crop import InvalidCreativeImage
from vitrina.creative.model import PLACEMENTS, Placement
from vitrina.creative.render import format_price, render
from vitrina.creative.template import builtin, builtin_names
from vitrina.errors import InvalidInput

from . import snapshots

ROOT = Path(__file__).parents[2]
COMBOS = list(itertools.product(("banner", "hero", "overlay"), PLACEMENTS))


@pytest.fixture(scope="module")
def renders(brand, demo_items):
    """Every demo item in every built-in template on every placement, rendered once."""
    out = {}
    for item in demo_items:
        for name, placement in COMBOS:
            out[item["id"], name, placement.name] = render(
                item, brand, builtin(name), placement, item["text"], item["image"],
                focus=item["focus"])
    return out


def _pixels(png: bytes) -> numpy.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        assert im.format == "PNG"
        return numpy.asarray(im.convert("RGB"))


@pytest.mark.parametrize("name, placement", COMBOS, ids=lambda v: getattr(v, "name", v))
def test_snapshots(renders, name, placement):
    for item in ("astronaut", "rocket"):
        r = renders[item, name, placement.name]
        distance = snapshots.check(f"{name}/{placement.name}/{item}", r.png)
        assert distance <= snapshots.MAX_DISTANCE, (item, distance)


def test_snapshots_tell_creatives_apart(renders):
    """The snapshot threshold is tighter than the gap between different creatives."""
    a = snapshots.phash(renders["astronaut", "hero", "square"].png)
    for other in (renders["astronaut", "overlay", "square"], renders["coffee", "hero", "square"]):
        assert snapshots.phash_distance(a, snapshots.phash(other.png)) > snapshots.MAX_DISTANCE


@pytest.mark.slow  # OCR reads back each of the 72 headlines
def test_every_template_on_every_placement_passes_its_gates(renders, brand):
    rules = gates.GateRules.from_kit(brand)
    failed = {}
    for key, r in renders.items():
        report = gates.check(r, rules)
        if not report.passed:
            failed[key] = [(g.code, g.detail) for g in report.results if not g.passed]
    assert not failed
    assert len(renders) == 4 * 3 * 6


def test_the_rendered_creative_carries_what_the_gates_read(renders, brand):
    for (item, name, placement), r in renders.items():
        w, h = r.placement.width, r.placement.height
        assert _pixels(r.png).shape == (h, w, 3)
        margin = round(brand.safe_margin * min(w, h))
        assert r.safe == (margin, margin, w - margin, h - margin)
        slots = {t.slot: t for t in r.texts}
        assert {"headline", "cta"} <= set(slots) and not any(t.overflow for t in r.texts)
        for t in r.texts:
            x0, y0, x1, y1 = t.ink
            assert t.box[0] <= x0 < x1 <= t.box[2] and t.box[1] <= y0 < y1 <= t.box[3]
            assert t.lines and t.font_px >= 12 and t.direction == "ltr"
        logo = next(i for i in r.images if i.slot == "logo")
        assert logo.box[2] > logo.box[0] and logo.box[3] > logo.box[1]
        assert r.inputs["brand"] == {"id": "demo", "version": 3}
        assert r.inputs["template"] == {"id": name, "version": 1}
    coffee = renders["coffee", "hero", "link"]
    assert {t.slot: t.text for t in coffee.texts}["price"] == "$14.50"


def test_the_product_image_is_cropped_around_the_face(renders, demo_items):
    astronaut = next(i for i in demo_items if i["id"] == "astronaut")
    fx, fy, fw, fh = astronaut["focus"]["faces"][0]
    for placement in PLACEMENTS:
        crop = next(i for i in renders["astronaut", "hero", placement.name].images
                    if i.slot == "image").crop
        assert crop[0] <= fx * 512 and crop[2] >= (fx + fw) * 512, placement
        assert crop[1] <= fy * 512 and crop[3] >= (fy + fh) * 512, placement


def test_re_rendering_gives_the_same_bytes(renders, brand, demo_items):
    item = demo_items[3]
    for name in builtin_names():
        again = render(item, brand, builtin(name), PLACEMENTS[0], item["text"], item["image"],
                       focus=item["focus"])
        assert again.png == renders[item["id"], name, PLACEMENTS[0].name].png


def test_renders_on_threads_are_byte_identical(renders, brand, demo_items):
    from concurrent.futures import ThreadPoolExecutor

    item = demo_items[0]

    def one(placement):
        return render(item, brand, builtin("overlay"), placement, item["text"], item["image"],
                      focus=item["focus"]).png

    with ThreadPoolExecutor(4) as pool:
        pngs = list(pool.map(one, PLACEMENTS[3:] * 3))
    for placement, png in zip(PLACEMENTS[3:] * 3, pngs, strict=True):
        assert png == renders["astronaut", "overlay", placement.name].png


_CHILD = """
import hashlib, json, sys
sys.path.insert(0, {tests!r})
from creative.conftest import brand_dict, DEMO_ITEMS, PHOTOS
from vitrina.creative.brand import BrandKit
from vitrina.creative.model import PLACEMENTS
from vitrina.creative.render import render
from vitrina.creative.template import builtin
from vitrina.media.focus import detect_focus
item = DEMO_ITEMS[0]
data = (PHOTOS / item["photo"]).read_bytes()
out = {{}}
for name in ("hero", "overlay"):
    for p in (PLACEMENTS[1], PLACEMENTS[4]):
        r = render(item, BrandKit.from_dict(brand_dict()), builtin(name), p, item["text"], data,
                   focus=detect_focus(data).to_dict())
        out[name + "/" + p.name] = hashlib.sha256(r.png).hexdigest()
print(json.dumps(out))
"""


def test_renders_in_two_processes_are_byte_identical(renders):
    code = _CHILD.format(tests=str(ROOT / "tests"))
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], check=True,
                                      capture_output=True, text=True).stdout)
            for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) == 4
    here = hashlib.sha256(renders["astronaut", "hero", "square"].png).hexdigest()
    assert runs[0]["hero/square"] == here


def test_an_impossible_headline_is_flagged_not_cut(brand, demo_items):
    item = demo_items[0]
    long = "An extraordinarily long headline " * 8
    r = render(item, brand, builtin("hero"), Placement("leaderboard", 728, 90),
               {"headline": long.strip()}, item["image"], focus=item["focus"])
    head = next(t for t in r.texts if t.slot == "headline")
    assert head.overflow and len(head.lines) > 2 and " ".join(head.lines) == head.text
    assert head.box[0] <= head.ink[0] and head.ink[2] <= head.box[2]
    assert head.box[1] <= head.ink[1] and head.ink[3] <= head.box[3]
    report = gates.check(r, gates.GateRules.from_kit(brand, ocr=False))
    assert report.failures == ["text_overflow"]


def test_headline_defaults_to_the_title_and_missing_slots_are_left_out(brand, demo_items):
    item = demo_items[1]
    r = render({"title": "Espresso", "price": None}, brand, builtin("hero"), PLACEMENTS[1], {},
               item["image"], focus=item["focus"])
    assert {t.slot: t.text for t in r.texts} == {"headline": "Espresso"}


@pytest.mark.parametrize("item, variant, field", [
    ({"title": "x"}, {"tagline": "Hi"}, "variant_text.tagline"),
    ({"title": "x"}, {"headline": 5}, "variant_text.headline"),
    ({}, {}, "item.title"),
    ({"title": "x" * 301}, {}, "item.title"),
    ({"title": "x", "price": "cheap", "currency": "EUR"}, {}, "item.price"),
    ({"title": "x", "price": -1, "currency": "EUR"}, {}, "item.price"),
    ({"title": "x", "price": 3, "currency": "euro"}, {}, "item.currency"),
    ("x", {}, "item"),
])
def test_bad_item_or_text_is_named(brand, demo_items, item, variant, field):
    with pytest.raises(InvalidInput) as err:
        render(item, brand, builtin("hero"), PLACEMENTS[3], variant, demo_items[0]["image"])
    assert err.value.details["field"] == field


def test_wrong_kinds_of_brand_template_or_placement_are_named(brand, demo_items):
    image = demo_items[0]["image"]
    args = {"brand": brand, "template": builtin("hero"), "placement": PLACEMENTS[3]}
    for field, wrong in (("brand", {"id": "demo"}), ("template", "hero"),
                         ("placement", (300, 250))):
        with pytest.raises(InvalidInput) as err:
            render({"title": "x"}, variant_text={}, image=image, **{**args, field: wrong})
        assert err.value.details["field"] == field


def test_bad_image_is_a_clear_error(brand):
    with pytest.raises(InvalidCreativeImage) as err:
        render({"title": "x"}, brand, builtin("hero"), PLACEMENTS[3], {}, b"GIF89a broken")
    assert err.value.code == "invalid_creative_image"


def test_prices():
    assert format_price(14.5, "USD") == "$14.50"
    assert format_price("1299", "eur") == "€1,299.00"
    assert format_price(5, "CHF") == "5.00 CHF"
