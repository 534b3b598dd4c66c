"""Brand kits: parsed from a dict, every mistake named by its field."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from vitrina.creative.brand import BrandKit, InvalidBrandKit
from vitrina.creative.contrast import contrast_ratio
from vitrina.creative.fonts import UnknownFont, face

from .conftest import LOGO, brand_dict


def test_a_kit_parses_with_its_palette_fonts_and_rules(brand):
    assert (brand.id, brand.version) == ("demo", 3)
    assert brand.palette["primary"] == (0x11, 0x3F, 0x67)
    assert brand.logo_png == LOGO.read_bytes()
    chain = brand.font_chain("headline")
    assert [f.family for f in chain] == ["Inter", "Noto Sans", "Noto Sans Arabic", "Heebo"]
    assert all(f.path.is_file() and f.path.suffix == ".ttf" for f in chain)
    assert chain[0].weight == 700 and brand.font_chain("subline")[0].family == "Roboto"
    assert brand.forbidden_words == ("guaranteed",)


def test_the_logo_may_come_as_base64():
    kit = BrandKit.from_dict(brand_dict(logo=base64.b64encode(LOGO.read_bytes()).decode()))
    assert kit.logo_png == LOGO.read_bytes()


def test_wcag_contrast_of_known_pairs():
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio((10, 20, 30), (10, 20, 30)) == 1.0


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    return out.getvalue()


@pytest.mark.parametrize("changes, field", [
    ({"palette": {"primary": "#000000"}}, "palette.secondary"),
    ({"palette": {"primary": "red", "secondary": "#000000", "background": "#ffffff",
                  "text": "#000000", "accent": "#000000"}}, "palette.primary"),
    ({"palette": {"primary": "#000000", "secondary": "#000000", "background": "#ffffff",
                  "text": "#eeeeee", "accent": "#000000"}}, "palette.text"),
    ({"fonts": {"headline": "No Such Family", "body": "Roboto", "fallbacks": []}}, "fonts"),
    ({"fonts": {"headline": "Inter", "body": "Roboto", "fallbacks": "Heebo"}}, "fonts.fallbacks"),
    ({"logo": _jpeg()}, "logo"),
    ({"logo": b"\x89PNG\r\n\x1a\nnot really"}, "logo"),
    ({"logo": "%%% not base64"}, "logo"),
    ({"version": True}, "version"),
    ({"version": 0}, "version"),
    ({"id": ""}, "id"),
    ({"safe_margin": 0.6}, "safe_margin"),
    ({"min_contrast": "high"}, "min_contrast"),
    ({"forbidden_words": ["ok", 3]}, "forbidden_words"),
    ({"colour": "#000000"}, "colour"),
])
def test_mistakes_are_named_by_field(changes, field):
    with pytest.raises(InvalidBrandKit) as err:
        BrandKit.from_dict(brand_dict(**changes))
    assert err.value.code == "invalid_brand_kit"
    assert err.value.details["field"] == field
    assert field in err.value.message


def test_not_an_object():
    with pytest.raises(InvalidBrandKit):
        BrandKit.from_dict(["demo"])


def test_unknown_font_family_has_its_own_code():
    with pytest.raises(UnknownFont) as err:
        face("Definitely Not Installed")
    assert err.value.code == "unknown_font" and err.value.details["family"]
