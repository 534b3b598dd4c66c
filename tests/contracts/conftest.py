"""What the contract suites run on: every registered plug-in of each kind (the
built-ins plus the test toy kind and analyser), with real sample files per media kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HOSTILE, PHOTOS, VIDEO
from tests.pipeline.toy import MAGIC, ToyKind, WordCount
from vitrina.testing import make_registries, make_runtime, process_all


def plugins() -> dict:
    return {"kinds": [ToyKind()], "analysers": [WordCount()]}


REGISTRIES = make_registries(**plugins())


def _toy_samples(directory: Path) -> list[Path]:
    paths = []
    for i, text in enumerate(["a short note", "two lines\nof words here", "x"]):
        path = directory / f"note{i}.toy"
        path.write_bytes(MAGIC + text.encode())
        paths.append(path)
    return paths


def _toy_bad(directory: Path) -> Path:
    path = directory / "bad.toy"
    path.write_bytes(MAGIC + b"\xff\xfe not utf-8")
    return path


def _small_clip(directory: Path) -> Path:
    from tests.data.hostile.make_hostile_video import clip

    path = directory / "clip.mp4"
    return path if path.exists() else clip(path, "-movflags", "+faststart")


#: real files of each media kind: (good samples, one file the kind must refuse)
SAMPLES = {
    "image": (lambda d: [PHOTOS / "coffee.png", PHOTOS / "rocket.jpg", PHOTOS / "text.png"],
              lambda d: HOSTILE / "truncated.jpg"),
    "toy": (_toy_samples, _toy_bad),
    "video": (lambda d: [VIDEO / "bikes.mp4", _small_clip(d)], lambda d: HOSTILE / "truncated.mp4"),
}


def samples_of(kind: str, directory: Path) -> tuple[list[Path], Path]:
    if kind not in SAMPLES:
        pytest.fail(f"media kind {kind!r} has no samples in tests/contracts/conftest.py")
    good, bad = SAMPLES[kind]
    return good(directory), bad(directory)


@pytest.fixture
def processed(settings, tmp_path):
    """A runtime under contract with every kind's samples ingested and processed."""
    rt = make_runtime(settings, **plugins())
    ids: dict[str, list[str]] = {}
    for kind in rt.registries.kinds:
        good, _ = samples_of(kind.name, tmp_path)
        ids[kind.name] = [rt.ingestor.ingest_file(p).asset_id for p in good]
    process_all(rt)
    yield rt, ids
    rt.close()
