"""The statements on the asset tables, built once at import with bound parameters
(``p_*``): building and keying a statement, and the ORM's per-row bookkeeping, cost
more Python than the database spends running it. :mod:`vitrina.assets.repository`
runs them."""

from __future__ import annotations

from itertools import product

from sqlalchemy import Select, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from vitrina.assets.metadata import USER_TAGS
from vitrina.kinds.image.inputs import TEXT_STEP
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
RECORDS = select(_a.id, _a.kind, _a.mime, _a.filename, _a.size_bytes, _a.sha256, _a.width,
                  _a.height, _a.status, _a.error, _a.meta, _a.created_at, _a.updated_at,
                  _o.blob_key, _a.title, _a.alt_text, _a.fields, _a.metadata_version,
                  _a.metadata_updated_at).join_from(ASSETS, ORIGINALS)
GET = RECORDS.where(_a.id == bindparam("p_asset"), _a.project_id == bindparam("p_project"))


def _page_query(status: bool, kind: bool, mime: bool, collection: bool, tag: bool, after: bool) -> Select:
    query = RECORDS.where(_a.project_id == bindparam("p_project"))
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
PAGES = {flags: _page_query(*flags) for flags in product((False, True), repeat=6)}
_RANKED = (select(_m.collection_id, _m.asset_id,
                  func.row_number().over(partition_by=_m.collection_id, order_by=_m.asset_id.desc()).label("rank"))
           .join_from(MEMBERS, ASSETS, _a.id == _m.asset_id)
           .where(_a.project_id == bindparam("p_project"),
                  _m.collection_id.in_(bindparam("p_collections", expanding=True)))
           .subquery())
#: the first page of each of several collections in one statement: each one's newest
#: ``p_limit`` members, as :data:`PAGES` orders one collection's
FIRST_MEMBERS = (select(_RANKED.c.collection_id, _RANKED.c.asset_id)
                 .where(_RANKED.c.rank <= bindparam("p_limit"))
                 .order_by(_RANKED.c.collection_id, _RANKED.c.asset_id.desc()))
DERIVATIVES_OF = (
    select(_d.asset_id, _d.width, _d.height, _d.format, _d.mime, _d.size_bytes, _d.blob_key, _d.version)
    .where(_d.asset_id.in_(bindparam("p_assets", expanding=True)))
    .order_by(_d.asset_id, _d.width, _d.format)
)
SIGNALS_OF = (select(_s.asset_id, _s.name, _s.producer, _s.version, _s.value)
               .where(_s.asset_id.in_(bindparam("p_assets", expanding=True)))
               .order_by(_s.asset_id, _s.name))
STEPS_OF = (select(_r.asset_id, _r.step, _r.version, _r.state, _r.attempts, _r.error_code, _r.error,
                    _r.duration_ms, _r.started_at, _r.progress)
             .where(_r.asset_id.in_(bindparam("p_assets", expanding=True)))
             .order_by(_r.id))
USER_TAGS_OF = select(_t.asset_id, _t.tag).where(_t.asset_id.in_(bindparam("p_assets", expanding=True)),
                                                   _t.source == USER_TAGS)  # sorted in Python: one order on both catalogs

# --- user metadata ----------------------------------------------------------------------
LOCK_ASSET = (select(_a.title, _a.alt_text, _a.fields)
               .where(_a.id == bindparam("p_asset"), _a.project_id == bindparam("p_project"))
               .with_for_update())
TAGS_OF_ONE = select(_t.tag).where(_t.asset_id == bindparam("p_asset"), _t.source == USER_TAGS)
SET_METADATA = (update(ASSETS).where(_a.id == bindparam("p_asset"))
                 .values(title=bindparam("p_title"), alt_text=bindparam("p_alt_text"),
                         fields=bindparam("p_fields"), metadata_version=_a.metadata_version + 1,
                         metadata_updated_at=bindparam("p_now"), updated_at=bindparam("p_now")))
DROP_USER_TAGS = delete(TAGS).where(_t.asset_id == bindparam("p_asset"), _t.source == USER_TAGS)
ADD_TAG = insert(TAGS)

# --- pipeline and delivery --------------------------------------------------------------
SNAPSHOT = (select(_a.id, _a.project_id, _a.kind, _a.mime, _a.sha256, _o.blob_key, _a.width, _a.height, _a.meta,
                    _a.title, _a.alt_text, _a.metadata_version)
             .join_from(ASSETS, ORIGINALS).where(_a.id == bindparam("p_asset")))
SNAPSHOT_SIGNALS = select(_s.name, _s.producer, _s.version, _s.value).where(_s.asset_id == bindparam("p_asset"))
SNAPSHOT_DERIVATIVES = (
    select(_d.width, _d.height, _d.format, _d.mime, _d.size_bytes, _d.blob_key, _d.version)
    .where(_d.asset_id == bindparam("p_asset")).order_by(_d.id)
)
SOURCE = (select(_a.project_id, _a.kind, _a.mime, _a.sha256, _o.blob_key, _a.width, _a.height, _a.meta)
           .join_from(ASSETS, ORIGINALS).where(_a.id == bindparam("p_asset")))
FOCUS = select(_s.producer, _s.version, _s.value).where(_s.asset_id == bindparam("p_asset"),
                                                         _s.name == FOCUS_SIGNAL)
RENDITIONS = (select(_d.width, _d.height, _d.blob_key)
               .where(_d.asset_id == bindparam("p_asset"), _d.format == "jpeg").order_by(_d.width))

# --- ingest ---------------------------------------------------------------------------
ASSET_OF = select(_a.id).where(_a.project_id == bindparam("p_project"), _a.sha256 == bindparam("p_sha256"))
IDEMPOTENCY = select(_k.sha256, _k.asset_id).where(_k.project_id == bindparam("p_project"),
                                                    _k.key == bindparam("p_key"))
ADD_ASSET, ADD_IDEMPOTENCY = insert(ASSETS), insert(IDEMPOTENCY_KEYS)
PIN_VALUES = {"sha256": bindparam("p_sha256"), "size_bytes": bindparam("p_size"),
               "mime": bindparam("p_mime"), "blob_key": bindparam("p_blob_key"),
               "created_at": bindparam("p_now"), "pinned_until": bindparam("p_until")}
#: insert the original's row, or pin the existing one (the dialects spell upserts alike)
PIN = {name: dialect.insert(ORIGINALS).values(PIN_VALUES).on_conflict_do_update(
            index_elements=["sha256"], set_={"pinned_until": bindparam("p_until")})
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}
UNPIN = (update(ORIGINALS).where(_o.sha256 == bindparam("p_sha256"),
                                  _o.pinned_until == bindparam("p_until")).values(pinned_until=None))

# --- delete and collect -----------------------------------------------------------------
# derivatives, signals, step runs, tags and idempotency keys go with the asset (ON DELETE CASCADE)
DELETE_ASSET = delete(ASSETS).where(_a.id == bindparam("p_asset"), _a.project_id == bindparam("p_project"))
UNPINNED = or_(_o.pinned_until.is_(None), _o.pinned_until < bindparam("p_now"))
REFERENCED = select(_a.id).where(_a.sha256 == _o.sha256).exists()
LOCK_ORIGINAL = (select(_o.blob_key).where(_o.sha256 == bindparam("p_sha256"), UNPINNED)
                  .with_for_update())
REFERENCES = select(_a.id).where(_a.sha256 == bindparam("p_sha256")).limit(1)
DELETE_ORIGINAL = delete(ORIGINALS).where(_o.sha256 == bindparam("p_sha256"))
UNREFERENCED = (select(_o.sha256).where(UNPINNED, ~REFERENCED).order_by(_o.sha256)
                 .limit(bindparam("p_limit")))
