"""A video's poster: a representative frame (not black, not in a fade, upright), stored
as an image asset of the video's project, the same one on every retry; on SQLite and
PostgreSQL, through the API."""

from __future__ import annotations

from pathlib import Path

import numpy
import pytest
import pyvips

from tests.conftest import HOSTILE, VIDEO, make_settings, process_all
from tests.data.hostile.make_hostile_video import clip, ffmpeg
from vitrina.errors import VitrinaError
from vitrina.kinds.video.poster import PosterStep, choose_poster, even_times
from vitrina.media.frames import frame_quality, luma_of, scan
from vitrina.media.video import VideoLimits, probe_video
from vitrina.pipeline.steps import StepContext
from vitrina.storage.catalog.projects import DEFAULT_PROJECT
from vitrina.testing import make_runtime

FADE_ENDS = 3.0  # the fade clip: black until 2 s, fading in until 3 s


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    return made_clips(tmp_path_factory)


def made_clips(tmp_path_factory) -> dict[str, Path]:
    """The clips the poster and storyboard tests share, made once a session."""
    d = tmp_path_factory.getbasetemp() / "video-clips"
    names = {name: d / f"{name}.mp4" for name in ("fade", "cut", "portrait", "audio")}
    if (d / "made").exists():
        return names
    d.mkdir(exist_ok=True)
    fade = names["fade"]  # black until 2 s, fading in until 3 s
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24:duration=5,fade=in:st=2:d=1",
           "-c:v", "libx264", "-threads", "1", "-pix_fmt", "yuv420p", str(fade))
    cut = names["cut"]  # two shots, the second from 2 s
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24:duration=2",
           "-f", "lavfi", "-i", "smptebars=size=320x180:rate=24:duration=2",
           "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0", "-c:v", "libx264", "-threads", "1",
           "-pix_fmt", "yuv420p", str(cut))
    plain = clip(d / "plain.mp4", size="320x180", seconds=3.0)
    portrait = names["portrait"]  # recorded 320x180, shown 180x320
    ffmpeg("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(portrait))
    audio = names["audio"]
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", str(audio))
    (d / "made").touch()
    return names


def upload(client, path: Path) -> str:
    r = client.post("/v1/assets", files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def pixels_of(client, asset_id: str) -> numpy.ndarray:
    r = client.get(f"/v1/assets/{asset_id}/original")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    return pyvips.Image.new_from_buffer(r.content, "").numpy()


def poster_of(client, video_id: str) -> tuple[dict, dict]:
    video = client.get(f"/v1/assets/{video_id}").json()
    signal = video["signals"]["poster"]
    return signal, client.get(f"/v1/assets/{signal['asset_id']}").json()


def test_even_candidates_skip_the_lead():
    assert even_times(10.0) == [1.0, 2.214, 3.429, 4.643, 5.857, 7.071, 8.286, 9.5]
    assert even_times(1.0)[0] == 0.2  # a short clip: a fifth of it skipped


LIMITS = VideoLimits(max_duration_seconds=60, max_bytes=2**30, max_pixels=1920 * 1080, max_fps=60,
                     max_streams=4)


#: the cuts ffmpeg's select='gt(scene,0.3)' finds in each clip
@pytest.mark.parametrize(("name", "size", "cuts"), [
    ("bigbuckbunny.mp4", (1280, 720), []),
    ("bikes.mp4", (640, 272), [1.2, 5.48, 7.48, 9.68]),
])
def test_real_clips_get_a_sharp_well_exposed_frame_away_from_cuts(name, size, cuts):
    info = probe_video(VIDEO / name, "mp4", LIMITS)
    choice = choose_poster(VIDEO / name, "mp4", info, deadline=None)
    assert choice is not None and (choice.frame.pixels.shape[1], choice.frame.pixels.shape[0]) == size
    assert 1.0 <= choice.frame.time <= info.duration
    assert all(abs(choice.frame.time - cut) > 0.5 for cut in cuts)
    quality = frame_quality(choice.frame.pixels)
    assert 0.2 < quality.brightness < 0.8 and quality.sharpness > 0.5 and quality.exposure == 1.0
    # every evenly spaced time and half a second after each cut (past the end: the last frame)
    assert choice.candidates == 8 + len(cuts)
    assert choice.score == pytest.approx(quality.score, abs=0.03)  # judged at 480 px


def test_the_poster_is_an_image_asset_not_black_nor_in_the_fade(client, clips):
    video_id = upload(client, clips["fade"])
    process_all(client.runtime)
    signal, poster = poster_of(client, video_id)
    assert (signal["producer"], signal["version"], signal["candidates"]) == ("poster", "1", 8)
    assert signal["time"] >= FADE_ENDS and 0 < signal["score"] <= 1, signal
    # an image like any other, in the video's project: processed, listed
    assert (poster["kind"], poster["mime"], poster["status"]) == ("image", "image/jpeg", "ready")
    assert (poster["width"], poster["height"]) == (320, 180)
    assert poster["filename"] == f"{video_id}.poster.jpg"
    assert {s["state"] for s in poster["steps"]} == {"done"} and poster["derivatives"]
    listed = client.get("/v1/assets", params={"kind": "image"}).json()["items"]
    assert [a["id"] for a in listed] == [poster["id"]]
    got = pixels_of(client, poster["id"])
    # the same picture as the clip at full brightness, far from the black lead-in
    timeline = scan(clips["fade"], "mp4", grab_times=[1.0, 2.5, 4.0], grab_width=320, grab_height=180)
    black, fading, full = (g.pixels for g in timeline.grabs)
    assert luma_of(black).mean() < 20 and luma_of(fading).mean() < luma_of(full).mean() - 40
    assert abs(luma_of(got).mean() - luma_of(full).mean()) < 5
    assert frame_quality(got).sharpness > frame_quality(fading).sharpness > frame_quality(black).sharpness


def test_a_rotated_clip_gets_an_upright_portrait_poster_that_outlives_it(client, clips, tmp_path):
    video_id = upload(client, clips["portrait"])
    process_all(client.runtime)
    signal, poster = poster_of(client, video_id)
    assert (poster["width"], poster["height"]) == (180, 320) and poster["status"] == "ready"
    # upright as ffmpeg shows it: compare with its auto-rotated frame at the same time
    reference = tmp_path / "reference.png"
    ffmpeg("-ss", f"{signal['time']:.3f}", "-i", str(clips["portrait"]), "-frames:v", "1", str(reference))
    want = pyvips.Image.new_from_file(str(reference)).numpy()[..., :3].astype(float)
    assert numpy.abs(pixels_of(client, poster["id"]).astype(float) - want).mean() < 8
    # deleting the video leaves its poster, an image of the project like any other
    assert client.delete(f"/v1/assets/{video_id}").status_code == 204
    assert client.get(f"/v1/assets/{video_id}").status_code == 404
    kept = client.get(f"/v1/assets/{poster['id']}")
    assert kept.status_code == 200 and kept.json()["status"] == "ready"
    assert pixels_of(client, poster["id"]).shape == (320, 180, 3)


def test_an_audio_only_file_has_no_poster_and_does_not_fail(client, clips):
    video_id = upload(client, clips["audio"])
    process_all(client.runtime)
    video = client.get(f"/v1/assets/{video_id}").json()
    assert video["status"] == "ready" and "poster" not in video["signals"]
    assert {s["step"]: s["state"] for s in video["steps"]}["poster"] == "done"
    assert [a["id"] for a in client.get("/v1/assets").json()["items"]] == [video_id]


def test_a_retry_gives_the_same_poster_asset(runtime, clips):
    video_id = runtime.ingestor.ingest_file(clips["fade"]).asset_id
    snapshot = runtime.asset_repository.snapshot(None, video_id)

    def ingest(path: Path, filename: str, key: str) -> str:  # what a worker hands a step
        return runtime.ingestor.ingest_file(path, project=snapshot.project_id, filename=filename,
                                            idempotency_key=key).asset_id

    step = PosterStep()
    runs = [step.run(StepContext(snapshot, runtime.store, runtime.settings, attempt=n, ingest=ingest))
            for n in (1, 2)]
    first, again = (next(s.value for s in r.signals if s.name == "poster") for r in runs)
    assert first == again and first["asset_id"]
    image = runtime.asset_repository.snapshot(None, first["asset_id"])
    assert (image.kind, image.project_id) == ("image", snapshot.project_id)
    # the poster deleted on its own: a re-run makes a new one rather than naming the gone one
    runtime.assets.delete(snapshot.project_id, first["asset_id"])
    rerun = step.run(StepContext(snapshot, runtime.store, runtime.settings, attempt=3, ingest=ingest))
    made = rerun.signals[0].value["asset_id"]
    assert made != first["asset_id"] and runtime.asset_repository.snapshot(None, made).kind == "image"


@pytest.mark.parametrize(("name", "container", "code"), [
    ("random.mp4", "mp4", "corrupt_media"),
    ("truncated.mp4", "avi", "unsupported_media_type"),
])
def test_bad_input_is_a_stable_error(name, container, code):
    with pytest.raises(VitrinaError) as err:
        scan(HOSTILE / name, container)
    assert err.value.code == code and 400 <= err.value.status < 500


def test_decoding_stops_at_the_deadline():
    with pytest.raises(TimeoutError):
        scan(VIDEO / "bikes.mp4", "mp4", deadline=0.0)


def test_a_full_project_keeps_its_video_ready_and_says_why_it_has_no_poster(tmp_path, database_url, clips):
    rt = make_runtime(make_settings(tmp_path, database_url, projects={"max_assets": 1}))
    try:
        video_id = rt.ingestor.ingest_file(clips["portrait"]).asset_id
        process_all(rt)
        video = rt.assets.get(DEFAULT_PROJECT, video_id)
        assert video.status == "ready"
        poster = video.signals["poster"].value
        assert poster["asset_id"] is None and poster["refused"] == "quota_assets_exceeded"
        assert [a.id for a in rt.assets.list(DEFAULT_PROJECT).items] == [video_id]
    finally:
        rt.close()
