"""The library: the project's assets as a grid, filtered (kind, status, collection, tag),
searched (words, a colour, an example asset), and uploaded into by drag and drop."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import Principal
from vitrina.assets.records import AssetRecord
from vitrina.assets.states import AssetStatus
from vitrina.collections.service import CollectionService, collection_changes
from vitrina.errors import InvalidText
from vitrina.search.query import MAX_QUERY, parse_query
from vitrina.ui.auth import allowed, csrf_checked, viewer
from vitrina.ui.context import ui_of
from vitrina.ui.routing import is_htmx, page_router
from vitrina.ui.templates import render
from vitrina.ui.urls import Urls
from vitrina.ui.views import card

router = page_router()
#: tiles per page of the grid
PAGE = 48
#: collections offered in the filter and on asset pages
MAX_COLLECTIONS = 200
KINDS = ("image", "video")
ID = "^[0-9a-f]{32}$"


@router.get("/")
def library(
    request: Request,
    principal: Annotated[Principal, Depends(viewer)],
    q: str | None = Query(None, max_length=MAX_QUERY),
    color: str | None = Query(None, max_length=7),
    kind: str | None = Query(None, pattern=f"^({'|'.join(KINDS)})?$"),
    status: str | None = Query(None, pattern=f"^({'|'.join(AssetStatus)})?$"),
    collection: str | None = Query(None, pattern=f"^({ID[1:-1]})?$"),
    tag: str | None = Query(None, max_length=200),
    similar: str | None = Query(None, pattern=ID),
    cursor: str | None = Query(None, max_length=200),
) -> Response:
    """The grid; a search (words or colour) ranks, otherwise newest first. An htmx request
    (the filters changing) gets the results alone."""
    for value in (q, tag):
        if value is not None and "\x00" in value:  # no catalog stores a NUL: refused as the API refuses it
            raise InvalidText("search words and tags cannot hold a NUL character")
    rt = ui_of(request).runtime
    project = principal.project_id
    filters = {"q": q or None, "color": color or None, "kind": kind or None, "status": status or None,
               "collection": collection or None, "tag": (tag or "").strip() or None}
    example: AssetRecord | None = None
    notice = None
    if similar:
        found = rt.search.similar(project, similar, by="image", limit=PAGE)
        example = rt.assets.get(project, similar)
        items, next_cursor = [n.asset for n in found.similar], None
        if not found.embedded:
            notice = "This asset has no image embedding yet, so nothing could be compared."
    elif filters["q"] or filters["color"]:
        page = rt.search.search(project, parse_query(
            q=filters["q"], color=filters["color"], kind=filters["kind"], tag=filters["tag"],
            collection=filters["collection"], limit=PAGE, cursor=cursor))
        items, next_cursor = [h.asset for h in page.items], page.next_cursor
        if filters["status"]:  # search has no status filter: kept here, so a page may be shorter
            items = [a for a in items if a.status == filters["status"]]
    else:
        page = rt.assets.list(project, status=AssetStatus(filters["status"]) if filters["status"] else None,
                              kind=filters["kind"], collection=filters["collection"], tag=filters["tag"],
                              limit=PAGE, cursor=cursor)
        items, next_cursor = list(page.items), page.next_cursor
    urls = Urls.of(rt, project)
    more = None if next_cursor is None else "/?" + urlencode(
        {k: v for k, v in {**filters, "cursor": next_cursor}.items() if v})
    values = {"cards": [card(a, urls) for a in items], "more": more, "filters": filters,
              "example": None if example is None else card(example, urls), "notice": notice}
    if is_htmx(request) and request.headers.get("hx-target") == "results":
        return render(request, "fragments/results.html", **values)
    collections = CollectionService.of(rt).list(project, limit=MAX_COLLECTIONS).items
    return render(request, "library.html", kinds=KINDS, statuses=[s.value for s in AssetStatus],
                  collection_options=[(c.id, f"{c.name} ({c.asset_count})") for c in collections], **values)


@router.get("/ui/assets/{asset_id}/card")
def asset_card(asset_id: str, request: Request, principal: Annotated[Principal, Depends(viewer)]) -> Response:
    """One tile; while its asset is processed the tile asks again every second."""
    rt = ui_of(request).runtime
    asset = rt.assets.get(principal.project_id, asset_id)
    return render(request, "fragments/card.html", card=card(asset, Urls.of(rt, principal.project_id)))


@router.post("/ui/collections", dependencies=[Depends(csrf_checked)])
async def create_collection(request: Request, principal: Annotated[Principal, Depends(allowed("write"))],
                            name: Annotated[str, Form(max_length=128)],
                            description: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """A new collection; back to the library filtered by it."""
    values = collection_changes({"name": name, "description": description.strip() or None}, creating=True)
    service = CollectionService.of(ui_of(request).runtime)
    created = await run_in_threadpool(service.create, principal.project_id, values["name"] or "",
                                      values.get("description"))
    return RedirectResponse(f"/?collection={created.id}", status_code=303)
