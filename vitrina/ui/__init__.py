"""The self-serve web UI (decision 040): server-rendered pages over the same services
the REST routers call, served by the API's app at ``/``.

Pages are Jinja templates enhanced by htmx; a few small scripts do what HTML cannot
(resumable uploads, the player). Front-end packages come from npm at install time into
``static/vendor/``; nothing is fetched from another site at run time.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from vitrina.runtime import Runtime
from vitrina.ui import static
from vitrina.ui.auth import SessionAuth
from vitrina.ui.context import Ui
from vitrina.ui.sessions import SessionService
from vitrina.ui.templates import environment


def install(app: FastAPI, runtime: Runtime) -> Ui:
    """Serve the UI on ``app``. Call after the API's body limits are added: the UI's
    session middleware must run before them (it names the caller they would ask for)."""
    from vitrina.ui.pages import ROUTERS

    manifest = static.Manifest()
    ui = Ui(runtime, SessionService(runtime.sessions), manifest, environment(manifest))
    app.state.ui = ui
    pages = APIRouter()
    for router in ROUTERS:
        pages.include_router(router)
    app.include_router(static.router(manifest))
    app.include_router(pages)
    app.add_middleware(SessionAuth, ui=ui, routes=pages.routes)
    return ui
