"""The cheap, obvious writes: putting an asset in a collection and taking it out. Each
needs the ``write`` scope, as the REST routes do."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from vitrina.collections.service import CollectionService
from vitrina.graphql.arguments import text
from vitrina.graphql.queries import call, collection_of
from vitrina.graphql.types import Collection


async def _membership(info: Info, collection_id: str, asset_id: str, member: bool) -> Collection:
    info.context.require("write")
    service = CollectionService.of(info.context.runtime)
    change = service.add if member else service.remove
    collection, asset = text(collection_id, "collectionId", 64), text(asset_id, "assetId", 64)
    await call(info, change, collection, asset)
    return collection_of(await call(info, service.get, collection))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Put the asset in the collection (again changes nothing); the collection after.")
    async def add_to_collection(self, info: Info, collection_id: strawberry.ID, asset_id: strawberry.ID) -> Collection:
        return await _membership(info, str(collection_id), str(asset_id), True)

    @strawberry.mutation(description="Take the asset out of the collection (not in it changes nothing).")
    async def remove_from_collection(self, info: Info, collection_id: strawberry.ID,
                                     asset_id: strawberry.ID) -> Collection:
        return await _membership(info, str(collection_id), str(asset_id), False)
