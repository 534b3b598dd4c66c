"""A video's renditions over GraphQL: its MP4 rungs, audio and HLS master playlist as
the renditions step made them, what REST lists among its derivatives. On SQLite only:
the listing is the asset service's, tested on both catalogs with the GraphQL assets."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.data.hostile.make_hostile_video import clip
from tests.graphql.conftest import gql
from vitrina.api.app import create_app
from vitrina.testing import make_runtime, process_all


def test_a_videos_renditions(tmp_path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'catalog.db'}")
    rt = make_runtime(settings)
    video = rt.ingestor.ingest_file(clip(tmp_path / "clip.mp4", size="320x180", seconds=1.0)).asset_id
    process_all(rt)
    with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
        asset = gql(client, f'{{ asset(id: "{video}") {{ kind status renditions {{ format mime width height path url }} '
                            'derivatives { path } } }')["data"]["asset"]
        rest = client.get(f"/v1/assets/{video}").json()
    rt.close()
    assert (asset["kind"], asset["status"]) == ("video", "READY")
    renditions = {r["path"]: r for r in asset["renditions"]}
    assert {"hls/master.m3u8", "h180w320.mp4"} <= renditions.keys(), renditions
    assert renditions["h180w320.mp4"]["mime"] == "video/mp4"
    assert renditions["h180w320.mp4"]["url"].endswith(f"/v1/assets/{video}/derivatives/320.mp4")
    assert renditions["hls/master.m3u8"]["format"] == "hls"
    # the renditions are REST's derivatives of those formats, and nothing else is left out
    assert sorted(renditions) == sorted(d["path"] for d in rest["derivatives"]
                                        if d["format"] in ("mp4", "m4a", "hls"))
    assert [d["path"] for d in asset["derivatives"]] == [d["path"] for d in rest["derivatives"]]
