"""Pages as HTML: one Jinja environment (autoescaped), and :func:`render`, which gives
every template what the layout needs (the caller, the CSRF token, the navigation, the
static URLs) and keeps pages out of other sites' frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from vitrina.access.keys import DEV_PRINCIPAL
from vitrina.api.deps import PRINCIPAL_SCOPE_KEY
from vitrina.ui.auth import ANONYMOUS, CSRF_COOKIE, csrf_token, session_of
from vitrina.ui.context import ui_of
from vitrina.ui.static import Manifest

DIR = Path(__file__).resolve().parent / "templates"
#: scripts only from this origin; images and media from it and as data: URIs
#: (placeholders) and blob: URLs (hls.js feeds the player through MediaSource)
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str


#: the navigation bar, in order; a new page adds itself here
NAV: list[NavItem] = [NavItem("Library", "/")]


def environment(manifest: Manifest) -> Environment:
    env = Environment(loader=FileSystemLoader(DIR), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["static"] = manifest.url
    env.globals["nav"] = NAV
    env.filters["size"] = human_size
    return env


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` with ``context`` and the layout's values, as an HTML answer."""
    ui = ui_of(request)
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY, ANONYMOUS)
    values = {"request": request, "principal": principal, "signed_in": session_of(request) is not None,
              "dev": principal is DEV_PRINCIPAL, "csrf_token": csrf_token(request),
              "can_write": principal.allows("write"), "path": request.url.path, **context}
    body = ui.templates.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status, headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin", "Cache-Control": "no-store"})
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="lax", secure=is_https(request))
    return response


def is_https(request: Request) -> bool:
    """Whether the browser reached us over https (directly, or as the public URL says)."""
    public = ui_of(request).runtime.settings.public_base_url
    return request.url.scheme == "https" or public.startswith("https://")


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
