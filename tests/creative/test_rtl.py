"""Right-to-left headlines: Arabic joined by HarfBuzz, Hebrew and Arabic laid out right
to left by FriBiDi (through Pillow's raqm), right-aligned, each checked against a
reference render."""

from __future__ import annotations

import io

import numpy
import pytest
from PIL import Image, ImageDraw, ImageFont

from vitrina.creative import fonts, text
from vitrina.creative.model import PLACEMENTS
from vitrina.creative.render import render
from vitrina.creative.template import builtin

from . import snapshots

ARABIC = "قهوة عربية طازجة"
HEBREW = "קפה טרי בכל בוקר"
BOX = (0, 0, 640, 120)
CASES = {"ar": (ARABIC, "Noto Sans Arabic"), "he": (HEBREW, "Heebo")}


def _line(s: str, family: str) -> tuple[Image.Image, text.Fitted]:
    chain = (fonts.face("Inter", 700), fonts.face("Noto Sans Arabic", 700),
             fonts.face("Heebo", 700))
    fitted = text.fit(s, chain, BOX[2], BOX[3], (44, 44), 1)
    assert fitted.face.family == family and fitted.direction == "rtl" and not fitted.overflow
    canvas = Image.new("L", BOX[2:], 255)
    text.draw(canvas, fitted, BOX, "start", "top", 0)
    return canvas, fitted


def _grey(png_or_image) -> numpy.ndarray:
    if isinstance(png_or_image, bytes):
        png_or_image = Image.open(io.BytesIO(png_or_image))
    return numpy.asarray(png_or_image.convert("L"), dtype=float)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=9)
    return out.getvalue()


@pytest.mark.parametrize("lang", CASES)
def test_headline_matches_its_reference_render(lang):
    s, family = CASES[lang]
    line, _ = _line(s, family)
    reference = snapshots.reference_png(f"rtl-{lang}.png", _png(line))
    assert snapshots.phash_distance(snapshots.phash(reference), snapshots.phash(_png(line))) <= 2
    assert numpy.abs(_grey(reference) - _grey(line)).mean() < 1.0


@pytest.mark.parametrize("lang", CASES)
def test_right_aligned_and_the_first_word_is_rightmost(lang):
    s, family = CASES[lang]
    line, fitted = _line(s, family)
    ink = Image.eval(line, lambda v: 255 - v).getbbox()
    assert ink[2] >= BOX[2] - 6 and ink[0] > 100  # hugs the right edge
    first, _ = _line(s.split()[0], family)
    first_ink = Image.eval(first, lambda v: 255 - v).getbbox()
    last, _ = _line(s.split()[-1], family)
    # the first word, laid out alone, is the right-hand end of the line (up to subpixel
    # placement); the last word is not
    region = (first_ink[0], 0, BOX[2], BOX[3])
    near = numpy.abs(_grey(line.crop(region)) - _grey(first.crop(region))).mean()
    far = numpy.abs(_grey(line.crop(region)) - _grey(last.crop(region))).mean()
    assert near < 3 and far > 5 * near, (near, far)
    assert fitted.lines == (s,)


def test_arabic_letters_are_joined_not_isolated():
    line, fitted = _line(ARABIC, "Noto Sans Arabic")
    font = fonts.truetype(fitted.face, fitted.px)
    # the same font without shaping: isolated letter forms in logical order
    unshaped = Image.new("L", BOX[2:], 255)
    ImageDraw.Draw(unshaped).text((0, 0), ARABIC, font=_basic(fitted), fill=0)
    # presentation forms in visual order, as a shaper would have produced them
    shaped_independently = Image.new("L", BOX[2:], 255)
    ImageDraw.Draw(shaped_independently).text((BOX[2], 0), ARABIC, font=font, fill=0,
                                              anchor="ra", direction="rtl", language="ar")
    assert numpy.abs(_grey(line) - _grey(shaped_independently)).mean() < 0.5
    assert snapshots.phash_distance(snapshots.phash(_png(line)),
                                    snapshots.phash(_png(unshaped))) > 10
    # joined letters connect: fewer separate ink runs along the baseline than isolated ones
    assert _runs(line) < _runs(unshaped)


def _basic(fitted: text.Fitted) -> ImageFont.FreeTypeFont:
    """The fitted face and size without raqm: no bidi, no shaping."""
    font = ImageFont.truetype(str(fitted.face.path), fitted.px,
                              layout_engine=ImageFont.Layout.BASIC)
    axes = font.get_variation_axes()
    font.set_variation_by_axes([
        float(fitted.face.weight) if a["name"] in (b"Weight", "Weight") else a["default"]
        for a in axes])
    return font


def _runs(image: Image.Image) -> int:
    """Separate horizontal runs of ink columns (letter groups split by gaps)."""
    cols = (_grey(image) < 128).any(axis=0).astype(int)
    return int(numpy.count_nonzero(numpy.diff(cols) == 1) + cols[0])


def test_hebrew_is_its_letters_in_reverse_order():
    line, fitted = _line(HEBREW, "Heebo")
    basic = _basic(fitted)
    visual = HEBREW[::-1]  # no joining in Hebrew: visual order is the reversed string
    reference = Image.new("L", BOX[2:], 255)
    ImageDraw.Draw(reference).text((BOX[2], 0), visual, font=basic, fill=0, anchor="ra")
    logical = Image.new("L", BOX[2:], 255)
    ImageDraw.Draw(logical).text((BOX[2], 0), HEBREW, font=basic, fill=0, anchor="ra")
    # Pillow's basic layout rounds advances differently, hence not pixel-equal
    near = numpy.abs(_grey(line) - _grey(reference)).mean()
    far = numpy.abs(_grey(line) - _grey(logical)).mean()
    assert near < 4 and far > 4 * near, (near, far)


@pytest.mark.parametrize("lang, variant", [
    ("ar", {"headline": "قهوة عربية طازجة كل صباح", "subline": "محمصة هذا الأسبوع",
            "cta": "اطلب الآن"}),
    ("he", {"headline": "קפה טרי בכל בוקר", "subline": "נקלה השבוע בקבוצות קטנות",
            "cta": "להזמנה"}),
])
def test_creatives_mirror_for_right_to_left(brand, demo_items, lang, variant):
    from vitrina.creative import gates

    item = next(i for i in demo_items if i["id"] == "coffee")
    for placement in (PLACEMENTS[0], PLACEMENTS[1], PLACEMENTS[4]):
        r = render(item, brand, builtin("hero"), placement, variant, item["image"],
                   focus=item["focus"])
        distance = snapshots.check(f"rtl/hero/{placement.name}/{lang}", r.png)
        assert distance <= snapshots.MAX_DISTANCE
        head = next(t for t in r.texts if t.slot == "headline")
        assert head.direction == "rtl" and head.font.startswith(CASES[lang][1])
        assert head.box[2] - head.ink[2] <= max(4, head.font_px // 5)  # right-aligned
        logo = next(i for i in r.images if i.slot == "logo").box
        cell_mid = (head.box[0] + head.box[2]) / 2
        if placement.name != "leaderboard":  # a banner's logo has its own cell in the row
            assert logo[0] > cell_mid  # the logo moves to the right with the text
        assert gates.check(r, gates.GateRules.from_kit(brand)).passed
