"""Duplicates in tiers, from the stored ``phash`` signal (decision 024).

``exact``: the same bytes (sha256), or the same size and the same pixels (a lossless
re-save, a metadata edit): the same preview pixels, or, when two assets of one size
have identical pHashes but previews made along different decode paths (a PNG copy of
a JPEG), the same full-size pixels, decoded only then (:mod:`vitrina.media.pixels`). ``near``: the smallest Hamming distance between
the two assets' pHashes, whole frame against whole frame, whole frame against each
region (a crop matches the region it was cut from) and region against the same
region (a corner overlay is left out by the regions that skip that corner), is at
most :data:`NEAR_DISTANCE`. ``similar``: neither, but the cosine similarity of the two
assets' image embeddings (the ``imagenet`` signal) is at least :data:`SIMILAR_COSINE`:
frames of one burst, a re-shoot, a heavy crop.

The pure functions come first; :func:`find_duplicates` and :func:`duplicate_groups`
read a project's signals through the asset service. They scan every image of the
project (fine for catalogues of thousands; an index over the hashes comes later).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from vitrina.assets.records import MAX_PAGE, AssetRecord

if TYPE_CHECKING:
    from vitrina.assets.service import AssetService

EXACT, NEAR, SIMILAR = "exact", "near", "similar"
TIERS = (EXACT, NEAR, SIMILAR)  # strictest first
HASH_SIGNAL = "phash"
EMBEDDING_SIGNAL = "imagenet"  # its value's "embedding" is the image embedding

#: Calibrated on the labelled set of tests/search/labelled.py (8 photos, 22 edits each,
#: mirrors, look-alike regions: 16,312 pairs; `python -m tests.search.labelled`): at 12
#: bits near-or-better has precision 0.978 and recall 0.989; at 8 recall falls to 0.972
#: (off-centre crops, text boxes), at 16 precision falls to 0.870 (different photos
#: carrying the same watermark). The figures per edit are in decision 024.
NEAR_DISTANCE = 12

#: Calibrated on the labelled bursts of tests/search/bursts.py (frames of the demo
#: videos' shots, 0.5-1 s apart, against frames of other shots and other photos;
#: `python -m tests.search.bursts`); the figures are in decision 024.
SIMILAR_COSINE = 0.55


@dataclass(frozen=True)
class Fingerprint:
    """What duplicate detection knows of one asset."""

    asset_id: str
    sha256: str
    width: int | None
    height: int | None
    hash: int  # the whole preview's 64-bit pHash
    regions: tuple[int, ...] = ()  # the regions' pHashes in a fixed order; () before phash 2
    pixels: str | None = None  # digest of the preview's pixels; None before phash 2
    #: the unit-length image embedding, None until the embedding analyser has run
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Duplicate:
    asset_id: str
    tier: str
    distance: int
    #: cosine similarity of the image embeddings; None when either has none
    similarity: float | None = None


@dataclass(frozen=True)
class DuplicateReport:
    asset_id: str
    #: False while the asset has no pHash yet (still processing, or not an image): the
    #: list is empty because nothing was compared, not because nothing matched
    hashed: bool
    duplicates: tuple[Duplicate, ...]


@dataclass(frozen=True)
class DuplicateGroup:
    tier: str
    asset_ids: tuple[str, ...]


# --- pure functions ----------------------------------------------------------------------
def fingerprint(asset_id: str, sha256: str, width: int | None, height: int | None,
                signal: dict, embedding: np.ndarray | None = None) -> Fingerprint:
    """A fingerprint from a stored ``phash`` signal's value (version 1 or 2)."""
    regions = signal.get("regions") or {}
    return Fingerprint(asset_id, sha256, width, height, int(signal["hash"], 16),
                       tuple(int(regions[k], 16) for k in sorted(regions)), signal.get("pixels"),
                       embedding)


def cosine(a: Fingerprint, b: Fingerprint) -> float | None:
    if a.embedding is None or b.embedding is None or a.embedding.shape != b.embedding.shape:
        return None
    return round(float(a.embedding @ b.embedding), 4)


def distance(a: Fingerprint, b: Fingerprint) -> int:
    """The smallest Hamming distance between whole frames, a whole frame and the other's
    regions, and the same region of both (whole frames only when either lacks regions)."""
    best = (a.hash ^ b.hash).bit_count()
    if a.regions and b.regions and len(a.regions) == len(b.regions):
        for ra, rb in zip(a.regions, b.regions, strict=True):
            best = min(best, (a.hash ^ rb).bit_count(), (ra ^ b.hash).bit_count(), (ra ^ rb).bit_count())
    return best


#: the full-size pixel digest of an asset by id (None when it cannot be read)
FullPixels = Callable[[str], "str | None"]


def is_exact(a: Fingerprint, b: Fingerprint) -> bool:
    if a.sha256 == b.sha256:
        return True
    return (a.pixels is not None and a.pixels == b.pixels
            and (a.width, a.height) == (b.width, b.height))


def tier_of(a: Fingerprint, b: Fingerprint, near_distance: int = NEAR_DISTANCE,
            full_pixels: FullPixels | None = None, similar_cosine: float = SIMILAR_COSINE) -> Duplicate | None:
    """How ``b`` duplicates ``a``, or None when it does not. With ``full_pixels``, a
    pair of one size at distance 0 whose previews differ is exact if its full-size
    pixels are the same (the previews of a JPEG and of its PNG copy differ by the
    JPEG decoder's shrink-on-load)."""
    similarity = cosine(a, b)
    if is_exact(a, b):
        return Duplicate(b.asset_id, EXACT, 0, similarity)
    d = distance(a, b)
    if (d == 0 and full_pixels is not None and (a.width, a.height) == (b.width, b.height)
            and (digest := full_pixels(a.asset_id)) is not None and digest == full_pixels(b.asset_id)):
        return Duplicate(b.asset_id, EXACT, 0, similarity)
    if d <= near_distance:
        return Duplicate(b.asset_id, NEAR, d, similarity)
    if similarity is not None and similarity >= similar_cosine:
        return Duplicate(b.asset_id, SIMILAR, d, similarity)
    return None


def duplicates_of(target: Fingerprint, others: Iterable[Fingerprint],
                  full_pixels: FullPixels | None = None) -> list[Duplicate]:
    """``target``'s duplicates among ``others``: exact first, then by distance."""
    found = [d for o in others
             if o.asset_id != target.asset_id and (d := tier_of(target, o, full_pixels=full_pixels))]
    return sorted(found, key=lambda d: (TIERS.index(d.tier), d.distance if d.tier != SIMILAR
                                        else -(d.similarity or 0.0), d.asset_id))


def groups(prints: list[Fingerprint], tier: str,
           full_pixels: FullPixels | None = None) -> list[DuplicateGroup]:
    """Assets joined by duplicate links of ``tier`` or a stricter one (a near group holds
    its exact copies too); groups of two or more, largest first."""
    parent = {p.asset_id: p.asset_id for p in prints}

    def root(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    wanted = TIERS[: TIERS.index(tier) + 1]
    for i, a in enumerate(prints):
        for b in prints[i + 1:]:
            d = tier_of(a, b, full_pixels=full_pixels)
            if d is not None and d.tier in wanted:
                parent[root(b.asset_id)] = root(a.asset_id)
    members: dict[str, list[str]] = {}
    for p in prints:
        members.setdefault(root(p.asset_id), []).append(p.asset_id)
    found = [DuplicateGroup(tier, tuple(sorted(m))) for m in members.values() if len(m) > 1]
    return sorted(found, key=lambda g: (-len(g.asset_ids), g.asset_ids))


# --- over a project's stored signals ---------------------------------------------------------
def fingerprint_of(record: AssetRecord) -> Fingerprint | None:
    signal = record.signals.get(HASH_SIGNAL)
    if signal is None or "hash" not in signal.value:
        return None
    return fingerprint(record.id, record.sha256, record.width, record.height, signal.value,
                       embedding_of(record))


def embedding_of(record: AssetRecord) -> np.ndarray | None:
    """The asset's unit-length image embedding, None when it has none (or a bad one)."""
    from vitrina.errors import InvalidInput
    from vitrina.search.vectors import decode_vector

    signal = record.signals.get(EMBEDDING_SIGNAL)
    value = signal.value.get("embedding") if signal is not None else None
    if not value:
        return None
    try:
        vector = decode_vector(value)
    except InvalidInput:
        return None
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 and np.isfinite(norm) else None


def project_fingerprints(assets: AssetService, project: str) -> Iterator[Fingerprint]:
    """Every hashed image of the project (a scan, page by page)."""
    cursor = None
    while True:
        page = assets.list(project, kind="image", limit=MAX_PAGE, cursor=cursor)
        for record in page.items:
            if (p := fingerprint_of(record)) is not None:
                yield p
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def original_pixels(assets: AssetService, project: str) -> FullPixels:
    """Full-size pixel digests of the project's originals, each decoded at most once
    per call; None for one that cannot be decoded (it then stays near, not exact)."""
    from vitrina.errors import VitrinaError
    from vitrina.media.pixels import pixel_digest

    digests: dict[str, str | None] = {}

    def digest(asset_id: str) -> str | None:
        if asset_id not in digests:
            try:
                record = assets.get(project, asset_id)
                digests[asset_id] = pixel_digest(assets.store.read_bytes(record.blob_key))
            except VitrinaError:
                digests[asset_id] = None
        return digests[asset_id]

    return digest


def find_duplicates(assets: AssetService, project: str, asset_id: str) -> DuplicateReport:
    """The project's duplicates of one of its assets; NotFound as :meth:`AssetService.get`."""
    target = fingerprint_of(assets.get(project, asset_id))
    if target is None:
        return DuplicateReport(asset_id, False, ())
    found = duplicates_of(target, project_fingerprints(assets, project), original_pixels(assets, project))
    return DuplicateReport(asset_id, True, tuple(found))


def duplicate_groups(assets: AssetService, project: str, tiers: Iterable[str] = TIERS) -> list[DuplicateGroup]:
    """The project's groups of duplicates, per tier asked for."""
    prints = list(project_fingerprints(assets, project))
    full_pixels = original_pixels(assets, project)
    return [g for tier in tiers for g in groups(prints, tier, full_pixels)]
