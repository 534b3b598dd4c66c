"""The ingest-time `focus` step: registered after probe for images, stores faces and the
salient point as the signal `focus` with its producer and version."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PHOTOS, make_settings
from vitrina.delivery import Focus
from vitrina.pipeline import steps as step_registry
from vitrina.pipeline.focus_step import FocusStep
from vitrina.pipeline.steps import AssetView, StepContext
from vitrina.runtime import load_plugins
from vitrina.storage.blobs import open_store


def _run(tmp_path: Path, name: str) -> tuple[str, str, str, dict]:
    store = open_store(str(tmp_path / "blobs"))
    store.put_file(f"originals/{name}", PHOTOS / name)
    asset = AssetView(id="0" * 32, kind="image", mime="image/png", sha256="0" * 64,
                      blob_key=f"originals/{name}", width=None, height=None, meta={})  # fmt: skip
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'c.db'}")
    result = FocusStep().run(StepContext(asset, store, settings, attempt=1))
    assert not result.asset_updates and not result.derivatives
    (signal,) = result.signals
    return signal.name, signal.producer, signal.version, signal.value


def test_registered_for_images_after_derivatives() -> None:
    load_plugins([])
    names = [s.name for s in step_registry.steps_for("image")]
    assert "focus" in names and names.index("derivatives") < names.index("focus")
    assert step_registry.get("focus").requires == ("derivatives",)
    assert "focus" not in [s.name for s in step_registry.steps_for("video")]


def test_astronaut_face_and_salient_point(tmp_path: Path) -> None:
    name, producer, version, value = _run(tmp_path, "astronaut.png")
    assert (name, producer, version) == ("focus", "vitrina.focus", FocusStep().version)
    focus = Focus.from_dict(value)  # what serving reads back
    assert len(focus.faces) == 1
    cx, cy = focus.faces[0].centre
    assert 0.3 < cx < 0.55 and 0.1 < cy < 0.35  # her face, in the 512x512 photo
    assert focus.salient is not None


@pytest.mark.parametrize("photo", ["rocket.jpg", "text.png"])
def test_no_faces_still_gives_a_salient_point(tmp_path: Path, photo: str) -> None:
    _, _, _, value = _run(tmp_path, photo)
    focus = Focus.from_dict(value)
    assert focus.faces == () and focus.salient is not None
    assert all(0.0 <= v <= 1.0 for v in focus.salient)
