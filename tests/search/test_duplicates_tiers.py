"""The tiering rules on fingerprints of real photos and edits from the labelled set."""

from __future__ import annotations

import dataclasses

import pytest

from tests.search.labelled import labelled_fingerprints, labelled_set
from vitrina.analysis.phash import PhashAnalyser
from vitrina.analysis.phash_regions import RegionPhashAnalyser
from vitrina.search.duplicates import (
    EXACT,
    NEAR,
    NEAR_DISTANCE,
    Fingerprint,
    distance,
    duplicates_of,
    fingerprint,
    groups,
    tier_of,
)


@pytest.fixture(scope="module")
def prints() -> dict[str, Fingerprint]:
    return labelled_fingerprints()


def test_a_crop_is_near_only_through_the_regions(prints) -> None:
    original, crop = prints["coffee.png/original"], prints["coffee.png/crop 80%"]
    assert tier_of(original, crop).tier == NEAR
    # a version-1 signal has no regions: whole frames only, so the crop is missed, never mistaken
    v1 = [dataclasses.replace(p, regions=(), pixels=None) for p in (original, crop)]
    assert distance(*v1) == (original.hash ^ crop.hash).bit_count() > NEAR_DISTANCE
    assert tier_of(*v1) is None


def test_exact_needs_the_same_pixels_and_the_same_size(prints) -> None:
    original, tagged = prints["chelsea.png/original"], prints["chelsea.png/comment added"]
    assert original.sha256 != tagged.sha256 and tier_of(original, tagged).tier == EXACT
    reencoded = prints["chelsea.png/jpeg q95"]
    assert distance(original, reencoded) <= 2 and tier_of(original, reencoded).tier == NEAR
    resized = dataclasses.replace(tagged, width=original.width // 2)  # same digest, other size
    assert tier_of(original, resized).tier == NEAR


def test_a_version_1_signal_still_reads() -> None:
    value = {"hash": "f0f0f0f0f0f0f0f0"}
    p = fingerprint("a", "0" * 64, 10, 10, value)
    assert p.regions == () and p.pixels is None and p.hash == 0xF0F0F0F0F0F0F0F0


def test_the_analyser_keeps_version_1s_hash() -> None:
    sample = next(s for s in labelled_set().samples if s.key == "rocket.jpg/original")
    (value,) = RegionPhashAnalyser().analyse([sample.preview])
    assert value["hash"] == PhashAnalyser().analyse([sample.preview])[0]["hash"]
    assert sorted(value["regions"]) == ["bl", "br", "c80", "c90", "tl", "tr"] and len(value["pixels"]) == 32


def test_lists_exact_first_then_by_distance_and_groups_nest(prints) -> None:
    keys = ["astronaut.png/original", "astronaut.png/png", "astronaut.png/jpeg q50",
            "astronaut.png/crop 85%", "coffee.png/original"]
    chosen = [prints[k] for k in keys]
    found = duplicates_of(chosen[0], chosen)
    assert (found[0].asset_id, found[0].tier) == ("astronaut.png/png", EXACT)
    assert [d.distance for d in found[1:]] == sorted(d.distance for d in found[1:])
    assert "coffee.png/original" not in {d.asset_id for d in found}
    (exact,) = groups(chosen, EXACT)
    (near,) = groups(chosen, NEAR)
    assert set(exact.asset_ids) == set(keys[:2]) and set(near.asset_ids) == set(keys[:4])
