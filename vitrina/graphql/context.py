"""What every resolver of one GraphQL request shares: the caller, the runtime, the
base of the URLs it answers, and the request's loaders (made per request, so nothing
loaded for one caller is ever seen by another).

A request is executed on a worker thread in an event loop of its own
(:func:`vitrina.graphql.schema.execute`), so resolvers call the blocking services
directly: the server's loop is never held by a large query's thousands of fields."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from vitrina.access.keys import Principal
from vitrina.assets.records import AssetPage, AssetRecord
from vitrina.errors import Forbidden
from vitrina.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    principal: Principal
    base_url: str  # no trailing slash
    metrics: Any
    experiments: Any  # the app's one ExperimentService (its assigner cache is shared with REST)
    assets: DataLoader[str, AssetRecord | None] = field(init=False)
    #: (collection id, page size) -> the collection's first page
    first_pages: DataLoader[tuple[str, int], AssetPage] = field(init=False)

    def __post_init__(self) -> None:
        self.assets = DataLoader(load_fn=self._load_assets)
        self.first_pages = DataLoader(load_fn=self._load_first_pages)

    @property
    def project(self) -> str:
        return self.principal.project_id

    def require(self, scope: str) -> None:
        """Refuse a field the caller's key may not use, as REST refuses the route."""
        if not self.principal.allows(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope", details={"needed": scope})

    async def _load_assets(self, ids: Sequence[str]) -> list[AssetRecord | None]:
        """Every asset asked for while the request resolved one level, in one call
        (a fixed number of statements however many ids)."""
        found = self.runtime.assets.get_many(self.project, list(ids))
        by_id = {a.id: a for a in found}
        return [by_id.get(i) for i in ids]

    async def _load_first_pages(self, keys: Sequence[tuple[str, int]]) -> list[AssetPage]:
        """The first pages of every collection listed at one level, one call per page size."""
        by_size: dict[int, list[str]] = defaultdict(list)
        for collection, size in keys:
            by_size[size].append(collection)
        pages = {(collection, size): page for size, collections in by_size.items()
                 for collection, page in self.runtime.assets.first_pages(self.project, collections,
                                                                         limit=size).items()}
        return [pages[key] for key in keys]
