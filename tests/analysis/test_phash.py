from __future__ import annotations

from pathlib import Path

import pytest
import pyvips

from tests.analysis.conftest import get
from vitrina.analysis import phash_distance
from vitrina.media.image import preview_array


def phash(image) -> str:
    return get("phash").analyse([image])[0]["hash"]


def test_hashes_match_stored_references(previews: dict, references) -> None:
    hashes = {name: phash(image) for name, image in previews.items()}
    assert all(len(h) == 16 and int(h, 16) >= 0 for h in hashes.values())
    references.check("phash", hashes)


def test_resized_copy_is_a_near_duplicate(previews: dict, photos: Path) -> None:
    smaller = pyvips.Image.new_from_file(str(photos / "astronaut.png")).resize(0.6)
    resized = preview_array(smaller.jpegsave_buffer(Q=75))
    assert phash_distance(phash(previews["astronaut.png"]), phash(resized)) <= 4


def test_different_photos_are_far_apart(previews: dict) -> None:
    assert phash_distance(phash(previews["astronaut.png"]), phash(previews["coffee.png"])) >= 20
    hashes = [phash(image) for image in previews.values()]
    distances = [phash_distance(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) >= 16


def test_mirror_image_is_not_a_duplicate(previews: dict) -> None:
    a = previews["chelsea.png"]
    assert phash_distance(phash(a), phash(a[:, ::-1].copy())) >= 16


def test_distance() -> None:
    assert phash_distance("0000000000000000", "ffffffffffffffff") == 64
    assert phash_distance("c2924c5532bddfc8", "C2924C5532BDDFC8") == 0
    assert phash_distance("0000000000000000", "0000000000000101") == 2
    for bad in ("", "xyz", "0" * 15, "0" * 17, "0x00000000000000"):
        with pytest.raises(ValueError):
            phash_distance(bad, "0" * 16)
