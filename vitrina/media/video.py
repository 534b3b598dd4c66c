"""Probe a video file with PyAV, safely, before anything is stored.

One local file is opened, and only it: the demuxer is forced to the container the
magic bytes named (no format guessing, so no HLS playlist or concat list is ever
parsed), the only protocol allowed is ``file``, and the QuickTime/MP4 demuxer is told
not to follow data references. A QuickTime/MP4 whose ``dref`` points anywhere but the
file itself is refused before PyAV sees it. The probe reads the container's streams,
demuxes every packet (no decoding) to prove the file is whole, and decodes the first
video frame to prove it decodes and to read its display matrix (rotation).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

from vitrina.errors import CorruptMedia, MediaTooLarge, UnsupportedMediaType
from vitrina.media.matroska import linked_segments

#: the demuxer for each container extension :mod:`vitrina.media.sniff` returns
DEMUXERS = {"mp4": "mov", "mov": "mov", "webm": "matroska", "mkv": "matroska"}

#: what every open is given: one protocol, no external data references
OPEN_OPTIONS = {"protocol_whitelist": "file", "enable_drefs": "0", "use_absolute_path": "0"}

# colour transfer characteristics of HDR video (ITU-T H.273): PQ and HLG
_HDR_TRANSFERS = {16: "pq", 18: "hlg"}
_BT2020_PRIMARIES = 9


@dataclass(frozen=True)
class VideoLimits:
    max_duration_seconds: float
    max_bytes: int
    max_pixels: int  # width x height of one frame
    max_fps: float
    max_streams: int


@dataclass(frozen=True)
class AudioInfo:
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class VideoInfo:
    container: str  # the extension sniffed: mp4, mov, webm, mkv
    width: int  # displayed: the rotation applied
    height: int
    duration: float  # seconds
    fps: float | None  # None for an audio-only file
    video_codec: str | None
    rotation: int  # degrees, one of 0, 90, 180, 270
    frames: int | None  # video packets demuxed
    pix_fmt: str | None
    color_transfer: str | None
    color_primaries: str | None
    hdr: str | None  # "pq", "hlg" or None
    audio: tuple[AudioInfo, ...]
    bytes: int

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["audio"] = [asdict(a) for a in self.audio]
        d["has_audio"] = self.has_audio
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VideoInfo:
        """The probe as :meth:`to_dict` stored it (the asset's metadata)."""
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**fields | {"audio": tuple(AudioInfo(**a) for a in d.get("audio", ()))})


def probe_video(path: Path, container: str, limits: VideoLimits) -> VideoInfo:
    """What ``path`` holds, or a 4xx: 415 for what may not be opened (playlists,
    external references, an unknown container), 422 ``media_too_large`` over a limit,
    422 ``corrupt_media`` for what does not demux or decode."""
    import av

    demuxer = DEMUXERS.get(container)
    if demuxer is None:
        raise UnsupportedMediaType(f"{container!r} is not a video container Vitrina reads.",
                                   details={"container": container})
    size = os.path.getsize(path)
    if size > limits.max_bytes:
        raise MediaTooLarge(f"The video is {size} bytes, over the limit of {limits.max_bytes}.",
                            details={"bytes": size, "limit": limits.max_bytes})
    with open(path, "rb") as f:
        head = f.read(16)
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U"):
            raise UnsupportedMediaType("Playlists (HLS) are not accepted: upload the media itself.",
                                       details={"detected": "an HLS playlist"})
        refs = external_references(f, size) if demuxer == "mov" else linked_segments(f, size)
        if refs:
            raise UnsupportedMediaType(
                "The video refers to data in other files or URLs; only self-contained files are accepted.",
                details={"references": refs[:5]})
    try:
        with av.open(str(path), format=demuxer, options=dict(OPEN_OPTIONS)) as c:
            return _read(c, container, size, limits)
    except av.FFmpegError as err:
        raise CorruptMedia("The video cannot be read: it is truncated or corrupt.",
                           details={"reason": getattr(err, "strerror", None) or type(err).__name__}) from None


def _read(c: Any, container: str, size: int, limits: VideoLimits) -> VideoInfo:
    streams = list(c.streams)
    if len(streams) > limits.max_streams:
        raise MediaTooLarge(f"The file has {len(streams)} streams, over the limit of {limits.max_streams}.",
                            details={"streams": len(streams), "limit": limits.max_streams})
    video = c.streams.video[0] if c.streams.video else None
    audio = [s for s in c.streams.audio]
    if video is None and not audio:
        raise CorruptMedia("The file has no video or audio stream.", details={})
    duration = _duration(c, streams)
    if duration > limits.max_duration_seconds:
        _too_long(duration, limits)
    fps = width = height = pix_fmt = trc = prim = None
    codec = None
    if video is not None:
        cc = video.codec_context
        codec, width, height, pix_fmt = cc.name, cc.width, cc.height, cc.format.name if cc.format else None
        if not width or not height:
            raise CorruptMedia("The video stream has no frame size.", details={})
        if width * height > limits.max_pixels:
            raise MediaTooLarge(f"Frames of {width}x{height} are over the limit of {limits.max_pixels} pixels.",
                                details={"width": width, "height": height, "limit": limits.max_pixels})
        rate = video.average_rate or video.guessed_rate or video.base_rate
        fps = float(Fraction(rate)) if rate else None
        if fps is None or fps <= 0:
            raise CorruptMedia("The video stream has no frame rate.", details={})
        if fps > limits.max_fps:
            raise MediaTooLarge(f"{fps:g} frames a second is over the limit of {limits.max_fps:g}.",
                                details={"fps": round(fps, 3), "limit": limits.max_fps})
        trc, prim = cc.color_trc, cc.color_primaries
    counts, end = _demux_all(c, streams, limits)
    if duration > 0 and end < duration - (0.25 + 0.01 * duration):
        raise CorruptMedia("The video is truncated: its packets end before its stated duration.",
                           details={"duration": round(duration, 3), "read": round(end, 3)})
    duration = max(duration, end)
    rotation = 0
    if video is not None:
        if counts.get(video.index, 0) == 0:
            raise CorruptMedia("The video stream has no frames.", details={})
        if video.frames and counts[video.index] < video.frames:
            raise CorruptMedia("The video is truncated: it ends before its last frame.",
                               details={"frames": video.frames, "read": counts[video.index]})
        rotation = _first_frame_rotation(c, video)
        if rotation in (90, 270):
            width, height = height, width
    elif all(counts.get(s.index, 0) == 0 for s in audio):
        raise CorruptMedia("The audio stream has no packets.", details={})
    return VideoInfo(
        container=container, width=width or 0, height=height or 0, duration=round(duration, 3),
        fps=round(fps, 3) if fps else None, video_codec=codec, rotation=rotation,
        frames=counts.get(video.index) if video is not None else None, pix_fmt=pix_fmt,
        color_transfer=_name_of(trc), color_primaries=_name_of(prim, primaries=True),
        hdr=_HDR_TRANSFERS.get(int(trc)) if trc is not None else None,
        audio=tuple(AudioInfo(s.codec_context.name, s.codec_context.channels or 0,
                              s.codec_context.sample_rate or 0) for s in audio),
        bytes=size,
    )


def _duration(c: Any, streams: list) -> float:
    if c.duration is not None and c.duration > 0:
        return c.duration / 1_000_000
    best = 0.0
    for s in streams:
        if s.duration and s.time_base:
            best = max(best, float(s.duration * s.time_base))
    return best


def _demux_all(c: Any, streams: list, limits: VideoLimits) -> tuple[dict[int, int], float]:
    """Packets per stream index and the time the last packet ends, reading every
    packet once (no decoding): a file cut short or with broken packets fails here, and
    a file whose header understates its length is stopped at the duration limit."""
    counts: dict[int, int] = {}
    end = 0.0
    for packet in c.demux(*streams):
        if not packet.size:
            continue
        counts[packet.stream.index] = counts.get(packet.stream.index, 0) + 1
        if packet.pts is not None and packet.time_base:
            t = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            start = packet.stream.start_time
            if start is not None:
                t -= float(start * packet.time_base)
            if t > end:
                end = t
                if end > limits.max_duration_seconds:
                    _too_long(end, limits)
    return counts, end


def _too_long(duration: float, limits: VideoLimits) -> None:
    raise MediaTooLarge(f"The video lasts {duration:.1f} s, over the limit of {limits.max_duration_seconds:g} s.",
                        details={"duration": round(duration, 3), "limit": limits.max_duration_seconds})


def _first_frame_rotation(c: Any, video: Any) -> int:
    c.seek(0, stream=video)
    for frame in c.decode(video):
        return round(getattr(frame, "rotation", 0) or 0) % 360
    raise CorruptMedia("No frame of the video decodes.", details={})


def _name_of(value: Any, *, primaries: bool = False) -> str | None:
    if value is None:
        return None
    names = _PRIMARIES if primaries else _TRANSFERS
    return names.get(int(value), str(int(value)))


_TRANSFERS = {1: "bt709", 2: "unspecified", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
              8: "linear", 13: "srgb", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}
_PRIMARIES = {1: "bt709", 2: "unspecified", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
              8: "film", _BT2020_PRIMARIES: "bt2020", 11: "smpte431", 12: "smpte432"}


# --- data references in QuickTime / ISO base media files ---------------------------

# boxes on the path from the top to the data reference box
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"dinf"}
_MAX_BOXES = 100_000


def external_references(f: BinaryIO, size: int) -> list[str]:
    """The data references of an MP4/MOV that are not "this file": each ``dref`` entry
    ``url ``/``urn `` without the self-contained flag, or an ``alis``/``rsrc`` entry."""
    found: list[str] = []
    budget = [_MAX_BOXES]
    _walk(f, 0, size, found, budget)
    return found


def _walk(f: BinaryIO, start: int, end: int, found: list[str], budget: list[int]) -> None:
    pos = start
    while pos + 8 <= end:
        budget[0] -= 1
        if budget[0] < 0:
            raise CorruptMedia("The file has too many boxes.", details={})
        f.seek(pos)
        header = f.read(16)
        if len(header) < 8:
            return
        box_size, box_type = int.from_bytes(header[:4], "big"), header[4:8]
        head_len = 8
        if box_size == 1:
            if len(header) < 16:
                return
            box_size, head_len = int.from_bytes(header[8:16], "big"), 16
        elif box_size == 0:
            box_size = end - pos
        if box_size < head_len or pos + box_size > end:
            return  # a cut or broken box: the demuxer decides whether the file is whole
        if box_type in _CONTAINERS:
            _walk(f, pos + head_len, pos + box_size, found, budget)
        elif box_type == b"dref":
            _dref(f, pos + head_len, pos + box_size, found)
        pos += box_size


def _dref(f: BinaryIO, start: int, end: int, found: list[str]) -> None:
    f.seek(start)
    data = f.read(min(end - start, 1 << 16))
    if len(data) < 8:
        return
    count = int.from_bytes(data[4:8], "big")
    pos = 8
    for _ in range(min(count, 1024)):
        if pos + 12 > len(data):
            found.append("unreadable data reference")
            return
        entry_size, entry_type = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        flags = int.from_bytes(data[pos + 9:pos + 12], "big")
        if entry_type in (b"url ", b"urn ") and flags & 1:
            pass  # the media data is in this file
        else:
            found.append(entry_type.decode("latin-1"))
        if entry_size < 12:
            return
        pos += entry_size
