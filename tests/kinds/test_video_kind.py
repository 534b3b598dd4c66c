"""The video kind: registered with the built-ins, ingest through the API on SQLite and
PostgreSQL, limits and hostile files refused before anything is stored."""

from __future__ import annotations

import pytest

from tests.conftest import HOSTILE, VIDEO, make_settings, process_all
from tests.data.hostile.make_hostile_video import clip
from vitrina.errors import UnsupportedMediaType
from vitrina.kinds import kind_of
from vitrina.kinds.image import ImageKind
from vitrina.kinds.video import VideoKind
from vitrina.media.sniff import SNIFF_BYTES


def upload(client, path, name=None):
    return client.post("/v1/assets", files={"file": (name or path.name, path.read_bytes())})


def test_the_video_kind_declares_itself():
    kind = VideoKind()
    assert kind.name == "video" and kind.transformable is False and kind.probe_step == "probe"
    with open(VIDEO / "bikes.mp4", "rb") as f:
        media = kind.sniff(f.read(SNIFF_BYTES))
    assert media is not None and media.mime == "video/mp4"
    assert kind.sniff(b"\xff\xd8\xff\xe0 a jpeg") is None and kind.sniff(b"#EXTM3U\n") is None


def test_without_the_video_kind_a_video_is_recognised_but_not_enabled():
    with open(VIDEO / "bikes.mp4", "rb") as f:
        head = f.read(SNIFF_BYTES)
    with pytest.raises(UnsupportedMediaType) as err:
        kind_of([ImageKind()], head)
    assert "not enabled" in err.value.message and "video/mp4" not in err.value.details["accepted"]
    assert kind_of([ImageKind(), VideoKind()], head)[0].name == "video"


def test_ingest_answers_201_with_the_facts_and_lists_by_kind(client):
    r = upload(client, VIDEO / "bigbuckbunny.mp4")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["kind"], body["mime"], body["width"], body["height"]) == ("video", "video/mp4", 1280, 720)
    meta = body["metadata"]
    assert meta["video_codec"] == "h264" and meta["fps"] == 25.0 and meta["has_audio"] is True
    assert meta["duration"] == pytest.approx(5.3, abs=0.05) and meta["rotation"] == 0 and meta["hdr"] is None
    image = client.post("/v1/assets", files={"file": ("a.png", (VIDEO.parent / "photos" / "coffee.png").read_bytes())})
    assert image.status_code == 201

    process_all(client.runtime)
    asset = client.get(f"/v1/assets/{body['id']}").json()
    assert asset["status"] == "ready" and {s["step"]: s["state"] for s in asset["steps"]} == {
        "probe": "done", "renditions": "done", "poster": "done", "storyboard": "done"}
    paths = {d["path"] for d in asset["derivatives"]}
    assert {"h720w1280.mp4", "hls/master.m3u8", "hls/h720w1280.m3u8", "hls/h720w1280.m4s",
            "storyboard/sprite.jpg", "storyboard/storyboard.vtt"} <= paths
    listed = client.get("/v1/assets", params={"kind": "video"}).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [a["id"] for a in items] == [body["id"]]
    # a video is not an image source: the /img route does not transform it
    assert client.get(f"/img/_/w_64/{body['id']}").status_code in (404, 415)


def test_a_rotated_clip_is_recorded_upright(client, tmp_path):
    from tests.data.hostile.make_hostile_video import ffmpeg

    plain = clip(tmp_path / "plain.mp4", size="64x48")
    rotated = tmp_path / "rotated.mp4"
    ffmpeg("-display_rotation", "270", "-i", str(plain), "-c", "copy", str(rotated))
    body = upload(client, rotated).json()
    assert (body["width"], body["height"], body["metadata"]["rotation"]) == (48, 64, 270)


@pytest.mark.parametrize(("name", "status", "code"), [
    ("truncated.mp4", 422, "corrupt_media"),
    ("noise_after_ftyp.mp4", 422, "corrupt_media"),
    ("random.mp4", 415, "unsupported_media_type"),
    ("playlist_passwd.mp4", 415, "unsupported_media_type"),
    ("external_dref.mp4", 415, "unsupported_media_type"),
    ("external_dref.mov", 415, "unsupported_media_type"),
    ("linked_segment.mkv", 415, "unsupported_media_type"),
])
def test_hostile_videos_are_refused_and_nothing_is_stored(client, name, status, code):
    r = upload(client, HOSTILE / name)
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert "/etc/passwd" not in r.text
    listed = client.get("/v1/assets").json()
    assert (listed["items"] if isinstance(listed, dict) else listed) == []


@pytest.fixture
def strict_client(tmp_path, database_url):
    from fastapi.testclient import TestClient

    from vitrina.api.app import create_app
    from vitrina.runtime import Runtime
    from vitrina.storage.catalog.db import upgrade

    settings = make_settings(tmp_path, database_url, video={"max_duration_seconds": 2.0, "max_streams": 1})
    rt = Runtime(settings)
    upgrade(rt.engine)
    rt.close()
    with TestClient(create_app(settings, start_workers=False)) as c:
        yield c


def test_limits_from_settings_answer_media_too_large(strict_client):
    r = upload(strict_client, VIDEO / "bikes.mp4")  # 10 s
    assert r.status_code == 422 and r.json()["error"]["code"] == "media_too_large"
    assert r.json()["error"]["details"]["limit"] == 2.0


def test_the_limits_read_the_environment(monkeypatch):
    from vitrina.config import Settings

    monkeypatch.setenv("VITRINA_VIDEO__MAX_DURATION_SECONDS", "12.5")
    monkeypatch.setenv("VITRINA_VIDEO__MAX_STREAMS", "3")
    s = Settings(dev=True)
    assert (s.video.max_duration_seconds, s.video.max_streams) == (12.5, 3)
