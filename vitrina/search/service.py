"""The search service: hybrid search over a project's assets and search by example
(decision 027).

``search``: the query's filters pick the candidates (newest first, at most
:data:`MAX_CANDIDATES`); then each active component ranks them -

- ``keyword``: BM25F over title, alt text, user tags, model tags and OCR text
  (:mod:`vitrina.search.keyword`), the assets holding at least one query term;
- ``text_embedding``: the query's text embedding against the assets' text embeddings
  (the project's ``text_embedding`` index): of the :data:`SEMANTIC_DEPTH` nearest, those
  within :data:`SEMANTIC_MARGIN` of the best;
- ``clip``: the same with a joint image-text model's text encoder against the assets'
  ``clip`` image embeddings, when one is configured;
- ``color``: how much of each picture is near the query colour (:mod:`vitrina.search.colour`).

A query (``q``) keeps the assets some text component found; a colour keeps those with
a colour match; both together keep those found by both. The kept assets are ordered
by reciprocal rank fusion, ``score = sum over components of 1 / (RRF_K + rank)``, each
hit's ``explain`` giving every component's rank and share. No query and no colour is
a filtered listing, newest first, score 0.

``similar``: the nearest neighbours of an asset's own embedding in the project's
index of that signal (:mod:`vitrina.search.live`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vitrina.assets.metadata import USER_TAGS
from vitrina.assets.records import AssetRecord
from vitrina.assets.service import AssetService
from vitrina.errors import InvalidInput
from vitrina.search import colour, keyword
from vitrina.search.catalogue import Candidate, SearchCatalogue
from vitrina.search.live import LiveIndexes, vector_of
from vitrina.search.query import MAX_CANDIDATES, MAX_LIMIT, SearchQuery, encode_cursor

log = logging.getLogger(__name__)
#: assets whose text as terms one process keeps (a few hundred bytes each)
DOCUMENTS_CACHED = 200_000
#: nearest neighbours an embedding component contributes
SEMANTIC_DEPTH = 200
#: an embedding component keeps the assets within this cosine of its best match: text
#: embeddings give every text some similarity (multilingual-E5-small puts unrelated
#: captions at 0.75-0.82 and related ones at 0.85-0.9 on the test photos), so without a
#: cut a query would list the whole catalogue
SEMANTIC_MARGIN = 0.05
#: reciprocal rank fusion's constant: 60 as in Cormack, Clarke and Buettcher (2009)
RRF_K = 60
#: the components, and the signal each reads
KEYWORD, TEXT_EMBEDDING, CLIP, COLOR = "keyword", "text_embedding", "clip", "color"
#: search by example: ``by`` -> the signal holding the embedding
SIMILAR_BY = {"image": "imagenet", "text": "text_embedding", "clip": "clip"}
OCR_SIGNAL = "ocr"

#: a text encoder: text in, one vector out
Encoder = Callable[[str], np.ndarray]


# --- results --------------------------------------------------------------------------
@dataclass(frozen=True)
class Hit:
    asset: AssetRecord
    score: float
    explain: dict[str, Any]


@dataclass(frozen=True)
class SearchPage:
    items: tuple[Hit, ...]
    next_cursor: str | None
    #: the components that ranked this query (keyword, text_embedding, clip, color)
    components: tuple[str, ...]
    #: how many assets the query kept (all pages)
    total: int


@dataclass(frozen=True)
class Neighbour:
    asset: AssetRecord
    similarity: float


@dataclass(frozen=True)
class SimilarResult:
    asset_id: str
    by: str
    #: False while the asset has no such embedding (still processing, the model off, not
    #: an image): nothing was compared
    embedded: bool
    similar: tuple[Neighbour, ...]


# --- the service ----------------------------------------------------------------------
class SearchService:
    def __init__(self, catalogue: SearchCatalogue, assets: AssetService, indexes: LiveIndexes, *,
                 encoders: Callable[[str], Encoder | None] | None = None) -> None:
        """``encoders(component)``: the query-side text encoder of ``text_embedding`` or
        ``clip``, or None when that model is not available (keyword search goes on)."""
        self.catalogue, self.assets, self.indexes = catalogue, assets, indexes
        self._encoders = encoders or (lambda component: None)
        self._encoder_cache: dict[str, Encoder | None] = {}
        #: asset id -> (stamp, its text as terms): see :meth:`_documents`
        self._documents_cache: dict[str, tuple[Any, keyword.Document]] = {}
        self._palettes_cache: dict[str, tuple[Any, colour.Palette]] = {}
        self._lock = threading.Lock()

    def encoder(self, component: str) -> Encoder | None:
        with self._lock:
            if component not in self._encoder_cache:
                try:
                    self._encoder_cache[component] = self._encoders(component)
                except Exception:  # a model that cannot load leaves keyword search working
                    log.exception("the %s query encoder could not be loaded; searching without it", component)
                    self._encoder_cache[component] = None
            return self._encoder_cache[component]

    # --- search -----------------------------------------------------------------------
    def search(self, project: str, query: SearchQuery) -> SearchPage:
        candidates = self.catalogue.candidates(project, query.filters, MAX_CANDIDATES, stamps=bool(query.q) or query.color is not None)
        ids = [c.id for c in candidates]
        rankings: dict[str, dict[str, dict[str, Any]]] = {}  # component -> id -> explanation
        if query.q:
            rankings[KEYWORD] = self._keyword(candidates, query.q)
            for component, signal in ((TEXT_EMBEDDING, TEXT_EMBEDDING), (CLIP, CLIP)):
                try:
                    found = self._semantic(project, component, signal, query.q, set(ids))
                except Exception:  # an index that cannot be read or built: keywords still answer
                    log.exception("the %s component failed; searching without it", component)
                    found = None
                if found is not None:
                    rankings[component] = found
        if query.color is not None:
            rankings[COLOR] = self._colour(candidates, query.color, query.color_tolerance)
        components = tuple(rankings)
        if not rankings:  # a filtered listing
            kept = [(i, 0.0, {}) for i in ids]
        else:
            text = [rankings[c] for c in (KEYWORD, TEXT_EMBEDDING, CLIP) if c in rankings]
            keep = set(ids)
            if query.q:
                keep &= set().union(*(r.keys() for r in text))
            if query.color is not None:
                keep &= rankings[COLOR].keys()
            kept = []
            for i in keep:
                explain, total = {}, 0.0
                for component, ranking in rankings.items():
                    if i in ranking:
                        entry = dict(ranking[i])
                        entry["contribution"] = 1.0 / (RRF_K + entry["rank"])
                        total += entry["contribution"]
                        explain[component] = entry
                kept.append((i, total, explain))
            newest = {i: n for n, i in enumerate(ids)}
            kept.sort(key=lambda k: (-k[1], newest[k[0]]))
        page = kept[query.offset:query.offset + query.limit]
        records = {a.id: a for a in self.assets.get_many(project, [i for i, _, _ in page])}
        items = tuple(Hit(records[i], score, explain) for i, score, explain in page if i in records)
        more = query.offset + query.limit < len(kept)
        cursor = encode_cursor(query.offset + query.limit, query.fingerprint()) if more else None
        return SearchPage(items, cursor, components, len(kept))

    def _keyword(self, candidates: Sequence[Candidate], q: str) -> dict[str, dict[str, Any]]:
        q_terms = keyword.query_terms(q)
        if not q_terms:
            return {}
        documents = self._documents(candidates)
        return {h.id: {"rank": rank, "score": round(h.score, 6),
                       "matched": [{"field": f, "term": t} for f, t in h.matched]}
                for rank, h in enumerate(keyword.score(documents, q_terms), 1)}

    def _documents(self, candidates: Sequence[Candidate]) -> list[keyword.Document]:
        """The candidates' text as terms: from this process's cache while an asset's stamp
        (metadata version, newest signal) is the same, read and split otherwise."""
        cache = self._documents_cache
        stale = [c for c in candidates if (cache.get(c.id) or (None,))[0] != c.stamp or c.stamp is None]
        if stale:
            ids = [c.id for c in stale]
            tags = self.catalogue.tags(ids)
            ocr = self.catalogue.signals(ids, OCR_SIGNAL)
            if len(cache) + len(stale) > DOCUMENTS_CACHED:
                cache.clear()
            for c in stale:
                mine = tags.get(c.id, ())
                text = ocr.get(c.id) or {}
                cache[c.id] = (c.stamp, keyword.Document.of(c.id, {
                    "title": [c.title], "alt_text": [c.alt_text],
                    "user_tags": [t for t, source in mine if source == USER_TAGS],
                    "model_tags": [t for t, source in mine if source != USER_TAGS],
                    "ocr": [text.get("text") if isinstance(text.get("text"), str) else None],
                }))
        return [cache[c.id][1] for c in candidates]

    def _semantic(self, project: str, component: str, signal: str, q: str,
                  candidates: set[str]) -> dict[str, dict[str, Any]] | None:
        """None when the component cannot run (no encoder, no index)."""
        encode = self.encoder(component)
        if encode is None:
            return None
        index, _ = self.indexes.index(project, signal)
        if index is None or not len(index):
            return None
        try:
            vector = np.asarray(encode(q), dtype=np.float32).reshape(-1)
        except Exception:
            log.exception("the %s query encoder failed; searching without it", component)
            return None
        if vector.shape != (index.dim,) or not np.isfinite(vector).all() or not vector.any():
            log.warning("the %s query encoder gave a vector of shape %s for an index of %d",
                        component, vector.shape, index.dim)
            return None
        # filters that leave fewer assets than the index holds: look deeper, so that
        # the nearest of the kept ones are among those returned
        depth = min(len(index), SEMANTIC_DEPTH if len(candidates) >= len(index) else 10_000)
        found = [(i, s) for i, s in index.query(vector, depth) if i in candidates][:SEMANTIC_DEPTH]
        if found:  # an embedding finds everything a little: keep what is close to the best
            found = [(i, s) for i, s in found if s >= found[0][1] - SEMANTIC_MARGIN]
        return {i: {"rank": rank, "similarity": round(s, 6)} for rank, (i, s) in enumerate(found, 1)}

    def _palettes(self, candidates: Sequence[Candidate]) -> dict[str, colour.Palette]:
        """The candidates' dominant colours, cached per asset like their text."""
        cache = self._palettes_cache
        stale = [c.id for c in candidates if (cache.get(c.id) or (None,))[0] != c.stamp or c.stamp is None]
        if stale:
            if len(cache) + len(stale) > DOCUMENTS_CACHED:
                cache.clear()
            values = self.catalogue.signals(stale, colour.SIGNAL)
            stamps = {c.id: c.stamp for c in candidates}
            for i, p in colour.palettes((i, values.get(i)) for i in stale).items():
                cache[i] = (stamps[i], p)
        return {c.id: cache[c.id][1] for c in candidates}

    def _colour(self, candidates: Sequence[Candidate], hex_: str, tolerance: float) -> dict[str, dict[str, Any]]:
        ids = [c.id for c in candidates]
        found = colour.match_many(colour.lab_of(hex_), self._palettes(candidates), tolerance)
        matches = list(found.items())
        newest = {i: n for n, i in enumerate(ids)}
        matches.sort(key=lambda im: (-im[1].score, im[1].delta_e, newest[im[0]]))
        return {i: {"rank": rank, "score": round(m.score, 6), "hex": m.hex, "delta_e": round(m.delta_e, 3),
                    "fraction": m.fraction}
                for rank, (i, m) in enumerate(matches, 1)}

    # --- similar ----------------------------------------------------------------------
    def similar(self, project: str, asset_id: str, *, by: str = "image", limit: int = 10) -> SimilarResult:
        """The project's assets nearest to ``asset_id`` by the embedding ``by`` names;
        NotFound as :meth:`AssetService.get`."""
        if by not in SIMILAR_BY:
            raise InvalidInput(f"by is one of {', '.join(SIMILAR_BY)}.", code="invalid_input",
                               details={"by": str(by)[:20]})
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", code="invalid_limit",
                               details={"limit": repr(limit)[:20]})
        record = self.assets.get(project, asset_id)
        signal = SIMILAR_BY[by]
        stored = record.signals.get(signal)
        vector = None if stored is None else vector_of(dict(stored.value))
        if vector is None:
            return SimilarResult(record.id, by, False, ())
        index, _ = self.indexes.index(project, signal)
        if index is None or vector.shape != (index.dim,):
            return SimilarResult(record.id, by, False, ())
        found = index.query(vector, min(limit, max(len(index) - 1, 1)), exclude={record.id}) if len(index) else []
        records = {a.id: a for a in self.assets.get_many(project, [i for i, _ in found])}
        neighbours = tuple(Neighbour(records[i], float(s)) for i, s in found if i in records)
        return SimilarResult(record.id, by, True, neighbours)


def default_encoders(settings: Any) -> Callable[[str], Encoder | None]:
    """The query encoders of the model analysers the settings switch on (decision 025):
    ``text_embedding`` when ``analysis.models`` names it, ``clip`` when a joint model is
    configured; None otherwise, or when the models cannot be imported (keyword search
    goes on). Imported on first use: loading a model takes seconds."""
    analysis = getattr(settings, "analysis", None)

    def encoders(component: str) -> Encoder | None:
        if analysis is None:
            return None
        try:
            if component == TEXT_EMBEDDING and TEXT_EMBEDDING in (getattr(analysis, "models", None) or ()):
                from vitrina.analysis.models.text_embedding import embed_query

                return embed_query
            if component == CLIP and getattr(analysis, "clip_text_model", None) is not None:
                from vitrina.analysis.models.clip import ClipAnalyser

                return ClipAnalyser(analysis).encode_text
        except ImportError:
            log.warning("the %s query encoder is not installed; searching without it", component)
        return None

    return encoders
