"""Brand kits, templates and campaigns as versioned documents in the catalog (decision 034).

A document is validated by its kind's parser before anything is written. Sent again
unchanged, it keeps its version; changed, it becomes the next version, and earlier
versions stay readable, so a creative can always name exactly what made it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from vitrina.errors import Conflict, InvalidInput, NotFound
from vitrina.storage.catalog.creative import DOCUMENT_KINDS, CreativeDocumentRow
from vitrina.storage.catalog.db import transaction

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: the largest document accepted: a brand kit carries its logo (2 MiB at most) as base64
MAX_DOCUMENT_BYTES = 3 * 1024 * 1024


@dataclass(frozen=True)
class DocumentRecord:
    kind: str
    id: str
    version: int
    document: dict[str, Any]
    sha256: str
    created_at: datetime


def _record(row: CreativeDocumentRow) -> DocumentRecord:
    return DocumentRecord(row.kind, row.document_id, row.version, row.document, row.sha256,
                          row.created_at)


def _canonical(document: dict[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8; ``ValueError`` for NaN or infinity (not JSON)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def canonical_sha256(document: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(document)).hexdigest()


def parser_for(kind: str, document_id: str) -> Callable[[dict[str, Any]], Any]:
    """The kind's own validation of a document stored as ``document_id``: the id and
    version are the store's, never the body's."""
    from vitrina.creative.brand import BrandKit
    from vitrina.creative.campaigns import parse as campaign
    from vitrina.creative.template import Template

    parse = {"brand_kit": BrandKit.from_dict, "template": Template.from_dict, "campaign": campaign}[kind]
    return lambda document: parse({**document, "id": document_id, "version": 1})


def check_id(kind: str, document_id: str) -> None:
    if kind not in DOCUMENT_KINDS:
        raise InvalidInput(f"a document is a {' or a '.join(DOCUMENT_KINDS)}", details={"kind": kind})
    if not isinstance(document_id, str) or _ID.fullmatch(document_id) is None:
        raise InvalidInput(f"a {kind} id is 1-128 letters, digits, '.', '_' or '-'",
                           code="invalid_document_id", details={"id": repr(document_id)[:100]})


class DocumentService:
    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions

    def put(self, project: str, kind: str, document_id: str, document: Any,
            parse: Callable[[dict[str, Any]], Any]) -> tuple[DocumentRecord, bool]:
        """Store ``document`` (after ``parse`` accepted it) as ``document_id``'s next
        version, unless it equals the latest: (the record, whether it is new)."""
        check_id(kind, document_id)
        if not isinstance(document, dict):
            raise InvalidInput(f"a {kind} is a JSON object", code=f"invalid_{kind}")
        try:
            text = _canonical(document)
        except ValueError as exc:  # NaN or infinity: not JSON
            raise InvalidInput(f"a {kind} must be plain JSON: {exc}", code=f"invalid_{kind}") from None
        if len(text) > MAX_DOCUMENT_BYTES:
            raise InvalidInput(f"a {kind} is at most {MAX_DOCUMENT_BYTES} bytes of JSON",
                               code="payload_too_large", status=413)
        parse(document)
        sha = hashlib.sha256(text).hexdigest()
        try:
            with transaction(self.sessions) as s:
                latest = s.execute(
                    select(CreativeDocumentRow).where(
                        CreativeDocumentRow.project_id == project, CreativeDocumentRow.kind == kind,
                        CreativeDocumentRow.document_id == document_id)
                    .order_by(CreativeDocumentRow.version.desc()).limit(1)).scalar_one_or_none()
                if latest is not None and latest.sha256 == sha:
                    return _record(latest), False
                row = CreativeDocumentRow(project_id=project, kind=kind, document_id=document_id,
                                          version=(latest.version if latest else 0) + 1,
                                          document=document, sha256=sha)
                s.add(row)
                s.flush()
                return _record(row), True
        except IntegrityError:
            raise Conflict(f"{kind} {document_id!r} was changed at the same time; send it again",
                           code="document_changed") from None

    def get(self, project: str, kind: str, document_id: str, version: int | None = None) -> DocumentRecord:
        check_id(kind, document_id)
        query = select(CreativeDocumentRow).where(
            CreativeDocumentRow.project_id == project, CreativeDocumentRow.kind == kind,
            CreativeDocumentRow.document_id == document_id)
        if version is not None:
            query = query.where(CreativeDocumentRow.version == version)
        with self.sessions() as s:
            row = s.execute(query.order_by(CreativeDocumentRow.version.desc()).limit(1)).scalar_one_or_none()
        if row is None:
            what = f"{kind} {document_id!r}" + (f" version {version}" if version is not None else "")
            raise NotFound(f"no {what} in this project", details={"id": document_id[:128]})
        return _record(row)

    def list(self, project: str, kind: str) -> list[DocumentRecord]:
        """The latest version of each of the project's documents of ``kind``, by id."""
        check_id(kind, "x")
        latest = (select(CreativeDocumentRow.document_id,
                         func.max(CreativeDocumentRow.version).label("version"))
                  .where(CreativeDocumentRow.project_id == project, CreativeDocumentRow.kind == kind)
                  .group_by(CreativeDocumentRow.document_id).subquery())
        query = (select(CreativeDocumentRow)
                 .join(latest, (CreativeDocumentRow.document_id == latest.c.document_id)
                       & (CreativeDocumentRow.version == latest.c.version))
                 .where(CreativeDocumentRow.project_id == project, CreativeDocumentRow.kind == kind)
                 .order_by(CreativeDocumentRow.document_id))
        with self.sessions() as s:
            return [_record(r) for r in s.scalars(query)]
