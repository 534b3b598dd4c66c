"""``video.progress`` events from the progress video steps report, thinned out so
receivers are not flooded: at most one event per asset every
``webhooks.progress_every_seconds``, and only when the reporting step went at least
``webhooks.progress_step`` further since its last event. The memory of what was sent
is this process's (a bounded map): workers in several processes thin out separately."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from vitrina.config import WebhookSettings
from vitrina.storage.catalog.db import transaction
from vitrina.storage.catalog.models import Asset
from vitrina.webhooks.outbox import subscribers, write_event

log = logging.getLogger("vitrina.webhooks")
#: assets remembered at once; the oldest is forgotten first
REMEMBERED = 4096
EVENT = "video.progress"


class ProgressThrottle:
    """Which progress reports become events (pure bookkeeping, thread-safe)."""

    def __init__(self, every_seconds: float, step: float) -> None:
        self.every_seconds, self.step = every_seconds, step
        self._last: OrderedDict[str, tuple[float, dict[str, float]]] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, asset_id: str, step: str, fraction: float, now: float) -> bool:
        with self._lock:
            at, sent = self._last.get(asset_id, (float("-inf"), {}))
            grown = fraction - sent.get(step, 0.0) >= self.step - 1e-9 or (fraction >= 1.0 > sent.get(step, 0.0))
            if not grown or now - at < self.every_seconds:
                return False
            self._last[asset_id] = (now, {**sent, step: fraction})
            self._last.move_to_end(asset_id)
            while len(self._last) > REMEMBERED:
                self._last.popitem(last=False)
            return True


class ProgressEvents:
    def __init__(self, sessions: sessionmaker[Session], settings: WebhookSettings) -> None:
        self.sessions = sessions
        self.throttle = ProgressThrottle(settings.progress_every_seconds, settings.progress_step)

    def reported(self, asset_id: str, step: str, fraction: float) -> bool:
        """A step of ``asset_id`` reported ``fraction`` done; True when that became an
        event. Never raises: progress news must not disturb the step it is about."""
        try:
            if not self.throttle.admit(asset_id, step, fraction, time.monotonic()):
                return False
            with transaction(self.sessions) as s:
                return self._write(s, asset_id, step, fraction)
        except Exception:  # logged; the step goes on
            log.exception("video.progress event for %s not written", asset_id)
            return False

    @staticmethod
    def _write(s: Session, asset_id: str, step: str, fraction: float) -> bool:
        row = s.execute(select(Asset.project_id, Asset.kind).where(Asset.id == asset_id)).first()
        if row is None or row.kind != "video":
            return False
        targets = subscribers(s, row.project_id, EVENT)
        data = {"asset_id": asset_id, "kind": row.kind, "step": step, "progress": round(fraction, 4)}
        return bool(write_event(s, row.project_id, EVENT, data, targets))
