"""A cap on transformations running at once, with a bounded wait queue.

Past the queue the server answers 503 with ``Retry-After`` at once rather than
piling up work it cannot finish in time (imgproxy's workers and queue caps).

The image service uses it to admit renders only (``max_waiting=0``, ``max_active`` =
threads + queue): the waiting happens in its render pool's own queue, so a thread that
finishes a render starts the next one without waiting for the event loop.
"""

from __future__ import annotations

import asyncio
from collections import deque

from vitrina.errors import Unavailable


class TooBusy(Unavailable):
    """Every transformation slot and queue place is taken: retry shortly."""

    code = "too_busy"
    report = False  # load shedding working as designed, not a fault


class Limiter:
    """``await acquire()`` then ``release()``; waiters are served first come, first served.

    Used from one event loop; ``release`` hands the slot straight to the next waiter.
    """

    def __init__(self, max_active: int, max_waiting: int) -> None:
        if max_active < 1 or max_waiting < 0:
            raise ValueError("max_active must be >= 1 and max_waiting >= 0")
        self.max_active = max_active
        self.max_waiting = max_waiting
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> None:
        if self.active < self.max_active and not self._waiters:
            self.active += 1
            return
        if len(self._waiters) >= self.max_waiting:
            raise TooBusy(
                "The image server is busy; retry shortly.",
                details={"running": self.active, "waiting": len(self._waiters)},
            )
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # release() passes its slot on: ``active`` is already counted
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot arrived as we were cancelled: pass it on
            elif waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.active -= 1
