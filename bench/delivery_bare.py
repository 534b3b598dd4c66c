"""The ceiling for uncached image delivery: one pyvips call per request, nothing else.

    GET /fit/{name}        pyvips.Image.thumbnail(path, 400, height=300) -> JPEG
    GET /attention/{name}  the same with crop="attention" (libvips smart crop)
    GET /healthz           200, for start-up checks

``{name}`` is a file in the directory named by ``BENCH_BARE_SOURCES``. No routing
framework, no cache, no limits: what is left is uvicorn and the libvips work that
any uncached server has to do for these URLs. Run it as bench/delivery.py does:

    BENCH_BARE_SOURCES=DIR uvicorn --app-dir bench --factory delivery_bare:create_app \
        --host 127.0.0.1 --port 8100 --workers 2
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import os
from pathlib import Path
from typing import Any, Awaitable, Callable

import pyvips

WIDTH, HEIGHT = 400, 300
CROPS = {"fit": None, "attention": "attention"}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def render(path: str, crop: str | None) -> bytes:
    """The same pyvips call the delivery route makes for a plain fit or a smart crop."""
    if crop is None:
        image = pyvips.Image.thumbnail(path, WIDTH, height=HEIGHT)
    else:
        image = pyvips.Image.thumbnail(path, WIDTH, height=HEIGHT, crop=crop)
    return image.jpegsave_buffer()


def create_app() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    # libvips' operation cache would keep the decoded source between requests, which
    # is a result cache in disguise: an uncached ceiling must decode every time.
    pyvips.cache_set_max(0)
    root = Path(os.environ["BENCH_BARE_SOURCES"]).resolve()
    sources = {p.name: str(p) for p in root.iterdir() if p.is_file()}
    pool = ThreadPoolExecutor(int(os.environ.get('BENCH_BARE_THREADS', '2')))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        parts = scope["path"].strip("/").split("/")
        if parts == ["healthz"]:
            await _answer(send, 200, b"ok", b"text/plain")
            return
        if len(parts) != 2 or parts[0] not in CROPS or parts[1] not in sources:
            await _answer(send, 404, b"not found", b"text/plain")
            return
        # libvips releases the GIL, so a thread per request lets one process overlap
        # decode, resize and encode of several requests, as a real server would
        body = await asyncio.get_running_loop().run_in_executor(pool, render, sources[parts[1]], CROPS[parts[0]])
        await _answer(send, 200, body, b"image/jpeg")

    return app


async def _answer(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
