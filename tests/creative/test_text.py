"""Text fitting: wrap, shrink within the limits, flag what cannot fit; font fallback."""

from __future__ import annotations

import numpy
from PIL import Image

from vitrina.creative import fonts, text

CHAIN = tuple(fonts.face(f, 700) for f in ("Inter", "Noto Sans", "Noto Sans Arabic", "Heebo"))


def test_direction_from_the_first_strong_character():
    assert text.direction_of("Hello") == "ltr"
    assert text.direction_of("123 שלום") == "rtl"
    assert text.direction_of("«مرحبا» world") == "rtl"
    assert text.direction_of("2024 Sale עכשיו") == "ltr"
    assert text.direction_of("123") == "ltr"


def test_fallback_picks_a_face_with_every_glyph():
    assert fonts.pick(CHAIN, "Fresh coffee").family == "Inter"
    assert fonts.pick(CHAIN, "قهوة طازجة").family == "Noto Sans Arabic"
    assert fonts.pick(CHAIN, "קפה טרי").family == "Heebo"
    assert fonts.missing(CHAIN[0], "קפה") == 3 and fonts.missing(CHAIN[3], "קפה") == 0


def test_graphemes_keep_combining_marks():
    assert text.graphemes("e\u0301te\u0301") == ["e\u0301", "t", "e\u0301"]
    assert text.graphemes("👩\u200d🔬x") == ["👩\u200d🔬", "x"]


def test_short_text_gets_the_largest_size_long_text_shrinks():
    short = text.fit("Sale", CHAIN, 400, 120, (12, 60), 2)
    long = text.fit("The autumn collection is here with forty new colours", CHAIN, 400, 120,
                    (12, 60), 2)
    assert short.px == 60 and not short.overflow and short.lines == ("Sale",)
    assert 12 <= long.px < 40 and not long.overflow and len(long.lines) <= 2
    font = fonts.truetype(long.face, long.px)
    assert all(font.getlength(line) <= 400 for line in long.lines)
    # the largest size: one pixel more no longer fits
    bigger = text.fit(long.text, CHAIN, 400, 120, (long.px + 1, long.px + 1), 2)
    assert bigger.overflow


def test_what_cannot_fit_at_the_smallest_size_is_flagged_and_drawn_inside_its_box():
    words = "word " * 60
    f = text.fit(words, CHAIN, 200, 40, (12, 20), 2)
    assert f.overflow and f.px == 12 and len(f.lines) > 2
    canvas = Image.new("RGB", (400, 200), "white")
    ink = text.draw(canvas, f, (100, 50, 300, 90), "start", "top", (0, 0, 0))
    assert 100 <= ink[0] and 50 <= ink[1] and ink[2] <= 300 and ink[3] <= 90
    dark = numpy.argwhere(numpy.asarray(canvas.convert("L")) < 128)
    assert dark[:, 0].min() >= 50 and dark[:, 0].max() < 90
    assert dark[:, 1].min() >= 100 and dark[:, 1].max() < 300


def test_a_word_wider_than_the_box_breaks_between_graphemes():
    f = text.fit("Donaudampfschifffahrtsgesellschaft", CHAIN, 150, 200, (20, 20), 5)
    assert len(f.lines) > 1 and "".join(f.lines) == "Donaudampfschifffahrtsgesellschaft"
    font = fonts.truetype(f.face, 20)
    assert all(font.getlength(line) <= 150 for line in f.lines)


def test_ink_box_is_the_drawn_pixels_and_alignment_moves_it():
    f = text.fit("Shop", CHAIN, 300, 60, (30, 30), 1)
    boxes = {}
    for align in ("start", "center", "end"):
        canvas = Image.new("RGB", (300, 60), "white")
        boxes[align] = text.draw(canvas, f, (0, 0, 300, 60), align, "middle", (0, 0, 0))
        dark = numpy.argwhere(numpy.asarray(canvas.convert("L")) < 250)
        y0, x0 = dark.min(axis=0)
        y1, x1 = dark.max(axis=0)
        assert boxes[align] == (x0, y0, x1 + 1, y1 + 1)
    assert boxes["start"][0] < 5 and boxes["end"][2] > 295
    assert abs((boxes["center"][0] + boxes["center"][2]) / 2 - 150) <= 2
