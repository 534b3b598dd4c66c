"""The UI's pages, one module each; :data:`ROUTERS` is what :func:`vitrina.ui.install`
serves. A new page: a module with a ``router = page_router()``, listed here, and a
:class:`~vitrina.ui.templates.NavItem` in ``NAV`` if the navigation bar should show it."""

from vitrina.ui.pages import (
    asset,
    creatives,
    experiments,
    library,
    login,
    recommendations,
    usage,
    webhooks,
)

ROUTERS = (login.router, library.router, asset.router, experiments.router, recommendations.router,
           creatives.router, usage.router, webhooks.router)
