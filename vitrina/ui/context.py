"""What every UI route reaches through ``request.app.state.ui``: the runtime, the
sessions, the static files and the templates."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from jinja2 import Environment

from vitrina.runtime import Runtime
from vitrina.ui.sessions import SessionService
from vitrina.ui.static import Manifest


@dataclass(frozen=True)
class Ui:
    runtime: Runtime
    sessions: SessionService
    manifest: Manifest
    templates: Environment

    @property
    def dev(self) -> bool:
        return self.runtime.settings.dev


def ui_of(request: Request) -> Ui:
    return request.app.state.ui
