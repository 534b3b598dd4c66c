"""Vector indexes kept current with the catalogue, one per (project, embedding signal).

An index is opened lazily on first use: loaded from the blob store
(:class:`~vitrina.search.store.IndexStore`), or rebuilt from the catalogue when the
stored one is missing, unreadable or of the wrong kind. Before each use it is brought
up to date incrementally (decision 027):

- *position*: the newest ``signals.created_at`` the index covers, in microseconds since
  1970. The pipeline replaces a signal by deleting and inserting its row, so a new or
  changed embedding always carries a newer ``created_at``.
- a cheap check first: the count and newest ``created_at`` of the project's signals of
  that name. If neither moved since the last look, nothing changed.
- then the (asset id, created_at) pairs written since ``position - LAG`` are listed and
  those not read at that time have their vectors read and added (a replace for ids
  already there). If the ids known then add up to the catalogue's count, that is all.
- otherwise (a deletion, a late write, the first look after a load) every (asset id,
  created_at) pair is listed (no vectors): ids gone from the catalogue are removed from
  the index; ids the index lacks, and ids written after ``position - LAG``, are read.
  ``LAG`` covers a write that committed after a newer one was seen (its ``created_at``
  is taken before its transaction commits).
- the index is saved back, at most every ``save_interval`` seconds, with the new
  position in its manifest; a process that loads it catches up from that position.

The kind follows the size (decision 023): ``exact`` up to :data:`EXACT_MAX_FLOATS`
(vectors x dimension), ``hnsw`` beyond; an index crossing the line is rebuilt in the other kind on a thread
while the current one answers, with some hysteresis so that a catalogue hovering at
the line is not rebuilt back and forth.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vitrina.errors import VitrinaError
from vitrina.plugins import Registry
from vitrina.search import IndexKind, VectorIndex
from vitrina.search.catalogue import SearchCatalogue
from vitrina.search.store import IndexStore, Manifest, Source, build
from vitrina.search.vectors import decode_vector

log = logging.getLogger(__name__)

#: up to this many floats (vectors x dimension) a query scans them all: exact, and on
#: one core under 10 ms at p99 (100,000 x 384 measured 8-9 ms p50, 9-11 ms p99 with
#: `bench/analysis.py`; an HNSW graph at its default depth found a quarter of the true
#: neighbours of random vectors there). That is about 31,000 image embeddings of 1280.
EXACT_MAX_FLOATS = 40_000_000
#: an ``hnsw`` index shrinking below this share of the line goes back to ``exact`` (hysteresis)
EXACT_BACK = 0.8
#: microseconds of writes re-read behind the position, for writes that committed late
LAG = 60_000_000
METRIC = "cosine"


def vector_of(value: Any) -> np.ndarray | None:
    """The embedding inside a signal's value (``{"embedding": {...}}``), or None when it
    has none (an empty text) or it is malformed."""
    embedding = value.get("embedding") if isinstance(value, dict) else None
    if embedding is None:
        return None
    try:
        vector = decode_vector(embedding)
    except VitrinaError:
        return None
    if not np.isfinite(vector).all() or not np.any(vector):
        return None
    return vector


def kind_for(count: int, dim: int, current: str | None = None) -> str:
    floats = count * dim
    if current == "hnsw" and floats >= EXACT_BACK * EXACT_MAX_FLOATS:
        return "hnsw"
    return "exact" if floats <= EXACT_MAX_FLOATS else "hnsw"


@dataclass
class _Live:
    index: VectorIndex
    manifest: Manifest | None  # None until first saved
    #: the catalogue's (count, newest) when the index was last brought up to date
    seen: tuple[int, int] | None = None
    #: the created_at of each signal this process read (with a vector or without): a
    #: signal read at the same created_at is not read again
    read: dict[str, int] = field(default_factory=dict)
    position: int = 0
    dirty: bool = False
    saved_at: float = 0.0
    #: why this index replaced the one before, told once by the next :meth:`LiveIndexes.index`
    rebuilt: str | None = None


@dataclass(frozen=True)
class Refreshed:
    added: int = 0
    removed: int = 0
    rebuilt: str | None = None  # why the stored index was not used, as IndexStore.open says


class LiveIndexes:
    """The indexes of every (project, signal) this process has used."""

    def __init__(self, catalogue: SearchCatalogue, store: IndexStore, *, save_interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, background: bool = True) -> None:
        """``background``: an index that outgrows its kind is rebuilt on a thread of its
        own while the current one keeps answering (an HNSW build of thousands of
        vectors takes minutes on a small machine); False rebuilds it in the call."""
        self.catalogue, self.store = catalogue, store
        self.save_interval, self.clock, self.background = save_interval, clock, background
        self._live: dict[tuple[str, str], _Live] = {}
        self._lock = threading.Lock()
        self._opening: dict[tuple[str, str], threading.RLock] = {}
        self._switching: dict[tuple[str, str], threading.Thread] = {}

    @property
    def kinds(self) -> Registry[IndexKind]:
        return self.store.kinds

    def index(self, project: str, name: str) -> tuple[VectorIndex | None, Refreshed]:
        """The project's index of signal ``name``, up to date; None when no asset of the
        project holds a vector of that signal yet."""
        key = (project, name)
        opening = self._opening_lock(key)
        with opening:  # one opener or refresher per index; queries on the index run freely
            live = self._live.get(key)
            if live is None:
                opened, reason = self._open(project, name)
                if opened is None:
                    return None, Refreshed()
                opened.rebuilt = reason
                live = self._live[key] = opened
            added, removed = self._refresh(project, name, live)
            wanted = kind_for(len(live.index), live.index.dim, live.index.kind)
            if wanted != live.index.kind:  # crossed the size line: rebuild as the other kind
                self._switch(project, name, wanted)
                live = self._live[key]
            self._maybe_save(project, name, live)
            rebuilt, live.rebuilt = live.rebuilt, None
            return live.index, Refreshed(added, removed, rebuilt)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the rebuilds running in the background."""
        for thread in list(self._switching.values()):
            thread.join(timeout)

    def forget(self) -> None:
        """Drop what this process holds (the stored indexes stay)."""
        self.wait()
        with self._lock:
            self._live.clear()

    def flush(self) -> None:
        """Save every index changed since its last save."""
        for (project, name), live in list(self._live.items()):
            with self._opening_lock((project, name)):
                if live.dirty:
                    self._save(project, name, live)

    # --- internals ----------------------------------------------------------------------
    def _opening_lock(self, key: tuple[str, str]) -> threading.RLock:
        with self._lock:
            return self._opening.setdefault(key, threading.RLock())

    def _switch(self, project: str, name: str, kind: str) -> None:
        """Rebuild the index as ``kind`` and put it in place of the current one, which
        answers meanwhile; at most one such rebuild per index at a time."""
        key = (project, name)
        with self._lock:
            running = self._switching.get(key)
            if running is not None and running.is_alive():
                return

            def run() -> None:
                try:
                    built = self._rebuild(project, name, kind, self._live[key].index.dim)
                    with self._opening_lock(key):
                        self._refresh(project, name, built)  # the writes made during the build
                        self._save(project, name, built)
                        built.rebuilt = "resized"
                        self._live[key] = built
                    log.info("vector index %s/%s rebuilt as %s: %d vectors", project, name, kind, len(built.index))
                except Exception:
                    log.exception("rebuilding vector index %s/%s as %s failed", project, name, kind)
                finally:
                    with self._lock:
                        self._switching.pop(key, None)

            if not self.background:
                self._switching[key] = threading.current_thread()
        if not self.background:
            run()
            return
        thread = threading.Thread(target=run, name=f"index-{name}", daemon=True)
        with self._lock:
            self._switching[key] = thread
        thread.start()

    def _open(self, project: str, name: str) -> tuple[_Live | None, str | None]:
        count, _ = self.catalogue.signal_stat(project, name)
        stored = self.store.manifest(project, name)
        if count == 0 and stored is None:
            return None, None
        dim = stored.dim if stored is not None else None
        if dim is None:
            dim = self._dim(project, name)
            if dim is None:  # signals, but none holds a vector
                return None, None
        # what is stored, or exact: a change of kind for the size is made in the background
        kind = stored.kind if stored is not None and self.kinds.find(stored.kind) is not None else "exact"
        times: dict[str, int] = {}
        holder: dict[str, dict[str, int]] = {}

        def source() -> Source:  # called only when the stored index cannot be used
            times.update(self.catalogue.signal_times(project, name))
            holder["read"] = dict(times)
            return Source(self._rows(sorted(times), name, dim),
                          position=max(times.values(), default=0), total=len(times))

        opened = self.store.open(project, name, kind=kind, dim=dim, metric=METRIC, source=source)
        live = _Live(opened.index, opened.manifest, position=opened.manifest.position,
                     read=holder.get("read", {}), saved_at=self.clock())
        if opened.rebuilt is not None:
            log.info("vector index %s/%s rebuilt (%s): %d vectors", project, name, opened.rebuilt,
                     len(opened.index))
        return live, opened.rebuilt

    def _rebuild(self, project: str, name: str, kind: str, dim: int) -> _Live:
        """A new index of ``kind`` from the catalogue (not saved, not in place yet)."""
        times = self.catalogue.signal_times(project, name)
        index = self.kinds.get(kind).create(dim, METRIC)
        build(index, self._rows(sorted(times), name, dim))
        return _Live(index, None, seen=None, read=dict(times), position=max(times.values(), default=0),
                     dirty=True)

    def _refresh(self, project: str, name: str, live: _Live) -> tuple[int, int]:
        stat = self.catalogue.signal_stat(project, name)
        if stat == live.seen:
            return 0, 0
        count, newest = stat
        added = removed = 0
        if live.read:
            # the usual case: read only what was written since a little before the
            # position; if the ids then known add up to the catalogue's count, nothing
            # was deleted or missed and the (id, created_at) scan of them all is spared
            recent = self.catalogue.signal_times(project, name, since=live.position - LAG)
            added, removed = self._apply(live, name, sorted(i for i, t in recent.items() if live.read.get(i) != t),
                                         recent)
            if len(live.read) == count:
                self._advance(live, stat, newest, added or removed)
                return added, removed
        times = self.catalogue.signal_times(project, name)
        index = live.index
        held = set(_ids(index))
        gone = sorted(held - times.keys())
        for id_ in set(live.read) - times.keys():
            del live.read[id_]
        if gone:
            index.remove(gone)
        # read again: what changed since this process read it; and, of what it never read,
        # what the index lacks or what was written close to the stored position (a late
        # commit may carry an older created_at than one the position already covers)
        fresh = sorted(id_ for id_, t in times.items()
                       if live.read.get(id_) != t
                       and (id_ in live.read or id_ not in held or t > live.position - LAG))
        more, dropped = self._apply(live, name, fresh, times)
        live.read.update(times)  # the rest is what the stored index already covers
        added, removed = added + more, removed + len(gone) + dropped
        self._advance(live, stat, max(times.values(), default=live.position), added or removed)
        return added, removed

    def _apply(self, live: _Live, name: str, fresh: list[str], times: dict[str, int]) -> tuple[int, int]:
        """Read the ``fresh`` ids' signals into the index (added or replaced; taken out
        when the embedding is empty); (added, taken out)."""
        if not fresh:
            return 0, 0
        index = live.index
        ids, vectors, drop = [], [], []
        for id_, value in self.catalogue.signals(fresh, name).items():
            vector = vector_of(value)
            live.read[id_] = times[id_]
            if vector is None or vector.shape != (index.dim,):
                if id_ in index:
                    drop.append(id_)
                continue
            ids.append(id_)
            vectors.append(vector)
        if drop:
            index.remove(drop)
        if ids:
            index.add(ids, np.stack(vectors))
        return len(ids), len(drop)

    @staticmethod
    def _advance(live: _Live, stat: tuple[int, int], position: int, changed: int) -> None:
        live.seen = stat
        if changed or position > live.position:
            live.dirty = True
        live.position = max(live.position, position)

    def _maybe_save(self, project: str, name: str, live: _Live) -> None:
        if live.dirty and self.clock() - live.saved_at >= self.save_interval:
            self._save(project, name, live)

    def _save(self, project: str, name: str, live: _Live) -> None:
        live.manifest = self.store.save(project, name, live.index, live.position)
        live.dirty, live.saved_at = False, self.clock()

    def _dim(self, project: str, name: str) -> int | None:
        """The dimension of the first usable vector of the project's ``name`` signals."""
        times = self.catalogue.signal_times(project, name)
        ids = sorted(times)
        for start in range(0, len(ids), 200):
            for value in self.catalogue.signals(ids[start:start + 200], name).values():
                vector = vector_of(value)
                if vector is not None:
                    return int(vector.shape[0])
        return None

    def _rows(self, ids: list[str], name: str, dim: int) -> Iterator[tuple[str, np.ndarray]]:
        """(id, vector) of these assets' ``name`` signals that hold a usable vector of
        this dimension, read in chunks."""
        for start in range(0, len(ids), 1000):
            part = ids[start:start + 1000]
            values = self.catalogue.signals(part, name)
            for id_ in part:
                vector = vector_of(values.get(id_))
                if vector is None or vector.shape != (dim,):
                    continue
                yield id_, vector



def _ids(index: VectorIndex) -> list[str]:
    """The ids an index holds (both built-in kinds can list them)."""
    ids = getattr(index, "ids", None)
    if callable(ids):
        return list(ids())
    raise TypeError(f"a {index.kind} index cannot list its ids")
