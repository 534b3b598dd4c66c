"""Backfill engines: where a backfill's batches are computed.

An engine is a plug-in (``registries.engines``) with a ``name`` and one method::

    run(fn, tasks, options) -> iterator of fn(task), in the order they finish

``fn`` is a module-level function and tasks and results are picklable values (never
live objects: a worker builds what it needs from the settings inside the task). An
engine keeps a bounded number of tasks in flight, so ``tasks`` may be a lazy iterator
over a catalog of any size; closing the iterator it returns cancels what has not
started and releases the workers. An exception raised by ``fn`` ends the run with
that exception (a backfill's ``fn`` reports per-asset failures in its result instead).

Built-ins: ``local`` (a pool of ``processes`` Python processes on this machine) and
``ray`` (Ray tasks: ``ray.init()`` on this machine, or the cluster at ``address``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol, TypeVar, runtime_checkable

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class EngineOptions:
    """How wide to run: ``processes`` workers (None: the machine's CPU count), and for
    engines that connect somewhere, the ``address`` (None: start one on this machine)."""

    processes: int | None = None
    address: str | None = None

    def width(self) -> int:
        return max(1, self.processes or os.cpu_count() or 1)


@runtime_checkable
class BackfillEngine(Protocol):
    name: str

    def run(self, fn: Callable[[T], R], tasks: Iterable[T], options: EngineOptions) -> Iterator[R]:
        """``fn(task)`` for every task, computed elsewhere; results as they finish."""
        ...


class LocalEngine:
    """A pool of fresh Python processes (``spawn``: no state forked from the driver,
    whose catalog connections and threads must not be shared). Like any spawn pool, a
    script that runs it needs an ``if __name__ == "__main__":`` guard. Workers end
    when the driver does, even when it is killed."""

    name = "local"

    def run(self, fn: Callable[[T], R], tasks: Iterable[T], options: EngineOptions) -> Iterator[R]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

        width = options.width()
        pool = ProcessPoolExecutor(max_workers=width, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_exit_with_parent, initargs=(os.getpid(),))
        pending: set[Future] = set()
        it = iter(tasks)
        try:
            pending.update(pool.submit(fn, t) for t in islice(it, 2 * width))
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                pending.update(pool.submit(fn, t) for t in islice(it, len(finished)))
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def _exit_with_parent(parent: int) -> None:
    """In each pool worker: end the process once the driver is gone (a SIGKILLed
    driver leaves its workers blocked on a queue nobody writes to any more)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


class RayEngine:
    """Ray tasks, one CPU each. Uses the Ray instance this process already started
    (tests, notebooks); else ``ray.init(address)`` for the run and shuts it down after.
    Workers import vitrina from their own environment and reach the catalog and the
    blob store through the settings in each task (a cluster needs PostgreSQL and a
    shared store: a SQLite file or a local directory is only seen on this machine)."""

    name = "ray"

    def run(self, fn: Callable[[T], R], tasks: Iterable[T], options: EngineOptions) -> Iterator[R]:
        from vitrina.errors import Unavailable

        try:
            import ray
        except ImportError:
            raise Unavailable("Ray is not installed here: install the ml/batch extras (`make`), or use "
                              "--engine local", code="engine_unavailable") from None
        started = not ray.is_initialized()
        if started:
            _reachable(options.address)
            try:
                ray.init(**ray_init_options(options))
            except Exception as exc:  # noqa: BLE001 - ray raises many kinds; the user needs one message
                where = f"the Ray cluster at {options.address!r}" if options.address else "a local Ray instance"
                raise Unavailable(f"cannot start or reach {where}: {type(exc).__name__}: {exc}"[:500]
                                  + " (check --address: ray://host:10001 or auto; or use --engine local)",
                                  code="engine_unavailable") from None
        try:
            width = max(1, int(ray.available_resources().get("CPU", 0)) or options.width())
            remote = ray.remote(num_cpus=1, max_retries=0)(fn)
            it = iter(tasks)
            pending = [remote.remote(t) for t in islice(it, 2 * width)]
            try:
                while pending:
                    finished, pending = ray.wait(pending, num_returns=1)
                    pending += [remote.remote(t) for t in islice(it, len(finished))]
                    for ref in finished:
                        yield ray.get(ref)
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
        finally:
            if started:
                ray.shutdown()


def _reachable(address: str | None) -> None:
    """Refuse at once an ``host:port`` (or ``ray://host:port``) nothing listens on: Ray
    itself retries such an address for minutes."""
    import socket

    from vitrina.errors import Unavailable

    if not address or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise Unavailable(f"--address {address!r} is not host:port, ray://host:port or auto",
                          code="engine_unavailable")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise Unavailable(f"nothing answers at {address} ({exc.strerror or exc}): is the Ray cluster up? "
                          "(or use --engine local)", code="engine_unavailable") from None


def ray_init_options(options: EngineOptions) -> dict[str, Any]:
    """``ray.init`` keywords: a local instance of ``processes`` CPUs without the
    dashboard, or the cluster at ``address``; workers get this process's PYTHONPATH
    (plug-in modules named in the settings must import there too)."""
    env = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    kwargs: dict[str, Any] = {"log_to_driver": False, "runtime_env": {"env_vars": env} if env else None}
    if options.address:
        kwargs["address"] = options.address
    else:
        kwargs.update(num_cpus=options.width(), include_dashboard=False)
    return {k: v for k, v in kwargs.items() if v is not None}


def builtin_engines() -> list[BackfillEngine]:
    return [LocalEngine(), RayEngine()]
