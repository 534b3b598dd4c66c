"""The UI's static files under ``/ui/static/{stem}.{hash}.{ext}``: the hash is the first
12 hex digits of the file's sha256, so a URL names one content forever and is cached
for a year; a changed file gets a new URL.

The files are read once, at start-up (they are small). Only names in the manifest are
served: no path from a request reaches the file system. ``vendor/`` holds the
front-end packages, copied there from npm at install time (``make install``).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request, Response

from vitrina.errors import NotFound

ROOT = Path(__file__).resolve().parent / "static"
PREFIX = "/ui/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".svg": "image/svg+xml", ".png": "image/png", ".woff2": "font/woff2"}


@dataclass(frozen=True)
class StaticFile:
    url: str
    body: bytes
    media_type: str
    etag: str


class Manifest:
    """Every file under ``root``, by its name (``vendor/htmx.min.js``) and by its URL."""

    def __init__(self, root: Path = ROOT) -> None:
        self._by_name: dict[str, StaticFile] = {}
        self._by_url: dict[str, StaticFile] = {}
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            name = path.relative_to(root).as_posix()
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:12]
            stem, dot, ext = name.rpartition(".")
            url = f"{PREFIX}{stem}.{digest}.{ext}" if dot else f"{PREFIX}{name}.{digest}"
            kind = _TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
            entry = StaticFile(url, body, kind, f'"{digest}"')
            self._by_name[name] = self._by_url[url] = entry

    def url(self, name: str) -> str:
        """The versioned URL of ``name``; a missing file is a start-up fault, not a 404
        (``make install`` copies the vendor files)."""
        try:
            return self._by_name[name].url
        except KeyError:
            raise LookupError(f"no static file {name!r} under {ROOT}: run `make install`") from None

    def find(self, url: str) -> StaticFile | None:
        return self._by_url.get(url)


def router(manifest: Manifest) -> APIRouter:
    routes = APIRouter(include_in_schema=False)

    @routes.api_route(PREFIX + "{name:path}", methods=["GET", "HEAD"])
    def static_file(name: str, request: Request) -> Response:
        entry = manifest.find(PREFIX + name)
        if entry is None:
            raise NotFound("no such static file", details={"path": (PREFIX + name)[:200]})
        headers = {"Cache-Control": IMMUTABLE, "ETag": entry.etag, "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match") == entry.etag:
            return Response(status_code=304, headers=headers)
        return Response(entry.body, media_type=entry.media_type, headers=headers)

    return routes
