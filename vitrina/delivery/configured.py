"""Delivery objects built from the settings: the URL signer and the limits."""

from __future__ import annotations

from typing import Any

from vitrina.config import Settings
from vitrina.delivery.limits import DeliveryLimits
from vitrina.delivery.signing import Signer


def signer_from(settings: Settings) -> Signer:
    """Signs with ``signing_key_id`` (default: the first key); accepts every listed key;
    unsigned URLs only in development mode. A malformed key is a ConfigError."""
    return Signer(
        settings.signing.keys,
        settings.current_key_id or None,
        presets=settings.delivery.presets,
        allow_unsigned=settings.dev,
    )


def project_signer(settings: Settings, key_id: str, secret: str) -> Signer:
    """Signs with one project's key (its newest); the settings give the presets."""
    return Signer({key_id: secret}, key_id, presets=settings.delivery.presets)


def signer_for_project(settings: Settings, projects: Any, project: str) -> Signer | None:
    """The signer of a project's URLs: the settings' keys for the default project, else
    the project's newest key; None when it has none yet."""
    from vitrina.errors import NotFound
    from vitrina.storage.catalog.projects import DEFAULT_PROJECT

    if project == DEFAULT_PROJECT:
        return signer_from(settings)
    try:
        key = projects.current_signing_key(project)
    except NotFound:
        return None
    return project_signer(settings, key.id, key.secret)


def limits_from(settings: Settings) -> DeliveryLimits:
    return DeliveryLimits(
        max_width=settings.delivery.max_width,
        max_height=settings.delivery.max_height,
        max_output_pixels=settings.delivery.max_output_pixels,
        max_source_pixels=settings.ingest.max_pixels,
        max_overlays=settings.delivery.max_overlays,
        max_dpr=settings.delivery.max_dpr,
        max_blur=settings.delivery.max_blur,
        max_render_seconds=settings.delivery.render_seconds,
    )
