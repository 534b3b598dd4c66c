"""Hard gates on a rendered creative (decision 035): any failure rejects the variant,
with a stable reason code the API shows.

=========================  ===========================================================
``contrast_low``           text colour against the worst decile of its actual
                           background pixels, below WCAG 2.1 AA (4.5, or 3.0 for large
                           text: >= 24 px, or >= 18.66 px bold)
``text_outside_safe_zone`` an ink box not inside ``Rendered.safe``
``text_too_small``         a font size under ``min_text_px``
``text_overflow``          text cut by the layout, or ink spilling out of its slot box
``logo_crowded``           another text's ink or an image inside the logo's clear space
``ocr_mismatch``           the headline, read back by OCR, not similar enough to its
                           text (``not_checked`` when OCR is not installed, or for
                           scripts the OCR model does not read)
=========================  ===========================================================
"""

from __future__ import annotations

import difflib
import functools
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy
from PIL import Image, UnidentifiedImageError

from vitrina.creative.contrast import text_contrast
from vitrina.creative.model import Box, PlacedText, Rendered
from vitrina.errors import InvalidInput

CONTRAST_LOW = "contrast_low"
TEXT_OUTSIDE_SAFE_ZONE = "text_outside_safe_zone"
TEXT_TOO_SMALL = "text_too_small"
TEXT_OVERFLOW = "text_overflow"
LOGO_CROWDED = "logo_crowded"
OCR_MISMATCH = "ocr_mismatch"
CODES = (CONTRAST_LOW, TEXT_OUTSIDE_SAFE_ZONE, TEXT_TOO_SMALL, TEXT_OVERFLOW, LOGO_CROWDED,
         OCR_MISMATCH)

#: WCAG 2.1's large text: 18 pt, or 14 pt bold, at 96 px per inch
LARGE_PX, LARGE_BOLD_PX = 24.0, 18.66


class InvalidCreative(InvalidInput):
    code = "creative_invalid"


@dataclass(frozen=True)
class GateRules:
    """What a brand kit asks of every creative; the defaults are WCAG 2.1 AA."""

    min_contrast: float = 4.5
    min_contrast_large: float = 3.0
    min_text_px: int = 12
    #: the logo's clear space on each side, as a fraction of its height (the brand kit's
    #: ``logo_clear_space``)
    logo_clear_space: float = 0.25
    #: the least similarity (0..1) of the headline as OCR reads it back to its text
    ocr_min_similarity: float = 0.8
    #: whether to run OCR at all (it costs about a tenth of a second per headline)
    ocr: bool = True

    @classmethod
    def from_kit(cls, kit: Any, **overrides: Any) -> GateRules:
        """The rules a brand kit sets (its ``min_contrast`` and ``logo_clear_space``);
        large text gets WCAG's lower bar of the same level: 3 for AA (4.5), 4.5 for AAA (7)."""
        normal = float(kit.min_contrast)
        values = {"min_contrast": normal, "min_contrast_large": min(normal, 3.0 if normal <= 4.5 else 4.5),
                  "logo_clear_space": float(kit.logo_clear_space)}
        return cls(**{**values, **overrides})

    def __post_init__(self) -> None:
        for name in ("min_contrast", "min_contrast_large"):
            if not 1.0 <= getattr(self, name) <= 21.0:
                raise InvalidInput(f"{name} is a contrast ratio within 1..21",
                                   code="gate_rules_invalid", details={"rule": name})
        if self.min_text_px < 1:
            raise InvalidInput("min_text_px is at least 1", code="gate_rules_invalid",
                               details={"rule": "min_text_px"})
        if not 0.0 <= self.logo_clear_space <= 2.0:
            raise InvalidInput("logo_clear_space is a fraction within 0..2",
                               code="gate_rules_invalid", details={"rule": "logo_clear_space"})
        if not 0.0 <= self.ocr_min_similarity <= 1.0:
            raise InvalidInput("ocr_min_similarity is within 0..1", code="gate_rules_invalid",
                               details={"rule": "ocr_min_similarity"})


@dataclass(frozen=True)
class GateResult:
    code: str
    passed: bool
    detail: str
    measured: dict[str, Any] = field(default_factory=dict)
    #: False when the gate could not run here (recorded, never a failure)
    checked: bool = True

    @property
    def status(self) -> str:
        return "not_checked" if not self.checked else "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "status": self.status, "detail": self.detail,
                "measured": self.measured}


@dataclass(frozen=True)
class GateReport:
    results: tuple[GateResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[str]:
        return [r.code for r in self.results if not r.passed]

    def result(self, code: str) -> GateResult:
        return next(r for r in self.results if r.code == code)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "failures": self.failures,
                "gates": [r.to_dict() for r in self.results]}


# -- boxes -----------------------------------------------------------------------------

def _inside(inner: Box, outer: Box) -> bool:
    return inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2] \
        and inner[3] <= outer[3]


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _check_box(box: Any, what: str) -> Box:
    if not (isinstance(box, tuple) and len(box) == 4 and all(isinstance(v, int) for v in box)) \
            or box[2] <= box[0] or box[3] <= box[1]:
        raise InvalidCreative(f"{what} is not a box (left, top, right, bottom with right > left "
                              f"and bottom > top): {box!r}", code="creative_bad_box",
                              details={"box": repr(box), "what": what})
    return box


def _decode(rendered: Rendered) -> numpy.ndarray:
    want = (rendered.placement.width, rendered.placement.height)
    try:
        with Image.open(io.BytesIO(rendered.png)) as image:
            if image.format != "PNG":
                raise InvalidCreative(f"a creative is a PNG, got {image.format}",
                                      code="creative_not_png")
            # the size is in the header: checked before any pixel is decoded
            if image.size != want:
                raise InvalidCreative(f"the PNG is {image.width} x {image.height}, its "
                                      f"placement {want[0]} x {want[1]}",
                                      code="creative_size_mismatch")
            return numpy.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, TypeError, Image.DecompressionBombError) as exc:
        raise InvalidCreative(f"the creative's PNG cannot be decoded: {exc}",
                              code="creative_not_png") from None


def _crop(rgb: numpy.ndarray, box: Box) -> numpy.ndarray:
    h, w = rgb.shape[:2]
    return rgb[max(0, box[1]):min(h, box[3]), max(0, box[0]):min(w, box[2])]


def is_large(text: PlacedText) -> bool:
    bold = "bold" in text.font.lower() or "black" in text.font.lower()
    return text.font_px >= LARGE_PX or (bold and text.font_px >= LARGE_BOLD_PX)


# -- the gates -------------------------------------------------------------------------

def contrast_gate(rendered: Rendered, rules: GateRules, rgb: numpy.ndarray) -> GateResult:
    measured, bad = {}, []
    for t in rendered.texts:
        need = rules.min_contrast_large if is_large(t) else rules.min_contrast
        m = text_contrast(_crop(rgb, t.ink), t.color)
        measured[t.slot] = {**m.to_dict(), "required": need}
        if m.ratio < need:
            bad.append(f"{t.slot} {m.ratio:.2f} < {need}")
    return GateResult(CONTRAST_LOW, not bad, "; ".join(bad) or "every text meets its contrast",
                      measured)


def safe_zone_gate(rendered: Rendered, rules: GateRules) -> GateResult:
    out = [t.slot for t in rendered.texts if not _inside(t.ink, rendered.safe)]
    return GateResult(TEXT_OUTSIDE_SAFE_ZONE, not out,
                      f"ink outside the safe zone {list(rendered.safe)}: {', '.join(out)}" if out
                      else "every text is inside the safe zone", {"slots": out})


def size_gate(rendered: Rendered, rules: GateRules) -> GateResult:
    small = {t.slot: t.font_px for t in rendered.texts if t.font_px < rules.min_text_px}
    return GateResult(TEXT_TOO_SMALL, not small,
                      f"under {rules.min_text_px} px: {small}" if small
                      else f"every text is at least {rules.min_text_px} px", {"font_px": small})


def overflow_gate(rendered: Rendered, rules: GateRules) -> GateResult:
    cut = [t.slot for t in rendered.texts if t.overflow]
    spilled = [t.slot for t in rendered.texts if not _inside(t.ink, t.box)]
    detail = "; ".join(x for x in (cut and f"cut to fit: {', '.join(cut)}",
                                   spilled and f"ink outside its slot: {', '.join(spilled)}") if x)
    return GateResult(TEXT_OVERFLOW, not (cut or spilled), detail or "every text fits its slot",
                      {"cut": cut, "spilled": spilled})


def logo_gate(rendered: Rendered, rules: GateRules) -> GateResult:
    crowding, clear_boxes = [], {}
    logos = [i for i in rendered.images if i.slot == "logo"]
    for n, logo in enumerate(logos):
        x0, y0, x1, y1 = logo.box
        pad = round(rules.logo_clear_space * (y1 - y0))
        clear = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
        clear_boxes[f"logo{n}"] = list(clear)
        others = [(t.slot, t.ink) for t in rendered.texts]
        # an image that holds the whole clear space is the backdrop the logo sits on
        others += [(i.slot, i.box) for i in rendered.images
                   if i is not logo and not _inside(clear, i.box)]
        crowding += [slot for slot, box in others if _overlaps(box, clear)]
    return GateResult(LOGO_CROWDED, not crowding,
                      f"inside the logo's clear space: {', '.join(crowding)}" if crowding
                      else "the logo's clear space is free" if logos else "no logo",
                      {"clear_space": clear_boxes, "intruders": crowding})


# -- OCR read-back ---------------------------------------------------------------------

#: the text height the crop is scaled to before OCR (PP-OCR's recogniser works at 48 px)
OCR_TEXT_PX = 48
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def normalise(text: str) -> str:
    """Case, accents, punctuation and whitespace out of the way: what OCR can be asked
    to match (its alphabet has no accented letters: ``Café`` reads ``Cafe``)."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_PUNCT.sub(" ", unicodedata.normalize("NFKC", text)).split())


def similarity(a: str, b: str) -> float:
    """0..1, spaces ignored: OCR often drops the gaps between small words."""
    a, b = normalise(a).replace(" ", ""), normalise(b).replace(" ", "")
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _ocr_reads(script_text: str) -> bool:
    """PP-OCR's default model reads Latin letters and Chinese, nothing else."""
    for ch in script_text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            if not name.startswith(("LATIN", "CJK")):
                return False
    return True


@functools.cache
def _reader() -> Callable[[numpy.ndarray], list[str]] | None:
    """The OCR read-back, or None without the ml extra: looked up once per process."""
    try:
        import rapidocr_onnxruntime  # noqa: F401  (the ml extra)
    except ImportError:
        return None
    from vitrina.analysis.models.ocr import load

    def read(rgb: numpy.ndarray) -> list[str]:
        reader = load()
        bgr = numpy.ascontiguousarray(rgb[..., ::-1])
        with reader.lock:
            # no angle classifier: a creative's text is drawn upright
            found, _ = reader.engine(bgr, use_cls=False)
        # reading order: top to bottom, then left to right
        found = sorted(found or (), key=lambda f: (round(f[0][0][1] / 8), f[0][0][0]))
        return [str(text) for _, text, _ in found]
    return read


def ocr_gate(rendered: Rendered, rules: GateRules, rgb: numpy.ndarray,
             reader: Callable[[numpy.ndarray], list[str]] | None = None) -> GateResult:
    headline = next((t for t in rendered.texts if t.slot == "headline"), None)
    if headline is None or not headline.text.strip():
        return GateResult(OCR_MISMATCH, True, "no headline", checked=False)
    if not rules.ocr:
        return GateResult(OCR_MISMATCH, True, "OCR switched off by the rules", checked=False)
    if headline.direction == "rtl" or not _ocr_reads(headline.text):
        return GateResult(OCR_MISMATCH, True, "a script the OCR model does not read",
                          {"direction": headline.direction}, checked=False)
    reader = reader or _reader()
    if reader is None:
        return GateResult(OCR_MISMATCH, True, "OCR is not installed (the ml extra)",
                          checked=False)
    # a margin around the ink (the detector needs some background), scaled so a line of
    # text is about as tall as the recogniser's input: small text gains pixels, and big
    # text costs the detector less
    m = max(4, headline.font_px // 2)
    x0, y0, x1, y1 = headline.ink
    crop = _crop(rgb, (x0 - m, y0 - m, x1 + m, y1 + m))
    if crop.shape[0] < 2 or crop.shape[1] < 2:
        return GateResult(OCR_MISMATCH, False, "the headline's ink is outside the picture",
                          {"read": "", "similarity": 0.0})
    line_px = (y1 - y0) / max(1, len(headline.lines))
    scale = min(4.0, max(0.5, OCR_TEXT_PX / max(1.0, line_px)))
    image = Image.fromarray(crop)
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)),
                             Image.Resampling.LANCZOS)
    read = " ".join(reader(numpy.asarray(image)))
    ratio = similarity(read, headline.text)
    ok = ratio >= rules.ocr_min_similarity
    return GateResult(OCR_MISMATCH, ok,
                      f"read back {read!r}, similarity {ratio:.2f}"
                      f"{'' if ok else f' < {rules.ocr_min_similarity}'}",
                      {"read": read, "similarity": round(ratio, 3), "scale": round(scale, 2)})


def check(rendered: Rendered, brand_rules: GateRules | None = None, *,
          reader: Callable[[numpy.ndarray], list[str]] | None = None) -> GateReport:
    """Every gate on ``rendered``. Raises ``InvalidCreative`` (a stable code) for a
    creative that cannot be checked at all: not a PNG, the wrong size, a malformed box."""
    rules = brand_rules or GateRules()
    if not isinstance(rendered, Rendered):
        raise InvalidCreative(f"expected a Rendered creative, got {type(rendered).__name__}")
    _check_box(rendered.safe, "the safe zone")
    for t in rendered.texts:
        _check_box(t.ink, f"{t.slot}'s ink box")
        _check_box(t.box, f"{t.slot}'s slot box")
    for i in rendered.images:
        _check_box(i.box, f"{i.slot}'s box")
    rgb = _decode(rendered)
    return GateReport((
        contrast_gate(rendered, rules, rgb), safe_zone_gate(rendered, rules),
        size_gate(rendered, rules), overflow_gate(rendered, rules),
        logo_gate(rendered, rules), ocr_gate(rendered, rules, rgb, reader),
    ))
