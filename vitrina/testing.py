"""A runtime with chosen plug-ins, for tests and for people who extend Vitrina.

    from vitrina.testing import make_runtime, process_all

    rt = make_runtime(settings, analysers=[MyAnalyser()])   # built-ins plus yours
    asset = rt.ingestor.ingest_file(path)
    process_all(rt)

Nothing here touches module state: each runtime has its own registries, so tests can
run side by side with different plug-ins.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from vitrina import builtins
from vitrina.analysis.base import Analyser
from vitrina.config import Settings
from vitrina.kinds import MediaKind
from vitrina.pipeline.steps import Step
from vitrina.plugins import Registries
from vitrina.runtime import Runtime
from vitrina.storage.blobs import StoreKind
from vitrina.storage.catalog.db import upgrade


def make_registries(
    *,
    kinds: Iterable[MediaKind] = (),
    steps: Iterable[Step] = (),
    replace_steps: Iterable[Step] = (),
    analysers: Iterable[Analyser] = (),
    stores: Iterable[StoreKind] = (),
    with_builtins: bool = True,
    settings: Settings | None = None,
) -> Registries:
    """Registries holding the built-ins (unless ``with_builtins`` is False) and the
    given plug-ins; ``replace_steps`` replace registered steps of the same kind and name.
    With ``settings``, the built-ins include the model analysers ``analysis.models``
    switches on."""
    registries = Registries()
    if with_builtins:
        builtins.register(registries, settings)
    for kind in kinds:
        registries.add_kind(kind)
    for step in steps:
        registries.steps.add(step)
    for step in replace_steps:
        registries.steps.add(step, replace=True)
    for analyser in analysers:
        registries.analysers.add(analyser)
    for store in stores:
        registries.stores.add(store)
    return registries


def make_runtime(settings: Settings, *, migrate: bool = True, **plugins: Iterable) -> Runtime:
    """A runtime over ``settings`` with the plug-ins of :func:`make_registries` (the
    model analysers its ``analysis.models`` switches on among the built-ins); its
    catalog is brought to the current schema unless ``migrate`` is False."""
    runtime = Runtime(settings, make_registries(settings=settings, **plugins))
    if migrate:
        upgrade(runtime.engine)
    return runtime


def process_all(runtime: Runtime) -> int:
    """Run pipeline steps in this process until nothing is claimable; the count run."""
    from vitrina.pipeline.worker import Worker

    return Worker(runtime).run_until_idle()


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yields its base
    URL and stops it on exit (for tests that need a real HTTP peer, e.g. a tus client)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the OS picks a free port: no race with parallel tests
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
