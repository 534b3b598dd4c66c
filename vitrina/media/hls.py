"""HLS: the muxer options for one rung's media playlist, and the master playlist,
written from what was encoded.

Each rung is one fragmented-MP4 file addressed by byte ranges (``single_file``), with
6 s segments (three closed 2 s GOPs). The master playlist is written here, not by ffmpeg
(whose tee muxer has no master of its own): ``BANDWIDTH`` is the peak segment bit rate
the way RFC 8216 defines it, ``AVERAGE-BANDWIDTH`` the mean, ``CODECS`` is read from
each output's own ``avcC`` box. Every URI is relative: the whole tree is served under
one signed prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

#: seconds a segment aims at: three of the ladder's 2 s GOPs
SEGMENT_SECONDS = 6
GOPS_PER_SEGMENT = 3
#: the AAC encoder ffmpeg runs writes AAC-LC
AAC_LC = "mp4a.40.2"
PLAYLIST_MIME = "application/vnd.apple.mpegurl"


def segment_seconds(gop_frames: int, fps: float) -> float:
    """``hls_time`` for GOPs of ``gop_frames`` at ``fps``: a millisecond under three GOPs.
    The muxer cuts segment k at the first keyframe at or after k x ``hls_time``, so every
    segment is exactly three GOPs (6.006 s at 29.97 fps, 5.84 s at 7.7 fps, never a fourth
    GOP for want of a microsecond), for titles up to 2,000 segments (over three hours)."""
    return math.floor(GOPS_PER_SEGMENT * gop_frames / fps * 1000 - 1) / 1000


def muxer_options(playlist: Path, hls_time: float = SEGMENT_SECONDS) -> str:
    """The tee slave options of one rung's HLS output: VOD, fMP4, one media file next to
    ``playlist`` with its segments addressed by byte ranges."""
    media = playlist.with_suffix(".m4s")
    return (f"f=hls:hls_time={hls_time:g}:hls_playlist_type=vod:hls_segment_type=fmp4"
            f":hls_flags=single_file+independent_segments:hls_segment_filename={media}")


@dataclass(frozen=True)
class Segment:
    seconds: float
    bytes: int


def segments(playlist: str) -> list[Segment]:
    """The media segments of a media playlist ffmpeg wrote (``#EXTINF`` then an optional
    ``#EXT-X-BYTERANGE`` then the URI)."""
    out, seconds, size = [], None, None
    for line in playlist.splitlines():
        if line.startswith("#EXTINF:"):
            seconds = float(line[len("#EXTINF:"):].split(",")[0])
        elif line.startswith("#EXT-X-BYTERANGE:"):
            size = int(line[len("#EXT-X-BYTERANGE:"):].split("@")[0])
        elif line and not line.startswith("#") and seconds is not None:
            out.append(Segment(seconds, size if size is not None else 0))
            seconds, size = None, None
    return out


def bandwidth(segs: list[Segment]) -> tuple[int, int]:
    """(peak, average) bits a second: the peak over every run of contiguous segments
    lasting 0.5 to 1.5 target durations (RFC 8216 4.3.4.2), or the whole when shorter."""
    total_s = sum(s.seconds for s in segs)
    total_b = sum(s.bytes for s in segs)
    average = math.ceil(total_b * 8 / total_s) if total_s > 0 else 0
    peak = 0
    for i in range(len(segs)):
        secs = size = 0.0
        for s in segs[i:]:
            secs, size = secs + s.seconds, size + s.bytes
            if secs > 1.5 * SEGMENT_SECONDS:
                break
            if secs >= 0.5 * SEGMENT_SECONDS:
                peak = max(peak, math.ceil(size * 8 / secs))
    return max(peak, average), average


def avc1_codec(extradata: bytes) -> str:
    """RFC 6381 ``avc1.PPCCLL`` from an ``avcC`` record: profile, constraint flags, level."""
    if len(extradata) < 4 or extradata[0] != 1:
        raise ValueError("not an avcC record")
    return f"avc1.{extradata[1]:02x}{extradata[2]:02x}{extradata[3]:02x}"


def stream_codecs(mp4: Path) -> tuple[str, ...]:
    """The ``CODECS`` entries of an MP4 we wrote: its H.264 stream's avc1 string, and
    AAC-LC when it has audio."""
    import av

    with av.open(str(mp4), format="mov", options={"protocol_whitelist": "file"}) as c:
        out = tuple(avc1_codec(bytes(s.codec_context.extradata)) for s in c.streams.video)
        return out + ((AAC_LC,) if c.streams.audio else ())


@dataclass(frozen=True)
class Variant:
    uri: str  # relative to the master
    codecs: tuple[str, ...]
    peak: int
    average: int
    width: int = 0  # 0 for audio only
    height: int = 0
    fps: float | None = None


def master_playlist(variants: list[Variant]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in variants:
        attrs = [f"BANDWIDTH={v.peak}", f"AVERAGE-BANDWIDTH={v.average}", f'CODECS="{",".join(v.codecs)}"']
        if v.width:
            attrs.append(f"RESOLUTION={v.width}x{v.height}")
        if v.fps:
            attrs.append(f"FRAME-RATE={v.fps:.3f}")
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), v.uri]
    return "\n".join(lines) + "\n"


def variant_of(playlist: Path, mp4: Path, width: int = 0, height: int = 0, fps: float | None = None) -> Variant:
    """The master's entry for one rung: its playlist ``playlist`` (a sibling of the
    master) and the progressive ``mp4`` made by the same encode (same codec string)."""
    peak, average = bandwidth(segments(playlist.read_text()))
    return Variant(playlist.name, stream_codecs(mp4), peak, average, width, height, fps)
