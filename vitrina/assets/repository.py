"""Reads and writes of the asset tables (assets, originals, derivatives, signals, tags,
idempotency keys), each a short transaction running the prepared statements of
:mod:`vitrina.assets.statements`. Reads return the frozen records of
:mod:`vitrina.assets.records`, never live rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from vitrina.assets import statements as q
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
from vitrina.assets.statements import ASSETS, TEXT_READERS
from vitrina.assets.states import AssetStatus, StepState
from vitrina.pipeline.queue import requeue
from vitrina.storage.catalog.db import transaction


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
        statement = q.PAGES[tuple(v is not None for v in filters.values())]
        params = {k: v for k, v in filters.items() if v is not None} | {
            "p_limit": limit + 1, "p_project": project}
        with self.sessions() as s:
            rows = s.execute(statement, params).all()
            more = len(rows) > limit
            items = self._records(s, rows[:limit])
        return AssetPage(items, encode_cursor(items[-1].id) if more else None)

    def first_pages(self, project: str, collections: Sequence[str], limit: int) -> dict[str, AssetPage]:
        """The first page of each of the project's ``collections`` (as :meth:`page` with
        ``collection`` gives it), in six statements however many collections."""
        if not collections:
            return {}
        with self.sessions() as s:
            rows = s.execute(q.FIRST_MEMBERS, {"p_project": project, "p_collections": list(collections),
                                               "p_limit": limit + 1}).all()
        members: dict[str, list[str]] = defaultdict(list)
        for row in rows:
            members[row.collection_id].append(row.asset_id)
        records = {r.id: r for r in self.get_many(project, list(dict.fromkeys(row.asset_id for row in rows)))}
        pages = {}
        for collection in collections:
            items = tuple(records[i] for i in members[collection][:limit] if i in records)
            more = len(members[collection]) > limit
            pages[collection] = AssetPage(items, encode_cursor(items[-1].id) if more and items else None)
        return pages

    def get_many(self, project: str, asset_ids: Sequence[str]) -> tuple[AssetRecord, ...]:
        """The project's assets among these ids, in the order given (unknown or other
        projects' ids are left out); five queries however many (search's result pages)."""
        if not asset_ids:
            return ()
        query = q.RECORDS.where(ASSETS.c.project_id == bindparam("p_project"),
                               ASSETS.c.id.in_(bindparam("p_ids", expanding=True)))
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
            row = s.execute(q.LOCK_ASSET, params).first()
            if row is None:
                return None
            tags = tuple(sorted(s.scalars(q.TAGS_OF_ONE, params)))
            before = UserMetadata(row.title, row.alt_text, tags, row.fields or {})
            after = change(before)
            after = UserMetadata(after.title, after.alt_text, tuple(sorted(after.tags)), after.fields or {})
            if after != before:
                s.execute(q.SET_METADATA, {"p_asset": asset_id, "p_title": after.title,
                                          "p_alt_text": after.alt_text, "p_fields": dict(after.fields or {}),
                                          "p_now": now})
                if after.tags != before.tags:
                    s.execute(q.DROP_USER_TAGS, params)
                    if after.tags:
                        s.execute(q.ADD_TAG, [{"asset_id": asset_id, "tag": t, "source": USER_TAGS}
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
        row = session.execute(q.SNAPSHOT, {"p_asset": asset_id}).first()
        if row is None:
            return None
        params = {"p_asset": asset_id}
        derivatives = session.execute(q.SNAPSHOT_DERIVATIVES, params).all()
        tags = tuple(sorted(session.scalars(q.TAGS_OF_ONE, params)))
        signals = {g.name: SignalRecord(g.producer, g.version, g.value) for g in session.execute(q.SNAPSHOT_SIGNALS, params)}
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
            row = s.execute(q.SOURCE, params).first()
            if row is None:
                return None
            focus = s.execute(q.FOCUS, params).first()
            renditions = s.execute(q.RENDITIONS, params).all()
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
            return s.scalar(q.ASSET_OF, {"p_project": project, "p_sha256": sha256})

    def idempotency(self, project: str, key: str) -> IdempotencyRecord | None:
        with self.sessions() as s:
            row = s.execute(q.IDEMPOTENCY, {"p_project": project, "p_key": key}).first()
        return None if row is None else IdempotencyRecord(row.sha256, row.asset_id)

    def record_idempotency(self, project: str, key: str, sha256: str, asset_id: str) -> bool:
        """Remember that ``key`` gave ``asset_id``; False when the key was recorded
        already (by a concurrent retry of the same request)."""
        try:
            with transaction(self.sessions) as s:
                s.execute(q.ADD_IDEMPOTENCY, {"project_id": project, "key": key, "sha256": sha256,
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
            s.execute(q.PIN[s.get_bind().dialect.name], {
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
        session.execute(q.ADD_ASSET, {
            "id": asset_id, "project_id": project, "sha256": sha256, "kind": kind, "mime": mime,
            "filename": filename, "size_bytes": size_bytes, "status": AssetStatus.PENDING.value,
            "error": None, "width": width, "height": height, "meta": dict(meta or {}),
        })
        if idempotency_key is not None:
            session.execute(q.ADD_IDEMPOTENCY, {"project_id": project, "key": idempotency_key,
                                               "sha256": sha256, "asset_id": asset_id})
        session.execute(q.UNPIN, {"p_sha256": sha256, "p_until": pinned_until})

    # --- delete and collect -------------------------------------------------------------
    def delete(self, project: str, asset_id: str) -> AssetRecord | None:
        """Remove the asset's rows in one transaction; returns the record as it was (its
        derivatives' blob keys are the files to remove), None if there was none. The
        original stays until :meth:`collect` finds nobody referencing it."""
        with transaction(self.sessions) as s:
            record = self._get(s, project, asset_id)
            params = {"p_asset": asset_id, "p_project": project}
            if record is None or not s.execute(q.DELETE_ASSET, params).rowcount:
                return None
        return record

    def collect(self, sha256: str, now: datetime, remove: Callable[[str], None]) -> bool:
        """If no asset of any project references the original and no upload pinned it,
        ``remove(blob_key)`` its bytes and drop its row, in one transaction that holds the
        row meanwhile: an upload of the same bytes waits, then stores them again."""
        with transaction(self.sessions) as s:
            blob_key = s.scalar(q.LOCK_ORIGINAL, {"p_sha256": sha256, "p_now": now})
            # asked after the row is ours: an upload's asset references the row under a
            # key-share lock, so every one that could exist has committed by now
            if blob_key is None or s.scalar(q.REFERENCES, {"p_sha256": sha256}) is not None:
                return False
            remove(blob_key)
            s.execute(q.DELETE_ORIGINAL, {"p_sha256": sha256})
        return True

    def unreferenced(self, now: datetime, limit: int = 100) -> list[str]:
        """Originals no asset references and no upload pins (deleted assets' bytes, or
        uploads that crashed between storing bytes and creating the asset)."""
        with self.sessions() as s:
            return list(s.scalars(q.UNREFERENCED, {"p_now": now, "p_limit": limit}))

    # --- internals ----------------------------------------------------------------------
    def _get(self, s: Session, project: str, asset_id: str) -> AssetRecord | None:
        row = s.execute(q.GET, {"p_asset": asset_id, "p_project": project}).first()
        return None if row is None else self._records(s, [row])[0]

    @staticmethod
    def _records(s: Session, rows: Sequence[Row]) -> tuple[AssetRecord, ...]:
        """Records of asset rows, with their derivatives, signals, user tags and steps
        (four queries, however many rows)."""
        if not rows:
            return ()
        params = {"p_assets": [r.id for r in rows]}
        derivatives: defaultdict[str, list[DerivativeRecord]] = defaultdict(list)
        for d in s.execute(q.DERIVATIVES_OF, params):
            derivatives[d.asset_id].append(DerivativeRecord(*d[1:]))
        signals: defaultdict[str, dict[str, SignalRecord]] = defaultdict(dict)
        for g in s.execute(q.SIGNALS_OF, params):
            signals[g.asset_id][g.name] = SignalRecord(g.producer, g.version, g.value)
        tags: defaultdict[str, list[str]] = defaultdict(list)
        for t in s.execute(q.USER_TAGS_OF, params):
            tags[t.asset_id].append(t.tag)
        steps: defaultdict[str, list[StepRecord]] = defaultdict(list)
        for r in s.execute(q.STEPS_OF, params):
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
