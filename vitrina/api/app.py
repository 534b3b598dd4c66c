"""The app factory: settings in, ASGI app out (nothing happens at import time)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from vitrina import __version__, ui
from vitrina.api import errors, images, limits, openapi
from vitrina.api.graphql import view as graphql
from vitrina.api.metrics import Metrics, MetricsMiddleware
from vitrina.api.routers import (
    assets,
    batch,
    collections,
    creative,
    creative_selection,
    duplicates,
    experiments,
    health,
    items,
    projects,
    recs,
    search,
    uploads,
    usage,
    video,
    webhooks,
)
from vitrina.config import Settings, load_settings
from vitrina.pipeline.worker import WorkerPool
from vitrina.recs.monitoring import MonitorCollector
from vitrina.runtime import Runtime
from vitrina.storage.catalog.db import check_schema, upgrade

log = logging.getLogger("vitrina")

DEV_WARNING = ("DEVELOPMENT MODE: no API keys are needed and unsigned image URLs are allowed. "
               "Never expose this server; unset VITRINA_DEV for production.")


def create_app(settings: Settings, *, start_workers: bool = True, runtime: Runtime | None = None) -> FastAPI:
    """The API over ``runtime`` (by default one built from ``settings`` with the
    built-in plug-ins and those the settings name)."""
    runtime = runtime if runtime is not None else Runtime(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.dev:
            log.warning(DEV_WARNING)
            if runtime.engine.dialect.name == "sqlite":
                upgrade(runtime.engine)  # the embedded catalog keeps itself current in dev
        check_schema(runtime.engine)
        pool = None
        if start_workers and settings.server.inprocess_workers:
            pool = WorkerPool(runtime, settings.server.inprocess_workers)
            pool.start()
            runtime.ingestor.on_new_work = pool.poke
        try:
            yield
        finally:
            if pool is not None:
                pool.shutdown()
            runtime.close()

    app = FastAPI(title="Vitrina", version=__version__, lifespan=lifespan,
                  description="Media platform: ingest, derivatives, signals, delivery.",
                  docs_url=None, redoc_url=None)  # served offline by vitrina.api.openapi
    app.state.runtime = runtime
    app.state.metrics = Metrics(runtime.queue.depth)
    app.state.metrics.registry.register(MonitorCollector(runtime.sessions))  # decision 033
    errors.install(app)
    app.include_router(health.router)
    app.include_router(assets.router)
    app.include_router(duplicates.router)
    app.include_router(search.router)
    app.include_router(collections.router)
    app.include_router(batch.router)
    app.include_router(experiments.router)
    app.include_router(items.router)
    app.include_router(recs.router)
    app.include_router(creative.router)
    app.include_router(creative_selection.router)
    app.include_router(usage.router)
    app.include_router(projects.router)
    app.include_router(uploads.router)
    app.include_router(webhooks.router)
    app.include_router(graphql.router)
    images.install(app, runtime)
    video.install(app, runtime)
    openapi.install(app, models=experiments.DOCUMENTED_MODELS)
    app.add_middleware(limits.BodyLimits, runtime=runtime)
    ui.install(app, runtime)  # the web UI at / (decision 040): its sessions are read before the limits
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def app_from_env() -> images.Dispatcher:
    """For `uvicorn --factory vitrina.api.app:app_from_env` and multi-process serving:
    /img/ paths go straight to the image app, the rest to FastAPI (``.state`` is its)."""
    from threadpoolctl import threadpool_limits

    # one BLAS thread: a server runs requests side by side, and a matrix product spread
    # over every core makes the others wait (recommendations p99 17 ms -> 7 ms on two
    # cores, decision 031)
    threadpool_limits(limits=1, user_api="blas")
    app = create_app(load_settings())
    return images.Dispatcher(app, app.state.images)
