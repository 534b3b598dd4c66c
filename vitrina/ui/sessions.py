"""The web UI's sessions (decision 040): opened once with an API key, kept server-side
in the catalog so that every server process sees them.

The browser holds a random token in a cookie; the catalog holds only its sha256, the
key the session acts as, a CSRF token and an expiry. A session acts as its key at each
request: a revoked key (or a deleted one) ends every session it opened, and a change of
its scopes shows at the next page.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from vitrina.access.keys import Principal, verify_key
from vitrina.errors import Forbidden, Unauthorized
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import ApiKey, Base, utcnow

#: how long a session lasts from its login: a working day
LIFETIME = timedelta(hours=12)
#: what a session token looks like on the wire (token_urlsafe(32)); anything else is no session
TOKEN_LENGTH = 43
#: what an API key can look like (printable ASCII), checked before any query
_API_KEY = re.compile(r"^[\x21-\x7e]{1,512}$")


class UiSessionRow(Base):
    __tablename__ = "ui_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE", name="fk_ui_sessions_key"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class UiSession:
    """A live session: who it acts as and the token its forms must echo."""

    principal: Principal
    csrf_token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    def __init__(self, sessions: sessionmaker[Session], lifetime: timedelta = LIFETIME) -> None:
        self.sessions, self.lifetime = sessions, lifetime

    def login(self, api_key: str) -> tuple[str, UiSession]:
        """A new session acting as ``api_key`` (401 for an unknown or revoked key, 403 for
        a key that cannot read its project's data); returns the cookie's token, its only copy."""
        if not _API_KEY.match(api_key):
            raise Unauthorized("malformed API key: expected vk_<id>_<secret>")
        principal = verify_key(self.sessions, api_key)
        if not principal.allows("read"):
            raise Forbidden("this API key cannot read its project's assets: sign in with a key "
                            "that has the 'read' scope", details={"needed": "read"})
        token, now = secrets.token_urlsafe(32), datetime.now(UTC)
        row = UiSessionRow(token_sha256=_digest(token), key_id=principal.key_id,
                           csrf_token=secrets.token_urlsafe(32), created_at=now,
                           expires_at=now + self.lifetime)
        with transaction(self.sessions) as s:
            s.execute(delete(UiSessionRow).where(UiSessionRow.expires_at <= now))  # keep the table small
            s.add(row)
        return token, UiSession(principal, row.csrf_token, row.expires_at)

    def find(self, token: str) -> UiSession | None:
        """The live session ``token`` opened, or None (unknown, expired, its key revoked)."""
        if len(token) != TOKEN_LENGTH:
            return None
        # the key's row is read here rather than through access.keys: one query per page
        # answers both "is the session live" and "what may its key do now"
        query = (select(UiSessionRow, ApiKey).join(ApiKey, ApiKey.id == UiSessionRow.key_id)
                 .where(UiSessionRow.token_sha256 == _digest(token),
                        UiSessionRow.expires_at > datetime.now(UTC), ApiKey.revoked_at.is_(None)))
        with self.sessions() as s:
            found = s.execute(query).first()
        if found is None:
            return None
        row, key = found
        principal = Principal(key.id, key.name, frozenset(key.scopes.split(",")), key.project_id)
        return UiSession(principal, row.csrf_token, row.expires_at)

    def logout(self, token: str) -> None:
        """End the session ``token`` opened; an unknown one changes nothing."""
        with transaction(self.sessions) as s:
            s.execute(delete(UiSessionRow).where(UiSessionRow.token_sha256 == _digest(token)))
