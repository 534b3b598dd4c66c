"""The gates on crafted creatives drawn here with Pillow on real photos: each failing
case fails with its own reason code, and its passing twin passes."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tests.conftest import PHOTOS
from vitrina.creative import gates
from vitrina.creative.contrast import contrast_ratio, relative_luminance, text_contrast
from vitrina.creative.gates import GateRules, check
from vitrina.creative.model import PlacedImage, PlacedText, Placement, Rendered
from vitrina.errors import InvalidInput

W, H = 600, 400
SAFE = (24, 24, 576, 376)
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
HEADLINE = "Summer sale now on"


def font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(DEJAVU), px) if DEJAVU.is_file() else ImageFont.load_default(px)


FONT_NAME = "DejaVuSans-Bold" if DEJAVU.is_file() else "Aileron-Regular"


def canvas(background) -> Image.Image:
    if isinstance(background, str):
        return Image.open(PHOTOS / background).convert("RGB").resize((W, H))
    return Image.new("RGB", (W, H), background)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def creative(background="coffee.png", *, text=HEADLINE, drawn=None, color=(255, 255, 255),
             px=36, at=(40, 150), scrim=None, blur=0.0, box=None, overflow=False,
             images=(), logo=None) -> Rendered:
    """One headline drawn at ``at`` (``drawn``: what the pixels say, when not ``text``),
    optionally on a scrim, blurred, with a logo rectangle and other image slots."""
    image = canvas(background)
    draw = ImageDraw.Draw(image)
    f = font(px)
    ink = tuple(int(v) for v in draw.textbbox(at, drawn or text, font=f))
    if scrim is not None:
        draw.rectangle((ink[0] - 12, ink[1] - 12, ink[2] + 12, ink[3] + 12), fill=scrim)
    draw.text(at, drawn or text, font=f, fill=color)
    placed_images = list(images)
    if logo is not None:
        draw.rectangle(logo, fill=(200, 30, 30))
        placed_images.append(PlacedImage("logo", logo))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    slot = box or (ink[0] - 4, ink[1] - 4, ink[2] + 4, ink[3] + 4)
    headline = PlacedText("headline", text, slot, ink, (text,), px, FONT_NAME, color,
                          overflow=overflow)
    return Rendered(Placement("test", W, H), png(image), SAFE, (headline,), tuple(placed_images))


NO_OCR = GateRules(ocr=False)


# -- WCAG arithmetic ---------------------------------------------------------------------

def test_wcag_luminance_and_ratios_match_published_values():
    assert relative_luminance((255, 255, 255)) == pytest.approx(1.0)
    assert relative_luminance((0, 0, 0)) == 0.0
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    # #777 on white: 4.48, just under AA (the usual example of a grey that fails)
    assert contrast_ratio((0x77,) * 3, (255,) * 3) == pytest.approx(4.48, abs=0.005)
    # #767676 is the lightest grey that passes AA on white: 4.54
    assert contrast_ratio((0x76,) * 3, (255,) * 3) == pytest.approx(4.54, abs=0.005)
    # the 0.04045 threshold: a channel of 10/255 (0.0392) is on the linear segment
    assert relative_luminance((10, 10, 10)) == pytest.approx(10 / 255 / 12.92)
    # pure primaries weigh by the Rec. 709 coefficients
    assert relative_luminance((255, 0, 0)) == pytest.approx(0.2126)
    assert contrast_ratio((0, 0, 255), (255, 255, 255)) == pytest.approx(1.05 / (0.0722 + 0.05))


def test_the_worst_decile_decides_not_the_average():
    # white text over a background that is 85 % navy and 15 % light grey: the median
    # background contrasts well, the grey patch (#bbb: 1.92:1 against white) does not
    pixels = Image.new("RGB", (200, 40), (20, 30, 80))
    ImageDraw.Draw(pixels).rectangle((170, 0, 200, 40), fill=(0xBB,) * 3)
    ImageDraw.Draw(pixels).text((4, 4), "Sale", font=font(28), fill=(255, 255, 255))
    m = text_contrast(numpy.asarray(pixels), (255, 255, 255))
    assert m.median_ratio == pytest.approx(contrast_ratio((255, 255, 255), (20, 30, 80)), rel=1e-6)
    assert m.ratio == pytest.approx(contrast_ratio((255, 255, 255), (0xBB,) * 3), rel=1e-6)
    assert m.ratio < 4.5 < m.median_ratio


# -- contrast on real photos ---------------------------------------------------------------

def test_dark_grey_text_on_a_busy_photo_fails_contrast():
    r = creative("coffee.png", color=(70, 70, 70))
    report = check(r, NO_OCR)
    assert report.failures == ["contrast_low"] and not report.passed
    measured = report.result("contrast_low").measured["headline"]
    assert measured["ratio"] < 3.0 and measured["required"] == 3.0  # 36 px bold is large text


def test_white_text_on_a_dark_scrim_over_the_same_photo_passes():
    report = check(creative("coffee.png", scrim=(0, 0, 0)), NO_OCR)
    assert report.passed and report.failures == []
    # the scrim is pure black: the measured figure is exactly white on black
    assert report.result("contrast_low").measured["headline"]["ratio"] == pytest.approx(21.0)


def test_each_text_is_measured_on_its_own_background():
    # a passing headline on its scrim, and a subline in grey straight on the photo
    r = creative("coffee.png", scrim=(0, 0, 0))
    image = Image.open(io.BytesIO(r.png))
    draw = ImageDraw.Draw(image)
    ink = tuple(int(v) for v in draw.textbbox((40, 260), "Roasted this week", font=font(16)))
    draw.text((40, 260), "Roasted this week", font=font(16), fill=(90, 90, 90))
    sub = PlacedText("subline", "Roasted this week", (36, 250, 400, 300), ink,
                     ("Roasted this week",), 16, FONT_NAME, (90, 90, 90))
    report = check(dataclasses.replace(r, png=png(image), texts=(*r.texts, sub)), NO_OCR)
    result = report.result("contrast_low")
    assert report.failures == ["contrast_low"] and result.detail.startswith("subline ")
    assert result.measured["headline"]["ratio"] == pytest.approx(21.0)
    assert result.measured["subline"]["ratio"] < 4.5 == result.measured["subline"]["required"]


def test_normal_text_needs_4_5_and_large_text_3():
    grey = (0x80,) * 3  # 3.95:1 on white: enough for large text only
    large = creative((255, 255, 255), color=grey, px=30)
    small = creative((255, 255, 255), color=grey, px=16)
    assert check(large, NO_OCR).result("contrast_low").passed
    result = check(small, NO_OCR).result("contrast_low")
    assert not result.passed and result.measured["headline"]["required"] == 4.5
    assert result.measured["headline"]["ratio"] == pytest.approx(3.95, abs=0.01)
    assert gates.is_large(dataclasses.replace(small.texts[0], font_px=19, font="Inter-Bold"))
    assert not gates.is_large(dataclasses.replace(small.texts[0], font_px=19, font="Inter"))


def test_text_blurred_out_of_its_colour_fails_contrast():
    result = check(creative((255, 255, 255), color=(0, 0, 0), px=28, blur=3), NO_OCR) \
        .result("contrast_low")
    assert not result.passed and result.measured["headline"]["ink_share"] < 0.01


# -- geometry ----------------------------------------------------------------------------

def test_text_crossing_the_safe_margin_fails():
    report = check(creative(scrim=(0, 0, 0), at=(10, 150)), NO_OCR)  # ink from x = 10+, safe from 24
    assert report.failures == ["text_outside_safe_zone"]
    assert report.result("text_outside_safe_zone").measured == {"slots": ["headline"]}
    assert check(creative(scrim=(0, 0, 0), at=(30, 150)), NO_OCR).passed


def test_a_tiny_font_fails():
    report = check(creative((255, 255, 255), color=(0, 0, 0), px=10), NO_OCR)
    assert report.failures == ["text_too_small"]
    assert report.result("text_too_small").measured == {"font_px": {"headline": 10}}
    assert check(creative((255, 255, 255), color=(0, 0, 0), px=12), NO_OCR).passed


def test_overflow_flag_and_ink_outside_its_slot_fail():
    cut = check(creative(scrim=(0, 0, 0), overflow=True), NO_OCR)
    assert cut.failures == ["text_overflow"]
    assert cut.result("text_overflow").measured == {"cut": ["headline"], "spilled": []}
    # a slot box narrower than the ink: the text was clipped by its slot
    clipped = check(creative(scrim=(0, 0, 0), box=(30, 140, 200, 200)), NO_OCR)
    assert clipped.failures == ["text_overflow"]
    assert clipped.result("text_overflow").measured == {"cut": [], "spilled": ["headline"]}


def test_a_box_inside_the_logo_clear_space_fails():
    # logo 80 x 40 at the top right: clear space 0.25 x 40 = 10 px on each side
    logo = (480, 40, 560, 80)
    near = creative(scrim=(0, 0, 0), logo=logo, images=[PlacedImage("image", (300, 85, 500, 300))])
    report = check(near, NO_OCR)
    assert report.failures == ["logo_crowded"]
    assert report.result("logo_crowded").measured == {
        "clear_space": {"logo0": [470, 30, 570, 90]}, "intruders": ["image"]}
    clear = creative(scrim=(0, 0, 0), logo=logo, images=[PlacedImage("image", (300, 91, 500, 300))])
    assert check(clear, NO_OCR).passed
    # a full-bleed photo behind the logo is its backdrop, not an intrusion
    backdrop = creative(scrim=(0, 0, 0), logo=logo, images=[PlacedImage("image", (0, 0, W, H))])
    assert check(backdrop, NO_OCR).passed
    # the headline's own ink 4-6 px right of the logo (clear space: 10 px) crowds it too
    text_near = creative(scrim=(0, 0, 0), logo=(40, 40, 120, 80), at=(124, 50))
    assert check(text_near, NO_OCR).result("logo_crowded").measured["intruders"] == ["headline"]


# -- OCR read-back -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def ocr():
    pytest.importorskip("rapidocr_onnxruntime", reason="OCR is in the ml extra")
    return GateRules()


def test_a_clean_headline_is_read_back(ocr):
    report = check(creative(scrim=(0, 0, 0)), ocr)
    result = report.result("ocr_mismatch")
    assert report.passed and result.status == "passed"
    assert result.measured["similarity"] >= 0.95


def test_a_blurred_headline_cannot_be_read_back(ocr):
    report = check(creative((255, 255, 255), color=(0, 0, 0), px=14, blur=2), ocr)
    result = report.result("ocr_mismatch")
    assert "ocr_mismatch" in report.failures and result.status == "failed"
    assert result.measured["similarity"] < 0.8


def test_glyphs_drawn_in_the_wrong_order_fail_only_the_read_back(ocr):
    # the bidi mistake: the declared text drawn right to left
    report = check(creative(scrim=(0, 0, 0), drawn=HEADLINE[::-1]), ocr)
    assert report.failures == ["ocr_mismatch"]
    assert report.result("ocr_mismatch").measured["similarity"] < 0.8


def test_glyphs_missing_from_the_font_fail_the_read_back(ocr):
    # a Chinese headline drawn with a Latin font: boxes instead of characters
    report = check(creative(scrim=(0, 0, 0), text="夏季促销现在开始"), ocr)
    assert report.failures == ["ocr_mismatch"]
    assert report.result("ocr_mismatch").measured["read"] == ""


def test_accented_latin_is_read_back_without_its_accents(ocr):
    result = check(creative(scrim=(0, 0, 0), text="Café crème"), ocr).result("ocr_mismatch")
    assert result.passed and result.measured["similarity"] == 1.0


def test_a_headline_outside_the_picture_fails_everything_it_can(ocr):
    r = creative(scrim=(0, 0, 0))
    gone = dataclasses.replace(r.texts[0], ink=(700, 500, 900, 540), box=(690, 490, 910, 550))
    report = check(dataclasses.replace(r, texts=(gone,)), ocr)
    assert report.failures == ["contrast_low", "text_outside_safe_zone", "ocr_mismatch"]


def test_ocr_is_not_checked_for_rtl_and_when_switched_off():
    rtl = creative(scrim=(0, 0, 0))
    rtl = dataclasses.replace(rtl, texts=(dataclasses.replace(rtl.texts[0], direction="rtl"),))
    result = check(rtl, GateRules()).result("ocr_mismatch")
    assert result.status == "not_checked" and result.passed
    off = check(creative(scrim=(0, 0, 0)), NO_OCR)
    assert off.result("ocr_mismatch").to_dict()["status"] == "not_checked" and off.passed
    greek = creative(scrim=(0, 0, 0), text="Καλοκαίρι")
    assert check(greek, GateRules()).result("ocr_mismatch").status == "not_checked"


def test_normalised_similarity_ignores_case_punctuation_and_spaces():
    assert gates.similarity("SUMMER sale, now on!", "Summer sale now on") == 1.0
    assert gates.similarity("Summersalenowon", "Summer sale now on") == 1.0
    assert gates.similarity("Cafe creme", "Café crème") == 1.0
    assert gates.similarity("", "Summer") == 0.0


# -- the report and bad input ------------------------------------------------------------

def test_report_to_dict_lists_every_gate_with_its_status():
    report = check(creative("coffee.png", color=(70, 70, 70), px=10), NO_OCR)
    d = report.to_dict()
    assert d["passed"] is False and d["failures"] == ["contrast_low", "text_too_small"]
    assert [g["code"] for g in d["gates"]] == list(gates.CODES)
    assert {g["code"]: g["status"] for g in d["gates"]}["ocr_mismatch"] == "not_checked"


def test_a_creative_that_cannot_be_checked_is_refused_with_a_code():
    good = creative(scrim=(0, 0, 0))
    with pytest.raises(InvalidInput) as e:
        check(dataclasses.replace(good, png=b"not a png"), NO_OCR)
    assert e.value.code == "creative_not_png"
    jpeg = io.BytesIO()
    Image.new("RGB", (W, H)).save(jpeg, "JPEG")
    with pytest.raises(InvalidInput) as e:
        check(dataclasses.replace(good, png=jpeg.getvalue()), NO_OCR)
    assert e.value.code == "creative_not_png"
    with pytest.raises(InvalidInput) as e:
        check(dataclasses.replace(good, placement=Placement("test", W, H + 1)), NO_OCR)
    assert e.value.code == "creative_size_mismatch"
    truncated = dataclasses.replace(good, png=good.png[:len(good.png) // 2])
    with pytest.raises(InvalidInput) as e:
        check(truncated, NO_OCR)
    assert e.value.code == "creative_not_png"
    bad_box = dataclasses.replace(good.texts[0], ink=(50, 50, 40, 60))
    with pytest.raises(InvalidInput) as e:
        check(dataclasses.replace(good, texts=(bad_box,)), NO_OCR)
    assert e.value.code == "creative_bad_box"
    with pytest.raises(InvalidInput) as e:
        GateRules(min_contrast=30)
    assert e.value.code == "gate_rules_invalid"


def test_rules_come_from_the_brand_kit():
    from tests.creative.conftest import brand_dict
    from vitrina.creative.brand import BrandKit

    aa = GateRules.from_kit(BrandKit.from_dict(brand_dict(logo_clear_space=0.5)))
    assert (aa.min_contrast, aa.min_contrast_large, aa.logo_clear_space) == (4.5, 3.0, 0.5)
    aaa = GateRules.from_kit(BrandKit.from_dict(brand_dict(min_contrast=7)), min_text_px=14)
    assert (aaa.min_contrast, aaa.min_contrast_large, aaa.min_text_px) == (7.0, 4.5, 14)
    # the image 5 px under the 40 px logo: inside 0.5 (20 px) of clear space, not 0.1 (4 px)
    logo = (480, 40, 560, 80)
    near = creative(scrim=(0, 0, 0), logo=logo, images=[PlacedImage("image", (300, 85, 500, 300))])
    assert check(near, dataclasses.replace(aa, ocr=False)).failures == ["logo_crowded"]
    assert check(near, dataclasses.replace(aa, ocr=False, logo_clear_space=0.1)).passed
