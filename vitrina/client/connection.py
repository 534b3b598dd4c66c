"""The client's connection: the HTTP session, typed errors for failed calls and
unreadable answers, and the server's health."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Self, TypeVar

import httpx

from vitrina import __version__
from vitrina.client.errors import ProtocolError, VitrinaConnectionError, error_from_response
from vitrina.client.images import ImageURLs
from vitrina.client.models import Health

T = TypeVar("T")


class Connection:
    """A Vitrina server at ``base_url``; ``api_key`` (``vk_...``) is needed outside development mode.

    ``transport`` is handed to httpx (e.g. ``httpx.MockTransport`` in tests, or one with
    retries). Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None,
                 signing_keys: Mapping[str, str] | None = None, signing_key_id: str | None = None,
                 image_presets: Mapping[str, str] | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        #: signed /img URLs (see :meth:`image_url`); keys as the server's VITRINA_SIGNING__KEYS
        self.images = ImageURLs(self.base_url, signing_keys, signing_key_id, image_presets)
        self.timeout = timeout
        headers = {"User-Agent": f"vitrina-python/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # no redirects: following one to another host would hand it the API key
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout,
                                  transport=transport, follow_redirects=False)

    # --- operations -----------------------------------------------------------------------
    def health(self) -> Health:
        """``/readyz``: whether the server's catalog and blob store answer."""
        with self._network("GET /readyz"):
            response = self._http.get("/readyz")
        if response.status_code not in (200, 503):
            raise error_from_response(response)
        ok = response.status_code == 200
        return self._parse(lambda d: Health(ok=ok and d.get("status") == "ok",
                                            checks=dict(d.get("checks") or {})), response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self._network(f"{method} {path}"):
            response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response

    @contextmanager
    def _stream(self, method: str, path: str, headers: Mapping[str, str]) -> Iterator[httpx.Response]:
        with self._network(f"{method} {path}"), self._http.stream(method, path, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response)
            yield response

    @contextmanager
    def _network(self, what: str) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            raise VitrinaConnectionError(
                f"{what}: no answer from {self.base_url} within {self.timeout:g}s; check that the "
                "server is up and not overloaded, or pass a larger timeout= to Client"
            ) from exc
        except httpx.TransportError as exc:
            raise VitrinaConnectionError(
                f"{what}: cannot talk to Vitrina at {self.base_url} ({type(exc).__name__}: {exc}); "
                "check base_url, that the server is running, and that the network lets you reach it"
            ) from exc

    def _parse(self, build: Callable[[Any], T], response: httpx.Response) -> T:
        try:
            return build(response.json())
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProtocolError(
                f"{response.request.method} {response.request.url} answered {response.status_code} "
                f"with a body this SDK cannot read ({type(exc).__name__}: {exc}); is base_url a "
                "Vitrina server of a compatible version?"
            ) from exc
