"""Video playback URLs on real files: a real video through the pipeline (its MP4 rung,
its HLS tree of fMP4 rungs addressed by byte ranges, its storyboard), served by /video
under one token, on SQLite with the local store and on PostgreSQL with S3. Answers are
compared byte for byte with the stored files."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.conftest import PHOTOS, VIDEO, make_settings
from tests.data.hostile.make_hostile_video import clip
from vitrina.api.app import create_app
from vitrina.cli import main
from vitrina.client import Client
from vitrina.delivery.configured import project_signer, signer_from
from vitrina.delivery.playback import playback_path
from vitrina.delivery.playback.tokens import check_file
from vitrina.errors import NotFound
from vitrina.projects.usage import VIDEO_BYTES_SERVED, day_of
from vitrina.runtime import Runtime
from vitrina.testing import make_runtime, process_all

TEAM = "team"
SECRET = "a-long-random-signing-secret-for-video"
MP4 = "h272w640.mp4"


@dataclass
class World:
    client: TestClient
    rt: Runtime
    video: str  # the default project's video
    image: str  # the default project's image
    team_video: str  # a small video of the team project
    team_key: object  # the team project's signing key

    def url(self, path: str = "hls/master.m3u8", asset: str | None = None, expires: int = 3600) -> str:
        signer = signer_from(self.rt.settings)
        return playback_path(signer, asset or self.video, path, expires=int(time.time()) + expires)

    def blob(self, path: str, asset: str | None = None) -> bytes:
        return self.rt.store.read_bytes(f"derivatives/{asset or self.video}/{path}")


def catalogs(request: pytest.FixtureRequest, tmp: Path) -> Iterator[tuple[str, str]]:
    """(database URL, blob URL) for the world's parameter."""
    database, store = request.param
    if database == "sqlite":
        url = f"sqlite:///{tmp / 'catalog.db'}"
        schema = None
    else:
        import psycopg

        from tests.conftest import _pg_url

        base, schema = _pg_url(), f"t_{secrets.token_hex(6)}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    blobs = ""
    if store == "s3":
        import boto3

        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"vitrina-video-{secrets.token_hex(4)}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        blobs = f"s3://{bucket}/media?endpoint_url={endpoint}&region=us-east-1"
    try:
        yield url, blobs
    finally:
        if schema is not None:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module", params=[("sqlite", "local"), ("postgresql", "s3")], ids=["sqlite", "postgresql-s3"])
def world(request, tmp_path_factory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("video")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(name, value)
        for database_url, blob_url in catalogs(request, tmp):
            extra = {"blob_url": blob_url} if blob_url else {}
            settings = make_settings(tmp, database_url, signing={"keys": {"k1": SECRET}}, **extra)
            rt = make_runtime(settings)
            rt.projects.create(TEAM)
            video = rt.ingestor.ingest_file(VIDEO / "bikes.mp4").asset_id
            image = rt.ingestor.ingest_file(PHOTOS / "rocket.jpg").asset_id
            small = clip(tmp / "small.mp4", size="64x48", seconds=1.0)  # the team's: quick to process
            team_video = rt.ingestor.ingest_file(small, project=TEAM).asset_id
            process_all(rt)
            key = rt.projects.create_signing_key(TEAM)
            with TestClient(create_app(settings, start_workers=False, runtime=rt)) as client:
                rt.usage_meter.interval = 3600  # the tests flush when they want to
                yield World(client, rt, video, image, team_video, key)


def test_byte_ranges_are_exact_and_seek_anywhere(world):
    data = world.blob(MP4)
    url = world.url(MP4)
    whole = world.client.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-length"] == str(len(data))
    size = len(data)
    for header, (start, end) in [("bytes=0-0", (0, 1)), ("bytes=100-199", (100, 200)),
                                 (f"bytes={size - 10}-", (size - 10, size)), ("bytes=-500", (size - 500, size)),
                                 (f"bytes=-{size * 2}", (0, size)), (f"bytes=5-{size * 3}", (5, size)),
                                 *[(f"bytes={s}-{s + 4095}", (s, min(s + 4096, size)))
                                   for s in range(0, size, size // 7)]]:  # a player seeking about
        part = world.client.get(url, headers={"Range": header})
        assert part.status_code == 206, (header, part.text)
        assert part.content == data[start:end], header
        assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{size}"
        assert part.headers["content-length"] == str(end - start)
        assert part.headers["etag"] == whole.headers["etag"]
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        refused = world.client.get(url, headers={"Range": header})
        assert refused.status_code == 416 and refused.json()["error"]["code"] == "range_not_satisfiable"
        assert refused.headers["content-range"] == f"bytes */{size}"
    for ignored in ("bytes=0-1,5-9", "items=0-5", "bytes=9-3"):  # not one byte range: the whole file
        answer = world.client.get(url, headers={"Range": ignored})
        assert answer.status_code in (200, 416), ignored
        if answer.status_code == 200:
            assert answer.content == data


def test_if_range_if_none_match_and_head(world):
    data = world.blob(MP4)
    url = world.url(MP4)
    etag = world.client.head(url).headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    matched = world.client.get(url, headers={"Range": "bytes=10-19", "If-Range": etag})
    assert matched.status_code == 206 and matched.content == data[10:20]
    for other in ('"0123"', f"W/{etag}", "Tue, 01 Dec 2026 10:00:00 GMT"):  # no strong match: everything
        whole = world.client.get(url, headers={"Range": "bytes=10-19", "If-Range": other})
        assert whole.status_code == 200 and whole.content == data, other
    for inm in (etag, f'"x", {etag}', f"W/{etag}", "*"):
        unchanged = world.client.get(url, headers={"If-None-Match": inm, "Range": "bytes=0-9"})
        assert unchanged.status_code == 304 and unchanged.content == b"", inm
        assert unchanged.headers["etag"] == etag
    assert world.client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    head = world.client.head(url, headers={"Range": "bytes=0-9"})  # Range is for GET only
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data)) and "content-range" not in head.headers


def byte_ranges(playlist: str) -> list[tuple[str, int, int]]:
    """(uri, offset, length) of the init section and of every segment of a media playlist
    (RFC 8216: an EXT-X-BYTERANGE without an offset follows the previous range)."""
    out, pending, ends = [], None, {}
    for line in playlist.splitlines():
        if line.startswith("#EXT-X-MAP:"):
            uri = re.search(r'URI="([^"]+)"', line).group(1)
            length, offset = re.search(r'BYTERANGE="(\d+)@(\d+)"', line).groups()
            out.append((uri, int(offset), int(length)))
            ends[uri] = int(offset) + int(length)
        elif line.startswith("#EXT-X-BYTERANGE:"):
            length, _, offset = line.split(":", 1)[1].partition("@")
            pending = (int(length), int(offset) if offset else None)
        elif line and not line.startswith("#"):
            length, offset = pending
            offset = ends.get(line, 0) if offset is None else offset
            out.append((line, offset, length))
            ends[line], pending = offset + length, None
    return out


def test_an_hls_tree_plays_under_one_token(world):
    """Every URI of the master and rung playlists, resolved relative to the playlist's
    URL, answers under the same token, and each byte range is the stored bytes."""
    master_url = world.url()
    master = world.client.get(master_url)
    assert master.status_code == 200
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert master.content == world.blob("hls/master.m3u8")
    rungs = [line for line in master.text.splitlines() if line and not line.startswith("#")]
    assert rungs == ["h272w640.m3u8"]
    token = urlsplit(master_url).path.split("/")[2]
    for rung in rungs:
        rung_url = urljoin(master_url, rung)
        playlist = world.client.get(rung_url)
        assert playlist.status_code == 200 and playlist.content == world.blob(f"hls/{rung}")
        ranges = byte_ranges(playlist.text)
        assert len(ranges) >= 3  # the init section and segments
        stored = world.blob("hls/" + ranges[0][0])
        for uri, offset, length in ranges:
            segment_url = urljoin(rung_url, uri)
            assert urlsplit(segment_url).path.split("/")[2] == token
            part = world.client.get(segment_url, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
            assert part.status_code == 206 and part.headers["content-type"] == "video/mp4"
            assert part.content == stored[offset:offset + length]
        assert ranges[-1][1] + ranges[-1][2] == len(stored)  # the segments cover the file
    vtt_url = world.url("storyboard/storyboard.vtt")
    vtt = world.client.get(vtt_url)
    assert vtt.status_code == 200 and vtt.headers["content-type"] == "text/vtt; charset=utf-8"
    assert vtt.content == world.blob("storyboard/storyboard.vtt")
    sprites = {cue.split("#")[0] for cue in vtt.text.splitlines() if "#xywh=" in cue}
    assert sprites == {"sprite.jpg"}
    sprite = world.client.get(urljoin(vtt_url, "sprite.jpg"))  # relative to the index too
    assert sprite.status_code == 200 and sprite.headers["content-type"] == "image/jpeg"
    assert sprite.content == world.blob("storyboard/sprite.jpg")


def test_cors_cache_lifetimes_and_preflight(world):
    segment = world.client.get(world.url("hls/h272w640.m4s", expires=600), headers={"Range": "bytes=0-9"})
    assert segment.headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in segment.headers["access-control-expose-headers"]
    max_age = int(re.fullmatch(r"public, max-age=(\d+), immutable", segment.headers["cache-control"]).group(1))
    assert 590 <= max_age <= 600  # never fresh past the token's expiry
    playlist = world.client.get(world.url(expires=10 * 86400))
    assert playlist.headers["cache-control"] == "public, max-age=60"
    unsigned = world.client.get(f"/video/_/{world.video}/{MP4}", headers={"Range": "bytes=0-0"})
    assert unsigned.headers["cache-control"] == "public, max-age=31536000, immutable"  # development mode
    preflight = world.client.options(world.url(MP4), headers={"Origin": "https://player.example",
                                                              "Access-Control-Request-Method": "GET",
                                                              "Access-Control-Request-Headers": "range"})
    assert preflight.status_code == 204 and "Range" in preflight.headers["access-control-allow-headers"]
    missing = world.client.get(world.url("nope.mp4"))
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == "*"


def _code(answer) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


def test_tokens_are_checked_before_anything_else(world):
    url = world.url(MP4)
    _, _, token, asset, path = url.split("/", 4)
    kid, expires, mac = token.split(".")
    assert world.client.get(url).status_code == 200
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    expired = playback_path(signer_from(world.rt.settings), world.video, MP4, expires=int(time.time()) - 1)
    cases = {
        f"/video/{kid}.{expires}.{flipped}/{asset}/{path}": (403, "bad_signature"),
        f"/video/{kid}.{int(expires) + 1}.{mac}/{asset}/{path}": (403, "bad_signature"),
        f"/video/{kid}.{mac}/{asset}/{path}": (403, "bad_signature"),  # playback tokens always expire
        f"/video/nokey.{expires}.{mac}/{asset}/{path}": (403, "unknown_key"),
        f"/video/{token}/{world.team_video}/{path}": (403, "bad_signature"),  # another asset
        f"/video/{token}/{world.video[:-1]}{'1' if world.video[-1] == '0' else '0'}/{path}": (403, "bad_signature"),
        expired: (403, "expired_url"),
    }
    for bad, expected in cases.items():
        assert _code(world.client.get(bad)) == expected, bad
    # an image URL's signature is no playback token, and a token signs no image
    image_sig = signer_from(world.rt.settings).url(world.video, "w_100").split("/")[2]
    assert _code(world.client.get(f"/video/{image_sig}/{asset}/{path}")) == (403, "bad_signature")
    assert world.client.get(f"/img/{token}/-/{world.image}").status_code == 403


def test_keys_of_another_project(world):
    team = project_signer(world.rt.settings, world.team_key.id, world.team_key.secret)
    until = int(time.time()) + 600
    master = "hls/master.m3u8"
    own = world.client.get(playback_path(team, world.team_video, master, expires=until), headers={"Range": "bytes=0-6"})
    assert own.status_code == 206 and own.content == world.blob(master, world.team_video)[:7] == b"#EXTM3U"
    # the team's key over the default project's video: answered as a missing video
    assert _code(world.client.get(playback_path(team, world.video, MP4, expires=until))) == (404, "not_found")
    # the settings' key (the default project's) over the team's video: the same
    assert _code(world.client.get(world.url(MP4, world.team_video))) == (404, "not_found")


BAD_PATHS = ["nope.mp4", "hls/nope.m4s", "h272w640.mp4.bak", "hls", "hls/", "..%2Fh272w640.mp4",
             "%2e%2e/hls/master.m3u8", "hls/%2e%2e/h272w640.mp4", "hls//master.m3u8", "a%20b.mp4",
             "%2Fetc/passwd.jpg", "x.exe", ".hidden.mp4", "hls/.%2e/h272w640.mp4", "a/b/c/d/e.mp4",
             "H272W640.MP4", "h272w640.mp4%00.jpg", "x" * 300 + ".mp4"]


def test_paths_that_name_no_file_answer_404(world):
    token = world.url().split("/")[2]
    for path in BAD_PATHS:
        answer = world.client.get(f"/video/{token}/{world.video}/{path}")
        assert _code(answer) == (404, "file_not_found"), path


@pytest.mark.parametrize("path", ["../h272w640.mp4", "hls/../h272w640.mp4", "/etc/passwd.jpg", "hls/./x.m4s",
                                  "a\\b.mp4", "a\x00.mp4", "h272w640.mp4/", "", ".", "..", "hls/.."])
def test_dot_segments_and_odd_characters_are_no_file(path):
    """What an HTTP client would fold or refuse to send, checked on the rule itself."""
    with pytest.raises(NotFound) as info:
        check_file(path)
    assert info.value.code == "file_not_found"


def test_only_videos_are_served(world):
    webp = next(k for k in world.rt.store.keys(f"derivatives/{world.image}/") if k.endswith(".webp"))
    answer = world.client.get(world.url(webp.rpartition("/")[2], world.image))
    assert _code(answer) == (404, "not_found")  # an image's derivative is not a video file
    assert _code(world.client.get(world.url(MP4, "0" * 32))) == (404, "not_found")


def test_bytes_sent_count_in_usage(world):
    meter = world.rt.usage_meter
    today = day_of(meter.clock())
    meter.flush()
    before = world.client.get("/v1/usage").json()["traffic"]["today"][VIDEO_BYTES_SERVED]
    url = world.url(MP4)
    whole = world.client.get(url).content
    part = world.client.get(url, headers={"Range": "bytes=100-1099"}).content
    world.client.head(url)
    etag = world.client.head(url).headers["etag"]
    world.client.get(url, headers={"If-None-Match": etag})
    assert meter.pending()[("default", VIDEO_BYTES_SERVED, today)] == len(whole) + len(part) == len(whole) + 1000
    after = world.client.get("/v1/usage").json()["traffic"]["today"][VIDEO_BYTES_SERVED]
    assert after - before == len(whole) + 1000


def test_the_route_is_documented(world):
    spec = world.client.get("/openapi.json").json()
    item = spec["paths"]["/video/{token}/{asset_id}/{path}"]
    assert set(item) == {"get"}  # HEAD and the CORS preflight answer but are not listed
    assert {"200", "206", "304", "403", "404", "416"} <= set(item["get"]["responses"])
    assert "application/vnd.apple.mpegurl" in item["get"]["responses"]["200"]["content"]
    assert "security" not in item["get"]  # the token is the credential


def test_urls_from_the_cli_and_the_sdk(world, tmp_path):
    sdk = Client("http://testserver", signing_keys={"k1": SECRET})
    url = sdk.video_url(world.video, expires_in=120)
    assert url.startswith("http://testserver/video/k1.") and url.endswith(f"/{world.video}/hls/master.m3u8")
    assert world.client.get(url.removeprefix("http://testserver")).status_code == 200
    assert Client("http://testserver").video_url(world.video, MP4) == f"http://testserver/video/_/{world.video}/{MP4}"
    with pytest.raises(ValueError, match="file_not_found"):
        sdk.video_url(world.video, "../etc/passwd")
    env = {"VITRINA_DATABASE_URL": world.rt.settings.database_url, "VITRINA_DATA_DIR": str(tmp_path),
           "VITRINA_SIGNING__KEYS": f'{{"k1": "{SECRET}"}}'}
    printed = CliRunner().invoke(main, ["url", "--video", world.video, MP4, "--expires", "300"], env=env)
    assert printed.exit_code == 0, printed.output
    path = printed.output.strip()
    expires = int(path.split("/")[2].split(".")[1])
    assert abs(expires - (time.time() + 300)) < 5
    answer = world.client.get(path, headers={"Range": "bytes=0-7"})
    assert answer.status_code == 206 and answer.content == world.blob(MP4)[:8]
    default = CliRunner().invoke(main, ["url", "--video", world.video], env=env).output.strip()
    assert default.endswith("/hls/master.m3u8") and world.client.get(default).status_code == 200
    team = CliRunner().invoke(main, ["url", "--video", world.team_video, "--project", TEAM], env=env)
    assert world.client.get(team.output.strip()).status_code == 200, team.output
