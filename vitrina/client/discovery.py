"""The client's discovery and creative calls: items, events, recommendations and the
creative a placement shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vitrina.client.connection import Connection
from vitrina.client.models import CreativeChoice, Logged, Recommendations, Upserted
from vitrina.client.paths import query, segment


class DiscoveryCalls(Connection):
    """Items, events, recommendations and creatives (see :class:`~vitrina.client.Client`)."""

    def put_items(self, items: Iterable[Mapping[str, Any]]) -> Upserted:
        """Create or update items (``id``, ``type``, ``title``, ``body``, ``attributes``,
        ``asset_ids``, ``active_from``, ``active_until``), up to 1,000 per call; an item sent
        again unchanged changes nothing."""
        return self._parse(Upserted.from_json, self._request("POST", "/v1/items", json=list(items)))

    def log_events(self, events: Iterable[Mapping[str, Any]]) -> Logged:
        """Store interaction events (up to 10,000 per call), all or none; give each an ``id``
        to make retries safe. See :meth:`Recommendations.impressions` for served lists."""
        return self._parse(Logged.from_json, self._request("POST", "/v1/events",
                                                           json={"events": list(events)}))

    def recommendations(self, user: str, *, k: int = 10, surface: str | None = None,
                        exclude_seen: bool = True, diversity: float | None = None,
                        freshness_days: float | None = None) -> Recommendations:
        """The ``k`` best items for ``user``, from the model the ``surface``'s experiment
        assigns (or the promoted one)."""
        params = query(user=user, k=k, surface=surface, exclude_seen=str(exclude_seen).lower(),
                       diversity=diversity, freshness_days=freshness_days)
        return self._parse(Recommendations.from_json,
                           self._request("GET", "/v1/recommendations", params=params))

    def similar_items(self, item_id: str, *, k: int = 10) -> Recommendations:
        """The ``k`` items nearest ``item_id`` by the promoted model."""
        return self._parse(Recommendations.from_json, self._request(
            "GET", f"/v1/items/{segment(item_id)}/similar", params={"k": k}))

    def creative(self, campaign: str, placement: str, *, user: str | None = None,
                 context: Mapping[str, str] | None = None) -> CreativeChoice:
        """The creative to show at ``placement`` of ``campaign``, chosen by the
        placement's policy for this ``context`` (e.g. ``{"device": "mobile"}``); log its
        :meth:`CreativeChoice.impression` and :meth:`CreativeChoice.click` with
        :meth:`log_events`."""
        params = {"user": user} if user is not None else {}
        params |= {f"context.{k}": v for k, v in (context or {}).items()}
        path = f"/v1/creatives/{segment(campaign)}/{segment(placement)}"
        return self._parse(CreativeChoice.from_json, self._request("GET", path, params=params))
