from __future__ import annotations

import random
import time
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from vitrina.access.keys import create_key
from vitrina.api.app import create_app
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.projects import DEFAULT_PROJECT, ProjectRow
from vitrina.testing import make_runtime

B = "team-b"
BLOCKS, ITEMS, USERS = 3, 10, 10
T0 = time.time() - 30 * 86_400


@pytest.fixture
def blocks(tmp_path, database_url):
    """30 users in 3 blocks of 10 items (b0-i9 has expired), each clicking 6 items of
    its own block (the last one new to the user) and buying the first, logged through
    the API of the default project; project B is empty. Yields the open client, the
    settings, the runtime, both projects' admin headers, the events and each user's
    purchase."""
    settings = make_settings(tmp_path, database_url, dev=False,
                             signing={"keys": {"k1": "a-long-random-signing-secret"}})
    rt = make_runtime(settings)
    with transaction(rt.sessions) as s:
        s.add(ProjectRow(id=B, name="Team B", quotas={}))
    as_a = {"Authorization": f"Bearer {create_key(rt.sessions, 'a', ['admin'], DEFAULT_PROJECT)}"}
    as_b = {"Authorization": f"Bearer {create_key(rt.sessions, 'b', ['admin'], B)}"}
    app = create_app(settings, start_workers=False, runtime=rt)
    rng = random.Random(7)
    with TestClient(app) as client:
        topics = ("espresso and coffee beans", "marathon running shoes", "planets and rockets")
        items = [{"id": f"b{b}-i{i}", "type": "article", "title": f"{topics[b]}, part {i}"}
                 for b in range(BLOCKS) for i in range(ITEMS)]
        items[ITEMS - 1]["active_until"] = T0  # b0-i9 has expired
        assert client.post("/v1/items", json=items, headers=as_a).status_code == 200
        events, purchased = [], {}
        for b in range(BLOCKS):
            for u in range(USERS):
                user = f"u{b}-{u}"
                chosen = rng.sample(range(ITEMS), 6)  # the last one is new to the user
                for n, i in enumerate(chosen):
                    events.append({"unit_id": user, "item_id": f"b{b}-i{i}", "event": "click",
                                   "timestamp": T0 + 3600 * (u + n * USERS) + b})
                purchased[user] = f"b{b}-i{chosen[0]}"
                events.append({"unit_id": user, "item_id": purchased[user], "event": "purchase",
                               "timestamp": T0 + 3600 * (u + 4 * USERS) + b + 1})
        r = client.post("/v1/events", json={"events": events}, headers=as_a)
        assert r.status_code == 201, r.text
        yield SimpleNamespace(client=client, settings=settings, runtime=rt, as_a=as_a, as_b=as_b,
                              events=events, purchased=purchased, t0=T0)
    rt.close()
