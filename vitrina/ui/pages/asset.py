"""An asset's page: the picture with what the analysers found drawn on it, its
derivatives, tags, duplicates and look-alikes, a transformation builder with a live
preview and the signed URL and srcset to copy; for a video, the HLS player with its
storyboard; for anything still processing, its progress until it is ready."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from vitrina.access.keys import Principal
from vitrina.assets.records import AssetRecord
from vitrina.assets.states import AssetStatus
from vitrina.collections.service import CollectionService
from vitrina.delivery.ops import FORMATS, GRAVITY_MODES, MODES
from vitrina.search.duplicates import find_duplicates
from vitrina.ui.auth import allowed, csrf_checked, viewer
from vitrina.ui.context import ui_of
from vitrina.ui.pages.library import MAX_COLLECTIONS
from vitrina.ui.routing import page_router
from vitrina.ui.templates import render
from vitrina.ui.urls import PREVIEW, Urls
from vitrina.ui.views import card, signals, thumbnail

router = page_router()
#: look-alikes shown on the page
SIMILAR = 8
GRAVITIES = ("auto", "face", "center", "north", "south", "east", "west",
             "north_east", "north_west", "south_east", "south_west")
#: the builder's starting point: a 600 px wide crop around what matters
BUILDER_DEFAULTS = {"w": "600", "h": "400", "c": "fill", "g": "auto", "f": "", "q": ""}


@router.get("/assets/{asset_id}")
def asset_page(asset_id: str, request: Request, principal: Annotated[Principal, Depends(viewer)]) -> Response:
    rt = ui_of(request).runtime
    project = principal.project_id
    asset = rt.assets.get(project, asset_id)
    urls = Urls.of(rt, project)
    values: dict[str, Any] = {"asset": asset, "card": card(asset, urls), "urls": urls,
                              "drawn": signals(asset), "model_tags": model_tags(asset)}
    if asset.kind == "image":
        report = find_duplicates(rt.assets, project, asset.id)
        dupes = {a.id: a for a in rt.assets.get_many(project, [d.asset_id for d in report.duplicates])}
        similar = rt.search.similar(project, asset.id, by="image", limit=SIMILAR)
        values.update(
            preview=urls.image(asset.id, PREVIEW), srcset=urls.srcset(asset.id, PREVIEW),
            duplicates=[(d, card(dupes[d.asset_id], urls)) for d in report.duplicates if d.asset_id in dupes],
            hashed=report.hashed, similar=[(n, card(n.asset, urls)) for n in similar.similar],
            embedded=similar.embedded, builder=transform_values(request, asset, urls, BUILDER_DEFAULTS))
    elif asset.kind == "video" and asset.status == AssetStatus.READY:
        values.update(video=video_files(asset, urls))
    collections = CollectionService.of(rt).list(project, limit=MAX_COLLECTIONS).items
    return render(request, "asset.html", collections=collections, modes=MODES, gravities=GRAVITIES,
                  formats=FORMATS, **values)


@router.get("/ui/assets/{asset_id}/progress")
def asset_progress(asset_id: str, request: Request, principal: Annotated[Principal, Depends(viewer)]) -> Response:
    """The steps' progress; once the asset is ready the page reloads to show it."""
    rt = ui_of(request).runtime
    asset = rt.assets.get(principal.project_id, asset_id)
    shown = card(asset, Urls.of(rt, principal.project_id))
    response = render(request, "fragments/progress.html", card=shown)
    if shown.settled:
        response.headers["HX-Refresh"] = "true"
    return response


@router.get("/ui/assets/{asset_id}/transform")
def transform(asset_id: str, request: Request, principal: Annotated[Principal, Depends(viewer)],
              w: str = Query("", max_length=6), h: str = Query("", max_length=6),
              c: str = Query("", max_length=10), g: str = Query("", max_length=12),
              f: str = Query("", max_length=5), q: str = Query("", max_length=3)) -> Response:
    """The builder's result: a preview, the signed URL and a srcset (400 naming a bad value)."""
    rt = ui_of(request).runtime
    asset = rt.assets.get(principal.project_id, asset_id)
    values = transform_values(request, asset, Urls.of(rt, principal.project_id),
                              {"w": w, "h": h, "c": c, "g": g, "f": f, "q": q})
    return render(request, "fragments/transform.html", builder=values)


def transform_values(request: Request, asset: AssetRecord, urls: Urls, fields: dict[str, str]) -> dict[str, Any]:
    """The builder's fields as ops (``w_600,h_400,c_fill``), and the URLs they make."""
    fields = {k: v.strip() for k, v in fields.items()}
    if fields["c"] not in GRAVITY_MODES:
        fields["g"] = ""  # only cropping modes place the picture
    path = urls.image(asset.id, ",".join(f"{k}_{v}" for k, v in fields.items() if v) or "-")
    ops = path.split("/")[3]  # canonical: parsed on signing, a bad value is a 400 naming it
    base = ui_of(request).runtime.settings.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    srcset = ", ".join(f"{base}{item}" for item in urls.srcset(asset.id, ops).split(", "))
    return {"fields": fields, "ops": ops, "path": path, "url": base + path, "srcset": srcset}


def video_files(asset: AssetRecord, urls: Urls) -> dict[str, str | None]:
    """Signed URLs of the video's playlist, its poster and its storyboard map (which
    names the sprite sheet beside it)."""
    board = asset.signals.get("storyboard")
    vtt = board.value.get("vtt") if board is not None else None
    return {"master": urls.video(asset.id, "hls/master.m3u8"), "poster": thumbnail(asset, urls, PREVIEW),
            "storyboard": urls.video(asset.id, vtt) if isinstance(vtt, str) else None}


def model_tags(asset: AssetRecord) -> list[str]:
    found = asset.signals.get("imagenet")
    tags = found.value.get("tags", []) if found is not None else []
    return [t["label"] for t in tags if isinstance(t, dict) and isinstance(t.get("label"), str)]


@router.get("/ui/assets/{asset_id}/files/{name}")
def download(asset_id: str, name: str, request: Request,
             principal: Annotated[Principal, Depends(viewer)]) -> Response:
    """A derivative by name (``320.webp``), or the original (``original``), for the
    session: the REST route's bytes without an API key in the browser."""
    assets = ui_of(request).runtime.assets
    found = (assets.original(principal.project_id, asset_id) if name == "original"
             else assets.derivative(principal.project_id, asset_id, name))
    return StreamingResponse(assets.open(found), media_type=found.mime, headers={
        "Content-Length": str(found.size_bytes), "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.post("/ui/assets/{asset_id}/collections", dependencies=[Depends(csrf_checked)])
async def add_to_collection(asset_id: str, request: Request,
                            principal: Annotated[Principal, Depends(allowed("write"))],
                            collection: Annotated[str, Form(pattern="^[0-9a-f]{32}$")]) -> Response:
    service = CollectionService.of(ui_of(request).runtime)
    await run_in_threadpool(service.add, principal.project_id, collection, asset_id)
    return RedirectResponse(f"/assets/{asset_id}", status_code=303)


@router.post("/ui/assets/{asset_id}/tags", dependencies=[Depends(csrf_checked)])
async def edit_tags(asset_id: str, request: Request, principal: Annotated[Principal, Depends(allowed("write"))],
                    tags: Annotated[str, Form(max_length=4000)] = "") -> Response:
    """Replace the user's tags (comma separated), checked as the REST PATCH checks them."""
    assets = ui_of(request).runtime.assets
    wanted = [t.strip() for t in tags.split(",") if t.strip()]
    await run_in_threadpool(assets.update_metadata, principal.project_id, asset_id, {"tags": wanted})
    return RedirectResponse(f"/assets/{asset_id}", status_code=303)
