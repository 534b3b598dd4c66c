"""Every statement on the asset tables (assets, originals, derivatives, signals, tags,
idempotency keys), in one place.

Statements are SQL Core on the tables, built once at import with bound parameters
(``p_*``): building and keying a statement, and the ORM's per-row bookkeeping, cost
more Python than the database spends running it. Reads return the frozen records of
:mod:`vitrina.assets.records`, never live rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from itertools import product
from typing import Any

from sqlalchemy import Row, Select, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vitrina.assets.cursors import decode_cursor, encode_cursor
from vitrina.assets.metadata import USER_TAGS, UserMetadata
from vitrina.assets.records import (
    AssetPage,
    AssetRecord,
    AssetSnapshot,
    DerivativeRecord,
    IdempotencyRecord,
    Rendition,
    SignalRecord,
    SourceFacts,
    StepRecord,
)
from vitrina.assets.states import AssetStatus, StepState
from vitrina.kinds.image.inputs import TEXT_STEP
from vitrina.pipeline.queue import requeue
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import (
    Asset,
    CollectionAsset,
    Derivative,
    IdempotencyKey,
    Original,
    Signal,
    StepRun,
    Tag,
)

#: the signal holding the faces and salient point that smart crops keep
FOCUS_SIGNAL = "focus"
#: steps that read the title, alt text and tags: an edit of them queues these again
TEXT_READERS = (TEXT_STEP,)

ASSETS, ORIGINALS, DERIVATIVES = Asset.__table__, Original.__table__, Derivative.__table__
SIGNALS, RUNS, IDEMPOTENCY_KEYS = Signal.__table__, StepRun.__table__, IdempotencyKey.__table__
TAGS, MEMBERS = Tag.__table__, CollectionAsset.__table__
_a, _o, _d, _s, _r, _k = (t.c for t in (ASSETS, ORIGINALS, DERIVATIVES, SIGNALS, RUNS, IDEMPOTENCY_KEYS))
_t, _m = TAGS.c, MEMBERS.c

# --- records ---------------------------------------------------------------------------
_RECORDS = select(_a.id, _a.kind, _a.mime, _a.filename, _a.size_bytes, _a.sha256, _a.width,
                  _a.height, _a.status, _a.error, _a.meta, _a.created_at, _a.updated_at,
                  _o.blob_key, _a.title, _a.alt_text, _a.fields, _a.metadata_version,
                  _a.metadata_updated_at).join_from(ASSETS, ORIGINALS)
_GET = _RECORDS.where(_a.id == bindparam("p_asset"), _a.project_id == bindparam("p_project"))


def _page_query(status: bool, kind: bool, mime: bool, collection: bool, tag: bool, after: bool) -> Select:
    query = _RECORDS.where(_a.project_id == bindparam("p_project"))
    if collection:  # the caller checked that the collection is the project's
        query = query.where(_a.id.in_(select(_m.asset_id).where(_m.collection_id == bindparam("p_collection"))))
    if tag:
        # a person's tags and the models' alike (decision 025)
        query = query.where(_a.id.in_(select(_t.asset_id).where(_t.tag == bindparam("p_tag"))))
    if status:
        query = query.where(_a.status == bindparam("p_status"))
    if kind:
        query = query.where(_a.kind == bindparam("p_kind"))
    if mime:
        query = query.where(_a.mime == bindparam("p_mime"))
    if after:  # ids sort by creation time: the next page is the older ids
        query = query.where(_a.id < bindparam("p_after"))
    return query.order_by(_a.id.desc()).limit(bindparam("p_limit"))


#: one listing statement per combination of filters (status, kind, mime, collection, tag, cursor)
_PAGES = {flags: _page_query(*flags) for flags in product((False, True), repeat=6)}
_DERIVATIVES_OF = (
    select(_d.asset_id, _d.width, _d.height, _d.format, _d.mime, _d.size_bytes, _d.blob_key, _d.version)
    .where(_d.asset_id.in_(bindparam("p_assets", expanding=True)))
    .order_by(_d.asset_id, _d.width, _d.format)
)
_SIGNALS_OF = (select(_s.asset_id, _s.name, _s.producer, _s.version, _s.value)
               .where(_s.asset_id.in_(bindparam("p_assets", expanding=True)))
               .order_by(_s.asset_id, _s.name))
_STEPS_OF = (select(_r.asset_id, _r.step, _r.version, _r.state, _r.attempts, _r.error_code, _r.error,
                    _r.duration_ms, _r.started_at, _r.progress)
             .where(_r.asset_id.in_(bindparam("p_assets", expanding=True)))
             .order_by(_r.id))
_USER_TAGS_OF = select(_t.asset_id, _t.tag).where(_t.asset_id.in_(bindparam("p_assets", expanding=True)),
                                                   _t.source == USER_TAGS)  # sorted in Python: one order on both catalogs

# --- user metadata ----------------------------------------------------------------------
_LOCK_ASSET = (select(_a.title, _a.alt_text, _a.fields)
               .where(_a.id == bindparam("p_asset"), _a.project_id == bindparam("p_project"))
               .with_for_update())
_TAGS_OF_ONE = select(_t.tag).where(_t.asset_id == bindparam("p_asset"), _t.source == USER_TAGS)
_SET_METADATA = (update(ASSETS).where(_a.id == bindparam("p_asset"))
                 .values(title=bindparam("p_title"), alt_text=bindparam("p_alt_text"),
                         fields=bindparam("p_fields"), metadata_version=_a.metadata_version + 1,
                         metadata_updated_at=bindparam("p_now"), updated_at=bindparam("p_now")))
_DROP_USER_TAGS = delete(TAGS).where(_t.asset_id == bindparam("p_asset"), _t.source == USER_TAGS)
_ADD_TAG = insert(TAGS)

# --- pipeline and delivery --------------------------------------------------------------
_SNAPSHOT = (select(_a.id, _a.project_id, _a.kind, _a.mime, _a.sha256, _o.blob_key, _a.width, _a.height, _a.meta,
                    _a.title, _a.alt_text, _a.metadata_version)
             .join_from(ASSETS, ORIGINALS).where(_a.id == bindparam("p_asset")))
_SNAPSHOT_SIGNALS = select(_s.name, _s.producer, _s.version, _s.value).where(_s.asset_id == bindparam("p_asset"))
_SNAPSHOT_DERIVATIVES = (
    select(_d.width, _d.height, _d.format, _d.mime, _d.size_bytes, _d.blob_key, _d.version)
    .where(_d.asset_id == bindparam("p_asset")).order_by(_d.id)
)
_SOURCE = (select(_a.project_id, _a.kind, _a.mime, _a.sha256, _o.blob_key, _a.width, _a.height, _a.meta)
           .join_from(ASSETS, ORIGINALS).where(_a.id == bindparam("p_asset")))
_FOCUS = select(_s.producer, _s.version, _s.value).where(_s.asset_id == bindparam("p_asset"),
                                                         _s.name == FOCUS_SIGNAL)
_RENDITIONS = (select(_d.width, _d.height, _d.blob_key)
               .where(_d.asset_id == bindparam("p_asset"), _d.format == "jpeg").order_by(_d.width))

# --- ingest ---------------------------------------------------------------------------
_ASSET_OF = select(_a.id).where(_a.project_id == bindparam("p_project"), _a.sha256 == bindparam("p_sha256"))
_IDEMPOTENCY = select(_k.sha256, _k.asset_id).where(_k.project_id == bindparam("p_project"),
                                                    _k.key == bindparam("p_key"))
_ADD_ASSET, _ADD_IDEMPOTENCY = insert(ASSETS), insert(IDEMPOTENCY_KEYS)
_PIN_VALUES = {"sha256": bindparam("p_sha256"), "size_bytes": bindparam("p_size"),
               "mime": bindparam("p_mime"), "blob_key": bindparam("p_blob_key"),
               "created_at": bindparam("p_now"), "pinned_until": bindparam("p_until")}
#: insert the original's row, or pin the existing one (the dialects spell upserts alike)
_PIN = {name: dialect.insert(ORIGINALS).values(_PIN_VALUES).on_conflict_do_update(
            index_elements=["sha256"], set_={"pinned_until": bindparam("p_until")})
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
_UNPIN = (update(ORIGINALS).where(_o.sha256 == bindparam("p_sha256"),
                                  _o.pinned_until == bindparam("p_until")).values(pinned_until=None))

# --- delete and collect -----------------------------------------------------------------
# derivatives, signals, step runs, tags and idempotency keys go with the asset (ON DELETE CASCADE)
_DELETE_ASSET = delete(ASSETS).where(_a.id == bindparam("p_asset"), _a.project_id == bindparam("p_project"))
_UNPINNED = or_(_o.pinned_until.is_(None), _o.pinned_until < bindparam("p_now"))
_REFERENCED = select(_a.id).where(_a.sha256 == _o.sha256).exists()
_LOCK_ORIGINAL = (select(_o.blob_key).where(_o.sha256 == bindparam("p_sha256"), _UNPINNED)
                  .with_for_update())
_REFERENCES = select(_a.id).where(_a.sha256 == bindparam("p_sha256")).limit(1)
_DELETE_ORIGINAL = delete(ORIGINALS).where(_o.sha256 == bindparam("p_sha256"))
_UNREFERENCED = (select(_o.sha256).where(_UNPINNED, ~_REFERENCED).order_by(_o.sha256)
                 .limit(bindparam("p_limit")))


class AssetRepository:
    """Reads and writes of the asset tables; one short transaction per call unless the
    caller passes its own session."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    # --- records ----------------------------------------------------------------------
    def get(self, project: str, asset_id: str) -> AssetRecord | None:
        with self.sessions() as s:
            return self._get(s, project, asset_id)

    def page(
        self,
        project: str,
        *,
        status: AssetStatus | None = None,
        kind: str | None = None,
        mime: str | None = None,
        collection: str | None = None,
        tag: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AssetPage:
        """Up to ``limit`` assets, newest first, matching every filter given (``collection``:
        its members; ``tag``: a user tag, normalised); ``cursor`` is a page's ``next_cursor``
        (``invalid_cursor`` otherwise); none or empty: the first page."""
        filters = {"p_status": status, "p_kind": kind, "p_mime": mime, "p_collection": collection,
                   "p_tag": tag, "p_after": decode_cursor(cursor) if cursor else None}
        statement = _PAGES[tuple(v is not None for v in filters.values())]
        params = {k: v for k, v in filters.items() if v is not None} | {
            "p_limit": limit + 1, "p_project": project}
        with self.sessions() as s:
            rows = s.execute(statement, params).all()
            more = len(rows) > limit
            items = self._records(s, rows[:limit])
        return AssetPage(items, encode_cursor(items[-1].id) if more else None)

    def get_many(self, project: str, asset_ids: Sequence[str]) -> tuple[AssetRecord, ...]:
        """The project's assets among these ids, in the order given (unknown or other
        projects' ids are left out); five queries however many (search's result pages)."""
        if not asset_ids:
            return ()
        query = _RECORDS.where(_a.project_id == bindparam("p_project"),
                               _a.id.in_(bindparam("p_ids", expanding=True)))
        with self.sessions() as s:
            found = {r.id: r for r in self._records(s, s.execute(query, {"p_project": project,
                                                                        "p_ids": list(asset_ids)}).all())}
        return tuple(found[i] for i in asset_ids if i in found)

    # --- user metadata ------------------------------------------------------------------
    def update_metadata(self, project: str, asset_id: str, change: Callable[[UserMetadata], UserMetadata],
                        now: datetime) -> AssetRecord | None:
        """Apply ``change`` to the asset's user metadata under a lock on its row, and bump
        its metadata version if anything changed; the record after, None if there is no
        such asset. ``change`` may raise: then nothing is written."""
        with transaction(self.sessions) as s:
            params = {"p_asset": asset_id, "p_project": project}
            row = s.execute(_LOCK_ASSET, params).first()
            if row is None:
                return None
            tags = tuple(sorted(s.scalars(_TAGS_OF_ONE, params)))
            before = UserMetadata(row.title, row.alt_text, tags, row.fields or {})
            after = change(before)
            after = UserMetadata(after.title, after.alt_text, tuple(sorted(after.tags)), after.fields or {})
            if after != before:
                s.execute(_SET_METADATA, {"p_asset": asset_id, "p_title": after.title,
                                          "p_alt_text": after.alt_text, "p_fields": dict(after.fields or {}),
                                          "p_now": now})
                if after.tags != before.tags:
                    s.execute(_DROP_USER_TAGS, params)
                    if after.tags:
                        s.execute(_ADD_TAG, [{"asset_id": asset_id, "tag": t, "source": USER_TAGS}
                                             for t in after.tags])
                if (after.title, after.alt_text, after.tags) != (before.title, before.alt_text, before.tags):
                    requeue(s, asset_id, TEXT_READERS)  # the text embedding is stale (decision 025)
            return self._get(s, project, asset_id)

    # --- pipeline and delivery ----------------------------------------------------------
    def snapshot(self, session: Session | None, asset_id: str) -> AssetSnapshot | None:
        """What a pipeline step reads about its asset; in ``session`` when given."""
        if session is None:
            with self.sessions() as s:
                return self.snapshot(s, asset_id)
        row = session.execute(_SNAPSHOT, {"p_asset": asset_id}).first()
        if row is None:
            return None
        params = {"p_asset": asset_id}
        derivatives = session.execute(_SNAPSHOT_DERIVATIVES, params).all()
        tags = tuple(sorted(session.scalars(_TAGS_OF_ONE, params)))
        signals = {g.name: SignalRecord(g.producer, g.version, g.value) for g in session.execute(_SNAPSHOT_SIGNALS, params)}
        return AssetSnapshot(
            id=row.id, project_id=row.project_id, kind=row.kind, mime=row.mime, sha256=row.sha256, blob_key=row.blob_key,
            width=row.width, height=row.height, meta=dict(row.meta or {}),
            derivatives=tuple(DerivativeRecord(*d) for d in derivatives),
            metadata=UserMetadata(row.title, row.alt_text, tags), metadata_version=row.metadata_version or 0,
            signals=signals,
        )

    def source_facts(self, asset_id: str) -> SourceFacts | None:
        """What image delivery renders from: the original, its focus and JPEG renditions."""
        params = {"p_asset": asset_id}
        with self.sessions() as s:
            row = s.execute(_SOURCE, params).first()
            if row is None:
                return None
            focus = s.execute(_FOCUS, params).first()
            renditions = s.execute(_RENDITIONS, params).all()
        return SourceFacts(
            project_id=row.project_id, kind=row.kind, mime=row.mime, sha256=row.sha256, blob_key=row.blob_key,
            width=row.width, height=row.height, meta=row.meta or {},
            focus=None if focus is None else SignalRecord(focus.producer, focus.version, focus.value),
            renditions=tuple(Rendition(*r) for r in renditions),
        )

    # --- ingest -----------------------------------------------------------------------
    def find_by_sha256(self, project: str, sha256: str) -> str | None:
        """The id of the project's asset holding these bytes, if any."""
        with self.sessions() as s:
            return s.scalar(_ASSET_OF, {"p_project": project, "p_sha256": sha256})

    def idempotency(self, project: str, key: str) -> IdempotencyRecord | None:
        with self.sessions() as s:
            row = s.execute(_IDEMPOTENCY, {"p_project": project, "p_key": key}).first()
        return None if row is None else IdempotencyRecord(row.sha256, row.asset_id)

    def record_idempotency(self, project: str, key: str, sha256: str, asset_id: str) -> bool:
        """Remember that ``key`` gave ``asset_id``; False when the key was recorded
        already (by a concurrent retry of the same request)."""
        try:
            with transaction(self.sessions) as s:
                s.execute(_ADD_IDEMPOTENCY, {"project_id": project, "key": key, "sha256": sha256,
                                             "asset_id": asset_id})
        except IntegrityError:
            return False
        return True

    def pin_original(self, sha256: str, *, size_bytes: int, mime: str, blob_key: str,
                     now: datetime, until: datetime) -> None:
        """Make sure the original's row exists and no collector removes its bytes before
        ``until``: an upload calls this before it writes the bytes (a collector holding
        the row makes it wait, then the row is new and the bytes are written after)."""
        with transaction(self.sessions) as s:
            s.execute(_PIN[s.get_bind().dialect.name], {
                "p_sha256": sha256, "p_size": size_bytes, "p_mime": mime, "p_blob_key": blob_key,
                "p_now": now, "p_until": until})

    def insert_asset(
        self,
        session: Session,
        *,
        project: str,
        asset_id: str,
        sha256: str,
        kind: str,
        mime: str,
        filename: str | None,
        size_bytes: int,
        pinned_until: datetime,
        width: int | None = None,
        height: int | None = None,
        meta: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """A new pending asset of ``project`` over its pinned original, in the caller's
        transaction, which also lifts the pin this upload set. Raises ``IntegrityError``
        when the project holds these bytes or the key already (a racing twin): roll back
        and read the winner."""
        session.execute(_ADD_ASSET, {
            "id": asset_id, "project_id": project, "sha256": sha256, "kind": kind, "mime": mime,
            "filename": filename, "size_bytes": size_bytes, "status": AssetStatus.PENDING.value,
            "error": None, "width": width, "height": height, "meta": dict(meta or {}),
        })
        if idempotency_key is not None:
            session.execute(_ADD_IDEMPOTENCY, {"project_id": project, "key": idempotency_key,
                                               "sha256": sha256, "asset_id": asset_id})
        session.execute(_UNPIN, {"p_sha256": sha256, "p_until": pinned_until})

    # --- delete and collect -------------------------------------------------------------
    def delete(self, project: str, asset_id: str) -> AssetRecord | None:
        """Remove the asset's rows in one transaction; returns the record as it was (its
        derivatives' blob keys are the files to remove), None if there was none. The
        original stays until :meth:`collect` finds nobody referencing it."""
        with transaction(self.sessions) as s:
            record = self._get(s, project, asset_id)
            params = {"p_asset": asset_id, "p_project": project}
            if record is None or not s.execute(_DELETE_ASSET, params).rowcount:
                return None
        return record

    def collect(self, sha256: str, now: datetime, remove: Callable[[str], None]) -> bool:
        """If no asset of any project references the original and no upload pinned it,
        ``remove(blob_key)`` its bytes and drop its row, in one transaction that holds the
        row meanwhile: an upload of the same bytes waits, then stores them again."""
        with transaction(self.sessions) as s:
            blob_key = s.scalar(_LOCK_ORIGINAL, {"p_sha256": sha256, "p_now": now})
            # asked after the row is ours: an upload's asset references the row under a
            # key-share lock, so every one that could exist has committed by now
            if blob_key is None or s.scalar(_REFERENCES, {"p_sha256": sha256}) is not None:
                return False
            remove(blob_key)
            s.execute(_DELETE_ORIGINAL, {"p_sha256": sha256})
        return True

    def unreferenced(self, now: datetime, limit: int = 100) -> list[str]:
        """Originals no asset references and no upload pins (deleted assets' bytes, or
        uploads that crashed between storing bytes and creating the asset)."""
        with self.sessions() as s:
            return list(s.scalars(_UNREFERENCED, {"p_now": now, "p_limit": limit}))

    # --- internals ----------------------------------------------------------------------
    def _get(self, s: Session, project: str, asset_id: str) -> AssetRecord | None:
        row = s.execute(_GET, {"p_asset": asset_id, "p_project": project}).first()
        return None if row is None else self._records(s, [row])[0]

    @staticmethod
    def _records(s: Session, rows: Sequence[Row]) -> tuple[AssetRecord, ...]:
        """Records of asset rows, with their derivatives, signals, user tags and steps
        (four queries, however many rows)."""
        if not rows:
            return ()
        params = {"p_assets": [r.id for r in rows]}
        derivatives: defaultdict[str, list[DerivativeRecord]] = defaultdict(list)
        for d in s.execute(_DERIVATIVES_OF, params):
            derivatives[d.asset_id].append(DerivativeRecord(*d[1:]))
        signals: defaultdict[str, dict[str, SignalRecord]] = defaultdict(dict)
        for g in s.execute(_SIGNALS_OF, params):
            signals[g.asset_id][g.name] = SignalRecord(g.producer, g.version, g.value)
        tags: defaultdict[str, list[str]] = defaultdict(list)
        for t in s.execute(_USER_TAGS_OF, params):
            tags[t.asset_id].append(t.tag)
        steps: defaultdict[str, list[StepRecord]] = defaultdict(list)
        for r in s.execute(_STEPS_OF, params):
            steps[r.asset_id].append(StepRecord(r.step, r.version, StepState(r.state), r.attempts,
                                                r.error_code, r.error, r.duration_ms, r.started_at,
                                                r.progress))
        return tuple(
            AssetRecord(
                id=r.id, kind=r.kind, mime=r.mime, filename=r.filename, size_bytes=r.size_bytes,
                sha256=r.sha256, width=r.width, height=r.height, status=AssetStatus(r.status),
                error=r.error, meta=r.meta or {}, created_at=r.created_at, updated_at=r.updated_at,
                blob_key=r.blob_key, derivatives=tuple(derivatives[r.id]), signals=signals[r.id],
                steps=tuple(steps[r.id]),
                metadata=UserMetadata(r.title, r.alt_text, tuple(sorted(tags[r.id])), r.fields or {}),
                metadata_version=r.metadata_version, metadata_updated_at=r.metadata_updated_at,
            )
            for r in rows
        )
