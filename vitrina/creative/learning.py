"""The creative events of each project, read forward from the event log (decision 036,
"Serving"): per creative and context code, [impressions, clicks, conversions], each
answer's event counted once. Serving refits its policies from these counts."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from vitrina.creative.selection import Outcomes
from vitrina.storage.catalog.experiments import EventRow

#: the ``model`` field of every event of a served creative
MODEL = "creative"
OUTCOMES = {"click": 1, "purchase": 2}  # index into the [impressions, clicks, conversions] counts
#: events read per query when catching up with the log
READ_BATCH = 50_000
#: request ids remembered per project to count a repeated event once
SEEN = 200_000
#: each read goes back to where the log ended this long ago: a transaction that got a
#: lower seq but committed after a higher one was read is still found (a re-read event
#: is a repeat, counted once)
LATE_SECONDS = 10.0


@dataclass
class ProjectLog:
    """One project's counts per (creative, context code): [impressions, clicks, conversions]."""

    seq: int = 0
    counts: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    #: (monotonic time, seq) at the end of each read: where to start re-reading
    marks: list[tuple[float, int]] = field(default_factory=list)
    seen: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, event: str, variant: str, request_id: str) -> None:
        key = (request_id, event)
        if key in self.seen:  # a repeated event of the same answer counts once
            return
        self.seen[key] = None
        if len(self.seen) > SEEN:
            self.seen.popitem(last=False)
        code = request_id.partition(".")[2]
        row = self.counts.setdefault(variant, {}).setdefault(code, [0, 0, 0])
        row[0 if event == "impression" else OUTCOMES[event]] += 1

    def outcomes(self, creative_ids: Sequence[str], names: Sequence[str],
                 decode: Callable[[str], dict[str, str] | None] | None) -> Outcomes | None:
        """The creatives' counts as rows named by ``names`` (a creative's grid variant),
        with each row's context from ``decode`` (its code; None: logged under another
        context space) if the policy is contextual; clicks and conversions beyond a
        row's impressions (logged before it) wait for them."""
        rows = []
        with self.lock:
            for creative_id, name in zip(creative_ids, names, strict=True):
                for code, (n, c, k) in self.counts.get(creative_id, {}).items():
                    context = None
                    if decode is not None:
                        context = decode(code)
                        if context is None:
                            continue  # logged under another context space
                    rows.append((name, n, min(c, n), min(k, n), context))
        if not rows:
            return None
        v, n, c, k, ctx = zip(*rows, strict=True)
        return Outcomes(tuple(v), np.array(n), np.array(c), np.array(k),
                        tuple(ctx) if decode is not None else None)


class EventLog:
    """Every project's :class:`ProjectLog`, caught up on demand (off the request path)."""

    def __init__(self, sessions: Any) -> None:
        self.sessions = sessions
        self.projects: dict[str, ProjectLog] = {}
        self._lock = threading.Lock()

    def catch_up(self, project: str) -> ProjectLog:
        with self._lock:
            state = self.projects.setdefault(project, ProjectLog())
        with state.lock:
            now = time.monotonic()
            old = [seq for at, seq in state.marks if at <= now - LATE_SECONDS]
            start = old[-1] if old else state.marks[0][1] if state.marks else 0
            state.marks = [m for m in state.marks if m[0] > now - LATE_SECONDS] or state.marks[-1:]
            if old:  # the newest mark past the window stays as the next start
                state.marks.insert(0, (now - LATE_SECONDS, old[-1]))
            while True:
                query = (select(EventRow.seq, EventRow.event, EventRow.variant,
                                EventRow.request_id)
                         .where(EventRow.seq > start, EventRow.project_id == project,
                                EventRow.model == MODEL,
                                EventRow.event.in_(("impression", *OUTCOMES)),
                                EventRow.variant.is_not(None), EventRow.request_id.is_not(None))
                         .order_by(EventRow.seq).limit(READ_BATCH))
                with self.sessions() as s:
                    rows = s.execute(query).all()
                for seq, event, variant, request_id in rows:
                    state.add(event, variant, request_id)
                    start, state.seq = seq, max(state.seq, seq)
                if len(rows) < READ_BATCH:
                    state.marks.append((now, state.seq))
                    return state
