"""Served lists read back from the events table, and what a stored model would have
shown in their place (decision 032).

A served list is its ``impression`` events with one ``request_id``, each with its
``position`` (0-based) and ``propensity``; the reward of a shown item is 1 when a
``click`` with the same request id and item id was logged, else 0. A request whose
positions are not 0..L-1 exactly once, or whose impressions lack a propensity, is
left out and counted in ``dropped``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sqlalchemy import select

from vitrina.recs.data import EVENT_WEIGHTS
from vitrina.recs.serving import HISTORY
from vitrina.storage.catalog.experiments import EventRow

#: users whose histories are read per query (SQL parameter limits)
_CHUNK = 500


@dataclass(frozen=True)
class ServedLists:
    """One entry per kept request (``requests``, ``users``, ``times``), one row per
    shown slot (``slate`` indexes the request)."""

    requests: list[str]
    users: list[str]
    times: np.ndarray
    slate: np.ndarray
    position: np.ndarray
    item: list[str]
    propensity: np.ndarray
    reward: np.ndarray
    #: each request's user's positive events (click, read, ...) logged before it
    activity: np.ndarray
    #: each request's user's positive events before it as (item, weight), oldest first,
    #: among the latest ``HISTORY`` events with an item (what serving reads)
    history: list[list[tuple[str, float]]]
    dropped: int

    @property
    def n_requests(self) -> int:
        return len(self.requests)

    def seen(self, request: int) -> set[str]:
        """Items the request's user had a positive event on before it: never shown."""
        return {item for item, _ in self.history[request]}


def read_served_lists(sessions, project: str, since: float | None = None,
                      until: float | None = None) -> ServedLists:
    """The served lists logged in [since, until) (by their impressions' times)."""
    query = (select(EventRow.request_id, EventRow.unit_id, EventRow.timestamp, EventRow.item_id,
                    EventRow.position, EventRow.propensity)
             .where(EventRow.project_id == project, EventRow.event == "impression",
                    EventRow.request_id.is_not(None), EventRow.item_id.is_not(None))
             .order_by(EventRow.seq))
    clicks_query = (select(EventRow.request_id, EventRow.item_id)
                    .where(EventRow.project_id == project, EventRow.event == "click",
                           EventRow.request_id.is_not(None)))
    if since is not None:
        query = query.where(EventRow.timestamp >= since)
    if until is not None:
        query = query.where(EventRow.timestamp < until)
    with sessions() as s:
        rows = s.execute(query).all()
        clicked = set(s.execute(clicks_query).all())
    by_request: dict[str, list] = defaultdict(list)
    for row in rows:
        by_request[row.request_id].append(row)
    kept, dropped = [], 0
    for request, shown in by_request.items():
        positions = sorted(r.position for r in shown if r.position is not None)
        if positions != list(range(len(shown))) or any(r.propensity is None for r in shown):
            dropped += 1
            continue
        kept.append((request, sorted(shown, key=lambda r: r.position)))
    kept.sort(key=lambda x: (x[1][0].timestamp, x[0]))
    users = [shown[0].unit_id for _, shown in kept]
    times = np.array([shown[0].timestamp for _, shown in kept], dtype=float)
    activity, history = _histories(sessions, project, users, times)
    flat = [(n, r) for n, (_, shown) in enumerate(kept) for r in shown]
    return ServedLists(
        requests=[request for request, _ in kept], users=users, times=times,
        slate=np.array([n for n, _ in flat], dtype=np.int64),
        position=np.array([r.position for _, r in flat], dtype=np.int64),
        item=[r.item_id for _, r in flat],
        propensity=np.array([r.propensity for _, r in flat], dtype=float),
        reward=np.array([float((r.request_id, r.item_id) in clicked) for _, r in flat]),
        activity=activity, history=history, dropped=dropped)


def _histories(sessions, project: str, users: list[str], times: np.ndarray
               ) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
    """Per request: how many positive events its user had before it, and the positive
    ones among the latest ``HISTORY`` events with an item (the window serving reads,
    impressions included) as (item, weight)."""
    events: dict[str, list[tuple[float, str, float]]] = defaultdict(list)
    distinct = sorted(set(users))
    with sessions() as s:
        for start in range(0, len(distinct), _CHUNK):
            part = distinct[start:start + _CHUNK]
            for unit, ts, item, event in s.execute(
                    select(EventRow.unit_id, EventRow.timestamp, EventRow.item_id, EventRow.event)
                    .where(EventRow.project_id == project, EventRow.unit_id.in_(part),
                           EventRow.item_id.is_not(None))
                    .order_by(EventRow.seq)):
                events[unit].append((ts, item, EVENT_WEIGHTS.get(event, 0.0)))
    for evs in events.values():
        evs.sort(key=lambda e: e[0])  # stable: ties keep the logged order
    stamps = {u: [e[0] for e in evs] for u, evs in events.items()}
    positives = {u: np.cumsum([0] + [e[2] > 0 for e in evs]) for u, evs in events.items()}
    activity = np.zeros(len(users))
    history: list[list[tuple[str, float]]] = []
    for n, (user, at) in enumerate(zip(users, times, strict=True)):
        evs = events.get(user, [])
        j = bisect_left(stamps.get(user, []), at)  # the events strictly before the request
        activity[n] = positives[user][j] if evs else 0
        history.append([(item, w) for _, item, w in evs[max(0, j - HISTORY):j] if w > 0])
    return activity, history


def rankings(artefact, lists: ServedLists, k: int, batch: int = 512) -> list[list[str]]:
    """What ``artefact`` would have shown at each request, best first, ``k`` long at
    most: a user it was fitted on is ranked by the model, another with usable
    history by fold-in, anyone else by the saved popularity, as serving does; the
    items the user had a positive event on before the request are left out, as
    serving's ``exclude_seen`` does. Item windows are not applied: the logs do not
    say which items were active then."""
    from vitrina.recs.models.base import top_k

    a, n_items = artefact, len(artefact.item_ids)
    out: list[list[str]] = [[] for _ in range(lists.n_requests)]
    excluded = [sorted({a.item_index[i] for i in lists.seen(n) if i in a.item_index})
                for n in range(lists.n_requests)]

    def mask(rows: list[int]) -> sparse.csr_matrix:
        cols = [excluded[r] for r in rows]
        indptr = np.cumsum([0] + [len(c) for c in cols])
        data = np.concatenate([np.asarray(c, dtype=np.int64) for c in cols]) if rows else []
        return sparse.csr_matrix((np.ones(len(data)), data, indptr), shape=(len(rows), n_items))

    known = [n for n, u in enumerate(lists.users) if u in a.user_index]
    for start in range(0, len(known), batch):
        rows = known[start:start + batch]
        idx, _ = a.model.recommend([a.user_index[lists.users[r]] for r in rows], k,
                                   exclude=mask(rows))
        for r, line in zip(rows, idx, strict=True):
            out[r] = [a.item_ids[int(i)] for i in line if i >= 0]
    for r in (n for n, u in enumerate(lists.users) if u not in a.user_index):
        known = [(a.item_index[i], w) for i, w in lists.history[r] if i in a.item_index]
        if known and a.model.supports_history:
            idx, _ = a.model.recommend_for_history([i for i, _ in known],
                                                   [w for _, w in known], k=k)
            out[r] = [a.item_ids[int(i)] for i in idx if i >= 0]
        else:
            idx, _ = top_k(a.popularity[None, :], k, mask([r]))
            out[r] = [a.item_ids[int(i)] for i in idx[0] if i >= 0]
    return out
