"""The SDK's discovery calls against a real server: items and events in, a trained and
promoted model out, served lists sent back as impressions and clicks that carry what
they were served with."""

from __future__ import annotations

import time

import pytest

from vitrina.client import BadRequestError, NotFoundError
from vitrina.recs.artefacts import ModelStore
from vitrina.recs.serving import RecsService
from vitrina.recs.training import read_interactions, train
from vitrina.storage.catalog.experiments import EventRow
from vitrina.storage.catalog.projects import DEFAULT_PROJECT

T0 = time.time() - 86_400


def test_items_events_recommendations_and_feedback(server, client) -> None:
    items = [{"id": f"g{g}-{i}", "type": "product", "title": f"group {g} item {i}"}
             for g in range(2) for i in range(6)]
    assert (client.put_items(items).new, client.put_items(items).unchanged) == (12, 12)
    events = [{"id": f"e{u}-{n}", "unit_id": f"u{g}-{u}", "item_id": f"g{g}-{(u + n) % 6}",
               "event": "click", "timestamp": T0 + 60 * n + u}
              for g in range(2) for u in range(6) for n in range(4)]
    logged = client.log_events(events)
    # ids repeat across the groups: only group 0's events are stored
    assert (logged.accepted, logged.duplicates) == (24, 24)
    assert client.log_events(events[:5]).duplicates == 5  # a retry stores nothing twice

    rt = server.runtime
    RecsService.of(rt).reload_seconds = 0.0  # see a promotion at once
    with pytest.raises(NotFoundError):
        client.recommendations("u0-0")
    store = ModelStore(rt.store)
    done = train(rt.registries, store, DEFAULT_PROJECT, read_interactions(rt.sessions, DEFAULT_PROJECT),
                 ["item-knn"], split="leave-last-out")
    store.promote(DEFAULT_PROJECT, done.manifest.model)

    recs = client.recommendations("u0-1", k=2)  # the two group-0 items it has not clicked
    assert (recs.model, recs.version, recs.variant, recs.fallback) == ("item-knn", 1, None, None)
    assert [i.position for i in recs.items] == [0, 1]
    assert {i.item_id for i in recs.items} == {"g0-0", "g0-5"}
    assert all(i.propensity == 1.0 for i in recs.items) and recs.request_id

    shown = recs.impressions(timestamp=time.time())
    clicked = recs.event(recs.items[1].item_id, "click")
    assert client.log_events([*shown, clicked]).accepted == 3
    with rt.sessions() as s:
        rows = s.query(EventRow).filter(EventRow.request_id == recs.request_id).order_by(EventRow.seq).all()
    assert [(r.event, r.item_id, r.position, r.model, r.propensity) for r in rows] == [
        *[("impression", i.item_id, i.position, "item-knn", 1.0) for i in recs.items],
        ("click", recs.items[1].item_id, 1, "item-knn", 1.0)]

    similar = client.similar_items("g0-2", k=4)
    assert similar.user == "g0-2" and len(similar.items) == 4
    assert "g0-2" not in [i.item_id for i in similar.items]
    with pytest.raises(NotFoundError):
        client.similar_items("g1-0")  # never interacted with: not in the model
    with pytest.raises(BadRequestError):
        client.recommendations("u0-1", k=0)
