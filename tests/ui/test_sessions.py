"""The UI's session store on SQLite and PostgreSQL: only a hash of the token is kept,
a session acts as its key until it expires, the key is revoked or it is ended."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from vitrina.access.keys import create_key, revoke_key
from vitrina.errors import Forbidden, Unauthorized
from vitrina.storage.catalog.db import transaction
from vitrina.ui.sessions import SessionService, UiSessionRow


def test_a_session_acts_as_its_key_and_stores_only_a_hash(runtime):
    key = create_key(runtime.sessions, "designer", ["write"])
    service = SessionService(runtime.sessions)
    token, opened = service.login(key)

    with runtime.sessions() as s:
        rows = s.scalars(select(UiSessionRow)).all()
    assert [r.token_sha256 for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    found = service.find(token)
    assert found == opened
    assert (found.principal.name, found.principal.project_id, sorted(found.principal.scopes)) == \
        ("designer", "default", ["write"])
    assert found.csrf_token != token and len(found.csrf_token) == 43

    assert service.find(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    service.logout(token)
    assert service.find(token) is None


def test_expired_sessions_and_revoked_keys_end(runtime):
    key = create_key(runtime.sessions, "pm", ["read"])
    expired = SessionService(runtime.sessions, lifetime=timedelta(seconds=-1))
    token, _ = expired.login(key)
    assert expired.find(token) is None

    live = SessionService(runtime.sessions)
    token, _ = live.login(key)  # the expired row is swept by this login
    with transaction(runtime.sessions) as s:
        assert len(s.scalars(select(UiSessionRow)).all()) == 1
    revoke_key(runtime.sessions, key.split("_")[1])
    assert live.find(token) is None


def test_unknown_or_malformed_keys_open_nothing(runtime):
    for key in ["", "vk_nope", "vk_0123456789abcdef_" + "x" * 43, "vk_\x00_x", "é" * 10]:
        with pytest.raises(Unauthorized):
            SessionService(runtime.sessions).login(key)
    with runtime.sessions() as s:
        assert s.scalars(select(UiSessionRow)).all() == []


def test_a_key_that_cannot_read_opens_nothing(runtime):
    org_only = create_key(runtime.sessions, "org admin", ["org"])
    with pytest.raises(Forbidden) as refused:
        SessionService(runtime.sessions).login(org_only)
    assert refused.value.details == {"needed": "read"}
