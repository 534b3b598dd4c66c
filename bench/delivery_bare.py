"""The ceiling for uncached image delivery: one pyvips call per request, nothing else.

    GET /fit/{name}        pyvips.Image.thumbnail(path, 400, height=300) -> JPEG
    GET /attention/{name}  the same with crop="attention" (libvips' smart crop)
    GET /healthz           200, for start-up checks

``{name}`` is a file in the directory named by ``BENCH_BARE_SOURCES``. No framework,
no cache of its own, no limits: what is left is uvicorn and the libvips work that any
uncached server has to do for these URLs. bench/delivery.py runs it as

    BENCH_BARE_SOURCES=DIR python -m uvicorn --app-dir bench --factory \\
        delivery_bare:create_app --host 127.0.0.1 --port PORT --workers 2
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyvips

WIDTH, HEIGHT = 400, 300
CROPS = {"fit": None, "attention": "attention"}
THREADS = 2  # renders in flight per process: enough to overlap I/O, few enough not to thrash

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def render(path: str, crop: str | None) -> bytes:
    """The pyvips call a delivery server makes for a plain fit or a smart crop to 400x300."""
    if crop is None:
        image = pyvips.Image.thumbnail(path, WIDTH, height=HEIGHT)
    else:
        image = pyvips.Image.thumbnail(path, WIDTH, height=HEIGHT, crop=crop)
    return image.jpegsave_buffer()


def create_app() -> App:
    root = Path(os.environ["BENCH_BARE_SOURCES"]).resolve()
    sources = {p.name: str(p) for p in root.iterdir() if p.is_file()}
    # libvips releases the GIL: a small pool lets a process overlap the requests it holds
    pool = ThreadPoolExecutor(THREADS)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        parts = scope["path"].strip("/").split("/")
        if parts == ["healthz"]:
            await _answer(send, 200, b"ok", b"text/plain")
        elif len(parts) != 2 or parts[0] not in CROPS or parts[1] not in sources:
            await _answer(send, 404, b"not found", b"text/plain")
        else:
            loop = asyncio.get_running_loop()
            body = await loop.run_in_executor(pool, render, sources[parts[1]], CROPS[parts[0]])
            await _answer(send, 200, body, b"image/jpeg")

    return app


async def _answer(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
